//! WsExecutor against the in-repo async-graphql subgraph, over loopback, in both subprotocols.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use quilt_executor::ws::{ReconnectPolicy, Subprotocol, WsExecutor};
use quilt_executor::{ErrorKind, Executor, ExecutorError, Request, ResultStream};
use quilt_test_support::within;
use quilt_test_support::{TestServer, WAIT};
use serde_json::{Value, json};

const BOTH: [Subprotocol; 2] = [
    Subprotocol::GraphqlTransportWs,
    Subprotocol::LegacyGraphqlWs,
];

fn executor(server: &TestServer, protocol: Subprotocol) -> WsExecutor {
    WsExecutor::builder(server.ws_url())
        .subprotocol(protocol)
        .build()
}

async fn query(executor: &WsExecutor, request: Request) -> Result<Value, ExecutorError> {
    let result = executor.execute(request).await?.into_single().await?;
    Ok(serde_json::to_value(result).unwrap())
}

async fn subscribe(executor: &WsExecutor, query: &str) -> ResultStream {
    let response = within(executor.execute(Request::new(query).unwrap()))
        .await
        .unwrap();
    assert!(response.is_stream(), "a subscription gives a stream");
    response.into_stream()
}

/// The next event's `data.<field>` as a number.
async fn next_number(stream: &mut ResultStream, field: &str) -> i64 {
    let item = within(stream.next()).await.expect("the stream ended");
    let result = item.expect("a transport error");
    result
        .data_value()
        .and_then(|d| d[field].as_i64())
        .unwrap_or_else(|| {
            panic!("no number at data.{field}: {result:?}");
        })
}

#[tokio::test]
async fn queries_mutations_and_variables_in_both_subprotocols() {
    let server = TestServer::start().await.unwrap();
    for protocol in BOTH {
        let executor = executor(&server, protocol);
        let hello = within(query(
            &executor,
            Request::new("{ hello(name: \"ws\") }").unwrap(),
        ))
        .await
        .unwrap();
        assert_eq!(
            hello,
            json!({"data": {"hello": "Hello, ws!"}}),
            "{protocol}"
        );

        let request = Request::new("query Q($v: String!) { echo(value: $v) }")
            .unwrap()
            .variable("v", json!("over a socket"))
            .operation_name("Q");
        let echoed = within(query(&executor, request)).await.unwrap();
        assert_eq!(echoed["data"]["echo"], json!("over a socket"), "{protocol}");

        let before = server.stats().snapshot().counter;
        let request = Request::new("mutation($by: Int!) { increment(by: $by) }")
            .unwrap()
            .variable("by", json!(5));
        let response = within(executor.execute(request)).await.unwrap();
        assert!(!response.is_stream(), "a mutation gives a single result");
        let result = response.into_single().await.unwrap();
        assert_eq!(
            result.data_value(),
            Some(json!({"increment": before + 5})),
            "{protocol}"
        );
        assert_eq!(server.stats().snapshot().counter, before + 5);
    }
}

#[tokio::test]
async fn graphql_errors_are_results_in_both_subprotocols() {
    let server = TestServer::start().await.unwrap();
    for protocol in BOTH {
        let executor = executor(&server, protocol);
        // A field error: errors with the service's path and code.
        let failed = within(query(&executor, Request::new("{ fail }").unwrap()))
            .await
            .unwrap();
        assert_eq!(failed["errors"][0]["path"], json!(["fail"]), "{protocol}");
        assert_eq!(failed["errors"][0]["extensions"]["code"], json!("BOOM"));
        // A validation error (an `error` message, or `data` with errors): a result, no data.
        let invalid = within(query(&executor, Request::new("{ noSuchField }").unwrap()))
            .await
            .unwrap();
        assert!(invalid.get("data").is_none_or(Value::is_null), "{invalid}");
        let message = invalid["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("noSuchField"), "{protocol}: {message}");
        // The same for a subscription: the stream carries the errors and ends.
        let mut stream = subscribe(&executor, "subscription { noSuchField }").await;
        let result = within(stream.next()).await.unwrap().unwrap();
        assert!(!result.errors.is_empty(), "{protocol}: {result:?}");
        assert!(within(stream.next()).await.is_none());
    }
}

#[tokio::test]
async fn subscriptions_deliver_every_event_then_end_in_both_subprotocols() {
    let server = TestServer::start().await.unwrap();
    for (round, protocol) in BOTH.into_iter().enumerate() {
        let executor = executor(&server, protocol);
        let stream = subscribe(&executor, "subscription { count(from: 1, to: 5) }").await;
        let events: Vec<_> = within(stream.collect::<Vec<_>>()).await;
        let numbers: Vec<i64> = events
            .into_iter()
            .map(|e| e.unwrap().data_value().unwrap()["count"].as_i64().unwrap())
            .collect();
        assert_eq!(numbers, vec![1, 2, 3, 4, 5], "{protocol}");
        let finished = round as u64 + 1;
        server
            .stats()
            .wait_for(WAIT, |c| c.subscriptions_finished == finished)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn many_concurrent_operations_share_one_socket() {
    let server = TestServer::start().await.unwrap();
    let executor = WsExecutor::builder(server.ws_url())
        .lazy_close_timeout(Duration::from_secs(5))
        .build();
    let queries = (0..50).map(|i| {
        let request = Request::new("query($v: String!) { echo(value: $v) }")
            .unwrap()
            .variable("v", json!(format!("q{i}")));
        let executor = executor.clone();
        async move { (i, query(&executor, request).await.unwrap()) }
    });
    let subscriptions = (0..20).map(|i| {
        let executor = executor.clone();
        async move {
            let to = 3 + i % 5;
            let request = Request::new(format!("subscription {{ count(to: {to}) }}")).unwrap();
            let stream = executor.execute(request).await.unwrap().into_stream();
            let events: Vec<_> = stream.collect().await;
            (to, events.len() as i64)
        }
    });
    let (queries, subscriptions) = within(futures::future::join(
        futures::future::join_all(queries),
        futures::future::join_all(subscriptions),
    ))
    .await;
    for (i, result) in queries {
        assert_eq!(result["data"]["echo"], json!(format!("q{i}")));
    }
    for (to, events) in subscriptions {
        assert_eq!(events, to);
    }
    assert_eq!(server.stats().snapshot().ws_connections, 1);
}

#[tokio::test]
async fn dropping_a_subscription_completes_it_upstream_in_both_subprotocols() {
    let server = TestServer::start().await.unwrap();
    for (round, protocol) in BOTH.into_iter().enumerate() {
        // The socket stays open after the drop (long lazy close), so the server can only learn
        // of it from `complete` (legacy: `stop`), not from the socket closing.
        let executor = WsExecutor::builder(server.ws_url())
            .subprotocol(protocol)
            .lazy_close_timeout(Duration::from_secs(60))
            .build();
        let mut stream = subscribe(&executor, "subscription { ticks(intervalMs: 10) }").await;
        assert_eq!(next_number(&mut stream, "ticks").await, 1);
        assert_eq!(next_number(&mut stream, "ticks").await, 2);
        drop(stream);
        let cancelled = round as u64 + 1;
        server
            .stats()
            .wait_for(WAIT, |c| c.subscriptions_cancelled == cancelled)
            .await
            .unwrap();
        // Still the same socket: the next operation does not open another.
        within(query(&executor, Request::new("{ hello }").unwrap()))
            .await
            .unwrap();
        assert_eq!(server.stats().snapshot().ws_connections, cancelled);
    }
}

#[tokio::test]
async fn connection_params_are_merged_with_the_first_requests_and_not_forwarded() {
    let server = TestServer::start().await.unwrap();
    for protocol in BOTH {
        let params = json!({"token": "static", "tenant": "a"})
            .as_object()
            .cloned()
            .unwrap();
        let executor = WsExecutor::builder(server.ws_url())
            .subprotocol(protocol)
            .connection_params(params)
            .build();
        let request = Request::new("{ connectionParams }")
            .unwrap()
            .extension("connectionParams", json!({"token": "from-request"}));
        let seen = within(query(&executor, request)).await.unwrap();
        assert_eq!(
            seen["data"]["connectionParams"],
            json!({"token": "from-request", "tenant": "a"}),
            "{protocol}"
        );
        let mut stream = subscribe(
            &executor,
            "subscription { connectionParam(key: \"tenant\") }",
        )
        .await;
        let event = within(stream.next()).await.unwrap().unwrap();
        assert_eq!(
            event.data_value(),
            Some(json!({"connectionParam": "a"})),
            "{protocol}"
        );
    }
}

#[tokio::test]
async fn computed_connection_params_are_computed_for_each_connection() {
    let server = TestServer::start().await.unwrap();
    let calls = Arc::new(AtomicU64::new(0));
    let counter = calls.clone();
    let executor = WsExecutor::builder(server.ws_url())
        .connection_params_fn(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move { Ok(json!({"connection": n}).as_object().cloned().unwrap()) }
        })
        .reconnect(fast_reconnect(20))
        .build();
    let connection_params = || async {
        let seen = within(query(
            &executor,
            Request::new("{ connectionParams }").unwrap(),
        ))
        .await
        .unwrap();
        seen["data"]["connectionParams"].clone()
    };
    // A subscription keeps the socket open; the restart makes the executor reconnect.
    let mut stream = subscribe(&executor, "subscription { ticks(intervalMs: 20) }").await;
    assert_eq!(connection_params().await, json!({"connection": 1}));
    let server = server.restart().await.unwrap();
    while next_number(&mut stream, "ticks").await != 1 {}
    assert_eq!(connection_params().await, json!({"connection": 2}));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(server.stats().snapshot().ws_connections, 2);
}

#[tokio::test]
async fn upgrade_headers_reach_the_server() {
    let server = TestServer::start().await.unwrap();
    let executor = WsExecutor::builder(server.ws_url())
        .header("x-test", "from-upgrade")
        .build();
    let seen = within(query(
        &executor,
        Request::new("{ header(name: \"x-test\") }").unwrap(),
    ))
    .await
    .unwrap();
    assert_eq!(seen["data"]["header"], json!("from-upgrade"));
}

#[tokio::test]
async fn lazy_close_timeout_keeps_the_socket_for_the_next_operation() {
    let server = TestServer::start().await.unwrap();
    let executor = WsExecutor::builder(server.ws_url())
        .lazy_close_timeout(Duration::from_secs(5))
        .build();
    for _ in 0..3 {
        within(query(&executor, Request::new("{ hello }").unwrap()))
            .await
            .unwrap();
    }
    assert_eq!(server.stats().snapshot().ws_connections, 1);
}

#[tokio::test]
async fn not_lazy_connects_before_the_first_operation() {
    let server = TestServer::start().await.unwrap();
    let executor = WsExecutor::builder(server.ws_url()).lazy(false).build();
    server
        .stats()
        .wait_for(WAIT, |c| c.ws_connections == 1)
        .await
        .unwrap();
    within(query(&executor, Request::new("{ hello }").unwrap()))
        .await
        .unwrap();
    assert_eq!(server.stats().snapshot().ws_connections, 1);
}

fn fast_reconnect(attempts: u32) -> ReconnectPolicy {
    ReconnectPolicy::new(attempts)
        .initial_backoff(Duration::from_millis(20))
        .max_backoff(Duration::from_millis(100))
}

#[tokio::test]
async fn a_subscription_resumes_on_the_same_stream_after_the_server_restarts() {
    for protocol in BOTH {
        let server = TestServer::start().await.unwrap();
        let executor = WsExecutor::builder(server.ws_url())
            .subprotocol(protocol)
            .reconnect(fast_reconnect(20))
            .build();
        let mut stream = subscribe(&executor, "subscription { ticks(intervalMs: 20) }").await;
        assert_eq!(next_number(&mut stream, "ticks").await, 1);
        assert_eq!(next_number(&mut stream, "ticks").await, 2);
        let server = server.restart().await.unwrap();
        // Ticks restart from 1 on the new server's subscription, on the same stream.
        let mut seen = Vec::new();
        loop {
            let n = next_number(&mut stream, "ticks").await;
            seen.push(n);
            if n == 1 {
                break;
            }
            assert!(seen.len() < 100, "{protocol}: never resubscribed: {seen:?}");
        }
        assert_eq!(next_number(&mut stream, "ticks").await, 2, "{protocol}");
        let counters = server.stats().snapshot();
        assert_eq!(counters.ws_connections, 2, "{protocol}");
        assert_eq!(counters.subscriptions_started, 2, "{protocol}");
    }
}

#[tokio::test]
async fn a_stream_ends_with_a_typed_error_when_reconnecting_fails() {
    let server = TestServer::start().await.unwrap();
    let executor = WsExecutor::builder(server.ws_url())
        .reconnect(fast_reconnect(3))
        .build();
    let mut stream = subscribe(&executor, "subscription { ticks(intervalMs: 20) }").await;
    assert_eq!(next_number(&mut stream, "ticks").await, 1);
    server.stop().await;
    let mut last = None;
    while let Some(item) = within(stream.next()).await {
        if let Err(error) = item {
            last = Some(error);
        }
    }
    let error = last.expect("the stream ended without an error");
    assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
    assert_eq!(
        error.close_code(),
        Some(quilt_executor::CloseCode::Abnormal)
    );
    let message = error.to_string();
    assert!(
        message.contains("gave up after 3 reconnection attempts"),
        "{message}"
    );
}

#[tokio::test]
async fn a_query_in_flight_when_the_socket_drops_fails_with_closed() {
    let server = TestServer::start().await.unwrap();
    let executor = WsExecutor::builder(server.ws_url())
        .reconnect(fast_reconnect(3))
        .build();
    let slow = tokio::spawn({
        let executor = executor.clone();
        async move { query(&executor, Request::new("{ slow(ms: 5000) }").unwrap()).await }
    });
    server
        .stats()
        .wait_for(WAIT, |c| c.ws_connections == 1)
        .await
        .unwrap();
    // Let the query reach the server: a second operation on the same socket answers after it
    // was sent (operations are sent in order).
    within(query(&executor, Request::new("{ hello }").unwrap()))
        .await
        .unwrap();
    server.stop().await;
    let error = within(slow).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
}

#[tokio::test]
async fn subscriptions_end_with_the_close_error_when_not_resubscribing() {
    let server = TestServer::start().await.unwrap();
    let executor = WsExecutor::builder(server.ws_url())
        .reconnect(fast_reconnect(3).resubscribe(false))
        .build();
    let mut stream = subscribe(&executor, "subscription { ticks(intervalMs: 20) }").await;
    assert_eq!(next_number(&mut stream, "ticks").await, 1);
    let _server = server.restart().await.unwrap();
    let mut last = None;
    while let Some(item) = within(stream.next()).await {
        if let Err(error) = item {
            last = Some(error);
        }
    }
    let error = last.expect("no error item");
    assert_eq!(
        error.close_code(),
        Some(quilt_executor::CloseCode::Abnormal)
    );
}

#[tokio::test]
async fn keepalive_pings_are_answered_and_keep_the_socket() {
    let server = TestServer::start().await.unwrap();
    for (round, protocol) in BOTH.into_iter().enumerate() {
        // graphql-transport-ws pings with a `ping` message, the legacy protocol with WebSocket
        // ping frames. Events come every 300 ms, so only the answers to the pings keep the socket
        // alive in between: a missing answer within 100 ms would count as a lost socket and
        // force a reconnection, which the connection count would show.
        let executor = WsExecutor::builder(server.ws_url())
            .subprotocol(protocol)
            .keepalive(Duration::from_millis(20))
            .pong_timeout(Duration::from_millis(100))
            .reconnect(fast_reconnect(5))
            .build();
        let mut stream = subscribe(&executor, "subscription { ticks(intervalMs: 300) }").await;
        for expected in 1..=3 {
            assert_eq!(
                next_number(&mut stream, "ticks").await,
                expected,
                "{protocol}"
            );
        }
        assert_eq!(
            server.stats().snapshot().ws_connections,
            round as u64 + 1,
            "{protocol}"
        );
    }
}
