//! Grouping an operation's root fields by the subschema that owns them.

use std::collections::HashSet;

use apollo_compiler::Node;
use apollo_compiler::ast::OperationType;
use apollo_compiler::executable::{DirectiveList, Field, Selection, SelectionSet};

use apollo_compiler::Name;
use apollo_compiler::executable::{ExecutableDocument, Fragment, Operation, VariableDefinition};
use quilt_executor::Document;

use super::defer::DeferGroups;
use super::entity::EntityStep;
use super::project::{
    Planner, StepCtx, key_alias, location, only_conditions, selection_selects_plainly,
    with_conditions,
};
use super::vars::{variables_in_directives, variables_in_set};
use super::{FetchStep, Plan, PlanError, PlanInput, StepField};

/// A root field with the `@skip`/`@include` directives of the fragments it was found in.
pub(super) struct RootEntry<'a> {
    pub field: &'a Node<Field>,
    pub conditions: Vec<DirectiveList>,
    /// The deferred group it is in (0: the initial payload).
    pub group: usize,
}

/// Plans an operation: root fields grouped by owner (queries and subscriptions: one step per
/// subschema; mutations: one step per run of consecutive fields of the same subschema, in
/// document order). `__typename`, `__schema` and `__type` at the root are answered locally.
pub(crate) fn plan_operation(input: &PlanInput<'_>) -> Result<Plan, PlanError> {
    let mut entries = Vec::new();
    let mut visiting = HashSet::new();
    let mut planner = Planner::new(input);
    flatten_root(
        input,
        &input.operation.selection_set,
        (&mut Vec::new(), 0),
        &mut visiting,
        &mut planner.defers,
        &mut entries,
    );
    let operation_type = input.operation.operation_type;
    let mut introspection = false;
    let root_type = input.operation.selection_set.ty.clone();
    let mut groups: Vec<(usize, usize, Vec<RootEntry<'_>>)> = Vec::new();
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
        // A gateway resolver wins over the subschema that defines the field.
        let owner = match input.extensions.get(&root_type, name) {
            Some(_) => None,
            None => input.index.root_owner(operation_type, name),
        };
        let Some(owner) = owner else {
            let Some(resolver) = input.extensions.get(&root_type, name) else {
                return Err(PlanError::NoOwner(name.to_owned()));
            };
            // A gateway-defined root field: a step of its own after the root steps.
            let resolver = resolver.clone();
            let mut ctx = StepCtx {
                subschema: resolver.subschema,
                root: 0,
                level: 0,
                group: entry.group,
                fragments: Default::default(),
                computed_type: None,
            };
            let mut unused = SelectionSet::new(root_type.clone());
            planner.gateway_field(
                &mut ctx,
                &resolver,
                &root_type,
                entry.field,
                &[],
                &root_type,
                &mut unused,
            )?;
            continue;
        };
        let deferred = entry.group;
        let group = match operation_type {
            OperationType::Mutation => groups
                .last_mut()
                .filter(|(o, g, _)| *o == owner && *g == deferred),
            _ => groups
                .iter_mut()
                .find(|(o, g, _)| *o == owner && *g == deferred),
        };
        match group {
            Some((_, _, group)) => group.push(entry),
            None => groups.push((owner, deferred, vec![entry])),
        }
    }
    let mut steps = Vec::new();
    for (i, (owner, group, entries)) in groups.into_iter().enumerate() {
        let root = if operation_type == OperationType::Mutation {
            i
        } else {
            0
        };
        steps.push(root_step(&mut planner, owner, (root, group), &entries)?);
    }
    let mut entity_steps = entity_steps(&mut planner)?;
    let root_texts: Vec<&str> = steps.iter().map(|s| s.document.as_str()).collect();
    super::entity::mark_plain_requirements(&mut entity_steps, &root_texts);
    let incremental = !planner.defers.groups.is_empty() || !planner.defers.streams.is_empty();
    Ok(Plan {
        operation_type,
        introspection,
        steps,
        entity_steps,
        defers: std::mem::take(&mut planner.defers.groups),
        streams: std::mem::take(&mut planner.defers.streams),
        incremental,
    })
}

/// The step of one subschema's root fields.
fn root_step<'a>(
    planner: &mut Planner<'a, '_>,
    owner: usize,
    (root, group): (usize, usize),
    entries: &[RootEntry<'a>],
) -> Result<FetchStep, PlanError> {
    let input = planner.input;
    let operation = input.operation;
    let root_type = operation.selection_set.ty.clone();
    let mut ctx = StepCtx {
        subschema: owner,
        root,
        level: 0,
        group,
        fragments: Default::default(),
        computed_type: None,
    };
    let mut set = SelectionSet::new(root_type.clone());
    let mut fields = Vec::new();
    for entry in entries {
        let field = planner.project_field(&mut ctx, &root_type, entry.field, &[])?;
        set.push(with_conditions(
            &root_type,
            Selection::Field(field),
            &entry.conditions,
        ));
        let key = entry.field.response_key().to_string();
        if !fields.iter().any(|f: &StepField| f.key == key) {
            fields.push(StepField {
                key,
                location: location(input.document, entry.field),
            });
        }
    }
    let (fragments, variables) = finish(planner, &mut ctx, &set)?;
    let mut document = ExecutableDocument::new();
    for fragment in fragments {
        document
            .fragments
            .insert(fragment.name.clone(), Node::new(fragment));
    }
    let variable_names = variables.iter().map(|v| v.name.clone()).collect();
    document.operations.insert(Node::new(Operation {
        operation_type: operation.operation_type,
        name: operation.name.clone(),
        variables,
        directives: Default::default(),
        selection_set: set,
    }));
    // Sent as text: the tree is parsed only if something reads it (a transform, the batcher).
    let text = document.serialize().no_indent().to_string();
    let sends_defer = text.contains("@defer");
    super::debug_check_printed(&text);
    let document = Document::from_printed(
        text,
        operation.operation_type,
        operation.name.as_ref().map(|n| n.as_str()),
    )
    .with_incremental_delivery(sends_defer);
    Ok(FetchStep {
        subschema: owner,
        sends_defer,
        document,
        operation_name: operation.name.as_ref().map(|n| n.to_string()),
        variables: variable_names,
        fields,
        group,
    })
}

/// The kept fragments of a step, projected, and the client's variables the step uses.
fn finish<'a>(
    planner: &mut Planner<'a, '_>,
    ctx: &mut StepCtx,
    set: &SelectionSet,
) -> Result<(Vec<Fragment>, Vec<Node<VariableDefinition>>), PlanError> {
    let input = planner.input;
    let mut fragments = Vec::new();
    let mut done = 0;
    while done < ctx.fragments.len() {
        let name = ctx.fragments[done].clone();
        done += 1;
        let Some(fragment) = input.document.fragments.get(&name) else {
            continue;
        };
        let ty = fragment.type_condition().clone();
        let selection_set =
            planner.project_set(ctx, &fragment.selection_set, &[], &ty, &[], &mut Vec::new())?;
        fragments.push(Fragment {
            name,
            directives: fragment.directives.clone(),
            selection_set,
        });
    }
    let mut used = HashSet::new();
    variables_in_set(set, &mut used);
    for fragment in &fragments {
        variables_in_set(&fragment.selection_set, &mut used);
        variables_in_directives(&fragment.directives, &mut used);
    }
    let variables = input
        .operation
        .variables
        .iter()
        .filter(|v| used.contains(v.name.as_str()))
        .cloned()
        .collect();
    Ok((fragments, variables))
}

/// [`finish`] for a dependent step, whose document is assembled per call shape: the kept
/// fragments printed, and each client variable it uses with its printed definition.
#[allow(clippy::type_complexity)]
fn finish_printed(
    planner: &mut Planner<'_, '_>,
    ctx: &mut StepCtx,
    set: &SelectionSet,
) -> Result<(String, Vec<(Name, String)>), PlanError> {
    let (fragments, variables) = finish(planner, ctx, set)?;
    let mut printed = String::new();
    for fragment in fragments {
        printed.push(' ');
        printed.push_str(&fragment.serialize().no_indent().to_string());
    }
    let variables = variables
        .iter()
        .map(|v| {
            let mut text = format!("${}: {}", v.name, v.ty);
            if let Some(default) = &v.default_value {
                text.push_str(&format!(" = {default}"));
            }
            (v.name.clone(), text)
        })
        .collect();
    Ok((printed, variables))
}

/// Turns the planned entity builders into steps, level by level (planning a level's steps
/// plans the next level's).
fn entity_steps(planner: &mut Planner<'_, '_>) -> Result<Vec<Vec<EntityStep>>, PlanError> {
    let mut levels: Vec<Vec<EntityStep>> = Vec::new();
    let mut level = 1;
    while planner.builders.values().any(|b| !b.done) {
        let mut steps = Vec::new();
        let mut i = 0;
        while i < planner.builders.len() {
            if !planner.builders[i].done && planner.builders[i].level == level {
                let is_field = planner
                    .builders
                    .get_index(i)
                    .is_some_and(|(k, _)| k.field.is_some());
                steps.push(if is_field {
                    field_step(planner, i)?
                } else {
                    entity_step(planner, i)?
                });
            }
            i += 1;
        }
        super::entity::merge_places(&mut steps);
        levels.push(steps);
        level += 1;
        if level > MAX_LEVELS {
            return Err(PlanError::Print(format!(
                "more than {MAX_LEVELS} levels of merged types"
            )));
        }
    }
    levels.retain(|l| !l.is_empty());
    Ok(levels)
}

/// The deepest chain of dependent fetches a plan may have.
const MAX_LEVELS: usize = 64;

fn entity_step(planner: &mut Planner<'_, '_>, index: usize) -> Result<EntityStep, PlanError> {
    let input = planner.input;
    let (key, builder) = planner
        .builders
        .get_index_mut(index)
        .ok_or_else(|| PlanError::Print("a planned step vanished".into()))?;
    builder.done = true;
    let key = key.clone();
    let resolver = builder.resolver.clone();
    let typed = builder.typed;
    let level = builder.level;
    let fields_in = std::mem::take(&mut builder.fields);
    let extra = std::mem::take(&mut builder.extra);
    let requirements: Vec<Name> = builder.requirements.iter().cloned().collect();
    let type_name = resolver.type_name.clone();
    let mut ctx = StepCtx {
        subschema: resolver.subschema,
        root: key.root,
        level,
        group: key.group,
        fragments: Default::default(),
        computed_type: Some(type_name.clone()),
    };
    let mut set = SelectionSet::new(type_name.clone());
    let mut fields = Vec::new();
    for (field, conditions) in fields_in {
        let mut wrapper = SelectionSet::new(type_name.clone());
        wrapper.push(Selection::Field(field.clone()));
        let projected = planner.project_field(&mut ctx, &type_name, field, &key.path)?;
        set.push(with_conditions(
            &type_name,
            Selection::Field(projected),
            &conditions,
        ));
        let response_key = field.response_key().to_string();
        if !fields.iter().any(|f: &StepField| f.key == response_key) {
            fields.push(StepField {
                key: response_key,
                location: location(input.document, field),
            });
        }
    }
    for field in extra {
        // A requirement the step selects plainly anyway is read from that field (see
        // `project::selects_plainly`).
        let plain = set
            .selections
            .iter()
            .any(|s| selection_selects_plainly(&set.ty, s, &field, &input.document.fragments));
        if !plain {
            set.push(Selection::Field(field));
        }
    }
    let (printed_fragments, client_variables) = finish_printed(planner, &mut ctx, &set)?;
    Ok(EntityStep::new(
        key.root,
        resolver,
        key.path,
        typed.then_some(type_name),
        requirements,
        fields,
        input.operation.name.as_ref().map(|n| n.to_string()),
        set.serialize().no_indent().to_string(),
        printed_fragments,
        client_variables,
    )
    .in_group(key.group))
}

/// Lists the root fields in document order, looking through fragments and keeping their
/// conditions.
fn flatten_root<'a>(
    input: &PlanInput<'a>,
    set: &'a SelectionSet,
    (conditions, group): (&mut Vec<DirectiveList>, usize),
    visiting: &mut HashSet<&'a str>,
    defers: &mut DeferGroups,
    out: &mut Vec<RootEntry<'a>>,
) {
    let root_type = &input.operation.selection_set.ty;
    for selection in &set.selections {
        match selection {
            Selection::Field(field) => out.push(RootEntry {
                field,
                conditions: conditions.clone(),
                group,
            }),
            Selection::InlineFragment(fragment) => {
                let inner = defers
                    .enter(
                        group,
                        &fragment.directives,
                        &fragment.selection_set,
                        (&[], root_type),
                    )
                    .unwrap_or(group);
                conditions.push(only_conditions(&fragment.directives));
                flatten_root(
                    input,
                    &fragment.selection_set,
                    (conditions, inner),
                    visiting,
                    defers,
                    out,
                );
                conditions.pop();
            }
            Selection::FragmentSpread(spread) => {
                let Some(fragment) = input.document.fragments.get(&spread.fragment_name) else {
                    continue;
                };
                if !visiting.insert(spread.fragment_name.as_str()) {
                    continue;
                }
                let inner = defers
                    .enter(
                        group,
                        &spread.directives,
                        &fragment.selection_set,
                        (&[], root_type),
                    )
                    .unwrap_or(group);
                conditions.push(only_conditions(&spread.directives));
                flatten_root(
                    input,
                    &fragment.selection_set,
                    (conditions, inner),
                    visiting,
                    defers,
                    out,
                );
                conditions.pop();
                visiting.remove(spread.fragment_name.as_str());
            }
        }
    }
}

/// The step of a gateway-defined field: for a delegation, the client's subselection projected
/// onto the target subschema (deeper merged fields become later steps); for a local resolver,
/// nothing to send.
fn field_step(planner: &mut Planner<'_, '_>, index: usize) -> Result<EntityStep, PlanError> {
    let input = planner.input;
    let (key, builder) = planner
        .builders
        .get_index_mut(index)
        .ok_or_else(|| PlanError::Print("a planned step vanished".into()))?;
    builder.done = true;
    let key = key.clone();
    let resolver = builder.resolver.clone();
    let typed = builder.typed;
    let level = builder.level;
    let fields_in = std::mem::take(&mut builder.fields);
    let requirements: Vec<Name> = builder.requirements.iter().cloned().collect();
    let Some(response_key) = key.field.clone() else {
        return Err(PlanError::Print("a field step without a field".into()));
    };
    let Some((first, _)) = fields_in.first() else {
        return Err(PlanError::Print("a field step without a field".into()));
    };
    let first = *first;
    let mut child_path = key.path.clone();
    child_path.push(response_key.clone());
    let child_type = first.ty().inner_named_type().clone();
    let mut ctx = StepCtx {
        subschema: resolver.subschema,
        root: key.root,
        level,
        group: key.group,
        fragments: Default::default(),
        computed_type: None,
    };
    let mut set = SelectionSet::new(child_type.clone());
    let local = resolver.method.is_local();
    if !local {
        for (field, _) in &fields_in {
            let projected = planner.project_set(
                &mut ctx,
                &field.selection_set,
                &child_path,
                &child_type,
                &[],
                &mut Vec::new(),
            )?;
            set.selections.extend(projected.selections);
        }
        if input.index.is_abstract(&child_type)
            && !set
                .selections
                .iter()
                .any(|s| matches!(s, Selection::Field(f) if f.response_key() == "__typename"))
        {
            let typename = input
                .schema
                .type_field(&child_type, "__typename")
                .ok()
                .map(|d| Field::new(Name::new_unchecked("__typename"), d.node.clone()));
            if let Some(typename) = typename {
                set.selections
                    .insert(0, Selection::Field(Node::new(typename)));
            }
        }
        if let Some(by) = resolver.method.group_field() {
            let definition = input
                .subschemas
                .get(resolver.subschema)
                .and_then(|s| s.type_field(&child_type, by).ok())
                .ok_or_else(|| PlanError::Unresolvable {
                    subschema: input.subschema_names[resolver.subschema].clone(),
                    type_name: child_type.to_string(),
                    field: by.to_owned(),
                })?;
            let name = Name::new(by).map_err(|e| PlanError::Print(e.to_string()))?;
            let matched = Field::new(name, definition.node.clone()).with_alias(key_alias(by));
            set.push(Selection::Field(Node::new(matched)));
        }
    }
    let (printed_fragments, client_variables) = finish_printed(planner, &mut ctx, &set)?;
    let mut field_args: Vec<(Name, Node<apollo_compiler::ast::Value>)> = first
        .arguments
        .iter()
        .map(|a| (a.name.clone(), a.value.clone()))
        .collect();
    for argument in &first.definition.arguments {
        if let Some(default) = &argument.default_value
            && !field_args.iter().any(|(n, _)| *n == argument.name)
        {
            field_args.push((argument.name.clone(), default.clone()));
        }
    }
    let fields = vec![StepField {
        key: response_key.clone(),
        location: location(input.document, first),
    }];
    Ok(EntityStep::new(
        key.root,
        resolver,
        key.path,
        typed.then_some(key.type_name),
        requirements,
        fields,
        input.operation.name.as_ref().map(|n| n.to_string()),
        if local {
            String::new()
        } else {
            set.serialize().no_indent().to_string()
        },
        printed_fragments,
        client_variables,
    )
    .in_group(key.group)
    .for_field(response_key, field_args))
}
