//! An in-process gateway on `127.0.0.1:0` for the tests, and small clients.

#![allow(dead_code)] // each test file uses a part

use axum::Router;
use gateway_example::config::Settings;
use gateway_example::run::{Prepared, prepare, server};
use gateway_example::spec::SubschemaSpec;
use quilt_executor::{Executor, HttpExecutor, Request};
use quilt_test_support::WAIT;
use serde_json::Value;
use tokio_util::task::AbortOnDropHandle;

/// A running gateway; dropping it stops it (and the demo services it started).
pub struct TestGateway {
    pub url: String,
    pub prepared: Prepared,
    _task: AbortOnDropHandle<()>,
}

/// Settings for `subschemas` (none: the demo), listening on a free port.
pub fn settings(subschemas: Vec<SubschemaSpec>) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        poll_interval: None,
        graphiql_assets: None,
        subschemas,
    }
}

/// Starts a gateway.
pub async fn start(settings: Settings) -> TestGateway {
    start_with(settings, Router::new()).await
}

/// Starts a gateway whose server also has the routes of `extra`.
pub async fn start_with(settings: Settings, extra: Router) -> TestGateway {
    let prepared = within(prepare(&settings)).await.unwrap();
    let router = server(&prepared, &settings).router().merge(extra);
    let listener = tokio::net::TcpListener::bind(settings.listen).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    TestGateway {
        url: format!("http://{addr}/graphql"),
        prepared,
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

/// Awaits `future` for at most the test wait.
pub async fn within<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .expect("the test did not finish in time")
}

/// Waits until `condition` holds for the watched value.
pub async fn wait_for<T>(mut watch: tokio::sync::watch::Receiver<T>, condition: impl Fn(&T) -> bool) {
    within(watch.wait_for(condition)).await.unwrap();
}
