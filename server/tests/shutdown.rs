//! Graceful shutdown: queries in flight finish, subscriptions on every transport are completed,
//! and `serve` returns.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::ws::{connect_acked, expect_close, recv, send};
use common::{WAIT, client, serve};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use quilt_executor::{Executor, Request, from_fn};
use quilt_test_support::{LocalExecutor, Stats, subgraph};
use serde_json::{Value, json};
use tokio::sync::mpsc;

#[tokio::test]
async fn in_flight_query_finishes_and_subscriptions_complete_on_every_transport() {
    let stats = Stats::default();
    let local = Arc::new(LocalExecutor::new(subgraph::schema(stats.clone())));
    let (started_tx, mut started_rx) = mpsc::channel::<()>(16);
    let executor = from_fn(move |request: Request| {
        let local = local.clone();
        let started = started_tx.clone();
        async move {
            let _ = started.try_send(());
            local.execute(request).await
        }
    });
    let mut server = serve(executor, stats.clone(), |b| b).await;
    let url = server.url();

    // A WebSocket subscription, an SSE one and an Apollo multipart one, each past its first event.
    let mut socket = connect_acked(&server.ws_url(), "graphql-transport-ws", json!({})).await;
    let ticks = json!({"query": "subscription { ticks(intervalMs: 20) }"});
    send(
        &mut socket,
        json!({"id": "ws", "type": "subscribe", "payload": ticks}),
    )
    .await;
    assert_eq!(recv(&mut socket).await["type"], "next");
    let sse = client()
        .post(&url)
        .header("accept", "text/event-stream")
        .json(&ticks)
        .send()
        .await
        .unwrap();
    let mut sse_events = sse.bytes_stream().eventsource();
    let first = tokio::time::timeout(WAIT, sse_events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.event, "next");
    let multipart = client()
        .post(&url)
        .header(
            "accept",
            "multipart/mixed;subscriptionSpec=\"1.0\", application/json",
        )
        .json(&ticks)
        .send()
        .await
        .unwrap();
    let mut multipart_body = multipart.bytes_stream();
    let first_chunk = tokio::time::timeout(WAIT, multipart_body.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(!first_chunk.is_empty());
    for _ in 0..3 {
        tokio::time::timeout(WAIT, started_rx.recv())
            .await
            .unwrap()
            .unwrap();
    }
    stats
        .wait_for(WAIT, |c| c.subscriptions_started == 3)
        .await
        .unwrap();

    // Slow queries in flight when shutdown begins, over WebSocket and over HTTP.
    send(
        &mut socket,
        json!({"id": "q", "type": "subscribe", "payload": {"query": "{ slow(ms: 400) }"}}),
    )
    .await;
    tokio::time::timeout(WAIT, started_rx.recv())
        .await
        .unwrap()
        .unwrap();
    let slow = tokio::spawn({
        let url = url.clone();
        async move {
            client()
                .post(&url)
                .json(&json!({"query": "{ slow(ms: 400) }"}))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    });
    tokio::time::timeout(WAIT, started_rx.recv())
        .await
        .unwrap()
        .unwrap();
    server.begin_shutdown();

    // The query finishes with its data.
    let body = tokio::time::timeout(WAIT, slow).await.unwrap().unwrap();
    assert_eq!(body, json!({"data": {"slow": "slept 400ms"}}));
    // Over WebSocket the query's result arrives and both operations complete, then the socket
    // closes with 1001.
    let mut completed = Vec::new();
    let mut query_result = None;
    while completed.len() < 2 {
        let message = recv(&mut socket).await;
        match (
            message["type"].as_str().unwrap(),
            message["id"].as_str().unwrap(),
        ) {
            ("complete", id) => completed.push(id.to_owned()),
            ("next", "q") => query_result = Some(message["payload"].clone()),
            ("next", "ws") => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    completed.sort();
    assert_eq!(completed, vec!["q", "ws"]);
    assert_eq!(query_result, Some(json!({"data": {"slow": "slept 400ms"}})));
    assert_eq!(expect_close(&mut socket).await.0, 1001);
    // The SSE stream ends (after its `complete` event).
    tokio::time::timeout(WAIT, async {
        while let Some(event) = sse_events.next().await {
            if event.is_err() {
                break;
            }
        }
    })
    .await
    .expect("the SSE stream ended");
    // The multipart stream ends with the closing delimiter.
    let mut tail = Vec::new();
    tokio::time::timeout(WAIT, async {
        while let Some(chunk) = multipart_body.next().await {
            tail.extend_from_slice(&chunk.unwrap());
        }
    })
    .await
    .expect("the multipart stream ended");
    assert!(String::from_utf8_lossy(&tail).ends_with("--graphql--\r\n"));
    // Every upstream subscription was stopped, and `serve` returned.
    stats
        .wait_for(WAIT, |c| c.active_subscriptions() == 0)
        .await
        .unwrap();
    server.finished().await.unwrap();
    // No new connections after shutdown.
    assert!(
        client()
            .post(&url)
            .json(&json!({"query": "{ hello }"}))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn shutdown_token_stops_an_idle_server() {
    let server =
        quilt_server::GraphQLServer::new(LocalExecutor::new(subgraph::schema(Stats::default())));
    let token = server.shutdown_token();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let task = tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));
    token.cancel();
    tokio::time::timeout(WAIT, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
