//! Test helpers: the test subgraph's schema from its SDL, and a small HTTP executor (POST JSON)
//! until `quilt_executor::HttpExecutor` is available.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use apollo_compiler::Schema;
use quilt_executor::{ExecutionResult, Executor, ExecutorError, Request, Response, from_fn};
use quilt_test_support::TestServer;
use quilt_wrap::{Transform, WrapSchemaConfig, WrappedSchema, wrap_schema};
use serde_json::{Value, json};

/// The test subgraph's schema, parsed and validated from the SDL async-graphql prints.
pub fn subgraph_schema() -> Schema {
    let sdl = quilt_test_support::subgraph::schema(quilt_test_support::Stats::default()).sdl();
    Schema::parse_and_validate(sdl, "subgraph.graphql")
        .expect("the test subgraph's SDL is valid")
        .into_inner()
}

/// What the executor sent: the query text and the variables of each request.
pub type Sent = Arc<Mutex<Vec<(String, Value)>>>;

/// An executor that POSTs `{query, variables, operationName}` to `url` and decodes the JSON
/// answer, recording each request it sends.
pub fn http_executor(url: String, sent: Sent) -> impl Executor {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    from_fn(move |request: Request| {
        let client = client.clone();
        let url = url.clone();
        let body = json!({
            "query": request.query(),
            "variables": Value::Object(request.variables.clone()),
            "operationName": request.operation_name,
        });
        sent.lock()
            .unwrap()
            .push((request.query().to_owned(), body["variables"].clone()));
        async move {
            let response = client
                .post(&url)
                .json(&body)
                .send()
                .await
                .map_err(ExecutorError::from_source)?;
            let result: ExecutionResult =
                response.json().await.map_err(ExecutorError::from_source)?;
            Ok(Response::Single(result))
        }
    })
}

/// A running subgraph and a wrapped schema over it.
pub struct Wrapped {
    /// The server (kept alive).
    #[allow(dead_code)]
    pub server: TestServer,
    /// The wrapped schema.
    pub wrapped: WrappedSchema,
    /// What was sent upstream.
    pub sent: Sent,
}

impl Wrapped {
    /// Runs `query` with `variables` through the wrapped schema; returns the result as JSON.
    pub async fn run(&self, query: &str, variables: Value) -> Value {
        run(&self.wrapped, query, variables).await
    }

    /// The last query text sent upstream.
    pub fn last_query(&self) -> String {
        self.sent
            .lock()
            .unwrap()
            .last()
            .expect("a request was sent")
            .0
            .clone()
    }

    /// The last variables sent upstream.
    pub fn last_variables(&self) -> Value {
        self.sent
            .lock()
            .unwrap()
            .last()
            .expect("a request was sent")
            .1
            .clone()
    }

    /// The transformed schema printed as SDL.
    pub fn sdl(&self) -> String {
        self.wrapped.schema().to_string()
    }
}

/// Starts the subgraph and wraps its schema with `transforms`.
pub async fn wrap(transforms: Vec<Box<dyn Transform>>) -> Wrapped {
    let server = TestServer::start().await.unwrap();
    let sent = Sent::default();
    let executor = http_executor(server.http_url(), sent.clone());
    let mut config = WrapSchemaConfig::new(subgraph_schema(), executor).name("subgraph");
    config.transforms = transforms;
    let wrapped = wrap_schema(config).unwrap();
    Wrapped {
        server,
        wrapped,
        sent,
    }
}

/// Runs `query` with `variables` through `executor` and returns the result as JSON.
pub async fn run(executor: &impl Executor, query: &str, variables: Value) -> Value {
    let Value::Object(variables) = variables else {
        panic!("variables must be an object")
    };
    let request = Request::new(query).unwrap().variables(variables);
    let response = tokio::time::timeout(Duration::from_secs(10), executor.execute(request))
        .await
        .expect("no timeout")
        .expect("executes");
    let result = tokio::time::timeout(Duration::from_secs(10), response.into_single())
        .await
        .expect("no timeout")
        .expect("a result");
    serde_json::to_value(result).unwrap()
}

/// The type of `field` of `type_name` in SDL form, or `None`.
pub fn field_type(schema: &Schema, type_name: &str, field: &str) -> Option<String> {
    schema
        .type_field(type_name, field)
        .ok()
        .map(|f| f.ty.to_string())
}
