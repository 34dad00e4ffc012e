//! `WsExecutorBuilder::forward_authorization`: the `Authorization` header of the request's
//! context becomes `connectionParams.token`, and each credential gets its own socket, against
//! the in-repo subgraph (which echoes connection params and counts WebSocket connections).

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

use futures::StreamExt;
use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
use quilt_executor::ws::{Subprotocol, WsExecutor};
use quilt_executor::{Context, Executor, Request, ResultStream};
use quilt_test_support::{TestServer, WAIT};
use serde_json::{Value, json};

fn request(query: &str, authorization: Option<&str>) -> Request {
    let mut headers = HeaderMap::new();
    if let Some(value) = authorization {
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
    }
    Request::new(query)
        .unwrap()
        .context(Context::from_headers(headers))
}

async fn open(executor: &WsExecutor, request: Request) -> ResultStream {
    tokio::time::timeout(WAIT, executor.execute(request))
        .await
        .unwrap()
        .unwrap()
        .into_stream()
}

async fn first(stream: &mut ResultStream) -> Value {
    let result = tokio::time::timeout(WAIT, stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    result.data_value().unwrap()
}

/// The token the server saw, from a subscription that echoes a connection param once.
async fn seen_token(executor: &WsExecutor, authorization: Option<&str>) -> Value {
    let query = r#"subscription { connectionParam(key: "token") }"#;
    let mut stream = open(executor, request(query, authorization)).await;
    first(&mut stream).await["connectionParam"].clone()
}

#[tokio::test]
async fn authorization_becomes_the_connection_token_in_both_subprotocols() {
    for protocol in [
        Subprotocol::GraphqlTransportWs,
        Subprotocol::LegacyGraphqlWs,
    ] {
        let server = TestServer::start().await.unwrap();
        let executor = WsExecutor::builder(server.ws_url())
            .subprotocol(protocol)
            .forward_authorization(true)
            .build();
        assert_eq!(
            seen_token(&executor, Some("Bearer ada")).await,
            json!("Bearer ada"),
            "{protocol:?}"
        );
        assert_eq!(
            seen_token(&executor, None).await,
            Value::Null,
            "{protocol:?}"
        );
    }
}

#[tokio::test]
async fn different_credentials_never_share_a_socket() {
    let server = TestServer::start().await.unwrap();
    let executor = WsExecutor::builder(server.ws_url())
        .forward_authorization(true)
        .build();
    // Both subscriptions stay open, so a shared socket would have to carry both.
    let ticks = "subscription { ticks(intervalMs: 20) }";
    let mut ada = open(&executor, request(ticks, Some("Bearer ada"))).await;
    let mut grace = open(&executor, request(ticks, Some("Bearer grace"))).await;
    first(&mut ada).await;
    first(&mut grace).await;
    assert_eq!(server.stats().snapshot().ws_connections, 2);
    // The same credential reuses its socket.
    let mut ada_again = open(&executor, request(ticks, Some("Bearer ada"))).await;
    first(&mut ada_again).await;
    assert_eq!(server.stats().snapshot().ws_connections, 2);
    assert_eq!(
        seen_token(&executor, Some("Bearer grace")).await,
        json!("Bearer grace")
    );
}

#[tokio::test]
async fn the_token_is_merged_with_configured_params_and_request_params_win() {
    let server = TestServer::start().await.unwrap();
    let params = json!({ "client": "quilt" }).as_object().cloned().unwrap();
    let executor = WsExecutor::builder(server.ws_url())
        .connection_params(params)
        .forward_authorization(true)
        .build();
    let both = r#"subscription { connectionParam(key: "client") }"#;
    let mut stream = open(&executor, request(both, Some("Bearer ada"))).await;
    assert_eq!(first(&mut stream).await["connectionParam"], json!("quilt"));
    assert_eq!(
        seen_token(&executor, Some("Bearer ada")).await,
        json!("Bearer ada")
    );

    let overriding = request(
        r#"subscription { connectionParam(key: "token") }"#,
        Some("Bearer x"),
    )
    .extension("connectionParams", json!({ "token": "from the request" }));
    let mut stream = open(&executor, overriding).await;
    assert_eq!(
        first(&mut stream).await["connectionParam"],
        json!("from the request")
    );
}

#[tokio::test]
async fn without_the_option_the_header_is_not_sent() {
    let server = TestServer::start().await.unwrap();
    let executor = WsExecutor::new(server.ws_url());
    assert_eq!(seen_token(&executor, Some("Bearer ada")).await, Value::Null);
}
