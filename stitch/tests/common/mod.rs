//! Helpers for the stitching tests: the three services served over loopback HTTP, a small
//! constructor for Quilt's HTTP executor, a
//! recorder of what the gateway sends upstream, and the gateway over the three.

#![allow(dead_code)]

pub mod differential;
pub mod parity;
pub mod services;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use quilt_executor::{ExecuteFuture, Executor, JsonMap, Request};
use quilt_stitch::{StitchedSchema, Stitcher, SubschemaConfig};
use quilt_test_support::{Stats, TestServer, graphql_router};
use serde_json::Value;

use services::MutationLog;

/// The HTTP executor every test uses: Quilt's own, with a 5 s timeout.
pub fn http(url: String) -> quilt_executor::HttpExecutor {
    quilt_executor::HttpExecutor::builder(url)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// The gateway over federation services: each one's schema loaded from its `_service { sdl }`
/// through Quilt's HTTP executor, stitched under its name.
pub async fn federation_gateway(services: &[(&str, &TestServer)]) -> StitchedSchema {
    federation_gateway_with(services, quilt_stitch::StitchLimits::default()).await
}

/// [`federation_gateway`] with `limits`.
pub async fn federation_gateway_with(
    services: &[(&str, &TestServer)],
    limits: quilt_stitch::StitchLimits,
) -> StitchedSchema {
    let mut stitcher = Stitcher::new().limits(limits);
    for (name, server) in services {
        let executor = http(server.http_url());
        let schema = quilt_wrap::load_schema(&executor, quilt_wrap::SchemaSource::federation())
            .await
            .unwrap();
        stitcher = stitcher.subschema(SubschemaConfig::new(*name, schema, executor));
    }
    stitcher.build().unwrap()
}

/// What an executor was asked: (query, variables), in order.
#[derive(Clone, Default)]
pub struct Sent(pub Arc<Mutex<Vec<(String, JsonMap)>>>);

impl Sent {
    pub fn take(&self) -> Vec<(String, JsonMap)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// Records every request (its variables by value, those given as JSON text read) before
/// passing it on as it is.
pub struct Recording<E> {
    inner: E,
    sent: Sent,
}

impl<E> Recording<E> {
    /// `inner`, recording into `sent`.
    pub fn new(inner: E, sent: Sent) -> Self {
        Self { inner, sent }
    }
}

impl<E: Executor> Executor for Recording<E> {
    fn execute(&self, request: Request) -> ExecuteFuture {
        let mut variables = request.variables.clone();
        for (name, raw) in &request.raw_variables {
            if !variables.contains_key(name) {
                variables.insert(name.clone(), serde_json::from_str(raw.get()).unwrap());
            }
        }
        self.sent
            .0
            .lock()
            .unwrap()
            .push((request.query().to_owned(), variables));
        self.inner.execute(request)
    }
}

/// The three services running, with the SDL each one publishes.
pub struct Services {
    pub accounts: TestServer,
    pub products: TestServer,
    pub reviews: TestServer,
    pub sdl: [String; 3],
    pub log: MutationLog,
}

impl Services {
    pub async fn start() -> Self {
        let log = MutationLog::default();
        let localhost = "127.0.0.1:0".parse().unwrap();
        let (a, p, r) = (
            services::accounts(log.clone()),
            services::products_schema(log.clone()),
            services::reviews_schema(log.clone()),
        );
        let sdl = [a.sdl(), p.sdl(), r.sdl()];
        let stats = [Stats::default(), Stats::default(), Stats::default()];
        Self {
            accounts: TestServer::serve(
                localhost,
                graphql_router(a, stats[0].clone()),
                stats[0].clone(),
            )
            .await
            .unwrap(),
            products: TestServer::serve(
                localhost,
                graphql_router(p, stats[1].clone()),
                stats[1].clone(),
            )
            .await
            .unwrap(),
            reviews: TestServer::serve(
                localhost,
                graphql_router(r, stats[2].clone()),
                stats[2].clone(),
            )
            .await
            .unwrap(),
            sdl,
            log,
        }
    }

    /// The subschema configs (names `accounts`, `products`, `reviews`) over HTTP, recording
    /// what is sent to each.
    pub fn subschemas(&self) -> (Vec<SubschemaConfig>, [Sent; 3]) {
        let sent = [Sent::default(), Sent::default(), Sent::default()];
        let names = ["accounts", "products", "reviews"];
        let urls = [
            self.accounts.http_url(),
            self.products.http_url(),
            self.reviews.http_url(),
        ];
        let configs = (0..3)
            .map(|i| {
                let executor = Recording {
                    inner: http(urls[i].clone()),
                    sent: sent[i].clone(),
                };
                SubschemaConfig::from_sdl(names[i], &self.sdl[i], executor).unwrap()
            })
            .collect();
        (configs, sent)
    }

    /// The gateway over the three services, and the recorders of what it sends.
    pub fn gateway(&self) -> (StitchedSchema, [Sent; 3]) {
        let (configs, sent) = self.subschemas();
        let stitcher = configs
            .into_iter()
            .fold(Stitcher::new(), |s, c| s.subschema(c));
        (stitcher.build().unwrap(), sent)
    }
}

/// Runs `query` with `variables` through `executor` and returns the result as JSON.
pub async fn run(executor: &impl Executor, query: &str, variables: Value) -> Value {
    run_op(executor, query, variables, None).await
}

/// Like [`run`], selecting an operation by name.
pub async fn run_op(
    executor: &impl Executor,
    query: &str,
    variables: Value,
    operation_name: Option<&str>,
) -> Value {
    let mut request = Request::new(query.to_owned()).unwrap();
    if let Value::Object(map) = variables {
        request.variables = map;
    }
    request.operation_name = operation_name.map(str::to_owned);
    // The server's path: the data as JSON bytes, written while it is completed.
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        executor.execute(request.data_form(quilt_executor::DataForm::Json)),
    )
    .await
    .expect("the gateway answered within 10 s")
    .unwrap();
    let result = response.into_single().await.unwrap();
    serde_json::from_slice(&result.to_json().unwrap()).unwrap()
}
