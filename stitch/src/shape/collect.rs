//! The spec's CollectFields: the fields a selection applies to one object, by response key, in
//! document order, with `@skip`/`@include` and fragment type conditions applied.

use std::collections::HashSet;

use apollo_compiler::ast;
use apollo_compiler::executable::{
    DirectiveList, ExecutableDocument, Field, Selection, SelectionSet,
};
use apollo_compiler::{Node, Schema};
use indexmap::IndexMap;
use quilt_executor::JsonMap;
use serde_json::Value;

/// Fields grouped by response key.
pub(crate) type Grouped<'d> = IndexMap<&'d str, Vec<&'d Node<Field>>>;

/// What CollectFields reads besides the selection sets: the schema, the document (its
/// fragments), the request's variables, and whether fragments deferred by `@defer` are left
/// out (they are delivered later, each shaped on its own).
#[derive(Clone, Copy)]
pub(crate) struct Collector<'s, 'd> {
    pub schema: &'s Schema,
    pub document: &'d ExecutableDocument,
    pub variables: &'s JsonMap,
    pub skip_deferred: bool,
}

/// Collects the fields of `sets` (the merged selection sets of one response key) that apply to
/// an object of type `object_type`.
pub(crate) fn collect_fields<'d>(
    collector: Collector<'_, 'd>,
    object_type: &str,
    sets: &[&'d SelectionSet],
) -> Grouped<'d> {
    let mut grouped = Grouped::new();
    let mut visited = HashSet::new();
    for set in sets {
        collect(collector, object_type, set, &mut visited, &mut grouped);
    }
    grouped
}

fn collect<'d>(
    collector: Collector<'_, 'd>,
    object_type: &str,
    set: &'d SelectionSet,
    visited: &mut HashSet<&'d str>,
    grouped: &mut Grouped<'d>,
) {
    let Collector {
        schema,
        document,
        variables,
        skip_deferred,
    } = collector;
    for selection in &set.selections {
        if !included(selection.directives(), variables) {
            continue;
        }
        if skip_deferred
            && !matches!(selection, Selection::Field(_))
            && crate::plan::active(
                &crate::plan::deferral(selection.directives(), "defer"),
                variables,
            )
        {
            continue;
        }
        match selection {
            Selection::Field(field) => grouped
                .entry(field.response_key().as_str())
                .or_default()
                .push(field),
            Selection::InlineFragment(fragment) => {
                if fragment
                    .type_condition
                    .as_ref()
                    .is_some_and(|t| !applies(schema, t, object_type))
                {
                    continue;
                }
                collect(
                    collector,
                    object_type,
                    &fragment.selection_set,
                    visited,
                    grouped,
                );
            }
            Selection::FragmentSpread(spread) => {
                if !visited.insert(spread.fragment_name.as_str()) {
                    continue;
                }
                let Some(fragment) = document.fragments.get(&spread.fragment_name) else {
                    continue;
                };
                if !applies(schema, fragment.type_condition(), object_type) {
                    continue;
                }
                collect(
                    collector,
                    object_type,
                    &fragment.selection_set,
                    visited,
                    grouped,
                );
            }
        }
    }
}

/// Whether a fragment on `condition` applies to an object of type `object_type`.
pub(crate) fn applies(schema: &Schema, condition: &str, object_type: &str) -> bool {
    condition == object_type || schema.is_subtype(condition, object_type)
}

/// `@skip(if:)` and `@include(if:)` evaluated with the request's variables.
pub(crate) fn included(directives: &DirectiveList, variables: &JsonMap) -> bool {
    let condition = |name: &str| {
        directives
            .get(name)
            .and_then(|d| d.specified_argument_by_name("if"))
            .map(|value| match &**value {
                ast::Value::Boolean(b) => *b,
                ast::Value::Variable(v) => {
                    matches!(variables.get(v.as_str()), Some(Value::Bool(true)))
                }
                _ => false,
            })
    };
    condition("skip") != Some(true) && condition("include") != Some(false)
}
