//! Running a plan's steps: queries concurrently, mutations in order, each step's data and
//! errors collected for shaping.

use apollo_compiler::Schema;
use apollo_compiler::ast::OperationType;
use apollo_compiler::validation::Valid;
use futures::StreamExt;
use futures::future::join_all;
use quilt_executor::{
    Context, Data, Deadline, ExecutionResult, ExecutorError, GraphQLError, JsonMap, PathSegment,
    Request, Response, ResultStream, SharedExecutor,
};
use serde_json::Value;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;
use tracing::Instrument;

use crate::compose::ROOTS;
use crate::metrics::Outcome;
use crate::plan::{FetchStep, Prepared};
pub(crate) use crate::shape::Fetched;
use crate::shape::shape;
use crate::upstream_errors::ErrorPolicy;

mod entities;
pub(crate) mod incremental;

pub(crate) use entities::{Which, lock, run_entity_steps};

/// The subschemas as execution sees them: how to reach each one and how to report on it
/// (not their schemas, nor the plans).
pub(crate) struct Upstreams {
    /// Each subschema's name.
    pub names: Vec<String>,
    /// Each subschema's executor.
    pub executors: Vec<SharedExecutor>,
    /// Each subschema's upstream request metrics.
    pub metrics: Vec<crate::metrics::Upstream>,
    /// How upstream errors reach clients.
    pub errors: ErrorPolicy,
}

/// What executing one prepared operation needs: the narrow context that queries, mutations
/// and each event of a subscription share.
pub(crate) struct Execution<'a> {
    /// The subschemas' executors, names, metrics and error policy.
    pub upstreams: &'a Upstreams,
    /// The stitched schema with every element (what results are shaped against).
    pub schema: &'a Valid<Schema>,
    /// The validated operation and its plan.
    pub prepared: &'a Prepared,
    /// The client's coerced variables.
    pub variables: &'a JsonMap,
    /// The client request's context.
    pub context: &'a Context,
}

impl Execution<'_> {
    /// Runs the plan (queries' root steps concurrently, mutations' one after another with
    /// their merged fields in between) over what `fetched` already holds (introspection), and
    /// shapes the response; with `serialized` its data is JSON bytes.
    pub async fn run(&self, mut fetched: Fetched, serialized: bool) -> ExecutionResult {
        let plan = &self.prepared.plan;
        if plan.operation_type == OperationType::Mutation {
            let shared = Mutex::new(fetched);
            for (i, step) in plan.steps.iter().enumerate() {
                let result = self.run_step(step).await;
                self.place_root(step, result, &mut lock(&shared));
                let which = Which {
                    root: Some(i),
                    group: None,
                };
                run_entity_steps(self, which, &shared, None).await;
            }
            let fetched = shared.into_inner().unwrap_or_else(PoisonError::into_inner);
            return self.shape(fetched, serialized);
        }
        let results = join_all(plan.steps.iter().map(|step| self.run_step(step))).await;
        for (step, result) in plan.steps.iter().zip(results) {
            self.place_root(step, result, &mut fetched);
        }
        self.complete(fetched, serialized).await
    }

    /// One event of a subscription (the root step's result, or its failure): the merged
    /// fields of the other subschemas, shaped as the client asked.
    pub async fn event(&self, event: Result<ExecutionResult, ExecutorError>) -> ExecutionResult {
        let mut fetched = Fetched::default();
        if let Some(step) = self.prepared.plan.steps.first() {
            self.place_root(step, event, &mut fetched);
        }
        self.complete(fetched, false).await
    }

    /// The tail every execution shares: the dependent steps, then shaping.
    async fn complete(&self, fetched: Fetched, serialized: bool) -> ExecutionResult {
        let shared = Mutex::new(fetched);
        run_entity_steps(self, Which::ALL, &shared, None).await;
        let fetched = shared.into_inner().unwrap_or_else(PoisonError::into_inner);
        self.shape(fetched, serialized)
    }

    /// The response, shaped from what was fetched.
    fn shape(&self, fetched: Fetched, serialized: bool) -> ExecutionResult {
        let prepared = self.prepared;
        let Ok(operation) = prepared
            .document
            .operations
            .get(prepared.operation_name.as_deref())
        else {
            return ExecutionResult::from_error(GraphQLError::new(
                "the prepared operation is missing",
            ));
        };
        shape(
            self.schema,
            prepared,
            self.variables,
            root_type_name(operation.operation_type),
            &operation.selection_set,
            fetched,
            serialized,
        )
    }

    async fn run_step(&self, step: &FetchStep) -> Result<ExecutionResult, ExecutorError> {
        let request = step_request(step, self.variables, self.context);
        self.upstreams.fetch(step.subschema, request).await
    }

    /// Puts a root step's data in place and its errors on client paths.
    pub fn place_root(
        &self,
        step: &FetchStep,
        result: Result<ExecutionResult, ExecutorError>,
        fetched: &mut Fetched,
    ) {
        place_root_result(self.upstreams, step, result, self.context, fetched);
    }
}

/// The name of the root type of `operation_type` in the stitched schema.
pub(crate) fn root_type_name(operation_type: OperationType) -> &'static str {
    ROOTS
        .iter()
        .find(|(op, _)| *op == operation_type)
        .map_or("Query", |(_, name)| name)
}

/// The upstream request of a step: its document, the variables it uses, the client's context,
/// the client's files for those variables.
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
    request.uploads = crate::uploads::for_step(&step.variables, context);
    request
}

impl Upstreams {
    /// One upstream fetch of the subschema `subschema`, given up at the request's [`Deadline`]
    /// (if the server set one): then it fails as a timeout naming the subschema, and what the
    /// other fetches brought is still answered. Every query step and entity step goes through
    /// here: it is the one place that calls a subschema's executor and reads its result.
    ///
    /// A subschema that answers with a stream (`@defer` sent to it) is read to the end and its
    /// payloads merged into one result.
    pub(crate) async fn fetch(
        &self,
        subschema: usize,
        request: Request,
    ) -> Result<ExecutionResult, ExecutorError> {
        self.fetch_parts(subschema, request, true)
            .await
            .map(|(result, _)| result)
    }

    /// [`Upstreams::fetch`]; without `whole`, a streamed answer is its first payload and the
    /// stream of the others (read by the caller, within the request's deadline).
    pub(crate) async fn fetch_parts(
        &self,
        subschema: usize,
        request: Request,
        whole: bool,
    ) -> Result<(ExecutionResult, Option<ResultStream>), ExecutorError> {
        let gateway = self;
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
        let future = async move {
            match executor.execute(request).await? {
                Response::Single(result) => Ok((result, None)),
                Response::Stream(mut stream) => {
                    let mut first = stream.next().await.ok_or_else(|| {
                        ExecutorError::other("the subschema's answer ended before its first result")
                    })??;
                    if first.has_next != Some(true) {
                        return Ok((first, None));
                    }
                    if !whole {
                        return Ok((first, Some(stream)));
                    }
                    while let Some(payload) = stream.next().await {
                        incremental::merge_payload(&mut first, payload?);
                    }
                    first.has_next = None;
                    Ok((first, None))
                }
            }
        };
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
        let outcome = Outcome::of(&result.as_ref().map(|(r, _)| r));
        gateway.metrics[subschema].record(outcome, started);
        span.record("outcome", outcome.as_str());
        result
    }
}

/// Puts a step's data in place and its errors on client paths.
fn place_root_result(
    gateway: &Upstreams,
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
