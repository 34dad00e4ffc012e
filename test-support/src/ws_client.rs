//! A raw WebSocket client (tokio-tungstenite) for protocol-level tests: connect with a
//! subprotocol and headers, send and receive JSON messages, expect a close code. Every wait is
//! bounded by [`WAIT`]; every failure panics, failing the test.

#![allow(clippy::unwrap_used)] // a test client: a failure fails the test

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::WAIT;

/// A client WebSocket.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Connects offering `protocol` (none when `None`), with extra headers.
pub async fn connect_with(url: &str, protocol: Option<&str>, headers: &[(&str, &str)]) -> Socket {
    let mut request = url.into_client_request().unwrap();
    if let Some(protocol) = protocol {
        request
            .headers_mut()
            .insert("sec-websocket-protocol", protocol.parse().unwrap());
    }
    for (name, value) in headers {
        request.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    let (socket, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("connected in time")
        .expect("handshake succeeded");
    socket
}

/// Connects offering `protocol`.
pub async fn connect(url: &str, protocol: Option<&str>) -> Socket {
    connect_with(url, protocol, &[]).await
}

/// Sends a JSON message.
pub async fn send(socket: &mut Socket, value: Value) {
    socket.send(Message::text(value.to_string())).await.unwrap();
}

/// Sends a raw text message.
pub async fn send_text(socket: &mut Socket, text: &str) {
    socket.send(Message::text(text.to_owned())).await.unwrap();
}

/// The next JSON message; panics on close or timeout.
pub async fn recv(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a message in time")
            .expect("the socket is open")
            .expect("no socket error");
        match message {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// Reads until the server's close frame; its code and reason.
pub async fn expect_close(socket: &mut Socket) -> (u16, String) {
    loop {
        let message = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a close frame in time");
        match message {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.as_str().to_owned());
            }
            Some(Ok(Message::Close(None))) | None | Some(Err(_)) => {
                panic!("the socket closed without a close code")
            }
            Some(Ok(_)) => continue,
        }
    }
}

/// Connects with graphql-transport-ws (or `protocol`), sends `connection_init` with `params`
/// and waits for `connection_ack`.
pub async fn connect_acked(url: &str, protocol: &str, params: Value) -> Socket {
    let mut socket = connect(url, Some(protocol)).await;
    send(
        &mut socket,
        serde_json::json!({"type": "connection_init", "payload": params}),
    )
    .await;
    let ack = recv(&mut socket).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    socket
}
