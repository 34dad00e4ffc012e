//! GraphQL over WebSocket: the reference clients of both subprotocols, and every close code.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::ws::{connect, connect_acked, expect_close, recv, send, send_text};
use common::{WAIT, node, start, start_with};
use serde_json::{Value, json};

const TRANSPORT_WS: &str = "graphql-transport-ws";
const LEGACY_WS: &str = "graphql-ws";

#[tokio::test]
async fn graphql_ws_client_subscribes_and_receives_every_event() {
    let server = start().await;
    let lines = node(
        "ws-subscribe.mjs",
        &[&server.ws_url(), "subscription { count(to: 4) }"],
    )
    .await;
    assert_eq!(
        lines,
        vec![
            json!({"next": {"data": {"count": 1}}}),
            json!({"next": {"data": {"count": 2}}}),
            json!({"next": {"data": {"count": 3}}}),
            json!({"next": {"data": {"count": 4}}}),
            json!({"complete": true}),
        ]
    );
    server
        .stats
        .wait_for(WAIT, |c| c.subscriptions_finished == 1)
        .await
        .unwrap();
}

#[tokio::test]
async fn legacy_subscriptions_transport_ws_client_receives_every_event() {
    let server = start().await;
    let lines = node(
        "legacy-subscribe.mjs",
        &[&server.ws_url(), "subscription { count(to: 3) }"],
    )
    .await;
    assert_eq!(
        lines,
        vec![
            json!({"next": {"data": {"count": 1}}}),
            json!({"next": {"data": {"count": 2}}}),
            json!({"next": {"data": {"count": 3}}}),
            json!({"complete": true}),
        ]
    );
}

#[tokio::test]
async fn connection_params_and_on_connect_context_reach_the_executor() {
    let server = start_with(|b| {
        b.on_connect(|init| async move {
            let mut params = init.params.clone();
            params.insert("checkedBy".into(), json!("on_connect"));
            Ok(init.context.with_connection_params(params))
        })
    })
    .await;
    // A query over WebSocket, through the graphql-ws client.
    let lines = node(
        "ws-subscribe.mjs",
        &[
            &server.ws_url(),
            "{ connectionParams }",
            r#"{"token":"abc"}"#,
        ],
    )
    .await;
    assert_eq!(
        lines[0],
        json!({"next": {"data": {"connectionParams": {"token": "abc", "checkedBy": "on_connect"}}}})
    );
    // The legacy client's connectionParams too.
    let lines = node(
        "legacy-subscribe.mjs",
        &[
            &server.ws_url(),
            "subscription { connectionParam(key: \"token\") }",
            r#"{"token":"legacy"}"#,
        ],
    )
    .await;
    assert_eq!(
        lines[0],
        json!({"next": {"data": {"connectionParam": "legacy"}}})
    );
}

#[tokio::test]
async fn queries_and_mutations_run_over_websocket_and_headers_reach_the_context() {
    let server = start().await;
    let mut socket = common::ws::connect_with(
        &server.ws_url(),
        Some(TRANSPORT_WS),
        &[("authorization", "Bearer ws")],
    )
    .await;
    send(&mut socket, json!({"type": "connection_init"})).await;
    assert_eq!(recv(&mut socket).await["type"], "connection_ack");
    send(
        &mut socket,
        json!({"id": "m", "type": "subscribe", "payload": {"query": "mutation { increment(by: 5) }"}}),
    )
    .await;
    assert_eq!(
        recv(&mut socket).await,
        json!({"id": "m", "type": "next", "payload": {"data": {"increment": 5}}})
    );
    assert_eq!(
        recv(&mut socket).await,
        json!({"id": "m", "type": "complete"})
    );
    send(
        &mut socket,
        json!({"id": "q", "type": "subscribe", "payload": {"query": "{ header(name: \"authorization\") }"}}),
    )
    .await;
    assert_eq!(
        recv(&mut socket).await["payload"],
        json!({"data": {"header": "Bearer ws"}})
    );
    // A validation error is an `error` message, not a close.
    assert_eq!(recv(&mut socket).await["type"], "complete");
    send(
        &mut socket,
        json!({"id": "bad", "type": "subscribe", "payload": {"query": "{"}}),
    )
    .await;
    let error = recv(&mut socket).await;
    assert_eq!(error["type"], "error");
    assert_eq!(
        error["payload"][0]["extensions"]["code"],
        "GRAPHQL_PARSE_FAILED"
    );
}

#[tokio::test]
async fn ping_gets_pong_and_legacy_gets_keep_alives() {
    let server = start_with(|b| b.keep_alive_interval(Duration::from_millis(100))).await;
    let mut socket = connect_acked(&server.ws_url(), TRANSPORT_WS, json!({})).await;
    send(&mut socket, json!({"type": "ping", "payload": {"n": 1}})).await;
    // The server's own pings (every interval) may come first.
    let mut answer = recv(&mut socket).await;
    while answer == json!({"type": "ping"}) {
        answer = recv(&mut socket).await;
    }
    assert_eq!(answer, json!({"type": "pong", "payload": {"n": 1}}));
    let mut legacy = connect_acked(&server.ws_url(), LEGACY_WS, json!({})).await;
    // One `ka` right after the ack, then one per interval.
    for _ in 0..3 {
        assert_eq!(recv(&mut legacy).await, json!({"type": "ka"}));
    }
}

#[tokio::test]
async fn client_complete_and_stop_cancel_the_upstream_stream() {
    let server = start().await;
    for (protocol, start_type, stop_type) in [
        (TRANSPORT_WS, "subscribe", "complete"),
        (LEGACY_WS, "start", "stop"),
    ] {
        let before = server.stats.snapshot().subscriptions_cancelled;
        let mut socket = connect_acked(&server.ws_url(), protocol, json!({})).await;
        send(
            &mut socket,
            json!({"id": "t", "type": start_type, "payload": {"query": "subscription { ticks(intervalMs: 20) }"}}),
        )
        .await;
        loop {
            let message = recv(&mut socket).await;
            if message["type"] != "ka" {
                assert_eq!(message["payload"]["data"]["ticks"], 1, "{message}");
                break;
            }
        }
        send(&mut socket, json!({"id": "t", "type": stop_type})).await;
        server
            .stats
            .wait_for(WAIT, |c| c.subscriptions_cancelled == before + 1)
            .await
            .unwrap();
        // The same id can be used again once completed.
        send(
            &mut socket,
            json!({"id": "t", "type": start_type, "payload": {"query": "subscription { count(to: 1) }"}}),
        )
        .await;
        let mut seen = Vec::new();
        while seen.last() != Some(&json!("complete")) {
            let message = recv(&mut socket).await;
            if message["type"] == "ka" || message["payload"]["data"]["ticks"].is_number() {
                continue;
            }
            seen.push(message["type"].clone());
        }
        assert!(seen.contains(&json!(if protocol == TRANSPORT_WS {
            "next"
        } else {
            "data"
        })));
    }
}

#[tokio::test]
async fn close_4406_when_no_subprotocol_is_acceptable() {
    let server = start().await;
    let mut socket = connect(&server.ws_url(), None).await;
    assert_eq!(expect_close(&mut socket).await.0, 4406);
    let mut socket = connect(&server.ws_url(), Some("graphql-unknown")).await;
    let (code, reason) = expect_close(&mut socket).await;
    assert_eq!(code, 4406);
    assert!(reason.contains("Subprotocol"), "{reason}");
}

#[tokio::test]
async fn close_4408_when_connection_init_does_not_come_in_time() {
    let server = start_with(|b| b.connection_init_timeout(Duration::from_millis(150))).await;
    for protocol in [TRANSPORT_WS, LEGACY_WS] {
        let mut socket = connect(&server.ws_url(), Some(protocol)).await;
        assert_eq!(expect_close(&mut socket).await.0, 4408);
    }
}

#[tokio::test]
async fn close_4401_on_subscribe_before_ack() {
    let server = start().await;
    let mut socket = connect(&server.ws_url(), Some(TRANSPORT_WS)).await;
    send(
        &mut socket,
        json!({"id": "1", "type": "subscribe", "payload": {"query": "{ hello }"}}),
    )
    .await;
    assert_eq!(
        expect_close(&mut socket).await,
        (4401, "Unauthorized".into())
    );
}

#[tokio::test]
async fn close_4409_on_a_duplicate_operation_id() {
    let server = start().await;
    let mut socket = connect_acked(&server.ws_url(), TRANSPORT_WS, json!({})).await;
    let subscribe = json!({"id": "dup", "type": "subscribe", "payload": {"query": "subscription { ticks(intervalMs: 50) }"}});
    send(&mut socket, subscribe.clone()).await;
    // The first operation must be running before the duplicate arrives.
    server
        .stats
        .wait_for(WAIT, |c| c.subscriptions_started == 1)
        .await
        .unwrap();
    send(&mut socket, subscribe).await;
    let (code, reason) = expect_close(&mut socket).await;
    assert_eq!(code, 4409);
    assert_eq!(reason, "Subscriber for dup already exists");
    // The connection's operations ended with it.
    server
        .stats
        .wait_for(WAIT, |c| c.subscriptions_cancelled == 1)
        .await
        .unwrap();
}

#[tokio::test]
async fn close_4429_on_a_second_connection_init() {
    let server = start().await;
    let mut socket = connect_acked(&server.ws_url(), TRANSPORT_WS, json!({})).await;
    send(&mut socket, json!({"type": "connection_init"})).await;
    assert_eq!(expect_close(&mut socket).await.0, 4429);
}

#[tokio::test]
async fn close_4400_on_invalid_messages() {
    let server = start().await;
    for bad in [
        "not json",
        r#"{"type": "unknown"}"#,
        r#"{"type": "subscribe", "payload": {"query": "{ hello }"}}"#,
        r#"{"id": "1", "type": "subscribe", "payload": {"query": 5}}"#,
    ] {
        let mut socket = connect_acked(&server.ws_url(), TRANSPORT_WS, json!({})).await;
        send_text(&mut socket, bad).await;
        let (code, reason) = expect_close(&mut socket).await;
        assert_eq!(code, 4400, "{bad}");
        assert!(reason.starts_with("Invalid message received"), "{reason}");
    }
}

#[tokio::test]
async fn close_4403_when_on_connect_rejects_and_on_disconnect_is_called() {
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let server = start_with(move |b| {
        b.on_connect(|init| async move {
            match init.params.get("token") {
                Some(Value::String(t)) if t == "good" => Ok(init.context),
                _ => Err("a valid token is required".to_owned()),
            }
        })
        .on_disconnect(move |d| {
            let _ = tx.try_send((d.close_code, d.acknowledged));
        })
    })
    .await;
    let mut socket = connect(&server.ws_url(), Some(TRANSPORT_WS)).await;
    send(
        &mut socket,
        json!({"type": "connection_init", "payload": {"token": "bad"}}),
    )
    .await;
    let (code, reason) = expect_close(&mut socket).await;
    assert_eq!(code, 4403);
    assert!(reason.contains("a valid token is required"), "{reason}");
    let disconnect = tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(disconnect, (Some(4403), false));
    // The graphql-ws client sees the rejection too.
    let lines = node(
        "ws-subscribe.mjs",
        &[&server.ws_url(), "{ hello }", r#"{"token":"bad"}"#],
    )
    .await;
    assert_eq!(lines[0]["code"], 4403, "{lines:?}");
    // An accepted connection is acknowledged and reported when the client leaves.
    let socket = connect_acked(&server.ws_url(), TRANSPORT_WS, json!({"token": "good"})).await;
    drop(socket);
    loop {
        let disconnect = tokio::time::timeout(WAIT, rx.recv())
            .await
            .unwrap()
            .unwrap();
        if disconnect.1 {
            assert_eq!(disconnect, (None, true));
            break;
        }
    }
}

#[tokio::test]
async fn legacy_protocol_closes_4400_on_invalid_messages_and_4401_before_ack() {
    let server = start().await;
    let mut socket = connect_acked(&server.ws_url(), LEGACY_WS, json!({})).await;
    // `subscribe` is not a legacy message type.
    send(
        &mut socket,
        json!({"id": "1", "type": "subscribe", "payload": {"query": "{ hello }"}}),
    )
    .await;
    assert_eq!(expect_close(&mut socket).await.0, 4400);
    let mut socket = connect(&server.ws_url(), Some(LEGACY_WS)).await;
    send(
        &mut socket,
        json!({"id": "1", "type": "start", "payload": {"query": "{ hello }"}}),
    )
    .await;
    assert_eq!(expect_close(&mut socket).await.0, 4401);
}
