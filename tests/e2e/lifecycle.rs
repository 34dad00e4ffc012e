#![allow(clippy::unwrap_used)]
//! The process's lifecycle as a process manager drives it: SIGTERM (what systemd, Docker and
//! Kubernetes send) drains. Readiness fails at once while requests are still taken for the
//! configured delay, every query in flight gets its whole answer, every subscriber its
//! `complete`, and the process exits 0. Liveness stays up through the drain.

use std::time::Duration;

use crate::common::GatewayProcess;
use futures::StreamExt;
use quilt_test_support::{TestServer, WAIT};
use serde_json::{Value, json};

fn health_url(gateway: &GatewayProcess, path: &str) -> String {
    gateway.url.replace("/graphql", path)
}

async fn status(client: &reqwest::Client, url: &str) -> u16 {
    client.get(url).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn sigterm_drains_queries_in_flight_and_completes_subscriptions_then_exits_zero() {
    let subgraph = TestServer::start().await.unwrap();
    let mut gateway = GatewayProcess::start(&[
        "--subschema".into(),
        format!("sub={}", subgraph.http_url()),
        "--threads".into(),
        "1".into(),
        "--shutdown-delay".into(),
        "1".into(),
    ])
    .await;
    let client = reqwest::Client::new();
    let ready = health_url(&gateway, "/health/ready");
    let live = health_url(&gateway, "/health/live");
    assert_eq!(status(&client, &ready).await, 200);

    // A subscriber over SSE, receiving ticks.
    let response = client
        .post(&gateway.url)
        .header("accept", "text/event-stream")
        .json(&json!({"query": "subscription { ticks(intervalMs: 100) }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut events = response.bytes_stream();
    let mut seen = String::new();
    tokio::time::timeout(WAIT, async {
        while !seen.contains("event: next") {
            seen.push_str(&String::from_utf8_lossy(
                &events.next().await.unwrap().unwrap(),
            ));
        }
    })
    .await
    .unwrap();

    // Five slow queries, in flight at the signal (the gateway batches them: the subgraph sees
    // one request or a few; any that reach the gateway later still come within the delay).
    let before = subgraph.stats().snapshot().http_requests;
    let queries: Vec<_> = (0..5)
        .map(|i| {
            let (client, url) = (client.clone(), gateway.url.clone());
            tokio::spawn(async move {
                let body =
                    json!({"query": format!("{{ slow(ms: 2000) n: echo(value: \"{i}\") }}")});
                let response = client.post(url).json(&body).send().await.unwrap();
                response.json::<Value>().await.unwrap()
            })
        })
        .collect();
    subgraph
        .stats()
        .wait_for(WAIT, |c| c.http_requests > before)
        .await
        .unwrap();
    gateway.signal("TERM");

    // Readiness fails during the delay; liveness and new queries still work.
    let mut failing = false;
    for _ in 0..50 {
        if status(&client, &ready).await == 503 {
            failing = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(failing, "readiness did not fail after SIGTERM");
    assert_eq!(status(&client, &live).await, 200);

    for (i, query) in queries.into_iter().enumerate() {
        let answer = query.await.unwrap();
        assert_eq!(
            answer,
            json!({"data": {"slow": "slept 2000ms", "n": i.to_string()}}),
            "query {i}"
        );
    }
    tokio::time::timeout(WAIT, async {
        while !seen.contains("event: complete") {
            match events.next().await {
                Some(Ok(chunk)) => seen.push_str(&String::from_utf8_lossy(&chunk)),
                _ => break,
            }
        }
    })
    .await
    .unwrap();
    assert!(seen.contains("event: complete"), "{seen}");
    assert!(gateway.exit_status(WAIT).await.success());
}

#[tokio::test]
async fn a_second_signal_exits_at_once_without_draining() {
    let subgraph = TestServer::start().await.unwrap();
    let mut gateway = GatewayProcess::start(&[
        "--subschema".into(),
        format!("sub={}", subgraph.http_url()),
        "--threads".into(),
        "1".into(),
        "--shutdown-delay".into(),
        "60".into(),
    ])
    .await;
    let client = reqwest::Client::new();
    let ready = health_url(&gateway, "/health/ready");
    gateway.signal("TERM");
    // The first signal is handled once readiness fails; the drain would wait a minute.
    let mut failing = false;
    for _ in 0..100 {
        if status(&client, &ready).await == 503 {
            failing = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(failing, "readiness did not fail after SIGTERM");
    gateway.signal("INT");
    assert_eq!(gateway.exit_status(WAIT).await.code(), Some(130));
}
