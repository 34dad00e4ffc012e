//! The execution gate every transport passes (HTTP, WebSocket, SSE single connection mode):
//! the subscription limits (a permit that lives as long as the stream), the request timeout,
//! the request id and a span per request, the masking of executor failures, and the one
//! mapping of a refused or failed execution to what the client sees ([`ExecuteFailure`]).

use std::net::IpAddr;

use std::time::Duration;

use futures::StreamExt;
use quilt_executor::{Deadline, ExecutorError, GraphQLError, Request, RequestId, Response};
use tracing::Instrument;

use crate::error::RequestError;
use crate::state::ServerState;

/// Why the executor was not called or did not answer.
#[derive(Debug)]
pub(crate) enum ExecuteFailure {
    /// The executor failed (or timed out).
    Executor(ExecutorError),
    /// The subscription limit is reached.
    TooManySubscriptions(usize),
    /// The client (peer address) holds its share of subscriptions.
    TooManySubscriptionsForClient(usize),
    /// Graceful shutdown has started.
    ShuttingDown,
}

impl ExecuteFailure {
    /// The failure as the GraphQL error of a transport without HTTP statuses (WebSocket, the
    /// SSE single connection mode's stream).
    pub(crate) fn into_graphql_error(self) -> GraphQLError {
        match self {
            ExecuteFailure::Executor(error) => error.to_graphql_error(),
            ExecuteFailure::TooManySubscriptions(max) => too_many_subscriptions(max),
            ExecuteFailure::TooManySubscriptionsForClient(max) => {
                too_many_subscriptions_for_client(max)
            }
            ExecuteFailure::ShuttingDown => RequestError::ShuttingDown.to_graphql_error(),
        }
    }

    /// The failure over HTTP: the executor's error, answered as a GraphQL result (its status
    /// decided by the accepted media type), or a refusal with its own status (`503`).
    pub(crate) fn into_http(self) -> Result<ExecutorError, RequestError> {
        match self {
            ExecuteFailure::Executor(error) => Ok(error),
            ExecuteFailure::TooManySubscriptions(max) => {
                Err(RequestError::Capacity(too_many_subscriptions(max).message))
            }
            ExecuteFailure::TooManySubscriptionsForClient(max) => Err(RequestError::Capacity(
                too_many_subscriptions_for_client(max).message,
            )),
            ExecuteFailure::ShuttingDown => Err(RequestError::ShuttingDown),
        }
    }
}

/// The error of a subscription refused by the server's subscription limit.
fn too_many_subscriptions(max: usize) -> GraphQLError {
    GraphQLError::new(format!(
        "the server runs its maximum of {max} subscriptions; try again later"
    ))
    .with_code("TOO_MANY_SUBSCRIPTIONS")
}

/// The error of a subscription over the client's share.
fn too_many_subscriptions_for_client(max: usize) -> GraphQLError {
    GraphQLError::new(format!(
        "this client (address) holds its maximum of {max} subscriptions; end one first"
    ))
    .with_code("TOO_MANY_SUBSCRIPTIONS")
}

/// Executes `request`, bounded by the request timeout (for a stream: the time until the stream
/// starts). A subscription holds one permit of the server's subscription limit until its stream
/// is dropped.
pub(crate) async fn execute(
    state: &ServerState,
    request: Request,
    transport: &'static str,
    peer: Option<IpAddr>,
) -> Result<Response, ExecuteFailure> {
    run(state, request, transport, peer, false).await
}

/// [`execute`] for an answer that is only serialized as JSON: the executor may give its data as
/// bytes (the request asks for [`quilt_executor::DataForm::Json`]).
pub(crate) async fn execute_serialized(
    state: &ServerState,
    request: Request,
    transport: &'static str,
    peer: Option<IpAddr>,
) -> Result<Response, ExecuteFailure> {
    run(state, request, transport, peer, true).await
}

async fn run(
    state: &ServerState,
    request: Request,
    transport: &'static str,
    peer: Option<IpAddr>,
    serialized: bool,
) -> Result<Response, ExecuteFailure> {
    if state.shutdown.is_cancelled() {
        return Err(ExecuteFailure::ShuttingDown);
    }
    let permit = if request.is_subscription() {
        // The client's share first, then the server's pool.
        let share = state.peer_subscriptions.take(peer).map_err(|()| {
            ExecuteFailure::TooManySubscriptionsForClient(state.peer_subscriptions.max())
        })?;
        match state.subscriptions.clone().try_acquire_owned() {
            Ok(permit) => Some((
                permit,
                share,
                crate::metrics::GaugeGuard::new(metrics::gauge!(
                    crate::metrics::SUBSCRIPTIONS,
                    "transport" => transport
                )),
            )),
            Err(_) => {
                return Err(ExecuteFailure::TooManySubscriptions(
                    state.limits.max_subscriptions,
                ));
            }
        }
    } else {
        None
    };
    // The executor gets the deadline (a stitched schema answers what arrived by then); the
    // server's own timeout, a little later, only catches an executor that ignores it.
    let mut request = request;
    if let (Some(after), false) = (state.limits.request_timeout, request.is_subscription()) {
        request.context = request.context.insert(Deadline::after(after));
    }
    // Every request has an id for the logs (and masked errors): over HTTP the one answered in
    // `x-request-id` (put in the context by the pipeline), otherwise (each operation of a
    // WebSocket connection) a new one.
    let request_id = match request.context.get::<RequestId>() {
        Some(id) => id.clone(),
        None => {
            let id = RequestId::random();
            request.context = request.context.insert(id.clone());
            id
        }
    };
    let span = tracing::info_span!(
        "graphql.execute",
        request_id = %request_id,
        transport,
        operation.name = request.operation_name.as_deref().unwrap_or(""),
        operation.kind = ?request.operation_type(),
    );
    if serialized {
        request.data_form = quilt_executor::DataForm::Json;
    }
    let future = state.executor.execute(request).instrument(span);
    // The executor's failures are masked; the server's own timeout names nothing internal.
    let future = async {
        future
            .await
            .map_err(|error| client_error(state, error, &request_id))
    };
    let response = match state.limits.request_timeout {
        Some(after) => match tokio::time::timeout(after + DEADLINE_GRACE, future).await {
            Ok(result) => result,
            Err(_) => Err(timeout_error(after)),
        },
        None => future.await,
    }
    .map_err(ExecuteFailure::Executor)?;
    let response = match response {
        Response::Stream(stream) if !state.expose_upstream_details => Response::Stream(
            stream
                .map(move |item| item.map_err(|error| mask(error, &request_id)))
                .boxed(),
        ),
        response => response,
    };
    Ok(match (response, permit) {
        (Response::Stream(stream), Some(permit)) => Response::Stream(
            stream
                .map(move |item| {
                    let _held = &permit;
                    item
                })
                .boxed(),
        ),
        (response, _) => response,
    })
}

/// An executor's failure as the client may see it: unless upstream details are exposed,
/// without endpoint or upstream text (logged whole with the request id).
fn client_error(
    state: &ServerState,
    error: ExecutorError,
    request_id: &RequestId,
) -> ExecutorError {
    if state.expose_upstream_details {
        error
    } else {
        mask(error, request_id)
    }
}

/// `error` masked, logged whole unless it already was masked.
fn mask(error: ExecutorError, request_id: &RequestId) -> ExecutorError {
    if !matches!(error, ExecutorError::Masked { .. }) {
        tracing::warn!(%request_id, %error, "the executor failed");
    }
    error.masked()
}

/// How long after the deadline the server gives the executor to answer with what it has.
const DEADLINE_GRACE: Duration = Duration::from_millis(250);

fn timeout_error(after: Duration) -> ExecutorError {
    ExecutorError::Timeout {
        endpoint: "the GraphQL server (request timeout)".into(),
        after,
    }
}
