//! Test helpers: the test subgraph's schema from its SDL, and a small HTTP executor (POST JSON)
//! until `quilt_executor::HttpExecutor` is available.

#![allow(dead_code)]

use std::time::Duration;

use apollo_compiler::Schema;
use quilt_executor::{ExecutionResult, Executor, ExecutorError, Request, Response, from_fn};
use serde_json::{Value, json};

/// The test subgraph's schema, parsed and validated from the SDL async-graphql prints.
pub fn subgraph_schema() -> Schema {
    let sdl = quilt_test_support::subgraph::schema(quilt_test_support::Stats::default()).sdl();
    Schema::parse_and_validate(sdl, "subgraph.graphql")
        .expect("the test subgraph's SDL is valid")
        .into_inner()
}

/// An executor that POSTs `{query, variables, operationName}` to `url` and decodes the JSON
/// answer; every request it sends is also recorded (query text and variables).
pub fn http_executor(url: String, sent: std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>>) -> impl Executor {
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
        sent.lock().unwrap().push((request.query().to_owned(), body["variables"].clone()));
        async move {
            let response = client
                .post(&url)
                .json(&body)
                .send()
                .await
                .map_err(ExecutorError::from_source)?;
            let result: ExecutionResult = response.json().await.map_err(ExecutorError::from_source)?;
            Ok(Response::Single(result))
        }
    })
}

/// Runs `query` with `variables` through `executor` and returns the result as JSON.
pub async fn run(executor: &impl Executor, query: &str, variables: Value) -> Value {
    let Value::Object(variables) = variables else { panic!("variables must be an object") };
    let request = Request::new(query).unwrap().variables(variables);
    let response = tokio::time::timeout(Duration::from_secs(10), executor.execute(request))
        .await
        .expect("no timeout")
        .expect("executes");
    let result = response.into_single().await.expect("a result");
    serde_json::to_value(result).unwrap()
}
