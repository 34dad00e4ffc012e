//! Hostile clients at the connection level, over raw TCP sockets: silent sockets, half a
//! request head, half a body, idle keep-alive connections, more connections than allowed,
//! silent and oversized WebSocket traffic. Each is closed or refused with a clear answer, and
//! the server keeps answering a normal request meanwhile.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::ws::{connect_acked, expect_close, send_text};
use common::{WAIT, client, start_with};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

const SHORT: Duration = Duration::from_millis(300);

/// The resident memory this test process may grow by during one attack (the server runs in
/// it; the other tests of this file run beside it, so the bound is generous).
const RSS_BOUND_KIB: u64 = 64 * 1024;

/// Checks, when the test ends without a panic, that the process grew by less than
/// [`RSS_BOUND_KIB`] since the guard was made.
struct RssBound(u64);

impl RssBound {
    fn new() -> Self {
        Self(rss_kib())
    }
}

impl Drop for RssBound {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let grown = rss_kib().saturating_sub(self.0);
        assert!(grown < RSS_BOUND_KIB, "resident memory grew by {grown} KiB");
    }
}

/// Reads until the server closes the connection (within the test wait); what it sent.
async fn read_to_close(socket: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(WAIT, async {
        let mut buffer = [0u8; 4096];
        loop {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server did not close the connection");
    String::from_utf8_lossy(&received).into_owned()
}

/// A normal query over a fresh connection.
async fn hello(url: &str) {
    let response = client()
        .post(url)
        .json(&json!({"query": "{ hello }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"data": {"hello": "Hello, world!"}}));
}

#[tokio::test]
async fn silent_sockets_and_half_request_heads_are_closed() {
    let _memory = RssBound::new();
    let server = start_with(|b| b.header_read_timeout(Some(SHORT))).await;
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut half = TcpStream::connect(server.addr).await.unwrap();
    half.write_all(b"POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-")
        .await
        .unwrap();
    // Served meanwhile.
    hello(&server.url()).await;
    let answered = read_to_close(&mut silent).await;
    assert!(
        answered.is_empty() || answered.starts_with("HTTP/1.1 408"),
        "{answered}"
    );
    let answered = read_to_close(&mut half).await;
    assert!(
        answered.is_empty() || answered.starts_with("HTTP/1.1 408"),
        "{answered}"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let _memory = RssBound::new();
    let server = start_with(|b| b.header_read_timeout(Some(SHORT))).await;
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    socket
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    // Served meanwhile.
    hello(&server.url()).await;
    let answered = read_to_close(&mut socket).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
}

#[tokio::test]
async fn half_a_body_is_answered_408() {
    let _memory = RssBound::new();
    let server = start_with(|b| b.body_read_timeout(Some(SHORT))).await;
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    socket
        .write_all(
            b"POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
              content-length: 100\r\n\r\n{\"query\":",
        )
        .await
        .unwrap();
    hello(&server.url()).await;
    let mut buffer = vec![0u8; 4096];
    let n = tokio::time::timeout(WAIT, socket.read(&mut buffer))
        .await
        .expect("an answer in time")
        .unwrap();
    let answered = String::from_utf8_lossy(&buffer[..n]);
    assert!(answered.starts_with("HTTP/1.1 408"), "{answered}");
    assert!(answered.contains("BODY_READ_TIMEOUT"), "{answered}");
}

#[tokio::test]
async fn connections_over_the_cap_are_refused_and_the_slot_comes_back() {
    let _memory = RssBound::new();
    let server = start_with(|b| b.max_connections(2)).await;
    let first = TcpStream::connect(server.addr).await.unwrap();
    // The second one is served (so both are accepted and hold their slots).
    let (_second, answered) = common::health(server.addr).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    let answered = read_to_close(&mut third).await;
    assert!(answered.starts_with("HTTP/1.1 503"), "{answered}");
    assert!(answered.contains("CAPACITY_EXCEEDED"), "{answered}");
    // A client leaves: its slot is free again as soon as the server sees it go.
    drop(first);
    let served = tokio::time::timeout(WAIT, async {
        loop {
            let mut socket = TcpStream::connect(server.addr).await.unwrap();
            socket
                .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                .await
                .unwrap();
            if read_to_close(&mut socket).await.starts_with("HTTP/1.1 200") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(
        served.is_ok(),
        "the freed slot was not given to a new client"
    );
}

#[tokio::test]
async fn a_silent_websocket_is_closed_after_the_idle_timeout() {
    let _memory = RssBound::new();
    let server = start_with(|b| {
        b.ws_idle_timeout(Some(SHORT))
            .keep_alive_interval(Duration::from_secs(60))
    })
    .await;
    let mut socket = connect_acked(&server.ws_url(), "graphql-transport-ws", json!({})).await;
    hello(&server.url()).await;
    let (code, reason) = expect_close(&mut socket).await;
    assert_eq!(code, 1001);
    assert!(reason.contains("idle"), "{reason}");
}

#[tokio::test]
async fn a_websocket_that_answers_pings_stays_open() {
    let _memory = RssBound::new();
    // Pings every 50 ms, idle after 300 ms: a client reading (and so answering pings) sees
    // ten pings, three idle timeouts' worth, and no close.
    let server = start_with(|b| {
        b.ws_idle_timeout(Some(SHORT))
            .keep_alive_interval(Duration::from_millis(50))
            .ws_ping(false)
    })
    .await;
    let mut socket = connect_acked(&server.ws_url(), "graphql-transport-ws", json!({})).await;
    let mut pings = 0;
    while pings < 10 {
        let message = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a ping in time")
            .expect("open")
            .expect("no error");
        match message {
            Message::Ping(_) => pings += 1,
            Message::Close(frame) => panic!("closed: {frame:?}"),
            _ => {}
        }
    }
}

#[tokio::test]
async fn an_oversized_websocket_message_closes_with_1009() {
    let _memory = RssBound::new();
    let server = start_with(|b| b.max_body_bytes(1024)).await;
    let mut socket = connect_acked(&server.ws_url(), "graphql-transport-ws", json!({})).await;
    let big = json!({"id": "1", "type": "subscribe", "payload": {"query": format!("{{ echo(value: \"{}\") }}", "x".repeat(4096))}});
    send_text(&mut socket, &big.to_string()).await;
    let (code, reason) = expect_close(&mut socket).await;
    assert_eq!(code, 1009);
    assert!(reason.contains("1024"), "{reason}");
    hello(&server.url()).await;
}

/// The resident set of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test]
async fn unfinished_oversized_frames_are_refused_at_their_header() {
    let _memory = RssBound::new();
    // Ten frames announcing 15 MB each, of which a few bytes arrive: each is refused from its
    // header (close 1009), nothing is buffered, and the server keeps answering.
    let server = start_with(|b| b.max_body_bytes(1024)).await;
    let before = rss_kib();
    let mut sockets = Vec::new();
    for _ in 0..10 {
        let mut socket = connect_acked(&server.ws_url(), "graphql-transport-ws", json!({})).await;
        let mut frame = vec![0x81u8, 0xFF]; // FIN + text, masked, 64-bit length
        frame.extend_from_slice(&(15_000_000u64).to_be_bytes());
        frame.extend_from_slice(&[1, 2, 3, 4]); // mask
        frame.extend_from_slice(&[b'x'; 4096]);
        let tokio_tungstenite::MaybeTlsStream::Plain(tcp) = socket.get_mut() else {
            panic!("plain TCP expected")
        };
        tcp.write_all(&frame).await.unwrap();
        sockets.push(socket);
    }
    hello(&server.url()).await;
    for socket in &mut sockets {
        let (code, _reason) = expect_close(socket).await;
        assert_eq!(code, 1009);
    }
    let grown = rss_kib().saturating_sub(before);
    assert!(grown < 16 * 1024, "ten unfinished frames added {grown} KiB");
}

/// The head and first parts of an upload request announcing `length` bytes, for `query`,
/// ending inside the file's content.
fn upload_prefix(query: &str, length: usize) -> Vec<u8> {
    let boundary = "XyZ";
    let operations = json!({"query": query, "variables": {"f": null}}).to_string();
    let parts = format!(
        "--{boundary}\r\ncontent-disposition: form-data; name=\"operations\"\r\n\r\n{operations}\r\n\
         --{boundary}\r\ncontent-disposition: form-data; name=\"map\"\r\n\r\n{{\"0\": [\"variables.f\"]}}\r\n\
         --{boundary}\r\ncontent-disposition: form-data; name=\"0\"; filename=\"a.bin\"\r\n\
         content-type: application/octet-stream\r\n\r\n{}",
        "x".repeat(1000)
    );
    let head = format!(
        "POST /graphql HTTP/1.1\r\nhost: x\r\napollo-require-preflight: true\r\ncontent-type: multipart/form-data; boundary={boundary}\r\n\
         content-length: {length}\r\n\r\n"
    );
    [head.into_bytes(), parts.into_bytes()].concat()
}

/// The status line and body of the first answer on `socket`.
async fn answer(socket: &mut TcpStream) -> String {
    let mut buffer = vec![0u8; 8192];
    let n = tokio::time::timeout(WAIT, socket.read(&mut buffer))
        .await
        .expect("an answer in time")
        .unwrap();
    String::from_utf8_lossy(&buffer[..n]).into_owned()
}

#[tokio::test]
async fn files_for_an_operation_without_upload_variables_are_refused_unread() {
    let _memory = RssBound::new();
    let server = start_with(|b| b).await;
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    // 30 MB announced, one kilobyte sent: the answer comes without the rest.
    socket
        .write_all(&upload_prefix("query($f: String) { hello }", 30_000_000))
        .await
        .unwrap();
    let answered = answer(&mut socket).await;
    assert!(answered.starts_with("HTTP/1.1 400"), "{answered}");
    assert!(
        answered.contains("no variable of type Upload"),
        "{answered}"
    );
    hello(&server.url()).await;
}

#[tokio::test]
async fn uploads_beyond_the_upload_budget_are_refused() {
    let _memory = RssBound::new();
    let server = start_with(|b| {
        b.limits(quilt_server::Limits {
            max_upload_bytes_in_flight: 64 * 1024,
            ..quilt_server::Limits::default()
        })
    })
    .await;
    let mutation = "mutation($f: Upload!) { upload(file: $f) { size } }";
    // The first upload takes most of the budget while its file is still arriving.
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    first
        .write_all(&upload_prefix(mutation, 60_000))
        .await
        .unwrap();
    // Served: the first one is being read (a normal query goes first on its own connection).
    hello(&server.url()).await;
    let mut second = TcpStream::connect(server.addr).await.unwrap();
    second
        .write_all(&upload_prefix(mutation, 60_000))
        .await
        .unwrap();
    let answered = answer(&mut second).await;
    assert!(answered.starts_with("HTTP/1.1 503"), "{answered}");
    assert!(answered.contains("CAPACITY_EXCEEDED"), "{answered}");
    // The first one leaves: its share comes back.
    drop(first);
    let form = || {
        reqwest::multipart::Form::new()
            .text(
                "operations",
                json!({"query": mutation, "variables": {"f": null}}).to_string(),
            )
            .text("map", json!({"0": ["variables.f"]}).to_string())
            .part(
                "0",
                reqwest::multipart::Part::bytes(vec![b'x'; 4096]).file_name("a.bin"),
            )
    };
    let uploaded = tokio::time::timeout(WAIT, async {
        loop {
            let response = client()
                .post(server.url())
                .header("apollo-require-preflight", "true")
                .multipart(form())
                .send()
                .await
                .unwrap();
            if response.status() != 503 {
                return response.status();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the budget came back");
    // (The in-process test subgraph does not take files; the server's answer is what counts.)
    assert_eq!(uploaded, 200);
}

/// A WebSocket connection from the local address `from` (127.0.0.0/8 all reaches the server),
/// with graphql-transport-ws, acknowledged or closed: the socket.
async fn connect_from(from: &str, server: &common::Running) -> common::ws::Socket {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            server.ws_url(),
        )
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (socket, _) = tokio::time::timeout(
        WAIT,
        tokio_tungstenite::client_async(request, tokio_tungstenite::MaybeTlsStream::Plain(stream)),
    )
    .await
    .unwrap()
    .unwrap();
    socket
}

async fn init(socket: &mut common::ws::Socket) -> Value {
    common::ws::send(socket, json!({"type": "connection_init"})).await;
    common::ws::recv(socket).await
}

#[tokio::test]
async fn one_client_cannot_take_every_subscription() {
    let _memory = RssBound::new();
    let server = start_with(|b| b.max_subscriptions_per_client(3)).await;
    let mut socket = connect_from("127.0.0.1", &server).await;
    assert_eq!(init(&mut socket).await["type"], "connection_ack");
    let ticks = json!({"query": "subscription { ticks(intervalMs: 50) }"});
    for id in ["1", "2", "3", "4"] {
        common::ws::send(
            &mut socket,
            json!({"id": id, "type": "subscribe", "payload": ticks}),
        )
        .await;
    }
    let refused = loop {
        let message = common::ws::recv(&mut socket).await;
        if message["id"] == "4" {
            break message;
        }
    };
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "TOO_MANY_SUBSCRIPTIONS"
    );
    assert!(
        refused["payload"][0]["message"]
            .as_str()
            .unwrap()
            .contains("this client"),
        "{refused}"
    );
    // Another client is served.
    let mut other = connect_from("127.0.0.2", &server).await;
    assert_eq!(init(&mut other).await["type"], "connection_ack");
    common::ws::send(
        &mut other,
        json!({"id": "1", "type": "subscribe", "payload": ticks}),
    )
    .await;
    assert_eq!(common::ws::recv(&mut other).await["type"], "next");
}

#[tokio::test]
async fn one_client_cannot_take_every_websocket_connection() {
    let _memory = RssBound::new();
    let server = start_with(|b| b.max_ws_connections_per_client(2)).await;
    let mut first = connect_from("127.0.0.1", &server).await;
    let mut second = connect_from("127.0.0.1", &server).await;
    assert_eq!(init(&mut first).await["type"], "connection_ack");
    assert_eq!(init(&mut second).await["type"], "connection_ack");
    let mut third = connect_from("127.0.0.1", &server).await;
    let (code, reason) = expect_close(&mut third).await;
    assert_eq!(code, 1013);
    assert!(reason.contains("from this client"), "{reason}");
    let mut other = connect_from("127.0.0.2", &server).await;
    assert_eq!(init(&mut other).await["type"], "connection_ack");
}

/// `PUT /graphql` from the local address `from`: the status and body.
async fn reserve_from(from: &str, server: &common::Running) -> (u16, String) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let mut stream = socket.connect(server.addr).await.unwrap();
    stream
        .write_all(
            b"PUT /graphql HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        )
        .await
        .unwrap();
    let answered = read_to_close(&mut stream).await;
    let status = answered[9..12].parse().unwrap();
    let body = answered
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn one_client_cannot_take_every_sse_reservation_and_tokens_are_unguessable() {
    let _memory = RssBound::new();
    let server = start_with(|b| b.max_sse_reservations_per_client(2)).await;
    let (status, first) = reserve_from("127.0.0.1", &server).await;
    assert_eq!(status, 201);
    let (status, second) = reserve_from("127.0.0.1", &server).await;
    assert_eq!(status, 201);
    assert_ne!(first, second);
    for token in [&first, &second] {
        assert_eq!(token.len(), 32, "{token}");
        assert!(token.chars().all(|c| c.is_ascii_hexdigit()), "{token}");
    }
    let (status, refused) = reserve_from("127.0.0.1", &server).await;
    assert_eq!(status, 503, "{refused}");
    assert!(refused.contains("this client"), "{refused}");
    let (status, _) = reserve_from("127.0.0.2", &server).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn a_websocket_keeps_its_connection_slot_until_it_closes() {
    let _memory = RssBound::new();
    let server = start_with(|b| b.max_connections(1)).await;
    let mut socket = connect_acked(&server.ws_url(), "graphql-transport-ws", json!({})).await;
    let mut refused = TcpStream::connect(server.addr).await.unwrap();
    let answered = read_to_close(&mut refused).await;
    assert!(answered.starts_with("HTTP/1.1 503"), "{answered}");
    futures::SinkExt::close(&mut socket).await.unwrap();
    drop(socket);
    let served = tokio::time::timeout(WAIT, async {
        loop {
            let mut next = TcpStream::connect(server.addr).await.unwrap();
            next.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                .await
                .unwrap();
            if read_to_close(&mut next).await.starts_with("HTTP/1.1 200") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(served.is_ok(), "the WebSocket's slot was not freed");
}
