//! Running entity steps: gather the objects at the step's place, send their representations
//! (each distinct one once), and place the results and errors back at the objects' paths.

mod gather;
mod place;

use std::sync::{Mutex, MutexGuard, PoisonError};

use futures::future::join_all;
use quilt_executor::{
    Context, Data, ExecutionResult, ExecutorError, GraphQLError, JsonMap, PathSegment, Request,
};
use serde_json::Value;

use super::{Execution, Fetched, Upstreams};
use crate::entry_point::EntryCall;
use crate::plan::{EntityStep, StepField};
use crate::resolve::{Call, Calls, RAW_REPRESENTATIONS};
use gather::{Gathered, gather};
pub(crate) use place::overlay_value;
use place::{Each, Shared, client_path, place_all};

/// Which of a plan's entity steps a run takes.
#[derive(Clone, Copy)]
pub(crate) struct Which<'g> {
    /// Only those of this root step (a mutation field's merged fields are fetched before the
    /// next mutation field runs).
    pub root: Option<usize>,
    /// Only those of this deferred group, each step's group mapped through `effective` (a
    /// group turned off by `@defer(if: false)` belongs to its parent's).
    pub group: Option<(usize, &'g [usize])>,
}

impl Which<'_> {
    /// Every entity step.
    pub const ALL: Which<'static> = Which {
        root: None,
        group: None,
    };

    fn takes(&self, step: &EntityStep) -> bool {
        self.root.is_none_or(|r| step.root == r)
            && self
                .group
                .is_none_or(|(g, effective)| effective.get(step.group) == Some(&g))
    }
}

/// Runs the entity steps of `plan` that `which` takes, level by level, over `fetched` (locked
/// only while objects are gathered and results placed, never across a fetch, so several
/// deferred groups can run at once). With `errors`, the errors placed go there instead of
/// into `fetched`.
pub(crate) async fn run_entity_steps(
    execution: &Execution<'_>,
    which: Which<'_>,
    fetched: &Mutex<Fetched>,
    mut errors: Option<&mut Vec<GraphQLError>>,
) {
    let (gateway, plan) = (execution.upstreams, &execution.prepared.plan);
    let (variables, context) = (execution.variables, execution.context);
    for level in &plan.entity_steps {
        let mut work = Vec::new();
        let mut local = Vec::new();
        let mut custom = Vec::new();
        {
            let fetched = lock(fetched);
            for step in level.iter().filter(|s| which.takes(s)) {
                let method = &step.resolver.method;
                let raw = method.sends_raw_representations();
                let mut gathered = gather(step, &fetched.data, raw);
                if gathered.objects.is_empty() {
                    continue;
                }
                let field_args = field_args(step, variables);
                let call = method.call(
                    &mut gathered.representations,
                    gathered.raw.is_some(),
                    &field_args,
                    |representations| {
                        entry_call(gateway, step, representations, variables, context)
                    },
                );
                match call {
                    Call::Local(values) => local.push((step, gathered, values)),
                    Call::Custom(values) => custom.push((step, gathered, values)),
                    Call::Upstream(calls) => {
                        let request = request(step, calls, &mut gathered, variables, context);
                        work.push((step, gathered, Some(request)));
                    }
                }
            }
        }
        let locals = join_all(
            local
                .into_iter()
                .map(|(step, gathered, calls)| async move { (step, gathered, calls.await) }),
        )
        .await;
        for (step, gathered, values) in locals {
            placing(fetched, errors.as_deref_mut(), |fetched| {
                place_values(step, gathered, values, fetched)
            });
        }
        let customs = join_all(
            custom
                .into_iter()
                .map(|(step, gathered, call)| async move { (step, gathered, call.await) }),
        )
        .await;
        for (step, gathered, values) in customs {
            placing(fetched, errors.as_deref_mut(), |fetched| {
                place_values(step, gathered, values, fetched)
            });
        }
        if work.is_empty() {
            continue;
        }
        let results = join_all(work.iter_mut().map(|(step, _, request)| {
            let request = request.take();
            async move {
                match request {
                    Some(Ok(request)) => gateway.fetch(step.resolver.subschema, request).await,
                    Some(Err(message)) => Ok(ExecutionResult {
                        errors: vec![GraphQLError::new(message)],
                        ..ExecutionResult::default()
                    }),
                    None => Ok(ExecutionResult::default()),
                }
            }
        }))
        .await;
        for ((step, gathered, _), result) in work.into_iter().zip(results) {
            placing(fetched, errors.as_deref_mut(), |fetched| {
                place_results(gateway, step, gathered, result, context, fetched)
            });
        }
    }
}

/// `fetched`, locked (a panic while it was held leaves nothing half-written that matters
/// more than answering).
pub(crate) fn lock(fetched: &Mutex<Fetched>) -> MutexGuard<'_, Fetched> {
    fetched.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `place` on the locked `fetched`; with `errors`, the errors it adds are moved there.
pub(crate) fn placing(
    fetched: &Mutex<Fetched>,
    errors: Option<&mut Vec<GraphQLError>>,
    place: impl FnOnce(&mut Fetched),
) {
    let mut fetched = lock(fetched);
    let before = fetched.errors.len();
    place(&mut fetched);
    if let Some(errors) = errors {
        errors.extend(fetched.errors.drain(before..));
    }
}

/// A custom entry point's input: the objects, the selection, the client's variables it uses.
fn entry_call(
    gateway: &Upstreams,
    step: &EntityStep,
    representations: &[JsonMap],
    variables: &JsonMap,
    context: &Context,
) -> EntryCall {
    EntryCall {
        representations: representations.to_vec(),
        selection: step.selection.clone(),
        fragments: step.fragments.clone(),
        variable_definitions: step
            .client_variables
            .iter()
            .map(|(_, d)| d.clone())
            .collect(),
        variables: step
            .client_variables
            .iter()
            .filter_map(|(n, _)| {
                variables
                    .get(n.as_str())
                    .map(|v| (n.to_string(), v.clone()))
            })
            .collect(),
        executor: gateway.executors[step.resolver.subschema].clone(),
        context: context.clone(),
    }
}

/// The upstream request of a step's calls.
fn request(
    step: &EntityStep,
    calls: Calls,
    gathered: &mut Gathered,
    variables: &JsonMap,
    context: &Context,
) -> Result<Request, String> {
    let document = step.document(&calls.names)?;
    let mut upstream = calls.variables;
    for (name, _) in &step.client_variables {
        if let Some(value) = variables.get(name.as_str()) {
            upstream.insert(name.to_string(), value.clone());
        }
    }
    let mut request = Request::from_document(document);
    request.variables = upstream;
    if let Some(raw) = gathered.raw.take() {
        request
            .raw_variables
            .push((RAW_REPRESENTATIONS.to_owned(), raw));
    }
    request.operation_name = step.operation_name.clone();
    request.context = context.clone();
    Ok(request)
}

/// Puts each result into its objects and each error at its objects' paths.
fn place_results(
    gateway: &Upstreams,
    step: &EntityStep,
    gathered: Gathered,
    result: Result<ExecutionResult, ExecutorError>,
    context: &Context,
    fetched: &mut Fetched,
) {
    let service = &gateway.names[step.resolver.subschema];
    let mut result = match result {
        Ok(result) => result,
        Err(error) => {
            let error = gateway.errors.transport_error(service, &error, context);
            for (place, indices, _) in gathered.objects.iter() {
                on_object_fields(step, place, indices, &error, fetched);
            }
            return;
        }
    };
    let data = match result.take_data_tree() {
        Some(Data::Object(data)) => Some(data),
        _ => None,
    };
    let mut errors = result.errors;
    gateway
        .errors
        .clean(step.resolver.subschema, service, &mut errors, context);
    if errors.is_empty() && data.is_none() {
        errors.push(super::no_data_error(service));
    }
    let method = &step.resolver.method;
    let mut matched = method.match_results(
        &step.resolver,
        service,
        data,
        &gathered.representations,
        gathered.count,
        &mut errors,
    );
    for error in errors {
        let error = match &step.resolver.on_located_error {
            Some(map) => map(error),
            None => error,
        };
        let target = error
            .path
            .as_deref()
            .and_then(|path| matched.error_target(method, path));
        match target {
            Some((index, rest)) => {
                for (place, indices, _) in gathered.objects.iter().filter(|&(_, _, u)| u == index) {
                    if rest.is_empty() && step.placement.is_none() {
                        on_object_fields(step, place, indices, &error, fetched);
                        continue;
                    }
                    let Some(place) = step.places.get(place) else {
                        continue;
                    };
                    let mut located = error.clone();
                    let mut full = client_path(&place.path, &fetched.data, indices);
                    if let Some(key) = &step.placement {
                        full.push(PathSegment::Key(key.clone()));
                    }
                    full.extend(rest.iter().cloned());
                    located.path = Some(full);
                    fetched.errors.push(located);
                }
            }
            None => {
                for (place, indices, _) in gathered.objects.iter() {
                    on_object_fields(step, place, indices, &error, fetched);
                }
            }
        }
    }
    // The last object of each representation takes the result; the others get copies.
    let results = &mut matched.results;
    let mut last = vec![usize::MAX; results.len()];
    for (i, (_, _, u)) in gathered.objects.iter().enumerate() {
        if let Some(last) = last.get_mut(u) {
            *last = i;
        }
    }
    let mut source = Shared { results, last };
    place_all(step, &gathered.objects, &mut fetched.data, &mut source);
}

/// Puts a local resolver's values (one per distinct parent) in place; a failure is an error
/// at the field of each of its parents.
fn place_values(
    step: &EntityStep,
    gathered: Gathered,
    values: Vec<Result<Value, String>>,
    fetched: &mut Fetched,
) {
    let mut failed = Vec::new();
    let mut source = Each(|i: usize, u: usize| match values.get(u) {
        Some(Ok(value)) => Some(Data::from(value)),
        Some(Err(message)) => {
            failed.push((i, message.clone()));
            None
        }
        None => None,
    });
    place_all(step, &gathered.objects, &mut fetched.data, &mut source);
    for (i, message) in failed {
        let Some((indices, _)) = gathered.objects.get(i) else {
            continue;
        };
        let place = gathered.objects.place_of(i);
        on_object_fields(step, place, indices, &GraphQLError::new(message), fetched);
    }
}

/// The client's arguments of a gateway-defined field, variables substituted.
fn field_args(step: &EntityStep, variables: &JsonMap) -> JsonMap {
    step.field_args
        .iter()
        .map(|(name, value)| (name.to_string(), json_value(value, variables)))
        .collect()
}

fn json_value(value: &apollo_compiler::ast::Value, variables: &JsonMap) -> Value {
    use apollo_compiler::ast::Value as Ast;
    match value {
        Ast::Null => Value::Null,
        Ast::Boolean(b) => Value::Bool(*b),
        Ast::Enum(e) => Value::String(e.to_string()),
        Ast::String(s) => Value::String(s.clone()),
        Ast::Int(i) => i.try_to_i32().map(Value::from).unwrap_or(Value::Null),
        Ast::Float(f) => f.try_to_f64().map(Value::from).unwrap_or(Value::Null),
        Ast::Variable(name) => variables.get(name.as_str()).cloned().unwrap_or(Value::Null),
        Ast::List(items) => Value::Array(items.iter().map(|v| json_value(v, variables)).collect()),
        Ast::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(n, v)| (n.to_string(), json_value(v, variables)))
                .collect(),
        ),
    }
}

/// `error` on each client field of the step's place `place`, under the object reached there by
/// `indices`.
fn on_object_fields(
    step: &EntityStep,
    place: usize,
    indices: &[u32],
    error: &GraphQLError,
    fetched: &mut Fetched,
) {
    let Some(place) = step.places.get(place) else {
        return;
    };
    let path = client_path(&place.path, &fetched.data, indices);
    on_fields(&place.fields, &path, error, fetched);
}

/// `error` on each of a place's client `fields` under the object at `path`.
fn on_fields(
    fields: &[StepField],
    path: &[PathSegment],
    error: &GraphQLError,
    fetched: &mut Fetched,
) {
    for field in fields {
        let mut located = error.clone();
        let mut full = path.to_vec();
        full.push(PathSegment::Key(field.key.clone()));
        located.path = Some(full);
        located.locations = field.location.into_iter().collect();
        fetched.errors.push(located);
    }
}
