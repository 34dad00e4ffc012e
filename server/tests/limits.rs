//! Every limit, provoked: each answers with an error that names it.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::ws::{connect, connect_acked, expect_close, recv, send};
use common::{WAIT, client, start_with};
use quilt_server::Limits;
use serde_json::{Value, json};

const GRJ: &str = "application/graphql-response+json";

async fn post(url: &str, accept: &str, body: Value) -> (u16, Value) {
    let response = client()
        .post(url)
        .header("accept", accept)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test]
async fn max_body_bytes_answers_413_also_for_chunked_bodies() {
    let server = start_with(|b| b.max_body_bytes(100)).await;
    let query = format!("{{ echo(value: \"{}\") }}", "x".repeat(200));
    let (status, body) = post(&server.url(), GRJ, json!({"query": query})).await;
    assert_eq!(status, 413);
    assert_eq!(code(&body), "BODY_TOO_LARGE");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("100 bytes")
    );
    // Without Content-Length (chunked): refused while reading.
    let chunks = vec![Ok::<_, std::io::Error>(json!({"query": query}).to_string())];
    let response = client()
        .post(server.url())
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let (status, body) = post(&server.url(), GRJ, json!({"query": "{ hello }"})).await;
    assert_eq!(
        (status, body),
        (200, json!({"data": {"hello": "Hello, world!"}}))
    );
}

#[tokio::test]
async fn max_upload_bytes_answers_413() {
    let server = start_with(|b| {
        b.limits(Limits {
            max_upload_bytes: 1024,
            ..Limits::default()
        })
    })
    .await;
    let form = reqwest::multipart::Form::new()
        .text("operations", json!({"query": "mutation($f: Upload!) { upload(file: $f) { size } }", "variables": {"f": null}}).to_string())
        .text("map", json!({"0": ["variables.f"]}).to_string())
        .part("0", reqwest::multipart::Part::bytes(vec![b'x'; 4096]).file_name("big.bin"));
    let response = client()
        .post(server.url())
        .header("apollo-require-preflight", "true")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "BODY_TOO_LARGE");
}

#[tokio::test]
async fn token_depth_alias_and_root_field_limits() {
    let server = start_with(|b| {
        b.max_tokens(Some(30))
            .max_depth(Some(2))
            .max_aliases(Some(2))
            .max_root_fields(Some(3))
    })
    .await;
    let cases = [
        (
            "{ a b c d e f g h i j k l m n o p q r s t u v w x y z aa bb cc dd }",
            "MAX_TOKENS_EXCEEDED",
        ),
        (
            "{ user(id: 1) { ...F } } fragment F on User { id name { x } }",
            "MAX_DEPTH_EXCEEDED",
        ),
        ("{ a: hello b: hello c: hello }", "MAX_ALIASES_EXCEEDED"),
        (
            "{ hello echo(value: \"x\") ... on Query { posts { id } header(name: \"x\") } }",
            "MAX_ROOT_FIELDS_EXCEEDED",
        ),
    ];
    for (query, expected) in cases {
        let (status, body) = post(&server.url(), GRJ, json!({"query": query})).await;
        assert_eq!(status, 400, "{query}");
        assert!(body.get("data").is_none());
        assert_eq!(code(&body), expected, "{query}: {body}");
        let (status, body) = post(&server.url(), "application/json", json!({"query": query})).await;
        assert_eq!(status, 200);
        assert_eq!(code(&body), expected);
    }
    // Within every limit.
    let (status, body) = post(
        &server.url(),
        GRJ,
        json!({"query": "{ a: hello b: user(id: 1) { name } posts { id } }"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["b"]["name"], "Ada");
    // The same limits hold over WebSocket.
    let mut socket = connect_acked(&server.ws_url(), "graphql-transport-ws", json!({})).await;
    send(
        &mut socket,
        json!({"id": "1", "type": "subscribe", "payload": {"query": "{ a { b { c } } }"}}),
    )
    .await;
    let error = recv(&mut socket).await;
    assert_eq!(error["type"], "error");
    assert_eq!(
        error["payload"][0]["extensions"]["code"],
        "MAX_DEPTH_EXCEEDED"
    );
}

#[tokio::test]
async fn request_timeout_answers_504_with_a_timeout_error() {
    let server = start_with(|b| b.request_timeout(Some(Duration::from_millis(100)))).await;
    let (status, body) = post(&server.url(), GRJ, json!({"query": "{ slow(ms: 3000) }"})).await;
    assert_eq!(status, 504);
    assert_eq!(code(&body), "TIMEOUT");
    let (status, body) = post(
        &server.url(),
        "application/json",
        json!({"query": "{ slow(ms: 3000) }"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(code(&body), "TIMEOUT");
    let (status, _) = post(&server.url(), GRJ, json!({"query": "{ slow(ms: 1) }"})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn max_ws_connections_closes_1013_and_frees_the_slot_on_close() {
    let server = start_with(|b| b.max_ws_connections(1)).await;
    let first = connect_acked(&server.ws_url(), "graphql-transport-ws", json!({})).await;
    let mut second = connect(&server.ws_url(), Some("graphql-transport-ws")).await;
    let (code, reason) = expect_close(&mut second).await;
    assert_eq!(code, 1013);
    assert!(
        reason.contains("too many WebSocket connections"),
        "{reason}"
    );
    drop(first);
    // The slot frees once the first connection's task ends.
    tokio::time::timeout(WAIT, async {
        loop {
            let mut socket = connect(&server.ws_url(), Some("graphql-transport-ws")).await;
            send(&mut socket, json!({"type": "connection_init"})).await;
            use futures::StreamExt;
            if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) =
                socket.next().await
                && text.as_str().contains("connection_ack")
            {
                break;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn max_subscriptions_refuses_over_every_transport_and_frees_on_stop() {
    let server = start_with(|b| b.max_subscriptions(1)).await;
    let mut socket = connect_acked(&server.ws_url(), "graphql-transport-ws", json!({})).await;
    let ticks = json!({"query": "subscription { ticks(intervalMs: 20) }"});
    send(
        &mut socket,
        json!({"id": "1", "type": "subscribe", "payload": ticks}),
    )
    .await;
    assert_eq!(recv(&mut socket).await["type"], "next");
    send(
        &mut socket,
        json!({"id": "2", "type": "subscribe", "payload": ticks}),
    )
    .await;
    let error = loop {
        let message = recv(&mut socket).await;
        if message["id"] == "2" {
            break message;
        }
    };
    assert_eq!(error["type"], "error");
    assert_eq!(
        error["payload"][0]["extensions"]["code"],
        "TOO_MANY_SUBSCRIPTIONS"
    );
    // Over SSE: 503.
    let response = client()
        .post(server.url())
        .header("accept", "text/event-stream, application/json")
        .json(&ticks)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "CAPACITY_EXCEEDED");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("maximum of 1 subscriptions")
    );
    // Stopping the first frees the permit.
    send(&mut socket, json!({"id": "1", "type": "complete"})).await;
    server
        .stats
        .wait_for(WAIT, |c| c.subscriptions_cancelled == 1)
        .await
        .unwrap();
    send(&mut socket, json!({"id": "3", "type": "subscribe", "payload": {"query": "subscription { count(to: 1) }"}})).await;
    let next = loop {
        let message = recv(&mut socket).await;
        if message["id"] == "3" {
            break message;
        }
    };
    assert_eq!(next["payload"], json!({"data": {"count": 1}}));
}

#[tokio::test]
async fn max_operations_per_connection() {
    let server = start_with(|b| {
        b.limits(Limits {
            max_operations_per_connection: 1,
            ..Limits::default()
        })
    })
    .await;
    let mut socket = connect_acked(&server.ws_url(), "graphql-transport-ws", json!({})).await;
    let ticks = json!({"query": "subscription { ticks(intervalMs: 20) }"});
    send(
        &mut socket,
        json!({"id": "1", "type": "subscribe", "payload": ticks}),
    )
    .await;
    send(
        &mut socket,
        json!({"id": "2", "type": "subscribe", "payload": ticks}),
    )
    .await;
    let error = loop {
        let message = recv(&mut socket).await;
        if message["id"] == "2" {
            break message;
        }
    };
    assert_eq!(
        error["payload"][0]["extensions"]["code"],
        "TOO_MANY_OPERATIONS"
    );
}

#[tokio::test]
async fn cors_is_configurable() {
    let server = start_with(|b| b.cors(quilt_server::Cors::any())).await;
    let response = client()
        .request(reqwest::Method::OPTIONS, server.url())
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    // Without CORS configured, no CORS headers.
    let plain = start_with(|b| b).await;
    let response = client()
        .post(plain.url())
        .header("origin", "https://app.example")
        .json(&json!({"query": "{ hello }"}))
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}
