//! The emitter side of the HTTP callback subscription protocol, for every schema
//! [`graphql_router`](crate::graphql_router) serves: a POST with
//! `Accept: application/json;callbackSpec=1.0` and `extensions.subscription` is subscribed with
//! async-graphql, `check`ed at the callback URL, answered `{"data": null}`, and then its events
//! are POSTed as `next`, with a `check` every heartbeat interval and a `complete` at the end.
//! The emitter stops at the first 404 (or other refusal) from the gateway, as Apollo Server's
//! plugin does. What crosses the wire is counted in the server's [`Stats`].
//!
//! For tests, the request header `x-callback-heartbeat: off` turns the heartbeat `check`s off
//! (to let a gateway time out).
//!
//! A request the schema rejects before any event (a validation error, an unknown field) is
//! answered with its errors, without any callback.

use std::time::Duration;

use async_graphql::{ObjectType, Schema, SubscriptionType};
use axum::response::{IntoResponse, Response};
use futures::{FutureExt, StreamExt};
use http::HeaderMap;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::stats::Stats;

/// What `extensions.subscription` says (camelCase, or the preview's snake_case names).
#[derive(Debug, Clone)]
struct Callback {
    url: String,
    id: String,
    verifier: String,
    heartbeat: Option<Duration>,
}

impl Callback {
    fn from_extension(value: &Value) -> Option<Self> {
        let text = |camel: &str, snake: &str| {
            value
                .get(camel)
                .or_else(|| value.get(snake))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let heartbeat_ms = value
            .get("heartbeatIntervalMs")
            .or_else(|| value.get("heartbeat_interval_ms"))
            .and_then(Value::as_u64)
            .unwrap_or(5000);
        Some(Self {
            url: text("callbackUrl", "callback_url")?,
            id: text("subscriptionId", "subscription_id")?,
            verifier: text("verifier", "verifier")?,
            heartbeat: (heartbeat_ms > 0).then(|| Duration::from_millis(heartbeat_ms)),
        })
    }

    fn message(&self, action: &str) -> serde_json::Map<String, Value> {
        let mut message = serde_json::Map::new();
        message.insert("kind".into(), json!("subscription"));
        message.insert("action".into(), json!(action));
        message.insert("id".into(), json!(self.id));
        message.insert("verifier".into(), json!(self.verifier));
        message
    }
}

/// Whether a request asks for a callback subscription.
pub(crate) fn is_callback_request(accept: &str, request: &async_graphql::Request) -> bool {
    accept.contains("callbackSpec=1.0") && request.extensions.0.contains_key("subscription")
}

/// Runs a callback subscription: the emitter's whole side.
pub(crate) async fn subscribe<Q, M, S>(
    schema: Schema<Q, M, S>,
    request: async_graphql::Request,
    headers: &HeaderMap,
    stats: Stats,
    client: reqwest::Client,
    stop: Option<watch::Receiver<bool>>,
) -> Response
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let Some(callback) = request
        .extensions
        .0
        .get("subscription")
        .and_then(|v| serde_json::to_value(v).ok())
        .and_then(|v| Callback::from_extension(&v))
    else {
        return errors_response(
            http::StatusCode::BAD_REQUEST,
            "invalid extensions.subscription",
        );
    };
    let header_is = |name: &str, value: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case(value))
    };
    let heartbeat = if header_is("x-callback-heartbeat", "off") {
        None
    } else {
        callback.heartbeat
    };

    let mut events = schema.execute_stream(request).fuse().boxed();
    // A request rejected before execution (parse, validation, unknown operation) yields its
    // errors at once; a valid subscription yields nothing yet, or its first event.
    let first = match events.next().now_or_never() {
        Some(Some(response)) if is_request_error(&response) => {
            return async_graphql_axum::GraphQLResponse::from(response).into_response();
        }
        Some(Some(response)) => Some(response),
        Some(None) | None => None,
    };

    let emitter = Emitter {
        callback,
        client,
        stats: stats.clone(),
    };
    // The check comes before the answer, as in Apollo Server's plugin; a refusal is answered
    // with a 500 and the reason.
    if let Sent::Stop(status) = emitter
        .post("check", emitter.callback.message("check"))
        .await
    {
        return errors_response(
            http::StatusCode::INTERNAL_SERVER_ERROR,
            &format!("the `check` request was answered {status}"),
        );
    }
    stats.record_callback_subscription();
    tokio::spawn(async move {
        let run = emitter.run(first, events, heartbeat);
        match stop {
            // A hard stop of the server ends the emitter too, as a crash would.
            Some(mut stop) => {
                tokio::select! {
                    _ = run => {}
                    _ = stop.wait_for(|stopped| *stopped) => {}
                }
            }
            None => run.await,
        }
        stats.record_callback_stopped();
    });
    (
        [(http::header::CONTENT_TYPE, "application/json")],
        r#"{"data":null}"#,
    )
        .into_response()
}

/// A response with no data and errors (so nothing is called back).
fn is_request_error(response: &async_graphql::Response) -> bool {
    !response.errors.is_empty() && matches!(response.data, async_graphql::Value::Null)
}

fn errors_response(status: http::StatusCode, message: &str) -> Response {
    (
        status,
        [(http::header::CONTENT_TYPE, "application/json")],
        json!({ "errors": [{ "message": message }] }).to_string(),
    )
        .into_response()
}

/// What the gateway said to one message.
enum Sent {
    Ok,
    /// 404 or another refusal (or no answer): the emitter stops.
    Stop(String),
}

struct Emitter {
    callback: Callback,
    client: reqwest::Client,
    stats: Stats,
}

impl Emitter {
    /// Events as `next`, `check` every heartbeat interval, `complete` at the end; stops at the
    /// first refusal.
    async fn run(
        self,
        first: Option<async_graphql::Response>,
        mut events: futures::stream::BoxStream<'static, async_graphql::Response>,
        heartbeat: Option<Duration>,
    ) {
        if let Some(event) = first
            && !self.next(event).await
        {
            return;
        }
        let mut ticker = heartbeat
            .map(|every| tokio::time::interval_at(tokio::time::Instant::now() + every, every));
        loop {
            let tick = async {
                match ticker.as_mut() {
                    Some(ticker) => {
                        ticker.tick().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                event = events.next() => match event {
                    Some(event) => {
                        if !self.next(event).await {
                            return;
                        }
                    }
                    None => {
                        let _ = self.post("complete", self.callback.message("complete")).await;
                        return;
                    }
                },
                _ = tick => {
                    if let Sent::Stop(_) = self.post("check", self.callback.message("check")).await {
                        return;
                    }
                }
            }
        }
    }

    async fn next(&self, event: async_graphql::Response) -> bool {
        let mut message = self.callback.message("next");
        message.insert(
            "payload".into(),
            serde_json::to_value(&event).unwrap_or(Value::Null),
        );
        matches!(self.post("next", message).await, Sent::Ok)
    }

    /// POSTs one message and counts it and its answer.
    async fn post(&self, action: &str, message: serde_json::Map<String, Value>) -> Sent {
        self.stats.record_callback_sent(action);
        let sent = self
            .client
            .post(&self.callback.url)
            .header("subscription-protocol", "callback/1.0")
            .json(&message)
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => {
                self.stats
                    .record_callback_answer(response.status().as_u16());
                Sent::Ok
            }
            Ok(response) => {
                let status = response.status().as_u16();
                self.stats.record_callback_answer(status);
                Sent::Stop(status.to_string())
            }
            Err(error) => Sent::Stop(error.to_string()),
        }
    }
}
