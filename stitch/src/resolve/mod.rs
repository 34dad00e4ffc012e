//! How a merged type's fields are resolved: one module per way of fetching an object's fields
//! by its representation, each owning how its arguments are built, how its call is written in
//! the step's document, and how its results are matched back to the objects.
//!
//! | module             | call                                                            |
//! |--------------------|-----------------------------------------------------------------|
//! | [`single`]         | one aliased call per object (`_0: user(id: $_qv0_id) ...`)      |
//! | [`batched`]        | one call for all keys (`_e: users(ids: $_qv0_ids)`), matched by position, by a field or by a function |
//! | [`federation`]     | `_e: _entities(representations: ...)`, matched by position      |
//! | [`delegate`]       | a gateway-defined field: one aliased call per parent             |
//! | [`batch_delegate`] | a gateway-defined field: one call for all parents, grouped back |
//! | [`local`]          | a gateway-defined field computed by a Rust function             |
//! | [`custom`]         | an entry point written in code that fetches the objects itself  |
//!
//! The planner and the executor go through [`Method`]: its methods are the only `match` on
//! the kinds, so a new kind is a new module and a new variant.

mod batch_delegate;
mod batched;
mod custom;
pub(crate) mod declarative;
mod delegate;
mod federation;
mod local;
mod single;

use std::borrow::Cow;

use apollo_compiler::executable::{FieldSet, Selection};
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Node, Schema, ast};
use futures::future::BoxFuture;
use quilt_executor::data::Object;
use quilt_executor::{Data, GraphQLError, JsonMap, PathSegment};
use serde_json::Value;

use crate::config::SubschemaConfig;
use crate::entry_point::{ArgsFn, EntryArgs, EntryCall, EntryPoint, Matching, ResolveFn};
use crate::error::StitchError;
use crate::extension::{DelegateArgsFn, LocalFn};

pub(crate) use batch_delegate::BatchDelegate;
pub(crate) use batched::Batched;
pub(crate) use federation::RAW_REPRESENTATIONS;

/// The prefix of the aliases under which key and requirement fields are selected.
pub(crate) const KEY_ALIAS_PREFIX: &str = "_qk_";
/// The alias of the field the results of an entry point matched by a field are matched by.
pub(crate) const MATCH_ALIAS: &str = "_qm";
/// The prefix of the variables an entity step adds.
pub(crate) const VARIABLE_PREFIX: &str = "_qv";
/// The alias of the one call of a batched kind.
const BATCH_ALIAS: &str = "_e";

/// An entry point (or gateway-defined field) checked against its subschema: what to select,
/// call and send.
pub(crate) struct Resolver {
    /// The subschema.
    pub subschema: usize,
    /// The merged object type.
    pub type_name: Name,
    /// The root field to call.
    pub field_name: Name,
    /// The top-level fields of the key selection (with their subselections).
    pub key: Vec<Node<apollo_compiler::executable::Field>>,
    /// How the fields are fetched.
    pub method: Method,
    /// The root field's arguments and their types, to declare variables.
    pub arg_types: Vec<(Name, ast::Type)>,
    /// Whether the root field returns an abstract type (results need `... on Type`).
    pub abstract_result: bool,
    /// For a gateway-defined field: how each error of its calls is mapped.
    pub on_located_error: Option<crate::extension::OnLocatedErrorFn>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("subschema", &self.subschema)
            .field("type_name", &self.type_name)
            .field("field_name", &self.field_name)
            .finish_non_exhaustive()
    }
}

/// The ways of resolving a merged type's fields (see the module documentation).
#[derive(Clone)]
pub(crate) enum Method {
    /// One aliased call per distinct key.
    Single(ArgsFn),
    /// One call with all distinct keys.
    Batched(Batched),
    /// `_entities(representations:)`.
    Federation,
    /// A gateway-defined field delegated once per distinct parent (aliased calls).
    Delegate(DelegateArgsFn),
    /// A gateway-defined field delegated for all parents in one call.
    BatchDelegate(BatchDelegate),
    /// A gateway-defined field resolved by a local function (no upstream call).
    Local(LocalFn),
    /// An entry point written in code: it fetches the objects itself.
    Custom(ResolveFn),
}

/// The upstream calls of one step: per aliased call the names of its arguments (the shape of
/// the document), and the variables holding their values (`$_qv<call>_<argument>`).
#[derive(Default)]
pub(crate) struct Calls {
    /// Per call, the names of the arguments passed.
    pub names: Vec<Vec<String>>,
    /// The arguments' values, as variables.
    pub variables: JsonMap,
}

impl Calls {
    /// Adds call `i` with `args`.
    fn add(&mut self, i: usize, args: JsonMap) {
        let mut names = Vec::with_capacity(args.len());
        for (name, value) in args {
            self.variables
                .insert(format!("{VARIABLE_PREFIX}{i}_{name}"), value);
            names.push(name);
        }
        self.names.push(names);
    }
}

/// What a step does with its objects: calls its subschema, or gets one value per distinct
/// representation from code.
pub(crate) enum Call {
    /// One upstream request with these calls.
    Upstream(Calls),
    /// A local resolver's values, one per representation.
    Local(Values),
    /// A custom entry point's values, one per representation.
    Custom(Values),
}

/// One outcome per distinct representation: the value, or an error message for the fields.
pub(crate) type Values = BoxFuture<'static, Vec<Result<Value, String>>>;

/// The results of an upstream call matched to the representations sent.
pub(crate) struct Matched {
    /// Per representation, its result (if one came).
    pub results: Vec<Option<Data>>,
    /// For results matched by a field or a function: the representation each returned item
    /// went to (an error at an item goes there). `None`: items are in key order.
    items: Option<Vec<Option<usize>>>,
}

impl Method {
    /// Whether all objects go in one call (aliased `_e`); else one call per object (`_<i>`).
    pub fn batched(&self) -> bool {
        matches!(
            self,
            Method::Batched(_) | Method::Federation | Method::BatchDelegate(_)
        )
    }

    /// Whether it is computed at the gateway (the step selects nothing upstream).
    pub fn is_local(&self) -> bool {
        matches!(self, Method::Local(_))
    }

    /// Whether its representations can be sent as JSON text written straight from the
    /// response data (when the executor accepts raw variables).
    pub fn sends_raw_representations(&self) -> bool {
        matches!(self, Method::Federation)
    }

    /// The field its results are grouped by, to select (aliased `_qk_<field>`) besides the
    /// client's fields.
    pub fn group_field(&self) -> Option<&str> {
        match self {
            Method::BatchDelegate(b) => b.group_field(),
            _ => None,
        }
    }

    /// The selection of each call: the client's (`selection`) with whatever matching needs.
    pub fn call_selection<'s>(&self, resolver: &Resolver, selection: &'s str) -> Cow<'s, str> {
        let selection = match self {
            Method::Batched(b) => b.selection(resolver, selection),
            _ => Cow::Borrowed(selection),
        };
        if resolver.abstract_result || matches!(self, Method::Federation) {
            Cow::Owned(format!("{{ ... on {} {} }}", resolver.type_name, selection))
        } else {
            selection
        }
    }

    /// The alias of call `i` in the step's document.
    pub fn call_alias(&self, i: usize) -> Cow<'static, str> {
        if self.batched() {
            Cow::Borrowed(BATCH_ALIAS)
        } else {
            Cow::Owned(format!("_{i}"))
        }
    }

    /// The calls for the distinct `representations` (taken when sent as they are). With
    /// `raw`, federation's representations go as JSON text, in the variable
    /// [`RAW_REPRESENTATIONS`]. `entry_call` builds a custom entry point's input.
    pub fn call(
        &self,
        representations: &mut Vec<JsonMap>,
        raw: bool,
        field_args: &JsonMap,
        entry_call: impl FnOnce(&[JsonMap]) -> EntryCall,
    ) -> Call {
        let mut calls = Calls::default();
        match self {
            Method::Single(args) => single::calls(args, representations, &mut calls),
            Method::Batched(b) => b.calls(representations, &mut calls),
            Method::Federation => federation::calls(representations, raw, &mut calls),
            Method::Delegate(args) => {
                delegate::calls(args, representations, field_args, &mut calls);
            }
            Method::BatchDelegate(b) => b.calls(representations, field_args, &mut calls),
            Method::Local(resolve) => {
                return Call::Local(local::call(resolve, representations, field_args));
            }
            Method::Custom(resolve) => {
                return Call::Custom(custom::call(resolve, entry_call(representations)));
            }
        }
        Call::Upstream(calls)
    }

    /// Matches the data of an upstream answer to the `count` representations sent
    /// (`representations` is empty when they went as JSON text); a mismatch is an error.
    pub fn match_results(
        &self,
        resolver: &Resolver,
        service: &str,
        data: Option<Object>,
        representations: &[JsonMap],
        count: usize,
        errors: &mut Vec<GraphQLError>,
    ) -> Matched {
        let mut matched = Matched {
            results: vec![None; count],
            items: None,
        };
        if let Method::Batched(b) = self
            && !b.by_position()
        {
            matched.items = Some(Vec::new());
        }
        let Some(data) = data else {
            return matched;
        };
        let results = &mut matched.results;
        match self {
            Method::Single(_) | Method::Delegate(_) => single::match_aliased(data, results),
            Method::Batched(b) => {
                b.match_results(
                    resolver,
                    service,
                    data,
                    representations,
                    &mut matched,
                    errors,
                );
            }
            Method::Federation => by_position(resolver, service, data, results, errors),
            Method::BatchDelegate(b) => {
                b.match_results(resolver, service, data, representations, results, errors);
            }
            Method::Local(_) | Method::Custom(_) => {}
        }
        matched
    }
}

impl Matched {
    /// Which representation an error at `path` (a path in the step's document) concerns,
    /// and the rest of its path under that object.
    pub fn error_target<'p>(
        &self,
        method: &Method,
        path: &'p [PathSegment],
    ) -> Option<(usize, &'p [PathSegment])> {
        match path {
            [PathSegment::Key(alias), PathSegment::Index(i), rest @ ..] if alias == BATCH_ALIAS => {
                match &self.items {
                    None => Some((*i, rest)),
                    Some(items) => items.get(*i).copied().flatten().map(|u| (u, rest)),
                }
            }
            [PathSegment::Key(alias), rest @ ..] => alias
                .strip_prefix('_')
                .and_then(|i| i.parse::<usize>().ok())
                .filter(|_| !method.batched())
                .map(|i| (i, rest)),
            _ => None,
        }
    }
}

/// A batched call's list, one result per key in key order.
fn by_position(
    resolver: &Resolver,
    service: &str,
    mut data: Object,
    results: &mut [Option<Data>],
    errors: &mut Vec<GraphQLError>,
) {
    match data.remove(BATCH_ALIAS) {
        Some(Data::List(items)) if items.len() == results.len() => {
            for (slot, item) in results.iter_mut().zip(items) {
                *slot = Some(item);
            }
        }
        Some(Data::List(items)) => errors.push(GraphQLError::new(format!(
            "`{}` of subschema `{service}` returned {} results for {} keys",
            resolver.field_name,
            items.len(),
            results.len()
        ))),
        _ => {}
    }
}

/// A printed selection set (`{ a b }`) with `fields` added at its end.
fn with_fields(selection: &str, fields: &str) -> String {
    let inner = selection
        .trim()
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or_default();
    format!("{{ {} {fields} }}", inner.trim())
}

/// A selection set (`{ id }` or `id`) parsed and validated on `type_name` of the subschema.
pub(crate) fn field_set(
    subschema: &str,
    schema: &Valid<Schema>,
    type_name: &Name,
    selection: &str,
    coordinate: &str,
) -> Result<Vec<Node<apollo_compiler::executable::Field>>, StitchError> {
    let error = |message: String| StitchError::InvalidMergeConfig {
        subschema: subschema.to_owned(),
        coordinate: coordinate.to_owned(),
        message,
    };
    if schema.get_object(type_name).is_none() && schema.get_interface(type_name).is_none() {
        return Err(error(format!(
            "the subschema has no object type `{type_name}`"
        )));
    }
    let set = FieldSet::parse_and_validate(
        schema,
        type_name.clone(),
        selection,
        format!("{subschema}:{coordinate}"),
    )
    .map_err(|e| error(format!("selection set `{selection}`: {}", e.errors)))?;
    let mut fields = Vec::new();
    for selection in &set.selection_set.selections {
        match selection {
            Selection::Field(field) => fields.push(field.clone()),
            _ => {
                return Err(error(format!(
                    "selection set `{selection}`: only fields are allowed at the top level"
                )));
            }
        }
    }
    Ok(fields)
}

impl Resolver {
    /// Checks an entry point of subschema `sub` (number `index`) for `type_name` against the
    /// subschema.
    pub fn of_entry_point(
        sub: &SubschemaConfig,
        index: usize,
        type_name: &str,
        entry: &EntryPoint,
    ) -> Result<Resolver, StitchError> {
        let coordinate = if entry.field_name.is_empty() {
            format!("{type_name} (resolve)")
        } else {
            format!("{type_name} ({})", entry.field_name)
        };
        let error = |message: String| StitchError::InvalidMergeConfig {
            subschema: sub.name.clone(),
            coordinate: coordinate.clone(),
            message,
        };
        let type_name = Name::new(type_name).map_err(|e| error(e.to_string()))?;
        if sub.schema.get_object(&type_name).is_none() {
            return Err(error(format!(
                "the subschema has no object type `{type_name}` to merge"
            )));
        }
        if let EntryArgs::Custom(resolve) = &entry.args {
            let key = field_set(
                &sub.name,
                &sub.schema,
                &type_name,
                &entry.selection_set,
                &coordinate,
            )?;
            return Ok(Resolver {
                subschema: index,
                field_name: type_name.clone(),
                type_name,
                key,
                method: Method::Custom(resolve.clone()),
                arg_types: Vec::new(),
                abstract_result: false,
                on_located_error: None,
            });
        }
        let query = sub
            .schema
            .root_operation(ast::OperationType::Query)
            .and_then(|q| sub.schema.get_object(q))
            .ok_or_else(|| error("the subschema has no query type".into()))?;
        let field = query.fields.get(entry.field_name.as_str()).ok_or_else(|| {
            error(format!(
                "the merge field `{}` does not exist on the subschema's query type",
                entry.field_name
            ))
        })?;
        let returned = field.ty.inner_named_type();
        let abstract_result = returned != &type_name;
        if abstract_result && !sub.schema.is_subtype(returned, &type_name) {
            return Err(error(format!(
                "the merge field `{}` returns `{}`, not `{type_name}`",
                entry.field_name, field.ty
            )));
        }
        let key = field_set(
            &sub.name,
            &sub.schema,
            &type_name,
            &entry.selection_set,
            &coordinate,
        )?;
        let arg_types: Vec<(Name, ast::Type)> = field
            .arguments
            .iter()
            .map(|a| (a.name.clone(), (*a.ty).clone()))
            .collect();
        let mut method = match &entry.args {
            EntryArgs::Single(f) => Method::Single(f.clone()),
            EntryArgs::Batched {
                key,
                args_from_keys,
            } => Method::Batched(Batched::new(key.clone(), args_from_keys.clone())),
            EntryArgs::Entities => Method::Federation,
            EntryArgs::Custom(resolve) => Method::Custom(resolve.clone()),
            EntryArgs::Declarative(d) => {
                declarative::method(d, field.ty.is_list(), &arg_types).map_err(error)?
            }
        };
        match (&entry.matching, &mut method) {
            (Matching::Position, _) => {}
            (matching, Method::Batched(b)) => b.matching = matching.clone(),
            _ => {
                return Err(error(format!(
                    "results can be matched to keys only for a batched merge field, and `{}` is \
                     not one (or is `_entities`)",
                    entry.field_name
                )));
            }
        }
        if let Matching::By(by) = &entry.matching
            && sub.schema.type_field(&type_name, by).is_err()
        {
            return Err(error(format!(
                "results are matched by `{by}`, which `{type_name}` does not have"
            )));
        }
        if let Method::Batched(_) | Method::Federation = method
            && !field.ty.is_list()
        {
            return Err(error(format!(
                "the merge field `{}` takes all keys at once but returns `{}`, not a list",
                entry.field_name, field.ty
            )));
        }
        Ok(Resolver {
            subschema: index,
            type_name,
            field_name: field.name.clone(),
            key,
            method,
            arg_types,
            abstract_result,
            on_located_error: None,
        })
    }
}
