//! Merged types resolved: for every (type, subschema) the entry points that fetch the type's
//! objects by key, and per subschema the fields it resolves only with extra input (computed
//! fields, `@requires`), the fields it cannot resolve (`@external`) and the ones a parent field
//! provides (`@provides`). Built once per stitched schema from code config and directives.

mod args;
mod directives;
mod extensions;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use apollo_compiler::executable::{FieldSet, Selection};
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Node, Schema, ast};
use quilt_executor::JsonMap;
use serde_json::Value;

use crate::config::SubschemaConfig;
use crate::entry_point::{ArgsFn, ArgsFromKeysFn, EntryArgs, EntryPoint, KeyFn};
use crate::error::StitchError;

pub(crate) use directives::{
    GATEWAY_DIRECTIVES, HIDDEN_ROOT_FIELDS, canonical_marks, nested_selection, overridden,
};
pub(crate) use extensions::ExtensionIndex;

/// How a resolver's arguments are built at run time.
#[derive(Clone)]
pub(crate) enum RuntimeArgs {
    /// One aliased call per distinct key.
    Single(ArgsFn),
    /// One call with all distinct keys; one result per key, in order.
    Batched {
        key: KeyFn,
        args_from_keys: ArgsFromKeysFn,
    },
    /// `_entities(representations:)`.
    Entities,
    /// A gateway-defined field delegated once per distinct parent (aliased calls).
    Delegate(crate::extension::DelegateArgsFn),
    /// A gateway-defined field delegated for all parents in one call.
    BatchDelegate {
        key: crate::extension::ParentKeyFn,
        args_from_keys: crate::extension::KeysArgsFn,
        matching: crate::extension::Matching,
    },
    /// A gateway-defined field resolved by a local function (no upstream call).
    Local(crate::extension::LocalFn),
    /// An entry point written in code: it fetches the objects itself.
    Custom(crate::entry_point::ResolveFn),
}

/// An entry point checked against its subschema: what to select, call and send.
pub(crate) struct Resolver {
    /// The subschema.
    pub subschema: usize,
    /// The merged object type.
    pub type_name: Name,
    /// The root field to call.
    pub field_name: Name,
    /// The top-level fields of the key selection (with their subselections).
    pub key: Vec<Node<apollo_compiler::executable::Field>>,
    /// How arguments are built.
    pub args: RuntimeArgs,
    /// The root field's arguments and their types, to declare variables.
    pub arg_types: Vec<(Name, ast::Type)>,
    /// Whether the root field returns an abstract type (results need `... on Type`).
    pub abstract_result: bool,
    /// How a batched call's results are matched to its keys.
    pub matching: crate::entry_point::Matching,
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

impl Resolver {
    /// Whether all keys go in one call.
    pub fn batched(&self) -> bool {
        !matches!(
            self.args,
            RuntimeArgs::Single(_)
                | RuntimeArgs::Delegate(_)
                | RuntimeArgs::Local(_)
                | RuntimeArgs::Custom(_)
        )
    }
}

/// A field resolved only with more input than the key: its required top-level fields.
pub(crate) type Requirements = Vec<Node<apollo_compiler::executable::Field>>;

/// What the planner needs to know about merged types.
#[derive(Default)]
pub(crate) struct EntityIndex {
    resolvers: HashMap<(Name, usize), Vec<Arc<Resolver>>>,
    computed: HashMap<(usize, Name, Name), Requirements>,
    external: HashSet<(usize, Name, Name)>,
    provides: HashMap<(usize, Name, Name), Vec<Name>>,
}

impl EntityIndex {
    /// Reads the entry points of every subschema (code config, stitching directives,
    /// federation `@key`) and checks them against the subschemas' schemas.
    /// Computed fields' requirements are read against the stitched schema `merged`: they name
    /// fields of other subschemas.
    pub fn build(
        subschemas: &[SubschemaConfig],
        merged: &Valid<Schema>,
    ) -> Result<Self, StitchError> {
        let mut index = EntityIndex::default();
        for (i, sub) in subschemas.iter().enumerate() {
            let found = directives::read(sub)?;
            let mut entry_points = found.entry_points;
            entry_points.extend(sub.merge.iter().cloned());
            for (type_name, entry) in entry_points {
                let resolver = resolve(sub, i, &type_name, &entry)?;
                index
                    .resolvers
                    .entry((resolver.type_name.clone(), i))
                    .or_default()
                    .push(Arc::new(resolver));
            }
            let mut computed = found.computed;
            computed.extend(sub.computed.iter().cloned());
            for (coordinate, selection) in computed {
                let (type_name, field) = split_coordinate(&sub.name, &coordinate)?;
                let fields = field_set(&sub.name, merged, &type_name, &selection, &coordinate)?;
                index.computed.insert((i, type_name, field), fields);
            }
            for (type_name, field) in found.external {
                index.external.insert((i, type_name, field));
            }
            for ((type_name, field), names) in found.provides {
                index.provides.insert((i, type_name, field), names);
            }
        }
        // A field another subschema overrides is external here, unless it is part of a key of
        // this subschema (which it still answers in representations).
        for (i, type_name, field) in overridden(subschemas) {
            let in_key = index
                .resolvers
                .get(&(type_name.clone(), i))
                .is_some_and(|resolvers| {
                    resolvers
                        .iter()
                        .any(|r| r.key.iter().any(|k| k.name == field))
                });
            if !in_key {
                index.external.insert((i, type_name, field));
            }
        }
        Ok(index)
    }

    /// The entry points of `subschema` for `type_name`.
    pub fn resolvers(&self, type_name: &str, subschema: usize) -> &[Arc<Resolver>] {
        Name::new(type_name)
            .ok()
            .and_then(|t| self.resolvers.get(&(t, subschema)))
            .map_or(&[], Vec::as_slice)
    }

    /// The extra fields `subschema` needs to resolve `type_name.field`, if it is computed.
    pub fn computed(
        &self,
        subschema: usize,
        type_name: &str,
        field: &str,
    ) -> Option<&Requirements> {
        let (t, f) = (Name::new(type_name).ok()?, Name::new(field).ok()?);
        self.computed.get(&(subschema, t, f))
    }

    /// Whether `subschema` marks `type_name.field` `@external` (another service resolves it).
    pub fn is_external(&self, subschema: usize, type_name: &str, field: &str) -> bool {
        let (Ok(t), Ok(f)) = (Name::new(type_name), Name::new(field)) else {
            return false;
        };
        self.external.contains(&(subschema, t, f))
    }

    /// The fields of its type that `subschema` provides under `type_name.field` (`@provides`).
    pub fn provides(&self, subschema: usize, type_name: &str, field: &str) -> &[Name] {
        let (Ok(t), Ok(f)) = (Name::new(type_name), Name::new(field)) else {
            return &[];
        };
        self.provides
            .get(&(subschema, t, f))
            .map_or(&[], Vec::as_slice)
    }
}

/// `Type.field` split, or a build error naming the subschema.
fn split_coordinate(subschema: &str, coordinate: &str) -> Result<(Name, Name), StitchError> {
    coordinate
        .split_once('.')
        .and_then(|(t, f)| Some((Name::new(t).ok()?, Name::new(f).ok()?)))
        .ok_or_else(|| StitchError::InvalidMergeConfig {
            subschema: subschema.to_owned(),
            coordinate: coordinate.to_owned(),
            message: "expected a `Type.field` coordinate".into(),
        })
}

/// A selection set (`{ id }` or `id`) parsed and validated on `type_name` of the subschema.
pub(crate) fn field_set(
    subschema: &str,
    schema: &Valid<Schema>,
    type_name: &Name,
    selection: &str,
    coordinate: &str,
) -> Result<Requirements, StitchError> {
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

/// Checks an entry point against its subschema and turns it into a [`Resolver`].
fn resolve(
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
            args: RuntimeArgs::Custom(resolve.clone()),
            arg_types: Vec::new(),
            abstract_result: false,
            matching: crate::entry_point::Matching::Position,
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
    let args = match &entry.args {
        EntryArgs::Single(f) => RuntimeArgs::Single(f.clone()),
        EntryArgs::Batched {
            key,
            args_from_keys,
        } => RuntimeArgs::Batched {
            key: key.clone(),
            args_from_keys: args_from_keys.clone(),
        },
        EntryArgs::Entities => RuntimeArgs::Entities,
        EntryArgs::Custom(resolve) => RuntimeArgs::Custom(resolve.clone()),
        EntryArgs::Declarative(declarative) => {
            args::declarative(declarative, field.ty.is_list(), &arg_types).map_err(error)?
        }
    };
    match (&entry.matching, &args) {
        (crate::entry_point::Matching::Position, _) | (_, RuntimeArgs::Batched { .. }) => {}
        _ => {
            return Err(error(format!(
                "results can be matched to keys only for a batched merge field, and `{}` is not \
                 one (or is `_entities`)",
                entry.field_name
            )));
        }
    }
    if let crate::entry_point::Matching::By(by) = &entry.matching
        && sub.schema.type_field(&type_name, by).is_err()
    {
        return Err(error(format!(
            "results are matched by `{by}`, which `{type_name}` does not have"
        )));
    }
    if let RuntimeArgs::Batched { .. } | RuntimeArgs::Entities = args
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
        args,
        arg_types,
        abstract_result,
        matching: entry.matching.clone(),
        on_located_error: None,
    })
}

/// The value at a dotted path of a JSON object.
pub(crate) fn at_path<'v>(map: &'v JsonMap, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let mut value = map.get(parts.next()?)?;
    for part in parts {
        value = value.get(part)?;
    }
    Some(value)
}
