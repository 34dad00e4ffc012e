//! The trace context of an upstream request ([`TraceContext`] in its `Context`) on the wire:
//! the HTTP executor's `traceparent` and `tracestate` headers, the WebSocket executor's
//! `extensions.traceparent` and `extensions.tracestate`.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

use axum::Router;
use axum::extract::WebSocketUpgrade;
use axum::extract::ws::{Message, WebSocket};
use axum::routing::any;
use http::HeaderValue;
use quilt_executor::{Context, Executor, HttpExecutor, Request, TraceContext, WsExecutor};
use quilt_test_support::within;
use quilt_test_support::{Stats, TestServer};
use serde_json::{Value, json};
use tokio::sync::mpsc;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn traced(query: &str) -> Request {
    let trace = TraceContext {
        traceparent: HeaderValue::from_static(TRACEPARENT),
        tracestate: Some(HeaderValue::from_static("quilt=1")),
    };
    Request::new(query)
        .unwrap()
        .context(Context::default().insert(trace))
}

#[tokio::test]
async fn the_http_executor_sends_the_trace_context_as_headers() {
    let server = TestServer::start().await.unwrap();
    let executor = HttpExecutor::new(server.http_url().as_str()).unwrap();
    let query = r#"{ parent: header(name: "traceparent") state: header(name: "tracestate") }"#;
    let result = within(async { executor.execute(traced(query)).await?.into_single().await })
        .await
        .unwrap();
    assert_eq!(
        result.data_value(),
        Some(json!({"parent": TRACEPARENT, "state": "quilt=1"}))
    );
    // Without one, no header.
    let request = Request::new(r#"{ header(name: "traceparent") }"#).unwrap();
    let result = within(async { executor.execute(request).await?.into_single().await })
        .await
        .unwrap();
    assert_eq!(result.data_value(), Some(json!({"header": null})));
}

#[tokio::test]
async fn the_websocket_executor_sends_the_trace_context_in_the_operations_extensions() {
    let (payloads, mut received) = mpsc::unbounded_channel::<Value>();
    let router = Router::new().route(
        "/graphql",
        any(move |upgrade: WebSocketUpgrade| {
            let payloads = payloads.clone();
            async move {
                upgrade
                    .protocols(["graphql-transport-ws"])
                    .on_upgrade(move |socket| serve(socket, payloads))
            }
        }),
    );
    let server = TestServer::serve("127.0.0.1:0".parse().unwrap(), router, Stats::default())
        .await
        .unwrap();
    let executor = WsExecutor::builder(server.ws_url()).build();
    let result = within(async {
        executor
            .execute(traced("{ hello }"))
            .await?
            .into_single()
            .await
    })
    .await
    .unwrap();
    assert_eq!(result.data_value(), Some(json!({"hello": "hi"})));
    let payload = within(received.recv()).await.unwrap();
    assert_eq!(payload["extensions"]["traceparent"], TRACEPARENT);
    assert_eq!(payload["extensions"]["tracestate"], "quilt=1");
}

/// Acknowledges, then answers every `subscribe` with one result and `complete`, handing its
/// payload to `payloads`.
async fn serve(mut socket: WebSocket, payloads: mpsc::UnboundedSender<Value>) {
    while let Some(Ok(message)) = socket.recv().await {
        let Message::Text(text) = message else {
            continue;
        };
        let message: Value = serde_json::from_str(&text).unwrap();
        let reply = match message["type"].as_str() {
            Some("connection_init") => vec![json!({"type": "connection_ack"})],
            Some("subscribe") => {
                let _ = payloads.send(message["payload"].clone());
                let id = message["id"].clone();
                vec![
                    json!({"type": "next", "id": id, "payload": {"data": {"hello": "hi"}}}),
                    json!({"type": "complete", "id": id}),
                ]
            }
            _ => Vec::new(),
        };
        for message in reply {
            let _ = socket.send(Message::Text(message.to_string().into())).await;
        }
    }
}
