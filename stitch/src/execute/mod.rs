//! Running a plan's steps: queries concurrently, mutations in order, each step's data and
//! errors collected for shaping.

use apollo_compiler::ast::OperationType;
use futures::future::join_all;
use quilt_executor::data::Object;
use quilt_executor::{
    Context, Data, Deadline, ExecutionResult, ExecutorError, GraphQLError, JsonMap, PathSegment,
    Request,
};
use serde_json::Value;
use std::time::Instant;
use tracing::Instrument;

use crate::metrics::Outcome;

mod entities;

pub(crate) use entities::run_entity_steps;

use crate::gateway::Gateway;
use crate::plan::{FetchStep, Plan};

/// What the steps fetched: the data in the shape of the upstream documents (client response
/// keys, plus whatever the planner added) and every error, on client paths.
#[derive(Debug, Default)]
pub(crate) struct Fetched {
    /// The merged data.
    pub data: Object,
    /// The errors.
    pub errors: Vec<GraphQLError>,
}

/// Runs the plan.
pub(crate) async fn execute_plan(
    gateway: &Gateway,
    plan: &Plan,
    variables: &JsonMap,
    context: &Context,
    fetched: &mut Fetched,
) {
    match plan.operation_type {
        OperationType::Mutation => {
            for (i, step) in plan.steps.iter().enumerate() {
                let result = run_step(gateway, step, variables, context).await;
                merge_result(gateway, step, result, context, fetched);
                run_entity_steps(gateway, plan, Some(i), variables, context, fetched).await;
            }
        }
        _ => {
            let results = join_all(
                plan.steps
                    .iter()
                    .map(|step| run_step(gateway, step, variables, context)),
            )
            .await;
            for (step, result) in plan.steps.iter().zip(results) {
                merge_result(gateway, step, result, context, fetched);
            }
            run_entity_steps(gateway, plan, None, variables, context, fetched).await;
        }
    }
}

/// The upstream request of a step: its document, the variables it uses, the client's context.
pub(crate) fn step_request(step: &FetchStep, variables: &JsonMap, context: &Context) -> Request {
    let mut request = Request::from_document(step.document.clone());
    request.variables = step
        .variables
        .iter()
        .filter_map(|name| {
            variables
                .get(name.as_str())
                .map(|v| (name.to_string(), v.clone()))
        })
        .collect();
    request.operation_name = step.operation_name.clone();
    request.context = context.clone();
    request
}

async fn run_step(
    gateway: &Gateway,
    step: &FetchStep,
    variables: &JsonMap,
    context: &Context,
) -> Result<ExecutionResult, ExecutorError> {
    let request = step_request(step, variables, context);
    fetch(gateway, step.subschema, request).await
}

/// One upstream fetch of the subschema `subschema`, given up at the request's [`Deadline`]
/// (if the server set one): then it fails as a timeout naming the subschema, and what the
/// other fetches brought is still answered.
pub(crate) async fn fetch(
    gateway: &Gateway,
    subschema: usize,
    request: Request,
) -> Result<ExecutionResult, ExecutorError> {
    let span = tracing::info_span!(
        target: crate::metrics::TRACE_TARGET,
        "quilt.fetch",
        otel.kind = "client",
        subschema = gateway.names[subschema].as_str(),
        outcome = tracing::field::Empty,
    );
    let mut request = request;
    if quilt_executor::trace::is_installed() {
        let _entered = span.enter();
        request.context = quilt_executor::trace::with_current(request.context);
    }
    let started = Instant::now();
    let deadline = request.context.get::<Deadline>().copied();
    let executor = &gateway.executors[subschema];
    let request = request.data_form(quilt_executor::DataForm::Tree);
    let future = async move { executor.execute(request).await?.into_single().await };
    let result = match deadline {
        None => future.instrument(span.clone()).await,
        Some(deadline) => {
            match tokio::time::timeout_at(deadline.at, future.instrument(span.clone())).await {
                Ok(result) => result,
                Err(_) => Err(ExecutorError::Timeout {
                    endpoint: format!("subschema `{}`", gateway.names[subschema]),
                    after: deadline.budget,
                }),
            }
        }
    };
    let outcome = Outcome::of(&result);
    gateway.upstream_metrics[subschema].record(outcome, started);
    span.record("outcome", outcome.as_str());
    result
}

/// Puts a step's data in place and its errors on client paths.
pub(crate) fn merge_result(
    gateway: &Gateway,
    step: &FetchStep,
    result: Result<ExecutionResult, ExecutorError>,
    context: &Context,
    fetched: &mut Fetched,
) {
    let name = &gateway.names[step.subschema];
    let mut result = match result {
        Ok(result) => result,
        Err(error) => {
            let error = gateway.errors.transport_error(name, &error, context);
            fetched.errors.extend(step.fields.iter().map(|field| {
                let mut located = error.clone();
                located.path = Some(vec![PathSegment::Key(field.key.clone())]);
                located.locations = field.location.into_iter().collect();
                located
            }));
            return;
        }
    };
    gateway
        .errors
        .clean(step.subschema, name, &mut result.errors, context);
    let data = result.take_data_tree();
    let has_data = matches!(data, Some(Data::Object(_)));
    if !has_data && result.errors.is_empty() {
        result
            .errors
            .push(no_data_error(&gateway.names[step.subschema]));
    }
    for mut error in result.errors {
        match error.path.take() {
            Some(path) if !path.is_empty() => {
                // Root steps use the client's response keys, so their paths are client paths.
                error.path = Some(path);
                fetched.errors.push(error);
            }
            // A request error (or a null root): it concerns every field of the step.
            _ if !has_data => {
                fetched.errors.extend(step.fields.iter().map(|field| {
                    let mut located = error.clone();
                    located.path = Some(vec![PathSegment::Key(field.key.clone())]);
                    located.locations = field.location.into_iter().collect();
                    located
                }));
            }
            _ => fetched.errors.push(error),
        }
    }
    if let Some(Data::Object(data)) = data {
        fetched.data.extend(data);
    }
}

/// The error for an upstream answer with neither data nor errors (`{"data": null}` or `{}`),
/// which the GraphQL spec does not allow: the fields it should have answered get it.
pub(crate) fn no_data_error(subschema: &str) -> GraphQLError {
    let mut error = GraphQLError::new(format!(
        "subschema `{subschema}` answered without data and without errors"
    ))
    .with_code("INVALID_UPSTREAM_RESPONSE");
    error
        .extensions
        .get_or_insert_with(JsonMap::new)
        .insert("serviceName".into(), Value::String(subschema.to_owned()));
    error
}
