//! Building the client's response by walking the client's selection set over the fetched data.
//!
//! The fetched data may hold more than the client asked for (`__typename`s the planner added)
//! and lacks what failed; the walk keeps only requested fields, in requested order, fills
//! `__typename`, applies `@skip`/`@include`, and propagates a null in a non-null position to the
//! nearest nullable parent, as the spec's "Handling Field Errors" says.

mod collect;
mod incremental;
mod leaf;

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use apollo_compiler::ast::Type;
use apollo_compiler::executable::{ExecutableDocument, Field, SelectionSet};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Node, Schema};
use bytes::Bytes;
use quilt_executor::data::{Data, Object, write_str};
use quilt_executor::{ExecutionResult, GraphQLError, JsonMap, PathSegment, ResultData};
use serde_json::Value;

use crate::plan::Prepared;
use crate::plan::location;
use collect::{Collector, Grouped, collect_fields};
pub(crate) use incremental::{Part, Streamed, shape_fragment, shape_initial, shape_item};
use leaf::{Leaf, write_leaf};

/// What the steps fetched: the data in the shape of the upstream documents (client response
/// keys, plus whatever the planner added) and every error, on client paths.
#[derive(Debug, Default)]
pub(crate) struct Fetched {
    /// The data fetched so far, placed together.
    pub data: Object,
    /// The errors.
    pub errors: Vec<GraphQLError>,
}

/// The largest first capacity of the response buffer. An operation's answers are mostly of
/// one size, and a buffer grown by doubling copies (and faults in) its bytes again at each
/// step, so the hint covers answers of several megabytes; a reservation beyond what is written
/// is address space, not memory, until it is touched.
const MAX_SIZE_HINT: usize = 16 << 20;

/// A null reached a non-null position; the parent must become null.
struct NullPropagation;

/// Shapes the response of the operation whose root selection is `root_set` on `root_type`.
///
/// The data is written as JSON while it is completed, never built as a tree: with `serialized`
/// the result carries those bytes ([`ResultData::Json`]), otherwise they are parsed
/// into `data`. The prepared operation keeps the size of the last data written for it: the
/// buffer's first capacity.
pub(crate) fn shape(
    schema: &Schema,
    prepared: &Prepared,
    variables: &JsonMap,
    root_type: &str,
    root_set: &SelectionSet,
    fetched: Fetched,
    serialized: bool,
) -> ExecutionResult {
    let size_hint = &prepared.data_size;
    let Fetched {
        data: source,
        errors: upstream,
    } = fetched;
    let mut shaper = Shaper::new(schema, prepared, variables, upstream, Mode::Whole);
    shaper
        .out
        .reserve(size_hint.load(Ordering::Relaxed).min(MAX_SIZE_HINT));
    shaper.root(root_type, root_set, &source);
    drop(source);
    let json = std::mem::take(&mut shaper.out);
    size_hint.store(json.len(), Ordering::Relaxed);
    let mut errors = shaper.upstream;
    errors.extend(shaper.errors);
    let mut result = ExecutionResult {
        errors,
        ..ExecutionResult::default()
    };
    if serialized {
        result.data = Some(ResultData::Json(Bytes::from(json)));
    } else {
        result.data = Some(ResultData::Value(parse_written(json, &mut result.errors)));
    }
    result
}

/// The JSON the shaper wrote, parsed.
pub(crate) fn parse_written(json: Vec<u8>, errors: &mut Vec<GraphQLError>) -> Value {
    match serde_json::from_slice::<Value>(&json) {
        Ok(data) => data,
        Err(error) => {
            // Unreachable while the writer is right; answered as an error, not a panic.
            errors.push(GraphQLError::new(format!(
                "the gateway wrote invalid JSON: {error}"
            )));
            Value::Null
        }
    }
}

/// How a walk treats `@defer` and `@stream`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The whole response at once: deferred fragments and streamed lists are part of it.
    Whole,
    /// One payload of an incremental delivery: deferred fragments are left out (each is
    /// shaped on its own later), a streamed list is written up to its `initialCount` and the
    /// rest noted ([`Streamed`]).
    Incremental,
}

pub(crate) struct Shaper<'a> {
    schema: &'a Schema,
    document: &'a ExecutableDocument,
    variables: &'a JsonMap,
    mode: Mode,
    /// The streamed lists met so far (incremental mode).
    streams: Vec<Streamed>,
    upstream: Vec<GraphQLError>,
    by_path: HashMap<Vec<PathSegment>, Vec<usize>>,
    prefixes: HashSet<Vec<PathSegment>>,
    errors: Vec<GraphQLError>,
    /// The current response path, borrowed (turned into `PathSegment`s only for errors).
    path: Vec<Elem<'a>>,
    /// CollectFields results by [`GroupKey`]: every object of a list shares its grouping.
    grouped: HashMap<GroupKey, Rc<Local>, BuildHasherDefault<rustc_hash::FxHasher>>,
    /// Every grouping this walk used, by [`Local::index`] (what the path's keys point into).
    used: Vec<Arc<Fields>>,
    /// The operation's groupings kept for its next responses, where they depend on nothing
    /// but the operation (see [`Groupings`]).
    shared: Option<&'a Mutex<Kept>>,
    /// The response data as JSON, written as the walk goes; a null propagated to an object or
    /// list truncates it back to where that value began.
    out: Vec<u8>,
}

/// What identifies the grouping of an object's fields without allocating: the address and
/// length of the field list whose selection sets apply (a slice inside a cached grouping, or
/// the root selection set), and the address of a name of the object type that lives as long
/// as the schema (the schema's own name, or the name in a field definition's type).
type GroupKey = (usize, usize, usize);

/// The response keys of one grouping, in order, with what writing each one's value takes
/// (prepared once per grouping, not once per object).
type Fields = Vec<Entry>;

/// A grouping as one walk holds it: its entries and its position in [`Shaper::used`].
struct Local {
    fields: Arc<Fields>,
    index: u32,
}

/// Kept groupings by [`GroupKey`], and the bytes they take.
#[derive(Debug, Default)]
struct Kept {
    map: HashMap<GroupKey, Arc<Fields>, BuildHasherDefault<rustc_hash::FxHasher>>,
    /// The estimated bytes of the kept groupings ([`grouping_bytes`]).
    bytes: usize,
    /// The most bytes kept: a grouping that would pass it is used, not kept.
    budget: usize,
    /// Whether a grouping was not kept for the budget: from then on none is. (A key holds the
    /// address of its parent grouping's fields: a grouping kept under a parent that was not
    /// could later be found for another grouping allocated where that parent was.)
    full: bool,
}

/// Bytes of kept groupings an operation may hold per byte of its text: what its weight in the
/// plan cache counts for them. (A field is an entry of the grouping of each place and object
/// type its selection set applies at, about 150 bytes each: the gateway benchmark's heavy
/// operation keeps 13 groupings, 10,957 bytes for its 441 bytes of text, 25 per byte; its
/// simple one 18 per byte.)
pub(crate) const GROUPING_BYTES_PER_TEXT_BYTE: usize = 32;

/// The estimated bytes a kept grouping takes: its entries with what they point to, the
/// allocations' headers, its slot in the map.
fn grouping_bytes(fields: &Fields) -> usize {
    let entries: usize = fields
        .iter()
        .map(|e| {
            std::mem::size_of::<Entry>() + e.key.len() + e.written.len() + e.fields.len() * 8 + 48
        })
        .sum();
    entries + 2 * std::mem::size_of::<usize>() + std::mem::size_of::<Fields>() + 64
}

/// The groupings of an operation's objects, kept with the prepared operation so that each of
/// its responses does not collect them again (CollectFields and the entries were about 4 % of
/// the instructions of the gateway benchmark's heavy answer). Kept only where no `@skip` or
/// `@include` takes a variable, so that a grouping depends on the operation alone, and used
/// for whole responses only (an incremental payload leaves deferred fragments out). Their
/// number is bounded by the operation: a selection set and an object type each. The keys are
/// addresses of the operation's selection sets, of kept groupings' fields and of the schema's
/// type names, all of which live as long as the prepared operation.
#[derive(Debug, Default)]
pub(crate) struct Groupings {
    /// `None` where the operation's groupings depend on the request's variables.
    map: Option<Mutex<Kept>>,
}

impl Groupings {
    /// The groupings of `document`, whose text is `text_len` bytes long: kept unless a
    /// `@skip` or `@include` takes a variable, up to [`GROUPING_BYTES_PER_TEXT_BYTE`] bytes
    /// per byte of text.
    pub(crate) fn of(document: &ExecutableDocument, text_len: usize) -> Self {
        let conditional = document
            .operations
            .iter()
            .map(|operation| &operation.selection_set)
            .chain(
                document
                    .fragments
                    .values()
                    .map(|fragment| &fragment.selection_set),
            )
            .any(conditional_on_variables);
        let budget = text_len.saturating_mul(GROUPING_BYTES_PER_TEXT_BYTE);
        Groupings {
            map: (!conditional).then(|| {
                Mutex::new(Kept {
                    budget,
                    ..Kept::default()
                })
            }),
        }
    }

    /// How many groupings are kept and their estimated bytes (`None`: none are kept, the
    /// operation's depend on variables).
    #[cfg(test)]
    pub(crate) fn kept(&self) -> Option<(usize, usize)> {
        self.map.as_ref().map(|kept| {
            let kept = kept.lock().unwrap_or_else(PoisonError::into_inner);
            (kept.map.len(), kept.bytes)
        })
    }
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// Whether a `@skip` or `@include` in `set` (fragment spreads not followed: each fragment is
/// looked at on its own) takes a variable.
fn conditional_on_variables(set: &SelectionSet) -> bool {
    use apollo_compiler::executable::Selection;
    set.selections.iter().any(|selection| {
        let variable = selection
            .directives()
            .iter()
            .filter(|d| d.name == "skip" || d.name == "include")
            .flat_map(|d| d.arguments.iter())
            .any(|argument| argument.value.as_variable().is_some());
        variable
            || match selection {
                Selection::Field(field) => conditional_on_variables(&field.selection_set),
                Selection::InlineFragment(fragment) => {
                    conditional_on_variables(&fragment.selection_set)
                }
                Selection::FragmentSpread(_) => false,
            }
    })
}

/// Where the selection sets of an object come from: the operation's root, or the subselections
/// of the fields of one response key.
#[derive(Clone, Copy)]
enum Sets<'a, 'f> {
    Root(&'a SelectionSet),
    Fields(&'f [Node<Field>]),
}

/// One response key of a grouping.
struct Entry {
    key: Box<str>,
    /// Where the key was found in the last object of this grouping: the objects of one list
    /// mostly hold their members in one order, so it is looked at first. (Written only when
    /// it changes: a kept grouping is read by every thread answering the operation.)
    found_at: AtomicUsize,
    /// The key as written before its value: `"key":`.
    written: Box<[u8]>,
    /// The fields the key stands for.
    fields: Vec<Node<Field>>,
    /// The fields' type as the object type defines it (which may be stricter than the
    /// interface a fragment selected it on).
    ty: Type,
    /// The kind of the fields' named type.
    kind: Kind,
    /// What the key's fields are: `__typename`, a root introspection field, or any other.
    special: Special,
}

/// A response key whose value is not read from the fetched data by the walk.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Special {
    /// A field the walk completes from the fetched data.
    None,
    /// `__typename`: the object's type name.
    Typename,
    /// `__schema` or `__type`: the value the introspection step put there, as it is.
    Introspection,
}

/// The entries of the fields CollectFields grouped on the object type `type_name`.
fn entries(schema: &Schema, type_name: &str, grouped: Grouped<'_>) -> Fields {
    grouped
        .into_iter()
        .map(|(key, fields)| {
            let mut written = Vec::with_capacity(key.len() + 3);
            write_str(&mut written, key);
            written.push(b':');
            // The object type's definition of the field, as graphql-js completes it.
            let ty = schema
                .type_field(type_name, &fields[0].name)
                .map_or_else(|_| fields[0].ty(), |definition| &definition.ty);
            let special = match fields[0].name.as_str() {
                "__typename" => Special::Typename,
                "__schema" | "__type" => Special::Introspection,
                _ => Special::None,
            };
            Entry {
                key: key.into(),
                special,
                found_at: AtomicUsize::new(0),
                written: written.into_boxed_slice(),
                kind: kind(schema, ty.inner_named_type()),
                ty: ty.clone(),
                fields: fields.into_iter().cloned().collect(),
            }
        })
        .collect()
}

/// What completing a value of a named type takes.
#[derive(Clone, Copy)]
enum Kind {
    /// A scalar or enum (or a type the schema lacks): the value, checked against the type.
    Leaf(Leaf),
    /// An object type.
    Object,
    /// An interface or union: the object type comes from `__typename`.
    Abstract,
    /// An input object, which no output value can be.
    Input,
}

fn kind(schema: &Schema, name: &str) -> Kind {
    match schema.types.get(name) {
        Some(ExtendedType::Scalar(_) | ExtendedType::Enum(_)) | None => {
            Kind::Leaf(Leaf::of(schema, name))
        }
        Some(ExtendedType::Object(_)) => Kind::Object,
        Some(ExtendedType::Interface(_) | ExtendedType::Union(_)) => Kind::Abstract,
        Some(ExtendedType::InputObject(_)) => Kind::Input,
    }
}

/// One element of the current path.
#[derive(Clone, Copy)]
enum Elem<'a> {
    Key(&'a str),
    /// The key of entry `entry` of the grouping `grouping` (in [`Shaper::used`]).
    Entry {
        grouping: u32,
        entry: u32,
    },
    Index(usize),
}

impl<'a> Elem<'a> {
    fn of(segment: &'a PathSegment) -> Self {
        match segment {
            PathSegment::Key(key) => Elem::Key(key),
            PathSegment::Index(i) => Elem::Index(*i),
        }
    }
}

/// Whether a completed value was written as `null`.
type WroteNull = bool;

impl<'a> Shaper<'a> {
    /// A shaper with `upstream` (the fetched errors, on client paths) to place.
    pub(crate) fn new(
        schema: &'a Schema,
        prepared: &'a Prepared,
        variables: &'a JsonMap,
        mut upstream: Vec<GraphQLError>,
        mode: Mode,
    ) -> Self {
        let mut by_path: HashMap<Vec<PathSegment>, Vec<usize>> = HashMap::new();
        let mut prefixes = HashSet::new();
        for (i, error) in upstream.iter_mut().enumerate() {
            if let Some(path) = &error.path {
                // Locations of upstream errors point into the upstream document; they are
                // replaced with the client field's location when the walk reaches the path.
                error.locations.clear();
                by_path.entry(path.clone()).or_default().push(i);
                for end in 0..=path.len() {
                    prefixes.insert(path[..end].to_vec());
                }
            }
        }
        Shaper {
            schema,
            document: &prepared.document,
            variables,
            mode,
            streams: Vec::new(),
            upstream,
            by_path,
            prefixes,
            errors: Vec::new(),
            path: Vec::new(),
            grouped: HashMap::default(),
            used: Vec::new(),
            shared: match mode {
                Mode::Whole => prepared.groupings.map.as_ref(),
                Mode::Incremental => None,
            },
            out: Vec::new(),
        }
    }

    /// Writes the object `source` of type `root_type` with the selection `root_set` (`null`
    /// when a null propagates to it).
    pub(crate) fn root(&mut self, root_type: &str, root_set: &'a SelectionSet, source: &Object) {
        let root_key = (
            root_set as *const SelectionSet as usize,
            0,
            self.type_address(root_type),
        );
        if self
            .object(root_type, root_key, Sets::Root(root_set), source)
            .is_err()
        {
            self.out.clear();
            self.out.extend_from_slice(b"null");
        }
    }

    /// Completes and writes an object from the fetched `source`. `sets` are the selection sets
    /// that apply, `group_key` identifies them with the type.
    fn object(
        &mut self,
        type_name: &str,
        group_key: GroupKey,
        sets: Sets<'a, '_>,
        source: &Object,
    ) -> Result<(), NullPropagation> {
        let local = match self.grouped.get(&group_key) {
            Some(local) => local.clone(),
            None => self.grouping(type_name, group_key, sets),
        };
        self.out.push(b'{');
        for (i, entry) in local.fields.iter().enumerate() {
            let (key, fields) = (&*entry.key, entry.fields.as_slice());
            if i > 0 {
                self.out.push(b',');
            }
            self.out.extend_from_slice(&entry.written);
            let first = &fields[0];
            match entry.special {
                Special::Typename => write_str(&mut self.out, type_name),
                Special::Introspection => write_value(&mut self.out, source.get(key)),
                Special::None => {
                    self.path.push(Elem::Entry {
                        grouping: local.index,
                        entry: i as u32,
                    });
                    if !self.by_path.is_empty() {
                        self.locate_upstream_errors(first);
                    }
                    let fetched = take(&entry.found_at, source, key).unwrap_or(&Data::Null);
                    let completed =
                        self.value(type_name, &entry.ty, entry.kind, fields, fetched, true);
                    self.path.pop();
                    completed?;
                }
            }
        }
        self.out.push(b'}');
        Ok(())
    }

    /// The grouping of `group_key` on `type_name`: a kept one, or collected now (and kept
    /// where the operation's groupings are).
    #[cold]
    fn grouping(&mut self, type_name: &str, group_key: GroupKey, sets: Sets<'a, '_>) -> Rc<Local> {
        let kept = self.shared.and_then(|shared| {
            shared
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .map
                .get(&group_key)
                .cloned()
        });
        let fields = match kept {
            Some(fields) => fields,
            None => {
                let sets: Vec<&SelectionSet> = match sets {
                    Sets::Root(set) => vec![set],
                    Sets::Fields(fields) => fields.iter().map(|f| &f.selection_set).collect(),
                };
                let collector = Collector {
                    schema: self.schema,
                    document: self.document,
                    variables: self.variables,
                    skip_deferred: self.mode == Mode::Incremental,
                };
                let grouped = collect_fields(collector, type_name, &sets);
                let fields = Arc::new(entries(self.schema, type_name, grouped));
                match self.shared {
                    Some(shared) => {
                        let mut kept = shared.lock().unwrap_or_else(PoisonError::into_inner);
                        match kept.map.get(&group_key) {
                            // Another response kept one meanwhile: used instead.
                            Some(other) => other.clone(),
                            None => {
                                let bytes = grouping_bytes(&fields);
                                if kept.full || kept.bytes + bytes > kept.budget {
                                    kept.full = true;
                                } else {
                                    kept.bytes += bytes;
                                    kept.map.insert(group_key, fields.clone());
                                }
                                fields
                            }
                        }
                    }
                    None => fields,
                }
            }
        };
        let local = Rc::new(Local {
            index: u32::try_from(self.used.len()).unwrap_or(u32::MAX),
            fields: fields.clone(),
        });
        self.used.push(fields);
        self.grouped.insert(group_key, local.clone());
        local
    }

    /// Completes and writes a field's value; a null in a non-null position is an error (unless
    /// an upstream error already covers the path) and propagates to the parent.
    /// `streamable`: the value of the field itself, where its `@stream` applies (not an inner
    /// list's).
    fn value(
        &mut self,
        parent: &str,
        ty: &Type,
        kind: Kind,
        fields: &[Node<Field>],
        value: &Data,
        streamable: bool,
    ) -> Result<(), NullPropagation> {
        let null = match ty {
            Type::NonNullNamed(name) | Type::Named(name) => self.named(name, kind, fields, value),
            Type::NonNullList(item) | Type::List(item) => {
                let stream = if streamable && self.mode == Mode::Incremental {
                    self.stream_start(&fields[0])
                } else {
                    None
                };
                self.list(parent, (item, kind, stream), fields, value)
            }
        };
        if ty.is_non_null() && null {
            if !self.prefixes.contains(&self.owned_path()) {
                let message = format!(
                    "Cannot return null for non-nullable field {parent}.{}.",
                    fields[0].name
                );
                self.error(&fields[0], message);
            }
            return Err(NullPropagation);
        }
        Ok(())
    }

    /// A list; with `stream` (a streamed list's `initialCount` and label) only the first items
    /// are written and the list is noted for the rest.
    fn list(
        &mut self,
        parent: &str,
        (item_type, kind, stream): (&Type, Kind, Option<(usize, Option<String>)>),
        fields: &[Node<Field>],
        value: &Data,
    ) -> WroteNull {
        let items = match value {
            Data::Null => return write_null(&mut self.out),
            Data::List(items) => items,
            _ => {
                self.error(&fields[0], "expected a list from the subschema".into());
                return write_null(&mut self.out);
            }
        };
        let start = self.out.len();
        let written = match &stream {
            Some((initial, _)) => items.len().min(*initial),
            None => items.len(),
        };
        self.out.push(b'[');
        for (i, item) in items.iter().take(written).enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.path.push(Elem::Index(i));
            if !self.by_path.is_empty() {
                self.locate_upstream_errors(&fields[0]);
            }
            let completed = self.value(parent, item_type, kind, fields, item, false);
            self.path.pop();
            if completed.is_err() {
                self.out.truncate(start);
                return write_null(&mut self.out);
            }
        }
        self.out.push(b']');
        if let Some((_, label)) = stream
            && written < items.len()
        {
            self.streams.push(Streamed {
                path: self.owned_path(),
                label,
                start: written,
                parent: parent.to_owned(),
                fields: fields.to_vec(),
                item_type: item_type.clone(),
                kind,
            });
        }
        false
    }

    fn named(&mut self, name: &str, kind: Kind, fields: &[Node<Field>], value: &Data) -> WroteNull {
        if value.is_null() {
            return write_null(&mut self.out);
        }
        match kind {
            Kind::Leaf(leaf) => match write_leaf(&mut self.out, self.schema, leaf, name, value) {
                Ok(()) => false,
                Err(message) => {
                    self.error(&fields[0], message);
                    write_null(&mut self.out)
                }
            },
            // The field's type name lives in the schema: its address identifies the type.
            Kind::Object => self.composite(name, name.as_ptr() as usize, fields, value),
            Kind::Abstract => {
                let runtime = value
                    .get("__typename")
                    .and_then(Data::as_str)
                    .filter(|runtime| {
                        self.schema.get_object(runtime).is_some()
                            && self.schema.is_subtype(name, runtime)
                    });
                match runtime {
                    Some(runtime) => {
                        let address = self.type_address(runtime);
                        self.composite(runtime, address, fields, value)
                    }
                    None => {
                        self.error(
                            &fields[0],
                            format!(
                                "the subschema returned no valid `__typename` for a value of \
                                 abstract type {name}"
                            ),
                        );
                        write_null(&mut self.out)
                    }
                }
            }
            Kind::Input => write_null(&mut self.out),
        }
    }

    /// An object value of type `type_name`, whose address (stable while the schema lives) is
    /// `type_address`.
    fn composite(
        &mut self,
        type_name: &str,
        type_address: usize,
        fields: &[Node<Field>],
        value: &Data,
    ) -> WroteNull {
        let Data::Object(map) = value else {
            self.error(&fields[0], "expected an object from the subschema".into());
            return write_null(&mut self.out);
        };
        let group_key = (fields.as_ptr() as usize, fields.len(), type_address);
        let start = self.out.len();
        match self.object(type_name, group_key, Sets::Fields(fields), map) {
            Ok(()) => false,
            Err(NullPropagation) => {
                self.out.truncate(start);
                write_null(&mut self.out)
            }
        }
    }

    /// The address of the schema's name of `type_name` (stable while the schema lives), or of
    /// `type_name` itself for a name the schema lacks.
    fn type_address(&self, type_name: &str) -> usize {
        self.schema
            .types
            .get_key_value(type_name)
            .map_or(type_name.as_ptr() as usize, |(name, _)| {
                name.as_str().as_ptr() as usize
            })
    }

    /// The current path as the response's path segments.
    fn owned_path(&self) -> Vec<PathSegment> {
        self.path
            .iter()
            .map(|e| match *e {
                Elem::Key(k) => PathSegment::Key(k.to_owned()),
                Elem::Entry { grouping, entry } => PathSegment::Key(
                    self.used
                        .get(grouping as usize)
                        .and_then(|fields| fields.get(entry as usize))
                        .map_or_else(String::new, |entry| entry.key.to_string()),
                ),
                Elem::Index(i) => PathSegment::Index(i),
            })
            .collect()
    }

    /// A gateway error at the current path, located at `field`.
    fn error(&mut self, field: &Node<Field>, message: String) {
        let path = self.owned_path();
        for end in 0..=path.len() {
            self.prefixes.insert(path[..end].to_vec());
        }
        self.errors.push(GraphQLError {
            message,
            locations: location(self.document, field).into_iter().collect(),
            path: Some(path),
            extensions: None,
        });
    }

    /// Gives upstream errors at the current path the location of the client's field.
    #[cold]
    fn locate_upstream_errors(&mut self, field: &Node<Field>) {
        let path = self.owned_path();
        if let Some(indices) = self.by_path.remove(&path) {
            let location: Vec<_> = location(self.document, field).into_iter().collect();
            for i in indices {
                self.upstream[i].locations = location.clone();
            }
        }
    }
}

/// The value of `key` in `source`, looked for first where it was in the last object of the
/// grouping (`found_at`), then from there on, then from the first member.
fn take<'s>(found_at: &AtomicUsize, source: &'s Object, key: &str) -> Option<&'s Data> {
    let hint = found_at.load(Ordering::Relaxed);
    let i = source.position_from(key, hint)?;
    if i != hint {
        found_at.store(i, Ordering::Relaxed);
    }
    source.get_index(i).map(|(_, value)| value)
}

/// Writes `null`; returns true (the value written is null).
fn write_null(out: &mut Vec<u8>) -> WroteNull {
    out.extend_from_slice(b"null");
    true
}

/// Writes a value as it is (`null` when absent).
fn write_value(out: &mut Vec<u8>, value: Option<&Data>) {
    match value {
        Some(value) => value.write_json(out),
        None => out.extend_from_slice(b"null"),
    }
}

#[cfg(test)]
mod tests {
    use apollo_compiler::Schema;
    use apollo_compiler::executable::ExecutableDocument;

    use super::Groupings;

    #[test]
    fn groupings_are_kept_unless_a_skip_or_include_takes_a_variable() {
        let schema = Schema::parse_and_validate(
            "type Query { a(n: Int): Int b: B } type B { c: Int d: Int }",
            "schema.graphql",
        )
        .unwrap();
        let kept = |text: &str| {
            let document =
                ExecutableDocument::parse_and_validate(&schema, text, "q.graphql").unwrap();
            Groupings::of(&document, text.len()).kept()
        };
        assert_eq!(kept("{ a b { c } }"), Some((0, 0)));
        assert_eq!(
            kept("{ a @include(if: true) b { c @skip(if: false) } }"),
            Some((0, 0))
        );
        // A variable elsewhere decides nothing about the grouping.
        assert_eq!(kept("query ($v: Int) { a(n: $v) b { c } }"), Some((0, 0)));
        assert_eq!(kept("query ($v: Boolean!) { b { c @skip(if: $v) } }"), None);
        assert_eq!(
            kept("query ($v: Boolean!) { b { ... on B @include(if: $v) { d } } }"),
            None
        );
        assert_eq!(
            kept("query ($v: Boolean!) { ...F } fragment F on Query { b { d @include(if: $v) } }"),
            None
        );
    }
}
