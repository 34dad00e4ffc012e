//! Stage 6: execution. The request timeout, the subscription limit (a permit that lives as long
//! as the stream), and a span per request.

use std::net::IpAddr;

use std::time::Duration;

use futures::StreamExt;
use quilt_executor::{Deadline, ExecutorError, Request, RequestId, Response};
use tracing::Instrument;

use crate::state::ServerState;

/// Why the executor was not called or did not answer.
#[derive(Debug)]
pub enum ExecuteFailure {
    /// The executor failed (or timed out).
    Executor(ExecutorError),
    /// The subscription limit is reached.
    TooManySubscriptions(usize),
    /// The client (peer address) holds its share of subscriptions.
    TooManySubscriptionsForClient(usize),
    /// Graceful shutdown has started.
    ShuttingDown,
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
/// bytes ([`quilt_executor::Executor::execute_serialized`]).
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
            .map_err(|error| state.client_error(error, &request_id))
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

impl ServerState {
    /// An executor's failure as the client may see it: unless upstream details are exposed,
    /// without endpoint or upstream text (logged whole with the request id).
    fn client_error(&self, error: ExecutorError, request_id: &RequestId) -> ExecutorError {
        if self.expose_upstream_details {
            error
        } else {
            mask(error, request_id)
        }
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
