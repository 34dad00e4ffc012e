//! `multipart/mixed` responses: incremental delivery (@defer/@stream payloads as they are; `{}`
//! heartbeats when [`Streaming::incremental_heartbeat`] is set) and Apollo multipart
//! subscriptions (`{"payload": ..}` parts, `{}` heartbeats, a transport error part
//! `{"payload": null, "errors": [..]}`). The delimiter is written right after each part, so
//! a client can process a part as soon as it arrives.

use std::convert::Infallible;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures::{StreamExt, stream};
use http::{HeaderValue, header};
use quilt_executor::{ExecutionResult, ResultStream};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::config::Streaming;
use crate::transport::pump::{Pumped, pump};

const BOUNDARY: &str = "graphql";

/// Streams `results` as `multipart/mixed`; `apollo_subscription` selects Apollo's subscription
/// format (with heartbeats) over incremental delivery.
pub fn respond(
    results: ResultStream,
    shutdown: CancellationToken,
    settings: &Streaming,
    apollo_subscription: bool,
) -> Response {
    let heartbeat = if apollo_subscription {
        Some(settings.multipart_heartbeat)
    } else {
        settings.incremental_heartbeat
    };
    let parts = pump(results, shutdown, heartbeat).filter_map(move |pumped| async move {
        let value = match (pumped, apollo_subscription) {
            (Pumped::Result(result), true) => json!({ "payload": result }),
            (Pumped::Result(result), false) => serde_json::to_value(result).ok()?,
            (Pumped::Error(error), true) => {
                json!({ "payload": null, "errors": [error.to_graphql_error()] })
            }
            (Pumped::Error(error), false) => {
                json!({ "errors": [error.to_graphql_error()], "hasNext": false })
            }
            (Pumped::Heartbeat, _) => json!({}),
        };
        Some(part(&value))
    });
    let body = stream::once(async { Bytes::from(format!("--{BOUNDARY}")) })
        .chain(parts)
        .chain(stream::once(async { Bytes::from_static(b"--\r\n") }))
        .map(Ok::<_, Infallible>);
    let content_type = if apollo_subscription {
        "multipart/mixed; boundary=\"graphql\"; subscriptionSpec=\"1.0\""
    } else {
        "multipart/mixed; boundary=\"graphql\"; deferSpec=20220824"
    };
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// One part followed by the next delimiter.
fn part(value: &Value) -> Bytes {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "{}".into());
    Bytes::from(format!(
        "\r\nContent-Type: application/json; charset=utf-8\r\n\r\n{json}\r\n--{BOUNDARY}"
    ))
}

/// A single result as a one-part multipart response.
pub fn single(
    result: ExecutionResult,
    settings: &Streaming,
    apollo_subscription: bool,
) -> Response {
    let stream = stream::once(async move { Ok(result) }).boxed();
    respond(
        stream,
        CancellationToken::new(),
        settings,
        apollo_subscription,
    )
}
