//! Shared by the server's integration tests: a real server on 127.0.0.1:0 serving the test
//! subgraph in process, and a runner for the Node reference clients.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

pub mod ws;

use quilt_executor::Executor;
use quilt_server::{GraphQLServer, GraphQLServerBuilder};
use quilt_test_support::{LocalExecutor, Stats, subgraph};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long a test waits for anything.
pub const WAIT: Duration = Duration::from_secs(10);

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

/// Runs `node <script> <args>` in test-support/js (at most 30 s) and returns its standard
/// output's lines parsed as JSON.
pub async fn node(script: &str, args: &[&str]) -> Vec<Value> {
    let output = tokio::process::Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(quilt_test_support::js::js_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), output)
        .await
        .unwrap_or_else(|_| panic!("node {script} did not finish within 30 s"))
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "node {script} failed: {}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

/// A reqwest client.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(WAIT).build().unwrap()
}
