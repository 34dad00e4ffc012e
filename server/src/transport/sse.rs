//! GraphQL over SSE, distinct connections mode: one request, one `text/event-stream` of
//! `next` events and a final `complete` (with an empty `data:` line, for EventSource).
//! Events are written by hand: each is a few lines, and the protocol's empty `complete` data
//! must be written as `data:` (axum's SSE writer omits empty data).

use std::convert::Infallible;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures::{Stream, StreamExt, stream};
use http::{HeaderValue, header};
use quilt_executor::{ExecutionResult, ResultStream};
use tokio_util::sync::CancellationToken;

use crate::config::Streaming;
use crate::transport::pump::{Pumped, pump};

/// One SSE event: `event: NAME`, one `data:` line per line of `data` (`data:` when empty).
pub fn event(name: &str, data: &str) -> Bytes {
    let mut out = String::with_capacity(name.len() + data.len() + 24);
    out.push_str("event: ");
    out.push_str(name);
    out.push('\n');
    if data.is_empty() {
        out.push_str("data:\n");
    }
    for line in data.lines() {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

/// A `next` event carrying `result`.
pub fn next_event(result: &ExecutionResult) -> Bytes {
    event(
        "next",
        &serde_json::to_string(result).unwrap_or_else(|_| "{}".into()),
    )
}

/// An SSE comment that keeps idle connections open through proxies.
pub fn keep_alive() -> Bytes {
    Bytes::from_static(b":\n\n")
}

/// A `text/event-stream` response with `events` as its body.
pub fn stream_response(events: impl Stream<Item = Bytes> + Send + 'static) -> Response {
    let mut response = Response::new(Body::from_stream(events.map(Ok::<_, Infallible>)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
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
            Pumped::Heartbeat => keep_alive(),
        })
        .chain(stream::once(async { event("complete", "") }));
    stream_response(events)
}
