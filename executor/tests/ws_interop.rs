//! WsExecutor against the JavaScript reference servers: graphql-ws' `useServer`
//! (graphql-transport-ws) and subscriptions-transport-ws' `SubscriptionServer` (legacy
//! graphql-ws), started from `test-support/js`.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

use futures::StreamExt;
use quilt_executor::ws::{Subprotocol, WsExecutor};
use quilt_executor::{Executor, Request};
use quilt_test_support::JsPeer;
use quilt_test_support::within;
use serde_json::{Value, json};

async fn peer(script: &str, protocol: Subprotocol) -> (JsPeer, WsExecutor) {
    let peer = JsPeer::start(script, &[]).await.unwrap();
    let params = json!({"token": "js"}).as_object().cloned().unwrap();
    // A long lazy close keeps the socket open between operations, so that the server can only
    // learn of a dropped subscription from `complete`/`stop`, not from the socket closing.
    let executor = WsExecutor::builder(peer.ws_url("/graphql"))
        .subprotocol(protocol)
        .connection_params(params)
        .lazy_close_timeout(std::time::Duration::from_secs(60))
        .build();
    (peer, executor)
}

async fn data(executor: &WsExecutor, query: &str) -> Value {
    let response = within(executor.execute(Request::new(query).unwrap()))
        .await
        .unwrap();
    let result = response.into_single().await.unwrap();
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    result.data_value().unwrap()
}

/// A query, a subscription with several events, and a dropped subscription the server sees.
async fn interoperates(script: &str, protocol: Subprotocol) {
    let (_peer, executor) = peer(script, protocol).await;

    let hello = data(&executor, "{ hello(name: \"node\") }").await;
    assert_eq!(hello, json!({"hello": "Hello, node!"}));
    let params = data(&executor, "{ connectionParams }").await;
    let params: Value = serde_json::from_str(params["connectionParams"].as_str().unwrap()).unwrap();
    assert_eq!(params, json!({"token": "js"}));

    let request = Request::new("subscription { count(to: 4, intervalMs: 5) }").unwrap();
    let stream = within(executor.execute(request))
        .await
        .unwrap()
        .into_stream();
    let events: Vec<i64> = within(stream.collect::<Vec<_>>())
        .await
        .into_iter()
        .map(|e| e.unwrap().data_value().unwrap()["count"].as_i64().unwrap())
        .collect();
    assert_eq!(events, vec![1, 2, 3, 4]);
    assert_eq!(
        data(&executor, "{ finished }").await,
        json!({"finished": 1})
    );

    let request = Request::new("subscription { ticks(intervalMs: 10) }").unwrap();
    let mut stream = within(executor.execute(request))
        .await
        .unwrap()
        .into_stream();
    for expected in 1..=3 {
        let event = within(stream.next()).await.unwrap().unwrap();
        assert_eq!(event.data_value(), Some(json!({"ticks": expected})));
    }
    drop(stream);
    // The server resolves this once its subscription was stopped (or after 5 s with 0).
    let cancelled = data(&executor, "{ waitForCancelled(atLeast: 1) }").await;
    assert_eq!(cancelled, json!({"waitForCancelled": 1}));
}

#[tokio::test]
async fn graphql_ws_server_interop() {
    interoperates("graphql-ws-server.mjs", Subprotocol::GraphqlTransportWs).await;
}

#[tokio::test]
async fn subscriptions_transport_ws_server_interop() {
    interoperates("legacy-ws-server.mjs", Subprotocol::LegacyGraphqlWs).await;
}
