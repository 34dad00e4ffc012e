//! An in-process gateway on `127.0.0.1:0` for the tests, and small clients. Shared by
//! gateway-example's tests and the end-to-end tests of the workspace's `tests/` crate; the
//! waits and the gateway process come from test-support.

#![allow(dead_code)] // each test file uses a part

use axum::Router;
use gateway_example::config::Settings;
use gateway_example::run::{Prepared, prepare, server};
use gateway_example::spec::SubschemaSpec;
use quilt_executor::{Executor, HttpExecutor, Request};
use quilt_test_support::WAIT;
#[allow(unused_imports)] // each test file uses a part
pub use quilt_test_support::{process::GatewayProcess, wait_for, wait_until, within};
use serde_json::Value;
use tokio_util::task::AbortOnDropHandle;

/// A running gateway; dropping it stops it (and the demo services it started).
pub struct TestGateway {
    pub url: String,
    pub prepared: Prepared,
    /// The server (its router runs in the task); for its counters.
    pub server: quilt_server::GraphQLServer,
    _task: AbortOnDropHandle<()>,
}

/// Settings for `subschemas` (none: the demo), listening on a free port.
pub fn settings(subschemas: Vec<SubschemaSpec>) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        subschemas,
        ..Settings::default()
    }
}

/// Starts a gateway.
pub async fn start(settings: Settings) -> TestGateway {
    start_with(settings, Router::new()).await
}

/// Starts a gateway whose server also has the routes of `extra`. The port is bound first, so
/// the callback URL of callback subscriptions derives from it.
pub async fn start_with(mut settings: Settings, extra: Router) -> TestGateway {
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    settings.listen = addr;
    let prepared = within(prepare(&settings)).await.unwrap();
    let server = server(&prepared, &settings);
    let router = server.router().merge(extra);
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    TestGateway {
        url: format!("http://{addr}/graphql"),
        prepared,
        server,
        _task: AbortOnDropHandle::new(task),
    }
}

impl TestGateway {
    /// `ws://.../graphql`.
    pub fn ws_url(&self) -> String {
        self.url.replacen("http://", "ws://", 1)
    }

    /// The whole JSON result of a query over HTTP.
    pub async fn query(&self, query: &str) -> Value {
        self.request(Request::new(query).unwrap()).await
    }

    /// The whole JSON result of a request over HTTP.
    pub async fn request(&self, request: Request) -> Value {
        let client = HttpExecutor::builder(self.url.as_str())
            .timeout(WAIT)
            .build()
            .unwrap();
        let result = within(async { client.execute(request).await?.into_single().await })
            .await
            .unwrap();
        serde_json::to_value(result).unwrap()
    }
}

/// The three JavaScript shop services (`test-support/js/shop-subgraph.mjs`) and the
/// `--subschema` flags naming them.
pub async fn js_shop() -> (Vec<quilt_test_support::JsPeer>, Vec<String>) {
    let mut peers = Vec::new();
    let mut flags = Vec::new();
    for name in ["accounts", "products", "reviews"] {
        let peer = quilt_test_support::JsPeer::start("shop-subgraph.mjs", &[name])
            .await
            .unwrap();
        flags.push("--subschema".to_owned());
        flags.push(format!("{name}={}", peer.http_url("/graphql")));
        peers.push(peer);
    }
    (peers, flags)
}

/// Waits until the gateway's stitched schema has `clients` client subscriptions attached
/// (identical ones share one upstream subscription, so the upstream's count says less).
pub async fn wait_for_subscribers(prepared: &Prepared, clients: u64) {
    let schema = prepared.gateway.executor().current();
    within(async {
        while schema.subscription_stats().clients < clients {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// The machine's Redis (`redis://127.0.0.1:6379`) if it answers `PING`; else `None` and the
/// test skips itself, except under `CI=true`, where a missing Redis fails the test.
pub async fn redis_or_skip() -> Option<String> {
    let url = "redis://127.0.0.1:6379";
    let ping = async {
        let client = redis::Client::open(url)?;
        let mut connection = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
    };
    let answer = tokio::time::timeout(std::time::Duration::from_secs(2), ping).await;
    match answer {
        Ok(Ok(pong)) if pong == "PONG" => Some(url.to_owned()),
        other => {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "Redis must run at {url} under CI: {other:?}"
            );
            eprintln!("skipped: no Redis at {url} ({other:?})");
            None
        }
    }
}

/// A key and channel prefix no other test run uses.
pub fn unique_redis_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("quilt-test:{test}:{}:{nanos}:", std::process::id())
}

/// A directory of a test's own under the system's temporary directory, removed when dropped.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    /// A new directory named after `name` and the process.
    pub fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("gateway-example-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// Writes `text` to the file `name` in it; the file's path.
    pub fn file(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
