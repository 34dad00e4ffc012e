#![allow(clippy::unwrap_used)]
//! A subschema whose subscriptions use the HTTP callback protocol
//! (`--subschema NAME=URL,subscriptions=callback`): the gateway POSTs the subscription to the
//! service, which POSTs its events back to the gateway's own listener (`/callback`, the URL
//! derived from the bound address). Counted at the service (the emitter).

use crate::common::{GatewayProcess, settings, start, wait_for_subscribers, within};
use futures::StreamExt;
use gateway_example::spec::{SubschemaSpec, SubscriptionTransport};
use quilt_executor::{Executor, HttpExecutor, Request, ResultStream};
use quilt_test_support::{TestServer, WAIT};
use serde_json::json;

/// A subscription through the gateway over SSE.
async fn subscribe(gateway_url: &str, query: &str) -> ResultStream {
    let client = HttpExecutor::builder(gateway_url)
        .timeout(WAIT)
        .build()
        .unwrap();
    let response = within(client.execute(Request::new(query).unwrap()))
        .await
        .unwrap();
    assert!(response.is_stream());
    response.into_stream()
}

async fn events(mut stream: ResultStream) -> Vec<serde_json::Value> {
    let mut events = Vec::new();
    while let Some(event) = within(stream.next()).await {
        events.push(serde_json::to_value(event.unwrap()).unwrap());
    }
    events
}

#[tokio::test]
async fn a_callback_subschema_streams_through_the_gateway_and_leaves_nothing_open() {
    let service = TestServer::start().await.unwrap();
    let mut spec = SubschemaSpec::new("test", service.http_url());
    spec.subscriptions = SubscriptionTransport::Callback;
    let gateway = start(settings(vec![spec])).await;
    let registry = gateway
        .prepared
        .callback
        .clone()
        .expect("a callback registry");
    assert_eq!(
        registry.public_url(),
        gateway.url.replace("/graphql", "/callback")
    );

    let stream = subscribe(&gateway.url, "subscription { count(to: 3) }").await;
    assert_eq!(
        events(stream).await,
        (1..=3)
            .map(|n| json!({"data": {"count": n}}))
            .collect::<Vec<_>>()
    );
    let seen = service
        .stats()
        .wait_for(WAIT, |c| c.callback_stopped == 1)
        .await
        .unwrap();
    assert_eq!(seen.callback_subscriptions, 1);
    assert_eq!((seen.callback_nexts, seen.callback_completes), (3, 1));
    assert_eq!(seen.callback_accepted, seen.callback_checks + 4);
    assert_eq!(seen.ws_connections, 0, "no WebSocket to the service");
    assert!(registry.is_empty());
    // Queries still go over plain HTTP.
    assert_eq!(
        gateway.query("{ hello }").await,
        json!({"data": {"hello": "Hello, world!"}})
    );
}

#[tokio::test]
async fn identical_clients_through_the_gateway_share_one_callback_subscription() {
    let service = TestServer::start().await.unwrap();
    let mut spec = SubschemaSpec::new("test", service.http_url());
    spec.subscriptions = SubscriptionTransport::Callback;
    let gateway = start(settings(vec![spec])).await;
    let registry = gateway.prepared.callback.clone().unwrap();
    let query = "subscription { ticks(intervalMs: 50) }";
    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(subscribe(&gateway.url, query).await);
    }
    wait_for_subscribers(&gateway.prepared, 5).await;
    for client in &mut clients {
        let first = within(client.next()).await.unwrap().unwrap();
        assert!(first.data.is_some());
    }
    assert_eq!(service.stats().snapshot().callback_subscriptions, 1);
    assert_eq!(registry.len(), 1);
    drop(clients);
    let seen = service
        .stats()
        .wait_for(WAIT, |c| c.callback_stopped == 1)
        .await
        .unwrap();
    assert_eq!(seen.callback_not_found, 1, "the emitter was told to stop");
    assert!(registry.is_empty());
}

#[tokio::test]
async fn the_binary_takes_the_callback_flag_and_calls_back_on_its_own_port() {
    let service = TestServer::start().await.unwrap();
    let gateway = GatewayProcess::start(&[
        "--subschema".to_owned(),
        format!("test={},subscriptions=callback", service.http_url()),
    ])
    .await;
    let stream = subscribe(&gateway.url, "subscription { count(to: 2) }").await;
    assert_eq!(events(stream).await.len(), 2);
    let seen = service.stats().snapshot();
    assert_eq!((seen.callback_subscriptions, seen.callback_nexts), (1, 2));
}
