//! A client that disconnects in the middle of an event, through the demo gateway (the stitched
//! schema over the Seat-Saver service): over WebSocket, SSE and Apollo multipart, a raw client
//! with a small receive buffer subscribes, starts receiving a 1 MB seat event and drops its TCP
//! connection part-way. Asserted: the other clients of the same (shared) subscription receive
//! that event and every later one; the gateway's counters (client and upstream subscriptions)
//! and the server's (WebSocket connections and tasks, subscriptions) come down as clients leave
//! and reach zero; the Seat-Saver service saw the upstream subscription end with `complete`
//! while the gateway's WebSocket to it stayed open.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

mod common;

use std::net::SocketAddr;

use common::{TestGateway, settings, start, wait_for, wait_for_subscribers, wait_until, within};
use futures::StreamExt;
use quilt_executor::http::SubscriptionProtocol;
use quilt_executor::{Executor, HttpExecutor, Request, ResultStream, WsExecutor};
use quilt_test_support::WAIT;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const RESERVED: &str = "subscription { onSeatReserved { message number status holder } }";
const SOLD: &str = "subscription { onSeatSold { seatId } }";
/// The size of the holder's name in the large event.
const LARGE: usize = 1_000_000;
/// What the disconnecting client reads of the large event before it leaves.
const READ_BEFORE_LEAVING: usize = 64 * 1024;

#[derive(Debug, Clone, Copy)]
enum Transport {
    WebSocket,
    Sse,
    Multipart,
}

/// A TCP connection to `addr` with a 4 KiB receive buffer, so the server cannot push a large
/// event into it at once.
async fn small_window(addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    within(socket.connect(addr)).await.unwrap()
}

/// Reads from `stream` into `seen` until `enough`.
async fn read_until(stream: &mut TcpStream, seen: &mut Vec<u8>, enough: impl Fn(&[u8]) -> bool) {
    let mut buffer = [0u8; 4096];
    within(async {
        while !enough(seen) {
            let n = stream.read(&mut buffer).await.unwrap();
            assert!(
                n > 0,
                "the server closed: {}",
                String::from_utf8_lossy(seen)
            );
            seen.extend_from_slice(&buffer[..n]);
        }
    })
    .await;
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A masked (key 0) client text frame.
fn text_frame(text: &str) -> Vec<u8> {
    let payload = text.as_bytes();
    let mut frame = vec![0x81];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&u16::try_from(n).unwrap().to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(payload);
    frame
}

/// A client that subscribes to [`RESERVED`] over `transport` on a raw TCP connection, having
/// read everything up to the point where events start.
async fn raw_subscriber(addr: SocketAddr, transport: Transport) -> TcpStream {
    let mut stream = small_window(addr).await;
    let mut seen = Vec::new();
    match transport {
        Transport::WebSocket => {
            let handshake = format!(
                "GET /graphql HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
                 Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
            );
            stream.write_all(handshake.as_bytes()).await.unwrap();
            read_until(&mut stream, &mut seen, |s| contains(s, b"\r\n\r\n")).await;
            assert!(seen.starts_with(b"HTTP/1.1 101"), "{seen:?}");
            seen.clear();
            let init = text_frame(r#"{"type":"connection_init"}"#);
            let subscribe = text_frame(
                &json!({"id": "1", "type": "subscribe", "payload": {"query": RESERVED}})
                    .to_string(),
            );
            stream.write_all(&[init, subscribe].concat()).await.unwrap();
            read_until(&mut stream, &mut seen, |s| contains(s, b"connection_ack")).await;
        }
        Transport::Sse | Transport::Multipart => {
            let accept = match transport {
                Transport::Sse => "text/event-stream",
                _ => "multipart/mixed;subscriptionSpec=\"1.0\", application/json",
            };
            let body = json!({"query": RESERVED}).to_string();
            let request = format!(
                "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
                 Accept: {accept}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(request.as_bytes()).await.unwrap();
            read_until(&mut stream, &mut seen, |s| contains(s, b"\r\n\r\n")).await;
            assert!(seen.starts_with(b"HTTP/1.1 200"), "{seen:?}");
        }
    }
    stream
}

/// Reads the start of the large event, then drops the connection with most of it unread.
async fn leave_mid_event(mut stream: TcpStream) {
    let mut seen = Vec::new();
    read_until(&mut stream, &mut seen, |s| {
        s.len() >= READ_BEFORE_LEAVING && contains(s, b"onSeatReserved")
    })
    .await;
    assert!(seen.len() < LARGE, "the client left before the event ended");
    // Closing with unread data resets the connection: the server's write fails mid-event.
    drop(stream);
}

async fn next_seat(stream: &mut ResultStream) -> Value {
    let item = tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("no event in time")
        .expect("the subscription ended");
    item.unwrap().data_value().unwrap()["onSeatReserved"].clone()
}

async fn reserve(gateway: &TestGateway, seat: &str, holder: String) {
    let request = Request::new(
        "mutation ($seat: String!, $holder: String!) { \
         reserveSeat(venueId: \"hall-1\", number: $seat, holder: $holder) { number } }",
    )
    .unwrap()
    .variable("seat", json!(seat))
    .variable("holder", json!(holder));
    let result = gateway.request(request).await;
    assert_eq!(result, json!({"data": {"reserveSeat": {"number": seat}}}));
}

async fn a_client_that_disconnects_mid_event(transport: Transport) {
    let gateway = start(settings(Vec::new())).await;
    let addr: SocketAddr = gateway
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/graphql")
        .parse()
        .unwrap();
    let schema = gateway.prepared.gateway.executor().current();
    let venue = gateway.prepared.demo.as_ref().unwrap().venue().clone();

    // The survivors: the same subscription over WebSocket, SSE and multipart, and a keeper
    // (another subscription) that holds the gateway's WebSocket to the service open.
    let ws = WsExecutor::new(gateway.ws_url());
    let http = |protocol| {
        HttpExecutor::builder(gateway.url.as_str())
            .subscription_protocol(protocol)
            .build()
            .unwrap()
    };
    let (sse, multipart) = (
        http(SubscriptionProtocol::Sse),
        http(SubscriptionProtocol::ApolloMultipart),
    );
    let keeper_client = WsExecutor::new(gateway.ws_url());
    let subscribe = |executor: &dyn Executor, query: &str| {
        let response = executor.execute(Request::new(query).unwrap());
        async move { within(response).await.unwrap().into_stream() }
    };
    let mut survivors = vec![
        ("websocket", subscribe(&ws, RESERVED).await),
        ("sse", subscribe(&sse, RESERVED).await),
        ("multipart", subscribe(&multipart, RESERVED).await),
    ];
    let keeper = subscribe(&keeper_client, SOLD).await;
    let leaving = raw_subscriber(addr, transport).await;
    wait_for_subscribers(&gateway.prepared, 5).await;
    // Three upstream subscriptions: `onSeatReserved` for the WebSocket clients (their
    // connection params are part of what is shared), `onSeatReserved` for the HTTP ones, and
    // the keeper's. The one that will leave shares one of the first two: a fourth would be
    // its own.
    assert_eq!(schema.subscription_stats().upstreams, 3, "shared upstreams");
    wait_for(venue.subscribers(), |n| *n == 3).await;
    assert_eq!(gateway.server.stats().subscriptions, 5);

    let large = "x".repeat(LARGE);
    reserve(&gateway, "A1", large.clone()).await;
    leave_mid_event(leaving).await;

    // The one that left is gone everywhere; nothing else moved.
    wait_until("the gateway lets go of the client that left", || {
        schema.subscription_stats().clients == 4
    })
    .await;
    wait_until("the server lets go of its subscription", || {
        let stats = gateway.server.stats();
        stats.subscriptions == 4 && stats.websocket_connections == 2 && stats.websocket_tasks == 2
    })
    .await;
    assert_eq!(schema.subscription_stats().upstreams, 3);
    reserve(&gateway, "A2", "ada".into()).await;
    reserve(&gateway, "A3", "grace".into()).await;

    for (name, stream) in &mut survivors {
        for message in ["Reserving Seat", "Reserved Seat"] {
            let event = next_seat(stream).await;
            assert_eq!(event["message"], message, "{name}");
            assert_eq!(event["number"], "A1", "{name}");
            assert_eq!(event["holder"].as_str(), Some(large.as_str()), "{name}");
        }
        for (seat, holder) in [("A2", "ada"), ("A3", "grace")] {
            assert_eq!(
                next_seat(stream).await,
                json!({"message": "Reserving Seat", "number": seat, "status": "RESERVING", "holder": holder}),
                "{name}"
            );
            assert_eq!(
                next_seat(stream).await,
                json!({"message": "Reserved Seat", "number": seat, "status": "RESERVED", "holder": holder}),
                "{name}"
            );
        }
    }

    // The survivors leave: their upstream subscriptions end with `complete` (the keeper's
    // subscription keeps the gateway's socket to the service open, so only that message can
    // have ended them there).
    drop(survivors);
    drop((ws, sse, multipart));
    wait_for(venue.subscribers(), |n| *n == 1).await;
    wait_until("one upstream subscription left", || {
        let stats = schema.subscription_stats();
        stats.clients == 1 && stats.upstreams == 1
    })
    .await;

    drop(keeper);
    drop(keeper_client);
    wait_for(venue.subscribers(), |n| *n == 0).await;
    wait_until("every counter back to zero", || {
        let stats = schema.subscription_stats();
        stats.clients == 0
            && stats.upstreams == 0
            && gateway.server.stats() == quilt_server::ServerStats::default()
    })
    .await;
}

#[tokio::test]
async fn a_websocket_client_that_disconnects_mid_event_leaves_nothing_behind() {
    a_client_that_disconnects_mid_event(Transport::WebSocket).await;
}

#[tokio::test]
async fn an_sse_client_that_disconnects_mid_event_leaves_nothing_behind() {
    a_client_that_disconnects_mid_event(Transport::Sse).await;
}

#[tokio::test]
async fn a_multipart_client_that_disconnects_mid_event_leaves_nothing_behind() {
    a_client_that_disconnects_mid_event(Transport::Multipart).await;
}
