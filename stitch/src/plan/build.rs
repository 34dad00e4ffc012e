//! Grouping an operation's root fields by the subschema that owns them.

use std::collections::HashSet;

use apollo_compiler::Node;
use apollo_compiler::ast::OperationType;
use apollo_compiler::executable::{DirectiveList, Field, Selection, SelectionSet};

use super::project::StepBuilder;
use super::{Plan, PlanError, PlanInput};

/// A root field with the `@skip`/`@include` directives of the fragments it was found in.
pub(super) struct RootEntry<'a> {
    pub field: &'a Node<Field>,
    pub conditions: Vec<DirectiveList>,
}

/// Plans an operation: root fields grouped by owner (queries and subscriptions: one step per
/// subschema; mutations: one step per run of consecutive fields of the same subschema, in
/// document order). `__typename`, `__schema` and `__type` at the root are answered locally.
pub(crate) fn plan_operation(input: &PlanInput<'_>) -> Result<Plan, PlanError> {
    let mut entries = Vec::new();
    let mut visiting = HashSet::new();
    flatten_root(
        input,
        &input.operation.selection_set,
        &mut Vec::new(),
        &mut visiting,
        &mut entries,
    );
    let operation_type = input.operation.operation_type;
    let mut introspection = false;
    let mut groups: Vec<(usize, Vec<RootEntry<'_>>)> = Vec::new();
    for entry in entries {
        let name = entry.field.name.as_str();
        match name {
            "__typename" => continue,
            "__schema" | "__type" => {
                introspection = true;
                continue;
            }
            _ => {}
        }
        let owner = input
            .index
            .root_owner(operation_type, name)
            .ok_or_else(|| PlanError::NoOwner(name.to_owned()))?;
        let group = match operation_type {
            OperationType::Mutation => groups.last_mut().filter(|(o, _)| *o == owner),
            _ => groups.iter_mut().find(|(o, _)| *o == owner),
        };
        match group {
            Some((_, group)) => group.push(entry),
            None => groups.push((owner, vec![entry])),
        }
    }
    let steps = groups
        .into_iter()
        .map(|(owner, entries)| StepBuilder::new(input, owner).build(&entries))
        .collect::<Result<_, _>>()?;
    Ok(Plan {
        operation_type,
        introspection,
        steps,
    })
}

/// Lists the root fields in document order, looking through fragments and keeping their
/// conditions.
fn flatten_root<'a>(
    input: &PlanInput<'a>,
    set: &'a SelectionSet,
    conditions: &mut Vec<DirectiveList>,
    visiting: &mut HashSet<&'a str>,
    out: &mut Vec<RootEntry<'a>>,
) {
    for selection in &set.selections {
        match selection {
            Selection::Field(field) => out.push(RootEntry {
                field,
                conditions: conditions.clone(),
            }),
            Selection::InlineFragment(fragment) => {
                conditions.push(only_conditions(&fragment.directives));
                flatten_root(input, &fragment.selection_set, conditions, visiting, out);
                conditions.pop();
            }
            Selection::FragmentSpread(spread) => {
                let Some(fragment) = input.document.fragments.get(&spread.fragment_name) else {
                    continue;
                };
                if !visiting.insert(spread.fragment_name.as_str()) {
                    continue;
                }
                conditions.push(only_conditions(&spread.directives));
                flatten_root(input, &fragment.selection_set, conditions, visiting, out);
                conditions.pop();
                visiting.remove(spread.fragment_name.as_str());
            }
        }
    }
}

/// The `@skip` and `@include` directives of a list (others do not apply to the fields).
fn only_conditions(directives: &DirectiveList) -> DirectiveList {
    DirectiveList(
        directives
            .iter()
            .filter(|d| d.name == "skip" || d.name == "include")
            .cloned()
            .collect(),
    )
}
