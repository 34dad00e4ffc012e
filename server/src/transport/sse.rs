//! GraphQL over SSE, distinct connections mode: one request, one `text/event-stream` of
//! `next` events and a final `complete`.

use std::convert::Infallible;

use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures::{StreamExt, stream};
use quilt_executor::{ExecutionResult, ResultStream};
use tokio_util::sync::CancellationToken;

use crate::config::Streaming;
use crate::transport::pump::{Pumped, pump};

/// A `next` event carrying `result`.
pub fn next_event(result: &ExecutionResult) -> Event {
    Event::default()
        .event("next")
        .data(serde_json::to_string(result).unwrap_or_else(|_| "{}".into()))
}

/// The final event of a distinct-connections stream (empty data, for EventSource).
pub fn complete_event() -> Event {
    Event::default().event("complete").data("")
}

/// Streams `results` as SSE; a failure of the stream becomes a `next` event with the error, and
/// every stream ends with `complete` (also when the server shuts down).
pub fn respond(
    results: ResultStream,
    shutdown: CancellationToken,
    settings: &Streaming,
) -> Response {
    let events = pump(results, shutdown, Some(settings.sse_keep_alive))
        .map(|pumped| match pumped {
            Pumped::Result(result) => next_event(&result),
            Pumped::Error(error) => {
                next_event(&ExecutionResult::from_error(error.to_graphql_error()))
            }
            Pumped::Heartbeat => Event::default().comment(""),
        })
        .chain(stream::once(async { complete_event() }))
        .map(Ok::<_, Infallible>);
    let mut response = Sse::new(events).into_response();
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-cache"),
    );
    response
}
