//! Entity steps: the fetches of merged types' fields. Each gathers the objects at one place of
//! the response, sends their representations to one entry point of one subschema (one call for
//! all of them, or one aliased call each in one request) and merges the results back.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, RwLock};

use apollo_compiler::executable::{DirectiveList, Field};
use apollo_compiler::{Name, Node};
use indexmap::IndexSet;
use quilt_executor::{Document, OperationType};

use super::StepField;
use crate::resolve::{KEY_ALIAS_PREFIX, Resolver, VARIABLE_PREFIX};

/// Identifies the entity step of one subschema for one type at one place.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct BuilderKey {
    pub root: usize,
    /// The deferred group whose fields it fetches (0: the initial payload).
    pub group: usize,
    pub subschema: usize,
    pub path: Vec<String>,
    pub type_name: Name,
    /// For a gateway-defined field: its response key.
    pub field: Option<String>,
}

/// An entity step while it is planned.
pub(super) struct EntityBuilder<'a> {
    pub level: usize,
    pub resolver: Arc<Resolver>,
    /// Whether other types can stand at this place (check `__typename`).
    pub typed: bool,
    /// The client's fields it resolves, with the `@skip`/`@include` of enclosing fragments.
    pub fields: Vec<(&'a Node<Field>, Vec<DirectiveList>)>,
    /// Requirement fields it selects for later steps at the same place (aliased).
    pub extra: Vec<Node<Field>>,
    /// The top-level fields of the representation it sends.
    pub requirements: IndexSet<Name>,
    /// Whether it has been turned into a step.
    pub done: bool,
}

impl<'a> EntityBuilder<'a> {
    pub fn new(resolver: Arc<Resolver>, level: usize, typed: bool) -> Self {
        Self {
            level,
            resolver,
            typed,
            fields: Vec::new(),
            extra: Vec::new(),
            requirements: IndexSet::new(),
            done: false,
        }
    }
}

/// A planned entity step.
pub(crate) struct EntityStep {
    /// The root step it descends from.
    pub root: usize,
    /// The deferred group it belongs to (0: the initial payload).
    pub group: usize,
    /// The entry point.
    pub resolver: Arc<Resolver>,
    /// Where its objects are: one place, or several where the steps of one level sent the same
    /// selection to the same entry point (see [`merge_places`]). Never empty.
    pub places: Vec<Place>,
    /// Only objects with this `__typename` (when other types stand at the same place).
    pub type_condition: Option<Name>,
    /// The representation's fields (besides `__typename`), read from `_qk_<field>`.
    pub requirements: Vec<Name>,
    /// The aliases the requirements are read from: `_qk_<field>`, in their order (an object
    /// without it has the requirement under its own name: the fetch selected it plainly for
    /// the client, and the planner did not select it twice).
    pub aliases: Vec<String>,
    /// Per requirement: whether no fetch of the plan selects its `_qk_` alias, so objects
    /// hold it under its own name and the gather walk looks there first (see
    /// [`mark_plain_requirements`]). A lookup of an absent alias reads every member of the
    /// object.
    pub plain_first: Vec<bool>,
    /// A representation with every value null (`__typename` set): each object's is a copy
    /// with its values put in, so its keys are not hashed again.
    pub representation: quilt_executor::JsonMap,
    /// The operation name it sends (the client's).
    pub operation_name: Option<String>,
    /// The selection on each object, printed.
    pub selection: String,
    /// The fragment definitions the selection uses, printed.
    pub fragments: String,
    /// The client's variables the selection uses: name and printed definition.
    pub client_variables: Vec<(Name, String)>,
    /// For a gateway-defined field: the response key its value goes to (else the results are
    /// merged into the objects).
    pub placement: Option<String>,
    /// For a gateway-defined field: the client's arguments (defaults applied at run time).
    pub field_args: Vec<(Name, Node<apollo_compiler::ast::Value>)>,
    /// Documents already printed and parsed, by shape (argument names, object count).
    documents: RwLock<HashMap<String, Document>>,
    /// How many distinct representations the step's last run found (at most
    /// [`MAX_DISTINCT_HINT`]): the next run's set of them starts at that size instead of
    /// growing to it.
    pub distinct_hint: std::sync::atomic::AtomicUsize,
    /// How many bytes the step's last run wrote its representations in, as JSON text (at most
    /// [`MAX_WRITTEN_HINT`]): the next run's text starts at that size instead of doubling to
    /// it.
    pub written_hint: std::sync::atomic::AtomicUsize,
}

/// One place of an entity step's objects.
#[derive(Debug)]
pub(crate) struct Place {
    /// The response keys from the root to the objects (lists are walked through).
    pub path: Vec<String>,
    /// The client fields the step resolves there, to place an error on each when the fetch
    /// fails.
    pub fields: Vec<StepField>,
}

/// The largest [`EntityStep::distinct_hint`]: one huge answer does not make every later run
/// reserve for it.
pub(crate) const MAX_DISTINCT_HINT: usize = 1 << 16;

/// The largest [`EntityStep::written_hint`] (see [`MAX_DISTINCT_HINT`]).
pub(crate) const MAX_WRITTEN_HINT: usize = 8 << 20;

impl std::fmt::Debug for EntityStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntityStep")
            .field("subschema", &self.resolver.subschema)
            .field("type", &self.resolver.type_name)
            .field("entry", &self.resolver.field_name)
            .field("places", &self.places)
            .field("selection", &self.selection)
            .finish_non_exhaustive()
    }
}

/// Sets each step's [`plain_first`](EntityStep::plain_first): a requirement is looked for
/// under its own name first when no text the plan sends (its root documents, `root_texts`,
/// and its steps' selections and fragments) names its `_qk_` alias. Where one does, the alias comes
/// first as before, since the object may then hold the client's own field of that response
/// key (an alias of another field) beside it. Either way the walk falls back to the other
/// name, so the order only decides how fast the value is found, except where both are
/// present: and both are present only where a text names the alias.
pub(super) fn mark_plain_requirements(steps: &mut [Vec<EntityStep>], root_texts: &[&str]) {
    let step_texts = steps
        .iter()
        .flatten()
        .flat_map(|s| [s.selection.as_str(), s.fragments.as_str()]);
    let aliased = key_aliases_named(root_texts.iter().copied().chain(step_texts));
    let plain: Vec<Vec<bool>> = steps
        .iter()
        .flatten()
        .map(|step| {
            (step.requirements.iter())
                .map(|requirement| !aliased.contains(requirement.as_str()))
                .collect()
        })
        .collect();
    for (step, plain) in steps.iter_mut().flatten().zip(plain) {
        step.plain_first = plain;
    }
}

/// Merges the steps of one level that send the same selection to the same entry point (see
/// [`EntityStep::same_fetch`]) into one step over all their places, in the order the steps
/// came: one fetch then gathers the objects of every place, so an object reached by several
/// paths (a product under a review and under a user's review) is sent, resolved and parsed
/// once, and the subschema gets one field instead of one per path.
pub(super) fn merge_places(level: &mut Vec<EntityStep>) {
    let mut i = 0;
    while i < level.len() {
        let mut j = i + 1;
        while j < level.len() {
            if level[i].same_fetch(&level[j]) {
                let other = level.remove(j);
                level[i].places.extend(other.places);
            } else {
                j += 1;
            }
        }
        i += 1;
    }
    // The level is kept as long as the plan: without the room its merged steps left.
    level.shrink_to_fit();
}

/// The fields whose `_qk_` alias appears in `texts` (GraphQL text: a name follows the prefix
/// up to the first character that cannot be part of one). A client's own response key that
/// happens to start with the prefix counts too, which only keeps the alias first.
fn key_aliases_named<'t>(
    texts: impl IntoIterator<Item = &'t str>,
) -> std::collections::HashSet<&'t str> {
    let mut aliased = std::collections::HashSet::new();
    for text in texts {
        let mut rest = text;
        while let Some(at) = rest.find(KEY_ALIAS_PREFIX) {
            let name = &rest[at + KEY_ALIAS_PREFIX.len()..];
            let end = name
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(name.len());
            aliased.insert(&name[..end]);
            rest = &name[end..];
        }
    }
    aliased
}

/// The most documents one step keeps (distinct shapes are few: argument sets, and object
/// counts for single-key entry points).
const MAX_DOCUMENTS: usize = 64;

impl EntityStep {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        root: usize,
        resolver: Arc<Resolver>,
        path: Vec<String>,
        type_condition: Option<Name>,
        requirements: Vec<Name>,
        fields: Vec<StepField>,
        operation_name: Option<String>,
        selection: String,
        fragments: String,
        client_variables: Vec<(Name, String)>,
    ) -> Self {
        let representation = std::iter::once((
            "__typename".to_owned(),
            serde_json::Value::String(resolver.type_name.to_string()),
        ))
        .chain(
            requirements
                .iter()
                .map(|r| (r.to_string(), serde_json::Value::Null)),
        )
        .collect();
        Self {
            root,
            group: 0,
            resolver,
            places: vec![Place { path, fields }],
            type_condition,
            aliases: requirements
                .iter()
                .map(|r| format!("{KEY_ALIAS_PREFIX}{r}"))
                .collect(),
            plain_first: vec![false; requirements.len()],
            representation,
            requirements,
            operation_name,
            selection,
            fragments,
            client_variables,
            placement: None,
            field_args: Vec::new(),
            documents: RwLock::new(HashMap::new()),
            distinct_hint: std::sync::atomic::AtomicUsize::new(0),
            written_hint: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// An estimate of the memory the step holds, its selection printed twice (as kept and
    /// in the one document most executions send) and its maps.
    pub fn weight(&self) -> usize {
        let printed = self.selection.len() + self.fragments.len();
        std::mem::size_of::<Self>()
            + 2 * printed
            + 256
            + (self.places.iter())
                .map(|place| {
                    std::mem::size_of::<Place>()
                        + place.path.iter().map(|p| p.len() + 24).sum::<usize>()
                        + place.fields.len() * (std::mem::size_of::<StepField>() + 16)
                })
                .sum::<usize>()
            + self.aliases.iter().map(|a| a.len() + 24).sum::<usize>()
            + self.representation.len() * 96
            + self.requirements.len() * 16
            + self
                .client_variables
                .iter()
                .map(|(_, d)| d.len() + 48)
                .sum::<usize>()
    }

    /// Whether `other` sends what this step sends (the same selection to the same entry point
    /// for the same type, in the same group under the same root), so that one fetch can serve
    /// both steps' places. Steps of gateway-defined fields are never merged.
    fn same_fetch(&self, other: &Self) -> bool {
        self.placement.is_none()
            && other.placement.is_none()
            && self.field_args.is_empty()
            && other.field_args.is_empty()
            && self.root == other.root
            && self.group == other.group
            && Arc::ptr_eq(&self.resolver, &other.resolver)
            && self.type_condition == other.type_condition
            && self.requirements == other.requirements
            && self.selection == other.selection
            && self.fragments == other.fragments
            && self.client_variables == other.client_variables
            && self.operation_name == other.operation_name
    }

    /// Puts the step in a deferred group.
    pub(super) fn in_group(mut self, group: usize) -> Self {
        self.group = group;
        self
    }

    /// Makes this the step of a gateway-defined field.
    pub(super) fn for_field(
        mut self,
        key: String,
        field_args: Vec<(Name, Node<apollo_compiler::ast::Value>)>,
    ) -> Self {
        self.placement = Some(key);
        self.field_args = field_args;
        self
    }

    /// The document for a call shape: `calls` holds, per aliased call (one for list entry
    /// points), the names of the arguments passed. Variables are `$_qv<call>_<arg>`.
    pub fn document(&self, calls: &[Vec<String>]) -> Result<Document, String> {
        let mut shape = String::new();
        for call in calls {
            shape.push_str(&call.join(","));
            shape.push(';');
        }
        if let Ok(documents) = self.documents.read()
            && let Some(document) = documents.get(&shape)
        {
            return Ok(document.clone());
        }
        let text = self.print(calls)?;
        // Printed here, sent as text: never parsed unless something reads its tree (the test
        // suite's debug builds check that it parses).
        super::debug_check_printed(&text);
        let document =
            Document::from_printed(text, OperationType::Query, self.operation_name.as_deref())
                .with_incremental_delivery(false);
        if let Ok(mut documents) = self.documents.write()
            && documents.len() < MAX_DOCUMENTS
        {
            documents.insert(shape, document.clone());
        }
        Ok(document)
    }

    fn print(&self, calls: &[Vec<String>]) -> Result<String, String> {
        let resolver = &self.resolver;
        let mut definitions = Vec::new();
        let mut body = String::new();
        let selection = resolver.method.call_selection(resolver, &self.selection);
        for (i, call) in calls.iter().enumerate() {
            let alias = resolver.method.call_alias(i);
            let mut arguments = Vec::new();
            for name in call {
                let ty = resolver
                    .arg_types
                    .iter()
                    .find(|(n, _)| n.as_str() == name)
                    .map(|(_, t)| t)
                    .ok_or_else(|| {
                        format!(
                            "the merge field `{}` has no argument `{name}`",
                            resolver.field_name
                        )
                    })?;
                let variable = format!("{VARIABLE_PREFIX}{i}_{name}");
                definitions.push(format!("${variable}: {ty}"));
                arguments.push(format!("{name}: ${variable}"));
            }
            let _ = write!(
                body,
                "{alias}: {}({}) {selection} ",
                resolver.field_name,
                arguments.join(", ")
            );
        }
        definitions.extend(self.client_variables.iter().map(|(_, d)| d.clone()));
        let name = self.operation_name.as_deref().unwrap_or("");
        let variables = if definitions.is_empty() {
            String::new()
        } else {
            format!("({})", definitions.join(", "))
        };
        Ok(format!(
            "query {name}{variables} {{ {body}}}{}",
            self.fragments
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::key_aliases_named;

    #[test]
    fn the_key_aliases_of_printed_selections_are_found_whole() {
        let texts = [
            "query Q { topProducts { mass: weight upc _qk_price: price _qk_weight: weight } }",
            "{ _qk_upc_2: upc }",
            "fragment F on Product { _qk_id:id }",
            "{ name }",
        ];
        let mut found: Vec<&str> = key_aliases_named(texts).into_iter().collect();
        found.sort_unstable();
        assert_eq!(found, ["id", "price", "upc_2", "weight"]);
        // `_qk_upc_2` names `upc_2`, not `upc`: `upc` is read under its own name first.
        assert!(!key_aliases_named(texts).contains("upc"));
        assert!(key_aliases_named(["{ a }"]).is_empty());
    }
}
