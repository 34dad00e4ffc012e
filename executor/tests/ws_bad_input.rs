//! WsExecutor against misbehaving peers: scripted axum WebSocket servers that refuse, close
//! with each close code, never acknowledge, or send garbage. Each case is a typed error, with
//! no panic and no hang.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::WebSocketUpgrade;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::routing::any;
use futures::StreamExt;
use quilt_executor::ws::{ReconnectPolicy, Subprotocol, WsExecutor};
use quilt_executor::{CloseCode, ErrorKind, Executor, ExecutorError, Request, Response};
use quilt_test_support::within;
use quilt_test_support::{Stats, TestServer};
use serde_json::{Value, json};
use tokio::sync::mpsc;

const MODERN: &str = "graphql-transport-ws";

/// A scripted server: every connection runs `script`; `connections` counts them.
struct Mock {
    server: TestServer,
    connections: Arc<AtomicU64>,
}

impl Mock {
    async fn start<F, Fut>(protocol: &'static str, script: F) -> Self
    where
        F: Fn(WebSocket) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let connections = Arc::new(AtomicU64::new(0));
        let counter = connections.clone();
        let router = Router::new().route(
            "/graphql",
            any(move |upgrade: WebSocketUpgrade| {
                let script = script.clone();
                counter.fetch_add(1, Ordering::SeqCst);
                async move { upgrade.protocols([protocol]).on_upgrade(script) }
            }),
        );
        let addr = "127.0.0.1:0".parse().unwrap();
        let server = TestServer::serve(addr, router, Stats::default())
            .await
            .unwrap();
        Self {
            server,
            connections,
        }
    }

    fn url(&self) -> String {
        self.server.ws_url()
    }

    fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
}

/// The next text message as JSON; `None` once the client closed.
async fn recv(socket: &mut WebSocket) -> Option<Value> {
    while let Some(Ok(message)) = socket.recv().await {
        match message {
            Message::Text(text) => return serde_json::from_str(&text).ok(),
            Message::Close(_) => return None,
            _ => {}
        }
    }
    None
}

/// Reads `connection_init` and acknowledges it.
async fn ack(socket: &mut WebSocket) {
    let init = recv(socket).await.unwrap_or_default();
    assert_eq!(init["type"], json!("connection_init"));
    send(socket, json!({"type": "connection_ack"})).await;
}

async fn send(socket: &mut WebSocket, message: Value) {
    let _ = socket.send(Message::Text(message.to_string().into())).await;
}

async fn close(socket: &mut WebSocket, code: u16) {
    let frame = CloseFrame {
        code,
        reason: "scripted close".into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// Waits for the client's close frame and reports its code.
async fn close_code_of_client(socket: &mut WebSocket) -> Option<u16> {
    while let Some(Ok(message)) = socket.recv().await {
        if let Message::Close(frame) = message {
            return frame.map(|f| f.code);
        }
    }
    None
}

fn fast_reconnect(attempts: u32) -> ReconnectPolicy {
    ReconnectPolicy::new(attempts)
        .initial_backoff(Duration::from_millis(10))
        .max_backoff(Duration::from_millis(50))
}

async fn run_query(executor: &WsExecutor) -> Result<Response, ExecutorError> {
    within(executor.execute(Request::new("{ hello }").unwrap())).await
}

/// The last item of a subscription: the error that ended it.
async fn subscription_error(executor: &WsExecutor) -> ExecutorError {
    let request = Request::new("subscription { ticks }").unwrap();
    let mut stream = match within(executor.execute(request)).await {
        Ok(response) => response.into_stream(),
        Err(error) => return error,
    };
    let mut last = None;
    while let Some(item) = within(stream.next()).await {
        if let Err(error) = item {
            last = Some(error);
        }
    }
    last.expect("the subscription ended without an error")
}

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/graphql", listener.local_addr().unwrap());
    drop(listener);
    let executor = WsExecutor::new(url);
    let error = run_query(&executor).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Connect, "{error}");
    let error = subscription_error(&executor).await;
    assert_eq!(error.kind(), ErrorKind::Connect, "{error}");
}

/// The server acknowledges, then closes with `code` when an operation comes. A query in
/// flight fails with that code; so does a subscription, at once for the final codes, after
/// the bounded reconnection attempts for 4500.
async fn closed_with(code: u16, expected: CloseCode, final_close: bool) {
    let mock = Mock::start(MODERN, move |mut socket| async move {
        ack(&mut socket).await;
        if recv(&mut socket).await.is_some() {
            close(&mut socket, code).await;
        }
    })
    .await;
    let executor = WsExecutor::builder(mock.url())
        .reconnect(fast_reconnect(2))
        .build();
    let error = run_query(&executor).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
    assert_eq!(error.close_code(), Some(expected), "{error}");
    assert!(error.to_string().contains(&code.to_string()), "{error}");

    let before = mock.connections();
    let error = subscription_error(&executor).await;
    assert_eq!(error.close_code(), Some(expected), "{error}");
    let reconnections = mock.connections() - before - 1;
    if final_close {
        assert_eq!(reconnections, 0, "a {code} close must not be retried");
    } else {
        assert_eq!(reconnections, 2, "a {code} close is retried by the policy");
        assert!(error.to_string().contains("gave up after 2"), "{error}");
    }
}

#[tokio::test]
async fn close_4400_bad_request() {
    closed_with(4400, CloseCode::BadRequest, true).await;
}

#[tokio::test]
async fn close_4401_unauthorized() {
    closed_with(4401, CloseCode::Unauthorized, true).await;
}

#[tokio::test]
async fn close_4403_forbidden() {
    closed_with(4403, CloseCode::Forbidden, true).await;
}

#[tokio::test]
async fn close_4406_subprotocol_not_acceptable() {
    closed_with(4406, CloseCode::SubprotocolNotAcceptable, true).await;
}

#[tokio::test]
async fn close_4408_connection_init_timeout() {
    closed_with(4408, CloseCode::ConnectionInitTimeout, true).await;
}

#[tokio::test]
async fn close_4409_subscriber_already_exists() {
    closed_with(4409, CloseCode::SubscriberAlreadyExists, true).await;
}

#[tokio::test]
async fn close_4429_too_many_init_requests() {
    closed_with(4429, CloseCode::TooManyInitRequests, true).await;
}

#[tokio::test]
async fn close_4500_internal_server_error_is_retried_then_reported() {
    closed_with(4500, CloseCode::InternalServerError, false).await;
}

#[tokio::test]
async fn a_close_instead_of_the_ack_fails_the_operation() {
    let mock = Mock::start(MODERN, |mut socket| async move {
        let _init = recv(&mut socket).await;
        close(&mut socket, 4403).await;
    })
    .await;
    let executor = WsExecutor::new(mock.url());
    let error = run_query(&executor).await.unwrap_err();
    assert_eq!(error.close_code(), Some(CloseCode::Forbidden), "{error}");
    let error = subscription_error(&executor).await;
    assert_eq!(error.close_code(), Some(CloseCode::Forbidden), "{error}");
}

#[tokio::test]
async fn a_server_that_never_acks_times_out_with_4504() {
    let (codes, mut seen) = mpsc::channel(4);
    let mock = Mock::start(MODERN, move |mut socket| {
        let codes = codes.clone();
        async move {
            let _init = recv(&mut socket).await;
            let code = close_code_of_client(&mut socket).await;
            let _ = codes.send(code).await;
        }
    })
    .await;
    let executor = WsExecutor::builder(mock.url())
        .ack_timeout(Duration::from_millis(200))
        .build();
    let error = run_query(&executor).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
    assert_eq!(error.close_code(), Some(CloseCode::ConnectionAckTimeout));
    assert!(error.to_string().contains("200ms"), "{error}");
    assert_eq!(within(seen.recv()).await.unwrap(), Some(4504));
}

/// The server acknowledges, then answers the first operation with `reply`.
async fn replying(reply: Message) -> (Mock, mpsc::Receiver<Option<u16>>) {
    let (codes, seen) = mpsc::channel(4);
    let mock = Mock::start(MODERN, move |mut socket| {
        let (reply, codes) = (reply.clone(), codes.clone());
        async move {
            ack(&mut socket).await;
            let _subscribe = recv(&mut socket).await;
            let _ = socket.send(reply).await;
            let code = close_code_of_client(&mut socket).await;
            let _ = codes.send(code).await;
        }
    })
    .await;
    (mock, seen)
}

async fn assert_protocol_error(reply: Message, needle: &str) {
    let (mock, mut codes) = replying(reply).await;
    let executor = WsExecutor::new(mock.url());
    let error = run_query(&executor).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Protocol, "{error}");
    assert!(error.to_string().contains(needle), "{error}");
    // The client closes with 4004 (bad response), as graphql-ws' client does.
    assert_eq!(within(codes.recv()).await.unwrap(), Some(4004));
}

#[tokio::test]
async fn a_message_that_is_not_json_is_a_protocol_error() {
    assert_protocol_error(
        Message::Text("this is not json".into()),
        "not a graphql-transport-ws message",
    )
    .await;
}

#[tokio::test]
async fn a_message_of_unknown_type_is_a_protocol_error() {
    let reply = Message::Text(json!({"type": "surprise", "id": "1"}).to_string().into());
    assert_protocol_error(reply, "surprise").await;
}

#[tokio::test]
async fn a_next_without_a_graphql_result_is_a_protocol_error() {
    let reply = json!({"type": "next", "id": "1", "payload": {"hello": "not a result"}});
    assert_protocol_error(
        Message::Text(reply.to_string().into()),
        "neither data nor errors",
    )
    .await;
}

#[tokio::test]
async fn a_binary_frame_is_a_protocol_error() {
    assert_protocol_error(Message::Binary(vec![1, 2, 3].into()), "binary").await;
}

#[tokio::test]
async fn a_silent_server_fails_the_keepalive() {
    // The server acknowledges and then never answers anything, not even pings.
    let mock = Mock::start(MODERN, |mut socket| async move {
        ack(&mut socket).await;
        while recv(&mut socket).await.is_some() {}
    })
    .await;
    let executor = WsExecutor::builder(mock.url())
        .keepalive(Duration::from_millis(50))
        .pong_timeout(Duration::from_millis(100))
        .reconnect(ReconnectPolicy::never())
        .build();
    let error = subscription_error(&executor).await;
    assert_eq!(error.close_code(), Some(CloseCode::Abnormal), "{error}");
    assert!(error.to_string().contains("keep-alive"), "{error}");
}

#[tokio::test]
async fn a_query_without_an_answer_times_out() {
    let mock = Mock::start(MODERN, |mut socket| async move {
        ack(&mut socket).await;
        while recv(&mut socket).await.is_some() {}
    })
    .await;
    let executor = WsExecutor::builder(mock.url())
        .request_timeout(Duration::from_millis(200))
        .build();
    let error = run_query(&executor).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
}

#[tokio::test]
async fn server_pings_are_answered_with_pongs() {
    let mock = Mock::start(MODERN, |mut socket| async move {
        ack(&mut socket).await;
        let subscribe = recv(&mut socket).await.unwrap_or_default();
        send(&mut socket, json!({"type": "ping"})).await;
        let pong = recv(&mut socket).await.unwrap_or_default();
        let id = subscribe["id"].clone();
        let data = json!({"answered": pong["type"] == json!("pong")});
        send(
            &mut socket,
            json!({"type": "next", "id": id, "payload": {"data": data}}),
        )
        .await;
        send(&mut socket, json!({"type": "complete", "id": id})).await;
        while recv(&mut socket).await.is_some() {}
    })
    .await;
    let executor = WsExecutor::new(mock.url());
    let result = run_query(&executor)
        .await
        .unwrap()
        .into_single()
        .await
        .unwrap();
    assert_eq!(result.data_value(), Some(json!({"answered": true})));
}

#[tokio::test]
async fn a_legacy_connection_error_is_a_final_close() {
    let mock = Mock::start("graphql-ws", |mut socket| async move {
        let _init = recv(&mut socket).await;
        send(
            &mut socket,
            json!({"type": "connection_error", "payload": {"message": "bad token"}}),
        )
        .await;
        while recv(&mut socket).await.is_some() {}
    })
    .await;
    let executor = WsExecutor::builder(mock.url())
        .subprotocol(Subprotocol::LegacyGraphqlWs)
        .build();
    let error = run_query(&executor).await.unwrap_err();
    assert_eq!(error.close_code(), Some(CloseCode::Forbidden), "{error}");
    assert!(error.to_string().contains("bad token"), "{error}");
}

#[tokio::test]
async fn a_rejected_upgrade_is_an_http_status_error() {
    let addr = "127.0.0.1:0".parse().unwrap();
    let server = TestServer::serve(addr, Router::new(), Stats::default())
        .await
        .unwrap();
    let executor = WsExecutor::new(server.ws_url());
    let error = run_query(&executor).await.unwrap_err();
    assert_eq!(error.status(), Some(404), "{error}");
}

#[tokio::test]
async fn a_server_that_does_not_agree_on_the_subprotocol_is_a_protocol_error() {
    let mock = Mock::start("something-else", |mut socket| async move {
        while recv(&mut socket).await.is_some() {}
    })
    .await;
    let executor = WsExecutor::new(mock.url());
    let error = run_query(&executor).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Protocol, "{error}");
}
