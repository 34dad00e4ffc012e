//! Every queue is bounded: a client that stops reading holds back the upstream stream instead
//! of making the server buffer without end.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::ws::{connect_acked, recv, send};
use common::{WAIT, client, serve};
use futures::{StreamExt, stream};
use quilt_executor::{ExecutionResult, Request, Response, from_fn};
use quilt_test_support::Stats;
use serde_json::json;
use tokio::sync::watch;

const PAYLOAD: usize = 16 * 1024;

/// An executor whose stream produces 64 KiB events as fast as they are pulled, publishing how
/// many it produced.
fn firehose() -> (impl quilt_executor::Executor, watch::Receiver<usize>) {
    let (tx, rx) = watch::channel(0usize);
    let tx = Arc::new(tx);
    let produced = Arc::new(AtomicUsize::new(0));
    let executor = from_fn(move |_r: Request| {
        let tx = tx.clone();
        let produced = produced.clone();
        async move {
            let events = stream::repeat(()).then(move |_| {
                let tx = tx.clone();
                let produced = produced.clone();
                async move {
                    tokio::task::yield_now().await;
                    let n = produced.fetch_add(1, Ordering::SeqCst) + 1;
                    tx.send_replace(n);
                    Ok(ExecutionResult::from_data(
                        json!({"blob": "x".repeat(PAYLOAD)}),
                    ))
                }
            });
            Ok(Response::Stream(events.boxed()))
        }
    });
    (executor, rx)
}

/// Waits until `produced` reaches `n`.
async fn reaches(produced: &mut watch::Receiver<usize>, n: usize) -> bool {
    tokio::time::timeout(WAIT, produced.wait_for(|v| *v >= n))
        .await
        .is_ok()
}

/// Waits (at most 6 s) until the producer stalls: no new event for 300 ms. The count then, or
/// `None` when it never stalled (the server kept pulling from the upstream).
async fn stalls(produced: &mut watch::Receiver<usize>) -> Option<usize> {
    tokio::time::timeout(Duration::from_secs(6), async {
        loop {
            if tokio::time::timeout(Duration::from_millis(300), produced.changed())
                .await
                .is_err()
            {
                return *produced.borrow();
            }
        }
    })
    .await
    .ok()
}

#[tokio::test]
async fn a_websocket_client_that_stops_reading_holds_back_the_upstream() {
    let (executor, mut produced) = firehose();
    let server = serve(executor, Stats::default(), |b| b).await;
    let mut socket = connect_acked(&server.ws_url(), "graphql-transport-ws", json!({})).await;
    send(
        &mut socket,
        json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { blob }"}}),
    )
    .await;
    assert!(reaches(&mut produced, 8).await, "the stream started");
    // With unbounded buffering the producer would never stall; the bounded queue and the
    // socket's buffers stop it.
    let stalled = stalls(&mut produced)
        .await
        .expect("the producer was held back");
    assert!(stalled < 5_000, "held back only after {stalled} events");
    // Reading again lets it continue.
    for _ in 0..stalled + 64 {
        assert_eq!(recv(&mut socket).await["type"], "next");
    }
    assert!(*produced.borrow() > stalled);
}

#[tokio::test]
async fn an_sse_client_that_stops_reading_holds_back_the_upstream() {
    let (executor, mut produced) = firehose();
    let server = serve(executor, Stats::default(), |b| b).await;
    let response = tokio::time::timeout(
        WAIT,
        client()
            .post(server.url())
            .header("accept", "text/event-stream")
            .json(&json!({"query": "subscription { blob }"}))
            .send(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(reaches(&mut produced, 8).await, "the stream started");
    let stalled = stalls(&mut produced)
        .await
        .expect("the producer was held back");
    assert!(stalled < 5_000, "held back only after {stalled} events");
    drop(response);
}
