//! Shaping an incremental delivery's payloads: the initial one (deferred fragments left out,
//! streamed lists cut at their `initialCount`), each deferred fragment on one object, and each
//! streamed item.
//!
//! Upstream errors are delivered with the payload whose walk reaches their path; the ones no
//! walk has reached yet are held for the later payloads ([`Part::held`]).

use apollo_compiler::Node;
use apollo_compiler::ast::Type;
use apollo_compiler::executable::{Field, SelectionSet};
use apollo_compiler::{Name, Schema};
use quilt_executor::data::{Data, Object};
use quilt_executor::{GraphQLError, JsonMap, PathSegment};

use super::{Elem, Kind, Mode, NullPropagation, Shaper, write_null};
use crate::plan::Prepared;

/// One payload's part: its data as JSON, its errors, the upstream errors it did not reach,
/// and the lists it streams.
pub(crate) struct Part {
    /// The data written (`null` when a null propagated to the top).
    pub json: Vec<u8>,
    /// The errors it delivers.
    pub errors: Vec<GraphQLError>,
    /// Upstream errors at paths its walk did not reach (for later payloads).
    pub held: Vec<GraphQLError>,
    /// The streamed lists whose remaining items follow.
    pub streams: Vec<Streamed>,
}

/// A list written up to its `initialCount`: where it is and how its items are completed.
pub(crate) struct Streamed {
    /// The list's response path.
    pub path: Vec<PathSegment>,
    /// The `@stream` label.
    pub label: Option<String>,
    /// The first item not yet delivered.
    pub start: usize,
    pub(super) parent: String,
    pub(super) fields: Vec<Node<Field>>,
    pub(super) item_type: Type,
    pub(super) kind: Kind,
}

impl<'a> Shaper<'a> {
    /// The `initialCount` and label of `field`'s `@stream`, if it streams in this request.
    pub(super) fn stream_start(&self, field: &Field) -> Option<(usize, Option<String>)> {
        let deferral = crate::plan::deferral(&field.directives, "stream");
        if !crate::plan::active(&deferral, self.variables) {
            return None;
        }
        let directive = field.directives.get("stream")?;
        let initial = match directive
            .specified_argument_by_name("initialCount")
            .map(|v| &**v)
        {
            Some(apollo_compiler::ast::Value::Int(i)) => i.try_to_i32().unwrap_or(0),
            Some(apollo_compiler::ast::Value::Variable(v)) => self
                .variables
                .get(v.as_str())
                .and_then(serde_json::Value::as_i64)
                .and_then(|i| i32::try_from(i).ok())
                .unwrap_or(0),
            _ => 0,
        };
        Some((
            usize::try_from(initial).unwrap_or(0),
            crate::plan::label(&field.directives, "stream"),
        ))
    }

    /// The part written so far, `hold` deciding which unreached upstream errors wait for a
    /// later payload (besides those under a list it streams; the others are delivered now).
    fn finish(mut self, hold: &dyn Fn(&[PathSegment]) -> bool) -> Part {
        let unreached: std::collections::HashSet<usize> =
            self.by_path.values().flatten().copied().collect();
        let mut errors = Vec::new();
        let mut held = Vec::new();
        for (i, error) in std::mem::take(&mut self.upstream).into_iter().enumerate() {
            // Unreached errors under a streamed list wait for its items.
            let waits = unreached.contains(&i)
                && error.path.as_deref().is_some_and(|path| {
                    hold(path) || self.streams.iter().any(|s| path.starts_with(&s.path))
                });
            if waits {
                held.push(error);
            } else {
                errors.push(error);
            }
        }
        errors.append(&mut self.errors);
        Part {
            json: self.out,
            errors,
            held,
            streams: self.streams,
        }
    }
}

/// The initial payload: the operation without its deferred fragments. Unreached upstream
/// errors under a place `deferred` says a deferred fragment covers are held.
pub(crate) fn shape_initial(
    (schema, prepared, variables): (&Schema, &Prepared, &JsonMap),
    (root_type, root_set): (&str, &SelectionSet),
    source: &Object,
    upstream: Vec<GraphQLError>,
    deferred: &dyn Fn(&[PathSegment]) -> bool,
) -> Part {
    let mut shaper = Shaper::new(schema, prepared, variables, upstream, Mode::Incremental);
    shaper.root(root_type, root_set, source);
    shaper.finish(deferred)
}

/// A deferred fragment's payload on the object at `path` (of type `type_name`): its selection
/// without the fragments deferred inside it. A null that propagates to the top makes the
/// payload's data `null`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn shape_fragment(
    (schema, prepared, variables): (&Schema, &Prepared, &JsonMap),
    path: &[PathSegment],
    type_name: &Name,
    set: &SelectionSet,
    object: &Object,
    upstream: Vec<GraphQLError>,
) -> Part {
    let mut shaper = Shaper::new(schema, prepared, variables, upstream, Mode::Incremental);
    shaper.path = path.iter().map(Elem::of).collect();
    shaper.root(type_name, set, object);
    shaper.finish(&|_| true)
}

/// A streamed item's payload: `[item]`, or `null` when its null propagates to the list.
pub(crate) fn shape_item(
    (schema, prepared, variables): (&Schema, &Prepared, &JsonMap),
    streamed: &Streamed,
    index: usize,
    item: &Data,
    upstream: Vec<GraphQLError>,
) -> Part {
    let mut shaper = Shaper::new(schema, prepared, variables, upstream, Mode::Incremental);
    shaper.path = streamed.path.iter().map(Elem::of).collect();
    shaper.path.push(Elem::Index(index));
    let fields = streamed.fields.as_slice();
    if !shaper.by_path.is_empty()
        && let Some(first) = fields.first()
    {
        shaper.locate_upstream_errors(first);
    }
    shaper.out.push(b'[');
    let completed = shaper.value(
        &streamed.parent,
        &streamed.item_type,
        streamed.kind,
        fields,
        item,
        false,
    );
    match completed {
        Ok(()) => shaper.out.push(b']'),
        Err(NullPropagation) => {
            shaper.out.clear();
            write_null(&mut shaper.out);
        }
    }
    shaper.finish(&|_| true)
}
