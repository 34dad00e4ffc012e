//! Merging: many operations of the same type become one, printed once.
//!
//! The algorithm is graphql-tools' `mergeRequests` (after gatsby-source-graphql), written anew
//! on apollo-compiler's AST. For request number `i` the prefix is `_v{i}_`:
//! 1. top-level fragment spreads become inline fragments (recursively, so every field that lands
//!    on the root type is a top-level field);
//! 2. every top-level field, also inside top-level inline fragments, gets the alias
//!    `_v{i}_{alias or name}`;
//! 3. variable definitions and every usage (arguments, directive arguments, nested list and
//!    object values, inside fragments) get the prefix;
//! 4. fragment definitions and the spreads that remain (below the top level) get the prefix;
//!    fragments that are no longer used are dropped.
//!
//! [`prefix_request`] does steps 1–4 for one request, [`combine`] builds the merged request.
//!
//! Longer than 600 lines on purpose: the renaming walk (`Renamer`), the top-level conditions it
//! reads and the text joining of [`combine`] implement the four steps above together — each
//! step's renamings are what the next one and the split (`split.rs`) rely on — and are checked
//! together by the exactness property tests; kept in one file, the rules read top to bottom.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use apollo_compiler::ast::{
    self, Argument, Definition, DirectiveList, FragmentDefinition, OperationType, Selection,
    VariableDefinition,
};
use apollo_compiler::{Name, Node};
use quilt_executor::{Document, JsonMap, RawVariables, Request};

use crate::options::ExtensionsReducer;
use crate::split::{EntryPlan, SplitPlan};

/// Why a request cannot take part in a merged operation; it is then sent on its own, so that
/// the service answers it exactly as it would without the batcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmergeable {
    /// The document has no operation selected by the request's operation name.
    NoOperation,
    /// The operation carries directives, which cannot be split between merged requests.
    OperationDirectives,
    /// A fragment spread names a fragment the document does not define.
    UnknownFragment(String),
    /// Top-level fragments spread each other in a cycle.
    FragmentCycle(String),
    /// A fragment spread at the top level names a fragment that carries directives of its own,
    /// which an inline fragment may not be allowed to carry.
    FragmentDirectives(String),
}

/// One request, renamed with its prefix and ready to be combined with others.
#[derive(Debug, Clone)]
pub struct Prefixed {
    renamed: Arc<Renamed>,
    /// The operation's name (a renaming shared by operations that differ only in their name
    /// carries the first one's).
    operation_name: Option<Name>,
    variables: JsonMap,
    /// The variables given as JSON text, under their prefixed names.
    raw_variables: RawVariables,
    plan: EntryPlan,
}

/// What renaming a document's operation for one position gives, whatever the variables' values
/// (the part a [`PrefixCache`] keeps): the renamed definitions' printed text. No syntax tree is
/// kept: the merged document is sent as text ([`Document::from_printed`]).
#[derive(Debug)]
struct Renamed {
    operation_type: OperationType,
    operation_name: Option<Name>,
    /// Each variable definition's name and its prefixed name.
    variable_names: Vec<(Name, String)>,
    /// The response keys the service must answer (unconditional top-level fields).
    required: Vec<String>,
    /// Whether `required` depends on the variables' values (`@skip`/`@include` with a variable
    /// argument at the top level): such a renaming is not cached.
    depends_on_variables: bool,
    /// The variable definitions printed, joined by `, `.
    variables_text: String,
    /// The selections printed, joined by spaces.
    selections_text: String,
    /// The fragment definitions printed, joined by spaces.
    fragments_text: String,
}

/// The prefix of the request at `index` in a merged operation: `_v{index}_`.
pub fn prefix(index: usize) -> String {
    format!("_v{index}_")
}

/// Renames one request for position `index` of a merged operation.
pub fn prefix_request(index: usize, request: &Request) -> Result<Prefixed, Unmergeable> {
    let renamed = rename(index, request)?;
    Ok(with_variables(Arc::new(renamed), request))
}

/// Renames the request's operation for position `index`.
fn rename(index: usize, request: &Request) -> Result<Renamed, Unmergeable> {
    // A gateway's planned documents are text only: parsed here for this renaming, not kept.
    let tree = request.document.syntax();
    let document = &*tree;
    let operation = Document::select_operation(document, request.operation_name.as_deref())
        .ok_or(Unmergeable::NoOperation)?;
    if !operation.directives.is_empty() {
        return Err(Unmergeable::OperationDirectives);
    }
    let fragments: HashMap<&str, &Node<FragmentDefinition>> = document
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::FragmentDefinition(f) => Some((f.name.as_str(), f)),
            _ => None,
        })
        .collect();
    let root_type = match operation.operation_type {
        OperationType::Query => "Query",
        OperationType::Mutation => "Mutation",
        OperationType::Subscription => "Subscription",
    };
    let mut renamer = Renamer {
        prefix: prefix(index),
        fragments: &fragments,
        used_fragments: Vec::new(),
        seen_fragments: HashSet::new(),
        conditions: Conditions {
            variables: &request.variables,
            raw_variables: &request.raw_variables,
            definitions: &operation.variables,
            read_variables: Cell::new(false),
        },
        root_type,
        required: Vec::new(),
    };
    let mut stack = Vec::new();
    let selections = renamer.root(&operation.selection_set, true, &mut stack)?;
    let fragment_definitions = renamer.fragment_definitions()?;
    let prefix = &renamer.prefix;
    let variable_definitions: Vec<Node<VariableDefinition>> = operation
        .variables
        .iter()
        .map(|definition| {
            let mut definition = definition.clone();
            let d = definition.make_mut();
            d.name = prefixed(prefix, &d.name);
            if let Some(default) = &d.default_value {
                d.default_value = Some(rename_value(default, prefix));
            }
            d.directives = rename_directives(&d.directives, prefix);
            definition
        })
        .collect();
    let variable_names = operation
        .variables
        .iter()
        .map(|definition| {
            (
                definition.name.clone(),
                format!("{prefix}{}", definition.name),
            )
        })
        .collect();
    let mut required = Vec::new();
    for key in renamer.required {
        if !required.contains(&key) {
            required.push(key);
        }
    }
    let depends_on_variables = renamer.conditions.read_variables.get();
    if depends_on_variables && matches!(tree, std::borrow::Cow::Owned(_)) {
        // Renamed again for every request (the renaming is not cached): keep the tree.
        let _ = request.document.ast();
    }
    Ok(Renamed {
        operation_type: operation.operation_type,
        operation_name: operation.name.clone(),
        variables_text: joined(&variable_definitions, ", ", |d| {
            d.serialize().no_indent().to_string()
        }),
        selections_text: joined(&selections, " ", |s| s.serialize().no_indent().to_string()),
        fragments_text: joined(&fragment_definitions, " ", |f| {
            f.serialize().no_indent().to_string()
        }),
        variable_names,
        required,
        depends_on_variables,
    })
}

/// Each item printed, joined by `separator`.
fn joined<T>(items: &[T], separator: &str, print: impl Fn(&T) -> String) -> String {
    items.iter().map(print).collect::<Vec<_>>().join(separator)
}

/// [`with_variables`] taking the values out of `request` instead of copying them (the
/// operation's own variables; the others are dropped).
fn with_variables_taken(renamed: Arc<Renamed>, request: &mut Request) -> Prefixed {
    let prefixed_name = |name: &str| {
        renamed
            .variable_names
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, prefixed)| prefixed.clone())
    };
    // A name given both ways is sent from `variables` (as the request would send it).
    let raw_variables = std::mem::take(&mut request.raw_variables)
        .into_iter()
        .filter(|(name, _)| !request.variables.contains_key(name.as_str()))
        .filter_map(|(name, raw)| Some((prefixed_name(&name)?, raw)))
        .collect();
    let mut variables = JsonMap::new();
    for (name, value) in std::mem::take(&mut request.variables) {
        if let Some(prefixed) = prefixed_name(&name) {
            variables.insert(prefixed, value);
        }
    }
    let plan = EntryPlan::new(renamed.required.clone());
    Prefixed {
        operation_name: operation_name(&renamed, request),
        renamed,
        variables,
        raw_variables,
        plan,
    }
}

/// The name of `request`'s operation: the renamed one's, unless the renaming was made for
/// another operation of the same text but another name (see [`PrefixCache`]).
fn operation_name(renamed: &Renamed, request: &Request) -> Option<Name> {
    match request.document.operation_name_and_body() {
        Some((name, _)) if renamed.operation_name.as_deref() != Some(name) => Name::new(name)
            .ok()
            .or_else(|| renamed.operation_name.clone()),
        _ => renamed.operation_name.clone(),
    }
}

/// The request's variables under their prefixed names, and what the service must answer.
fn with_variables(renamed: Arc<Renamed>, request: &Request) -> Prefixed {
    let mut variables = JsonMap::new();
    let mut raw_variables = Vec::new();
    for (name, prefixed) in &renamed.variable_names {
        if let Some(value) = request.variables.get(name.as_str()) {
            variables.insert(prefixed.clone(), value.clone());
        } else if let Some((_, raw)) = request
            .raw_variables
            .iter()
            .find(|(n, _)| n.as_str() == name.as_str())
        {
            raw_variables.push((prefixed.clone(), raw.clone()));
        }
    }
    let plan = EntryPlan::new(renamed.required.clone());
    Prefixed {
        operation_name: operation_name(&renamed, request),
        renamed,
        variables,
        raw_variables,
        plan,
    }
}

/// Renamed operations kept per (document, operation name, position), so that a document
/// batched again and again (a gateway's planned step documents are) is renamed and printed
/// once per position, not once per batch. A printed document's renaming is kept under its text
/// after the operation's name ([`Document::operation_name_and_body`]): the same upstream
/// document planned for client operations of different names (a new name each, for clients
/// that number their operations) is renamed once, each request keeping its own name. Bounded:
/// it is emptied when full.
#[derive(Debug, Default)]
pub struct PrefixCache {
    entries: Mutex<HashMap<PrefixKey, (Document, Arc<Renamed>)>>,
}

/// Where a renaming is kept.
#[derive(Debug, PartialEq, Eq, Hash)]
enum PrefixKey {
    /// A document's hash, its operation name and a position.
    Document(u64, Option<String>, usize),
    /// The hash of a printed document's operation type and text after the operation's name
    /// (see [`Document::operation_name_and_body`]), and a position.
    Body(u64, usize),
}

impl PrefixKey {
    fn of(request: &Request, index: usize) -> Self {
        let document = &request.document;
        match (document.operation_name_and_body(), document.body_hash64()) {
            // Only where the request selects that operation (another name selects none).
            (Some((name, _)), Some(hash))
                if request.operation_name.as_deref().is_none_or(|n| n == name) =>
            {
                PrefixKey::Body(hash, index)
            }
            _ => PrefixKey::Document(
                request.document.hash64(),
                request.operation_name.clone(),
                index,
            ),
        }
    }

    /// Whether `kept`, the document a renaming under this key was made from, is `document`
    /// (by body for a body key).
    fn matches(&self, kept: &Document, document: &Document) -> bool {
        match self {
            PrefixKey::Document(..) => kept == document,
            PrefixKey::Body(..) => {
                kept.ptr_eq(document)
                    || (kept.operation_type(None) == document.operation_type(None)
                        && kept.operation_name_and_body().map(|(_, body)| body)
                            == document.operation_name_and_body().map(|(_, body)| body))
            }
        }
    }
}

/// The most renamed operations a [`PrefixCache`] keeps.
const PREFIX_CACHE_CAPACITY: usize = 512;

impl PrefixCache {
    /// [`PrefixCache::prefix_request`] that takes the variables' values out of `request`
    /// instead of copying them; on success `request` is left without variables (by value or
    /// as JSON text).
    pub(crate) fn prefix_taking(
        &self,
        index: usize,
        request: &mut Request,
    ) -> Result<Prefixed, Unmergeable> {
        let renamed = self.renamed(index, request)?;
        Ok(with_variables_taken(renamed, request))
    }

    /// [`prefix_request`], from the cache when the document was renamed for this position
    /// before.
    pub fn prefix_request(&self, index: usize, request: &Request) -> Result<Prefixed, Unmergeable> {
        let renamed = self.renamed(index, request)?;
        Ok(with_variables(renamed, request))
    }

    /// The renaming of `request`'s operation for position `index`, cached.
    fn renamed(&self, index: usize, request: &Request) -> Result<Arc<Renamed>, Unmergeable> {
        let key = PrefixKey::of(request, index);
        let cached = {
            let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            entries
                .get(&key)
                .filter(|(document, _)| key.matches(document, &request.document))
                .map(|(_, renamed)| renamed.clone())
        };
        let renamed = match cached {
            Some(renamed) => renamed,
            None => {
                let renamed = Arc::new(rename(index, request)?);
                // Only what does not depend on the variables' values is kept.
                if !renamed.depends_on_variables {
                    let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
                    if entries.len() >= PREFIX_CACHE_CAPACITY {
                        entries.clear();
                    }
                    entries.insert(key, (request.document.clone(), renamed.clone()));
                }
                renamed
            }
        };
        Ok(renamed)
    }
}

/// The merged request and what [`split`](crate::split) needs to take its result apart.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The one request to send.
    pub request: Request,
    /// Which response keys belong to which entry.
    pub plan: SplitPlan,
}

/// Builds the merged request from renamed requests (in prefix order) and the originals they
/// came from (for extensions and context). The operation takes the first operation name found.
///
/// The document's text is put together from the renamed parts' text, printed when they were
/// renamed, so a merged document is never printed as a whole.
pub fn combine<'a>(
    prefixed: Vec<Prefixed>,
    originals: impl IntoIterator<Item = &'a Request>,
    reducer: &ExtensionsReducer,
) -> Merged {
    let operation_type = prefixed
        .first()
        .map_or(OperationType::Query, |p| p.renamed.operation_type);
    let name = prefixed.iter().find_map(|p| p.operation_name.clone());
    let mut variables = JsonMap::new();
    let mut raw_variables = Vec::new();
    let mut entries = Vec::with_capacity(prefixed.len());
    let mut texts = Texts::default();
    for p in prefixed {
        texts.add(&p.renamed);
        variables.extend(p.variables);
        raw_variables.extend(p.raw_variables);
        entries.push(p.plan);
    }
    let text = texts.document(operation_type, name.as_deref());

    let mut extensions = JsonMap::new();
    let mut context = None;
    // Each part's document answers from its cache; the merged one is not searched again.
    let mut incremental = false;
    for original in originals {
        extensions = reducer(extensions, original);
        context.get_or_insert_with(|| original.context.clone());
        incremental |= original.document.uses_incremental_delivery();
    }
    let document = Document::from_printed(text, operation_type, name.as_deref())
        .with_incremental_delivery(incremental);
    let mut request = Request::from_document(document).variables(variables);
    request.raw_variables = raw_variables;
    request.operation_name = name.map(|n| n.to_string());
    request.extensions = extensions;
    request.context = context.unwrap_or_default();
    Merged {
        request,
        plan: SplitPlan::new(entries),
    }
}

/// The merged document's text in parts, as apollo-compiler prints a document on one line.
#[derive(Default)]
struct Texts {
    variables: String,
    selections: String,
    fragments: String,
}

impl Texts {
    fn add(&mut self, renamed: &Renamed) {
        append(&mut self.variables, ", ", &renamed.variables_text);
        append(&mut self.selections, " ", &renamed.selections_text);
        append(&mut self.fragments, " ", &renamed.fragments_text);
    }

    /// `query Name($a: T, ...) { sel ... } fragment ...`, or `{ sel ... }` for an anonymous
    /// query without variables.
    fn document(&self, operation_type: OperationType, name: Option<&str>) -> String {
        let mut out = String::with_capacity(
            self.variables.len() + self.selections.len() + self.fragments.len() + 32,
        );
        let shorthand =
            operation_type == OperationType::Query && name.is_none() && self.variables.is_empty();
        if !shorthand {
            out.push_str(operation_type.name());
            if let Some(name) = name {
                out.push(' ');
                out.push_str(name);
            }
            if !self.variables.is_empty() {
                out.push('(');
                out.push_str(&self.variables);
                out.push(')');
            }
            out.push(' ');
        }
        if self.selections.is_empty() {
            out.push_str("{}");
        } else {
            out.push_str("{ ");
            out.push_str(&self.selections);
            out.push_str(" }");
        }
        if !self.fragments.is_empty() {
            out.push(' ');
            out.push_str(&self.fragments);
        }
        out
    }
}

/// Appends `text` to `into`, after `separator` when `into` is not empty.
fn append(into: &mut String, separator: &str, text: &str) {
    if text.is_empty() {
        return;
    }
    if !into.is_empty() {
        into.push_str(separator);
    }
    into.push_str(text);
}

/// Whether the fields under some directives are certainly executed.
struct Conditions<'a> {
    variables: &'a JsonMap,
    raw_variables: &'a RawVariables,
    definitions: &'a [Node<VariableDefinition>],
    /// Whether an answer depended on a variable's value.
    read_variables: Cell<bool>,
}

impl Conditions<'_> {
    /// `true` when `@skip`/`@include` certainly let the selection through; `false` when they
    /// exclude it or depend on something not known here.
    fn certainly_included(&self, directives: &DirectiveList) -> bool {
        let skip = directives.get("skip").map(|d| self.argument(d, "if"));
        let include = directives.get("include").map(|d| self.argument(d, "if"));
        !matches!(skip, Some(Some(true)) | Some(None))
            && !matches!(include, Some(Some(false)) | Some(None))
    }

    /// A variable's value (`Some(None)` when it is not a boolean), noting that the answer
    /// depends on it.
    fn variable(&self, name: &str) -> Option<Option<bool>> {
        self.read_variables.set(true);
        if let Some(value) = self.variables.get(name) {
            return Some(value.as_bool());
        }
        let (_, raw) = self.raw_variables.iter().find(|(n, _)| n == name)?;
        Some(serde_json::from_str::<bool>(raw.get()).ok())
    }

    fn argument(&self, directive: &ast::Directive, name: &str) -> Option<bool> {
        match directive.specified_argument_by_name(name)?.as_ref() {
            ast::Value::Boolean(b) => Some(*b),
            ast::Value::Variable(var) => match self.variable(var) {
                Some(value) => value,
                None => self
                    .definitions
                    .iter()
                    .find(|d| d.name == *var)
                    .and_then(|d| d.default_value.as_ref())
                    .and_then(|v| match v.as_ref() {
                        ast::Value::Boolean(b) => Some(*b),
                        _ => None,
                    }),
            },
            _ => None,
        }
    }
}

struct Renamer<'a> {
    prefix: String,
    fragments: &'a HashMap<&'a str, &'a Node<FragmentDefinition>>,
    /// Fragments spread below the top level, in first-use order.
    used_fragments: Vec<Name>,
    seen_fragments: HashSet<Name>,
    conditions: Conditions<'a>,
    root_type: &'static str,
    /// Response keys the service must answer (unconditional top-level fields).
    required: Vec<String>,
}

impl Renamer<'_> {
    /// Renames a top-level selection set: fields are aliased, spreads are inlined.
    fn root(
        &mut self,
        selections: &[Selection],
        certain: bool,
        stack: &mut Vec<Name>,
    ) -> Result<Vec<Selection>, Unmergeable> {
        let mut out = Vec::with_capacity(selections.len());
        for selection in selections {
            match selection {
                Selection::Field(field) => {
                    let key = field.alias.as_ref().unwrap_or(&field.name);
                    if certain && self.conditions.certainly_included(&field.directives) {
                        self.required.push(key.to_string());
                    }
                    let mut field = field.clone();
                    let f = field.make_mut();
                    f.alias = Some(prefixed(&self.prefix, key));
                    f.arguments = rename_arguments(&f.arguments, &self.prefix);
                    f.directives = rename_directives(&f.directives, &self.prefix);
                    f.selection_set = self.nested(&f.selection_set)?;
                    out.push(Selection::Field(field));
                }
                Selection::InlineFragment(inline) => {
                    let certain = certain
                        && self.on_root(inline.type_condition.as_ref())
                        && self.conditions.certainly_included(&inline.directives);
                    let selection_set = self.root(&inline.selection_set, certain, stack)?;
                    out.push(Selection::InlineFragment(Node::new(ast::InlineFragment {
                        type_condition: inline.type_condition.clone(),
                        directives: rename_directives(&inline.directives, &self.prefix),
                        selection_set,
                    })));
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.fragment_name;
                    let definition = *self
                        .fragments
                        .get(name.as_str())
                        .ok_or_else(|| Unmergeable::UnknownFragment(name.to_string()))?;
                    if stack.contains(name) {
                        return Err(Unmergeable::FragmentCycle(name.to_string()));
                    }
                    if !definition.directives.is_empty() {
                        return Err(Unmergeable::FragmentDirectives(name.to_string()));
                    }
                    let certain = certain
                        && self.on_root(Some(&definition.type_condition))
                        && self.conditions.certainly_included(&spread.directives);
                    stack.push(name.clone());
                    let selection_set = self.root(&definition.selection_set, certain, stack)?;
                    stack.pop();
                    out.push(Selection::InlineFragment(Node::new(ast::InlineFragment {
                        type_condition: Some(definition.type_condition.clone()),
                        directives: rename_directives(&spread.directives, &self.prefix),
                        selection_set,
                    })));
                }
            }
        }
        Ok(out)
    }

    /// Whether a type condition certainly matches the root object (no condition, or the
    /// conventional root type name; anything else counts as conditional).
    fn on_root(&self, type_condition: Option<&Name>) -> bool {
        type_condition.is_none_or(|t| t == self.root_type)
    }

    /// Renames a selection set below the top level: variables and fragment spreads.
    fn nested(&mut self, selections: &[Selection]) -> Result<Vec<Selection>, Unmergeable> {
        let mut out = Vec::with_capacity(selections.len());
        for selection in selections {
            out.push(match selection {
                Selection::Field(field) => {
                    let mut field = field.clone();
                    let f = field.make_mut();
                    f.arguments = rename_arguments(&f.arguments, &self.prefix);
                    f.directives = rename_directives(&f.directives, &self.prefix);
                    f.selection_set = self.nested(&f.selection_set)?;
                    Selection::Field(field)
                }
                Selection::InlineFragment(inline) => {
                    let mut inline = inline.clone();
                    let i = inline.make_mut();
                    i.directives = rename_directives(&i.directives, &self.prefix);
                    i.selection_set = self.nested(&i.selection_set)?;
                    Selection::InlineFragment(inline)
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.fragment_name;
                    if !self.fragments.contains_key(name.as_str()) {
                        return Err(Unmergeable::UnknownFragment(name.to_string()));
                    }
                    if self.seen_fragments.insert(name.clone()) {
                        self.used_fragments.push(name.clone());
                    }
                    Selection::FragmentSpread(Node::new(ast::FragmentSpread {
                        fragment_name: prefixed(&self.prefix, name),
                        directives: rename_directives(&spread.directives, &self.prefix),
                    }))
                }
            });
        }
        Ok(out)
    }

    /// The renamed definitions of every fragment spread below the top level, transitively;
    /// fragments used only at the top level were inlined and are dropped.
    fn fragment_definitions(&mut self) -> Result<Vec<Node<FragmentDefinition>>, Unmergeable> {
        let mut out = Vec::new();
        let mut next = 0;
        while let Some(name) = self.used_fragments.get(next).cloned() {
            next += 1;
            let Some(definition) = self.fragments.get(name.as_str()).copied() else {
                return Err(Unmergeable::UnknownFragment(name.to_string()));
            };
            let selection_set = self.nested(&definition.selection_set)?;
            out.push(Node::new(FragmentDefinition {
                name: prefixed(&self.prefix, &definition.name),
                type_condition: definition.type_condition.clone(),
                directives: rename_directives(&definition.directives, &self.prefix),
                selection_set,
            }));
        }
        Ok(out)
    }
}

fn prefixed(prefix: &str, name: &str) -> Name {
    // A valid name with a prefix of name characters is a valid name.
    Name::new_unchecked(&format!("{prefix}{name}"))
}

fn has_variable(value: &ast::Value) -> bool {
    match value {
        ast::Value::Variable(_) => true,
        ast::Value::List(items) => items.iter().any(|v| has_variable(v)),
        ast::Value::Object(fields) => fields.iter().any(|(_, v)| has_variable(v)),
        _ => false,
    }
}

fn rename_value(value: &Node<ast::Value>, prefix: &str) -> Node<ast::Value> {
    let mut value = value.clone();
    if !has_variable(&value) {
        return value;
    }
    match value.make_mut() {
        ast::Value::Variable(name) => *name = prefixed(prefix, name),
        ast::Value::List(items) => {
            for item in items {
                *item = rename_value(item, prefix);
            }
        }
        ast::Value::Object(fields) => {
            for (_, item) in fields {
                *item = rename_value(item, prefix);
            }
        }
        _ => {}
    }
    value
}

fn rename_arguments(arguments: &[Node<Argument>], prefix: &str) -> Vec<Node<Argument>> {
    arguments
        .iter()
        .map(|argument| {
            if !has_variable(&argument.value) {
                return argument.clone();
            }
            let mut argument = argument.clone();
            let a = argument.make_mut();
            a.value = rename_value(&a.value, prefix);
            argument
        })
        .collect()
}

fn rename_directives(directives: &DirectiveList, prefix: &str) -> DirectiveList {
    DirectiveList(
        directives
            .iter()
            .map(|directive| {
                if !directive.arguments.iter().any(|a| has_variable(&a.value)) {
                    return directive.clone();
                }
                let mut directive = directive.clone();
                let d = directive.make_mut();
                d.arguments = rename_arguments(&d.arguments, prefix);
                directive
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests;
