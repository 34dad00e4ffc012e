//! GraphQL over SSE, single connection mode: `PUT` reserves a stream and answers `201` with a
//! token; the client opens the stream (GET or POST with `Accept: text/event-stream` and the
//! token); operations are ordinary requests with the token and an `extensions.operationId`,
//! answered `202` while their results flow on the stream as `{id, payload}`; `DELETE
//! ?operationId=` stops one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{StreamExt, stream};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use quilt_executor::{ExecutionResult, Request, Response as ExecutorResponse};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use crate::error::RequestError;
use crate::fair::PeerSlot;
use crate::gate::{ExecuteFailure, execute};
use crate::state::{ServerState, SharedState};
use crate::transport::pump::{Pumped, pump};
use crate::transport::sse;

/// The header carrying the reservation token.
pub const TOKEN_HEADER: &str = "x-graphql-event-stream-token";

/// The open reservations of one server.
#[derive(Default)]
pub(crate) struct Reservations {
    inner: Mutex<HashMap<String, Reservation>>,
}

struct Reservation {
    /// The sender operations clone; taken away when the stream drains at shutdown.
    sender: Option<mpsc::Sender<Bytes>>,
    /// Taken when the stream is opened.
    receiver: Option<mpsc::Receiver<Bytes>>,
    /// Running operations; dropping a handle aborts the operation (and drops its upstream).
    operations: HashMap<String, AbortOnDropHandle<()>>,
    created: Instant,
    /// The client's share of reservations this one holds.
    _share: Option<PeerSlot>,
}

impl Reservations {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Reservation>> {
        // A poisoned lock only means a panic elsewhere; the map itself stays consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The reservations held now.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

/// The token of a request: the header, else the `token` query parameter.
pub fn token_of(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(value) = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(value.to_owned());
    }
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
}

/// `PUT`: reserves a stream; `201` with the token as `text/plain`.
pub(crate) fn reserve(state: &ServerState, peer: Option<IpAddr>) -> Result<Response, RequestError> {
    let settings = &state.streaming;
    let mut map = state.reservations.lock();
    map.retain(|_, r| {
        r.receiver.is_none() || r.created.elapsed() < settings.sse_reservation_timeout
    });
    if map.len() >= settings.max_sse_reservations {
        return Err(RequestError::Capacity(format!(
            "the server holds its maximum of {} event stream reservations",
            settings.max_sse_reservations
        )));
    }
    let share = state.peer_reservations.take(peer).map_err(|()| {
        RequestError::Capacity(format!(
            "this client (address) holds its maximum of {} event stream reservations",
            state.peer_reservations.max()
        ))
    })?;
    // From the OS-seeded CSPRNG: a token is the only credential of a stream.
    let token = format!("{:032x}", rand::random::<u128>());
    let (sender, receiver) = mpsc::channel(settings.queue_capacity.max(1));
    map.insert(
        token.clone(),
        Reservation {
            sender: Some(sender),
            receiver: Some(receiver),
            operations: HashMap::new(),
            created: Instant::now(),
            _share: share,
        },
    );
    let mut response = (StatusCode::CREATED, token).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(response)
}

/// Opens the event stream of `token`. The reservation lives as long as this stream: when the
/// client disconnects, the reservation and its operations are dropped.
pub(crate) fn open_stream(state: SharedState, token: String) -> Result<Response, RequestError> {
    let receiver = {
        let mut map = state.reservations.lock();
        let reservation = map
            .get_mut(&token)
            .ok_or(RequestError::UnknownStreamToken)?;
        reservation
            .receiver
            .take()
            .ok_or(RequestError::StreamAlreadyOpen)?
    };
    let guard = StreamGuard {
        state: state.clone(),
        token,
    };
    let period = state.streaming.sse_keep_alive;
    let mut keep_alive = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    keep_alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let events = stream::unfold(
        (receiver, guard, false, keep_alive),
        |(mut receiver, guard, mut draining, mut keep_alive)| async move {
            loop {
                tokio::select! {
                    biased;
                    event = receiver.recv() => {
                        keep_alive.reset();
                        return event.map(|event| (event, (receiver, guard, draining, keep_alive)));
                    }
                    _ = guard.state.shutdown.cancelled(), if !draining => {
                        // Let running operations send their `complete`, then end when the
                        // last sender is gone.
                        draining = true;
                        if let Some(r) = guard.state.reservations.lock().get_mut(&guard.token) {
                            r.sender = None;
                        }
                    }
                    _ = keep_alive.tick() => {
                        return Some((sse::keep_alive(), (receiver, guard, draining, keep_alive)));
                    }
                }
            }
        },
    );
    Ok(sse::stream_response(events))
}

struct StreamGuard {
    state: SharedState,
    token: String,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let removed = self.state.reservations.lock().remove(&self.token);
        drop(removed);
    }
}

/// Starts the operation `operation_id` (its `extensions.operationId`) on `token`'s stream;
/// `202 Accepted`. A request that failed to prepare is answered on the stream, like a result.
pub(crate) fn start_operation(
    state: SharedState,
    token: &str,
    operation_id: Option<String>,
    prepared: Result<Request, Box<ExecutionResult>>,
    peer: Option<IpAddr>,
) -> Result<Response, RequestError> {
    let mut map = state.reservations.lock();
    let reservation = map.get_mut(token).ok_or(RequestError::UnknownStreamToken)?;
    let sender = reservation
        .sender
        .clone()
        .ok_or(RequestError::ShuttingDown)?;
    let Some(operation_id) = operation_id else {
        return Err(RequestError::OperationId(
            "missing: set extensions.operationId",
        ));
    };
    if reservation.operations.contains_key(&operation_id) {
        return Err(RequestError::OperationId("already in use on this stream"));
    }
    let max = state.limits.max_operations_per_connection;
    if reservation.operations.len() >= max {
        return Err(RequestError::Capacity(format!(
            "this event stream runs its maximum of {max} operations"
        )));
    }
    let task = tokio::spawn(run_operation(
        state.clone(),
        token.to_owned(),
        operation_id.clone(),
        prepared,
        sender,
        peer,
    ));
    reservation
        .operations
        .insert(operation_id, AbortOnDropHandle::new(task));
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn run_operation(
    state: SharedState,
    token: String,
    id: String,
    prepared: Result<Request, Box<ExecutionResult>>,
    sender: mpsc::Sender<Bytes>,
    peer: Option<IpAddr>,
) {
    // Only a real stream ends at shutdown; a single result is always delivered.
    let (results, shutdown) = match prepared {
        Ok(request) => match execute(&state, request, "sse-single", peer).await {
            Ok(ExecutorResponse::Stream(results)) => (results, state.shutdown.clone()),
            Ok(single) => (single.into_stream(), CancellationToken::new()),
            Err(failure) => (failure_stream(failure), CancellationToken::new()),
        },
        Err(result) => (
            stream::once(async move { Ok(*result) }).boxed(),
            CancellationToken::new(),
        ),
    };
    let mut pumped = std::pin::pin!(pump(results, shutdown, None));
    while let Some(item) = pumped.next().await {
        let payload = match item {
            Pumped::Result(result) => result,
            Pumped::Error(error) => ExecutionResult::from_error(error.to_graphql_error()),
            Pumped::Heartbeat => continue,
        };
        let event = sse::event("next", &json!({ "id": id, "payload": payload }).to_string());
        if sender.send(event).await.is_err() {
            return;
        }
    }
    let complete = sse::event("complete", &json!({ "id": id }).to_string());
    let _ = sender.send(complete).await;
    drop(sender);
    let finished = state
        .reservations
        .lock()
        .get_mut(&token)
        .and_then(|r| r.operations.remove(&id));
    if let Some(handle) = finished {
        // This is our own handle: detach instead of aborting the task that is finishing.
        handle.detach();
    }
}

fn failure_stream(failure: ExecuteFailure) -> quilt_executor::ResultStream {
    let error = failure.into_graphql_error();
    stream::once(async move { Ok(ExecutionResult::from_error(error)) }).boxed()
}

/// `DELETE ?operationId=`: stops an operation; `200`.
pub(crate) fn stop_operation(
    state: &ServerState,
    token: &str,
    query: Option<&str>,
) -> Result<Response, RequestError> {
    let operation_id = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "operationId")
        .map(|(_, v)| v.into_owned())
        .ok_or(RequestError::OperationId("missing: pass ?operationId="))?;
    let handle = {
        let mut map = state.reservations.lock();
        let reservation = map.get_mut(token).ok_or(RequestError::UnknownStreamToken)?;
        reservation.operations.remove(&operation_id)
    };
    drop(handle);
    Ok(StatusCode::OK.into_response())
}
