//! Servers that share one [`SharedLimits`] (as a gateway's serving threads do, each a server
//! on the same port): a limit counts the clients of all of them, and an SSE stream reserved
//! through one is opened and fed through another. Two real servers on 127.0.0.1.
#![allow(clippy::unwrap_used)]

mod common;

use common::{
    Running, WAIT, client, health, hello_events, open_reserved_stream, reserve_stream,
    start_on_stream, start_with,
};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use quilt_server::{Limits, SharedLimits, Streaming};
use serde_json::{Value, json};

/// Two servers of the test subgraph drawing from one set of pools made from `limits` and
/// `streaming`.
async fn two_servers(limits: Limits, streaming: Streaming) -> (Running, Running) {
    let shared = SharedLimits::new(&limits, &streaming);
    let configure = |builder: quilt_server::GraphQLServerBuilder| {
        builder
            .limits(limits.clone())
            .streaming(streaming.clone())
            .shared_limits(shared.clone())
    };
    (start_with(configure).await, start_with(configure).await)
}

#[tokio::test]
async fn the_connection_cap_counts_every_servers_connections() {
    let limits = Limits {
        max_connections: 2,
        ..Limits::default()
    };
    let (a, b) = two_servers(limits, Streaming::default()).await;
    let (first, answered) = health(a.addr).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    let (_second, answered) = health(b.addr).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    // Each server holds one connection of the two: both refuse the next.
    for addr in [a.addr, b.addr] {
        let (_refused, answered) = health(addr).await;
        assert!(answered.starts_with("HTTP/1.1 503"), "{answered}");
        assert!(answered.contains("CAPACITY_EXCEEDED"), "{answered}");
    }
    // The client of server a leaves: server b may take its slot.
    drop(first);
    let served = tokio::time::timeout(WAIT, async {
        loop {
            let (socket, answered) = health(b.addr).await;
            if answered.starts_with("HTTP/1.1 200") {
                break socket;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(served.is_ok(), "server b did not take the freed slot");
}

#[tokio::test]
async fn an_sse_stream_reserved_through_one_server_is_opened_and_fed_through_another() {
    let streaming = Streaming {
        max_sse_reservations_per_client: 1,
        ..Streaming::default()
    };
    let (a, b) = two_servers(Limits::default(), streaming).await;
    let token = reserve_stream(&a.url()).await;
    // This client's one reservation is taken, whichever server it asks.
    let again = client().put(b.url()).send().await.unwrap();
    assert_eq!(again.status(), 503);
    let stream = open_reserved_stream(&b.url(), &token).await;
    assert_eq!(stream.status(), 200);
    let mut events = stream.bytes_stream().eventsource();
    let query = json!({"query": "{ hello }", "extensions": {"operationId": "q"}});
    let start = start_on_stream(&a.url(), &token, &query).await;
    assert_eq!(start.status(), 202);
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let event = tokio::time::timeout(WAIT, events.next())
            .await
            .expect("an event in time")
            .expect("the stream is open")
            .unwrap();
        let data: Value = serde_json::from_str(&event.data).unwrap();
        seen.push((event.event, data));
    }
    assert_eq!(seen, hello_events("q"));
}
