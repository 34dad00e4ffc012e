//! Heartbeats on every streaming transport, read off the wire during an idle subscription (or
//! an idle @defer) with a short interval configured: `ping` messages on graphql-transport-ws,
//! `ka` on the legacy graphql-ws, `:` comment lines on SSE in both modes, and `{}` parts on
//! incremental-delivery multipart when switched on. Apollo multipart subscriptions' `{}` parts
//! are checked in `streaming.rs` (`apollo_multipart_subscription_sends_payload_parts_and_heartbeats`).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::ws::{connect_acked, recv, send};
use common::{WAIT, client, serve, start_with};
use futures::{StreamExt, stream};
use quilt_executor::{ExecutionResult, Request, Response, from_fn};
use quilt_test_support::Stats;
use serde_json::json;

/// A subscription that sends `1` at once and then nothing for ten minutes.
const IDLE: &str = "subscription { ticks(intervalMs: 600000) }";

const INTERVAL: Duration = Duration::from_millis(50);

/// Reads the body of `response` until `enough` holds for what has arrived; the text read.
async fn read_until(response: &mut reqwest::Response, enough: impl Fn(&str) -> bool) -> String {
    let mut body = Vec::new();
    tokio::time::timeout(WAIT, async {
        while !enough(&String::from_utf8_lossy(&body)) {
            let chunk = response.chunk().await.unwrap().expect("the stream ended");
            body.extend_from_slice(&chunk);
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "not enough heartbeats in time: {:?}",
            String::from_utf8_lossy(&body)
        )
    });
    String::from_utf8(body).unwrap()
}

/// The SSE events of `body` that arrived whole (each ends with an empty line).
fn complete_events(body: &str) -> Vec<&str> {
    let whole = body.rfind("\n\n").map_or("", |end| &body[..end]);
    whole.split("\n\n").filter(|e| !e.is_empty()).collect()
}

#[tokio::test]
async fn both_websocket_subprotocols_send_heartbeats_during_an_idle_subscription() {
    let server = start_with(|b| b.keep_alive_interval(INTERVAL).ws_ping(true)).await;
    for (protocol, subscribe, heartbeat) in [
        ("graphql-transport-ws", "subscribe", json!({"type": "ping"})),
        ("graphql-ws", "start", json!({"type": "ka"})),
    ] {
        let mut socket = connect_acked(&server.ws_url(), protocol, json!({})).await;
        send(
            &mut socket,
            json!({"id": "1", "type": subscribe, "payload": {"query": IDLE}}),
        )
        .await;
        let mut heartbeats = 0;
        let mut events = Vec::new();
        while heartbeats < 3 || events.is_empty() {
            let message = recv(&mut socket).await;
            if message == heartbeat {
                heartbeats += 1;
                if protocol == "graphql-transport-ws" {
                    send(&mut socket, json!({"type": "pong"})).await;
                }
            } else {
                events.push(message);
            }
        }
        // Nothing but the first tick and heartbeats: the subscription was idle.
        assert_eq!(events.len(), 1, "{protocol}: {events:?}");
        assert_eq!(events[0]["payload"]["data"]["ticks"], 1, "{protocol}");
    }
}

#[tokio::test]
async fn graphql_transport_ws_pings_are_off_when_switched_off() {
    let server = start_with(|b| b.keep_alive_interval(INTERVAL).ws_ping(false)).await;
    let mut socket = connect_acked(&server.ws_url(), "graphql-transport-ws", json!({})).await;
    send(
        &mut socket,
        json!({"id": "1", "type": "subscribe", "payload": {"query": IDLE}}),
    )
    .await;
    assert_eq!(recv(&mut socket).await["type"], "next");
    // Ten intervals of silence, then the client's own ping: its pong is the next message.
    tokio::time::sleep(INTERVAL * 10).await;
    send(&mut socket, json!({"type": "ping"})).await;
    assert_eq!(recv(&mut socket).await, json!({"type": "pong"}));
}

#[tokio::test]
async fn sse_distinct_connections_mode_sends_comments_during_an_idle_subscription() {
    let server = start_with(|b| b.sse_keep_alive(INTERVAL)).await;
    let mut response = client()
        .post(server.url())
        .header("accept", "text/event-stream")
        .json(&json!({"query": IDLE}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = read_until(&mut response, |body| body.matches("\n:\n\n").count() >= 3).await;
    let mut events = complete_events(&body).into_iter();
    assert_eq!(
        events.next(),
        Some("event: next\ndata: {\"data\":{\"ticks\":1}}")
    );
    assert!(events.all(|e| e == ":"), "{body:?}");
}

#[tokio::test]
async fn sse_single_connection_mode_sends_comments_during_an_idle_subscription() {
    let server = start_with(|b| b.sse_keep_alive(INTERVAL)).await;
    let token = common::reserve_stream(&server.url()).await;
    let mut stream = common::open_reserved_stream(&server.url(), &token).await;
    assert_eq!(stream.status(), 200);
    let idle = json!({"query": IDLE, "extensions": {"operationId": "idle"}});
    let accepted = common::start_on_stream(&server.url(), &token, &idle).await;
    assert_eq!(accepted.status(), 202);
    let body = read_until(&mut stream, |body| {
        body.split_once("event: next")
            .is_some_and(|(_, after)| after.matches("\n:\n\n").count() >= 3)
    })
    .await;
    let events = complete_events(&body);
    let next = events
        .iter()
        .position(|e| e.starts_with("event: next"))
        .unwrap();
    assert_eq!(
        events[next],
        "event: next\ndata: {\"id\":\"idle\",\"payload\":{\"data\":{\"ticks\":1}}}"
    );
    // Before and after the event: comments only.
    for (i, event) in events.iter().enumerate() {
        assert!(i == next || *event == ":", "{body:?}");
    }
}

#[tokio::test]
async fn incremental_delivery_sends_empty_parts_while_a_deferred_part_is_pending_when_asked() {
    // The initial payload, then a deferred part that never comes.
    let executor = from_fn(|_request: Request| async {
        let initial: ExecutionResult =
            serde_json::from_value(json!({"data": {"a": 1}, "hasNext": true})).unwrap();
        let results = stream::once(async move { Ok(initial) }).chain(stream::pending());
        Ok(Response::Stream(results.boxed()))
    });
    let server = serve(executor, Stats::default(), |b| {
        b.incremental_heartbeat(Some(INTERVAL))
    })
    .await;
    let mut response = client()
        .post(server.url())
        .header(
            "accept",
            "multipart/mixed;deferSpec=20220824, application/json",
        )
        .json(&json!({"query": "{ a ... @defer { b } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = read_until(&mut response, |body| {
        body.matches("\r\n\r\n{}\r\n--graphql").count() >= 3
    })
    .await;
    // Every part complete so far (the text after the last delimiter may be cut).
    let segments: Vec<&str> = body.split("\r\n--graphql").collect();
    let parts: Vec<&str> = segments[..segments.len() - 1]
        .iter()
        .map(|part| part.rsplit("\r\n\r\n").next().unwrap())
        .collect();
    assert_eq!(parts[0], r#"{"data":{"a":1},"hasNext":true}"#, "{body:?}");
    assert!(parts[1..].iter().all(|p| *p == "{}"), "{body:?}");
    assert!(parts.len() >= 4, "{body:?}");
}
