#![allow(clippy::unwrap_used)]
//! The callback executor and route against the reference emitter: Apollo Server 5 with its
//! subscription callback plugin (`test-support/js/apollo-callback-subgraph.mjs`). What crossed
//! the wire is counted at the gateway's registry; the emitter reports the subscriptions it
//! stopped.

use std::time::Duration;

use futures::StreamExt;
use quilt_executor::callback::{CallbackExecutor, CallbackRegistry};
use quilt_executor::{ExecutionResult, Executor, HttpExecutor, Request, Response, from_fn};
use quilt_server::GraphQLServer;
use quilt_test_support::{JsPeer, WAIT};
use serde_json::json;
use tokio_util::task::AbortOnDropHandle;

struct Setup {
    _peer: JsPeer,
    http: HttpExecutor,
    executor: CallbackExecutor,
    registry: CallbackRegistry,
    _route: AbortOnDropHandle<()>,
}

async fn setup(heartbeat: Duration) -> Setup {
    let peer = JsPeer::start("apollo-callback-subgraph.mjs", &[])
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let registry = CallbackRegistry::new(format!("http://{addr}/callback")).unwrap();
    let nothing = from_fn(|_r: Request| async { Ok(Response::Single(ExecutionResult::default())) });
    let server = GraphQLServer::builder(nothing)
        .callback("/callback", registry.clone())
        .build();
    let route = tokio::spawn(async move {
        server
            .serve_with_shutdown(listener, std::future::pending())
            .await
            .unwrap();
    });
    let http = HttpExecutor::builder(peer.http_url("/"))
        .timeout(WAIT)
        .build()
        .unwrap();
    let executor = CallbackExecutor::builder(http.clone(), registry.clone())
        .heartbeat_interval(heartbeat)
        .build();
    Setup {
        _peer: peer,
        http,
        executor,
        registry,
        _route: AbortOnDropHandle::new(route),
    }
}

async fn subscribe(executor: &CallbackExecutor, query: &str) -> quilt_executor::ResultStream {
    let response = tokio::time::timeout(WAIT, executor.execute(Request::new(query).unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert!(
        response.is_stream(),
        "Apollo Server accepted the subscription"
    );
    response.into_stream()
}

#[tokio::test]
async fn apollo_server_events_heartbeats_and_complete_arrive() {
    let setup = setup(Duration::from_millis(200)).await;
    let stream = subscribe(
        &setup.executor,
        "subscription { count(to: 3, intervalMs: 500) }",
    )
    .await;
    let events: Vec<_> = tokio::time::timeout(WAIT, stream.collect::<Vec<_>>())
        .await
        .unwrap()
        .into_iter()
        .map(|event| event.unwrap().data_value())
        .collect();
    assert_eq!(
        events,
        (1..=3)
            .map(|n| Some(json!({"count": n})))
            .collect::<Vec<_>>()
    );
    let stats = setup.registry.stats();
    assert_eq!(stats.delivered, 3);
    assert!(
        stats.accepted >= 3 + 2 + 2,
        "the check, the events, heartbeats in the 1 s of pauses, the complete: {stats:?}"
    );
    assert_eq!(stats.heartbeat_timeouts, 0);
    assert!(setup.registry.is_empty());
}

#[tokio::test]
async fn apollo_server_stops_a_subscription_when_the_gateway_answers_404() {
    let setup = setup(Duration::from_secs(5)).await;
    let mut stream = subscribe(&setup.executor, "subscription { ticks(intervalMs: 20) }").await;
    for n in 1..=2 {
        let event = tokio::time::timeout(WAIT, stream.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(event.unwrap().data_value(), Some(json!({"ticks": n})));
    }
    drop(stream);
    let stopped = tokio::time::timeout(WAIT, async {
        loop {
            let result = setup
                .http
                .execute(Request::new("{ stopped }").unwrap())
                .await
                .unwrap()
                .into_single()
                .await
                .unwrap();
            if result.data_value() == Some(json!({"stopped": 1})) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(stopped.is_ok(), "Apollo Server stopped the subscription");
    let stats = setup.registry.stats();
    assert_eq!(stats.not_found, 1, "one refused event stopped it");
    assert!(setup.registry.is_empty());
}

#[tokio::test]
async fn apollo_server_validation_errors_end_the_subscription_with_them() {
    let setup = setup(Duration::from_secs(5)).await;
    let response = tokio::time::timeout(
        WAIT,
        setup
            .executor
            .execute(Request::new("subscription { nope }").unwrap()),
    )
    .await
    .unwrap()
    .unwrap();
    let result = response.into_single().await.unwrap();
    assert!(result.errors[0].message.contains("nope"), "{result:?}");
    assert!(setup.registry.is_empty());
    // Apollo Server still sends its `check` before answering with the errors (and may send a
    // `complete` later, which gets 404): nothing reaches a consumer.
    assert_eq!(setup.registry.stats().delivered, 0);
}
