//! Shared by the server's integration tests: a real server on 127.0.0.1:0 serving the test
//! subgraph in process; the Node runner and the WebSocket client come from test-support.
#![allow(dead_code)]

use std::net::SocketAddr;

#[allow(unused_imports)] // each test file uses a part
pub use quilt_test_support::{js::node, ws_client as ws};

use quilt_executor::Executor;
use quilt_server::{GraphQLServer, GraphQLServerBuilder};
use quilt_test_support::{LocalExecutor, Stats, subgraph};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long a test waits for anything.
pub const WAIT: std::time::Duration = quilt_test_support::WAIT;

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub stats: Stats,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/graphql", self.addr)
    }

    /// Starts graceful shutdown without waiting for it.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Starts graceful shutdown and waits (bounded) for `serve` to return.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        self.begin_shutdown();
        let handle = self.handle.take().expect("running");
        tokio::time::timeout(WAIT, handle)
            .await
            .expect("graceful shutdown finished in time")
            .expect("serve task did not panic")
    }

    /// Waits for `serve` to return after a shutdown began elsewhere.
    pub async fn finished(&mut self) -> std::io::Result<()> {
        let handle = self.handle.take().expect("running");
        tokio::time::timeout(WAIT, handle)
            .await
            .expect("graceful shutdown finished in time")
            .expect("serve task did not panic")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(handle) = &self.handle {
            handle.abort();
        }
    }
}

/// Serves the test subgraph (in process) with the default settings.
pub async fn start() -> Running {
    start_with(|b| b).await
}

/// Serves the test subgraph with settings changed by `configure`.
pub async fn start_with(
    configure: impl FnOnce(GraphQLServerBuilder) -> GraphQLServerBuilder,
) -> Running {
    let stats = Stats::default();
    let executor = LocalExecutor::new(subgraph::schema(stats.clone()));
    serve(executor, stats, configure).await
}

/// Serves any executor.
pub async fn serve(
    executor: impl Executor,
    stats: Stats,
    configure: impl FnOnce(GraphQLServerBuilder) -> GraphQLServerBuilder,
) -> Running {
    let server = configure(GraphQLServer::builder(executor)).build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stop_rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(server.serve_with_shutdown(listener, async move {
        let _ = stop_rx.await;
    }));
    Running {
        addr,
        stats,
        stop: Some(stop),
        handle: Some(handle),
    }
}

/// A reqwest client.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(WAIT).build().unwrap()
}

/// SSE single-connection mode at `url`: reserves a stream (`PUT`), checking the `201`; its token.
pub async fn reserve_stream(url: &str) -> String {
    let reserve = client().put(url).send().await.unwrap();
    assert_eq!(reserve.status(), 201);
    reserve.text().await.unwrap()
}

/// SSE single-connection mode at `url`: opens the event stream of `token`.
pub async fn open_reserved_stream(url: &str, token: &str) -> reqwest::Response {
    client()
        .get(url)
        .header("accept", "text/event-stream")
        .header("x-graphql-event-stream-token", token)
        .send()
        .await
        .unwrap()
}

/// SSE single-connection mode at `url`: starts the operation of `body` on `token`'s stream.
pub async fn start_on_stream(
    url: &str,
    token: &str,
    body: &serde_json::Value,
) -> reqwest::Response {
    client()
        .post(url)
        .header("x-graphql-event-stream-token", token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// What single-connection SSE delivers for the test subgraph's `{ hello }` started as
/// operation `id`: its `next` event, then its `complete` event (event name, data).
pub fn hello_events(id: &str) -> Vec<(String, serde_json::Value)> {
    use serde_json::json;
    vec![
        (
            "next".to_owned(),
            json!({"id": id, "payload": {"data": {"hello": "Hello, world!"}}}),
        ),
        ("complete".to_owned(), json!({"id": id})),
    ]
}

/// Sends `GET /health` on a new connection to `addr` and reads the answer (at most 4 KiB,
/// within `WAIT`); the connection is returned open.
pub async fn health(addr: SocketAddr) -> (tokio::net::TcpStream, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = vec![0u8; 4096];
    let n = tokio::time::timeout(WAIT, socket.read(&mut buffer))
        .await
        .expect("an answer in time")
        .unwrap();
    let answer = String::from_utf8_lossy(&buffer[..n]).into_owned();
    (socket, answer)
}
