//! Test helpers: a small HTTP executor until `quilt_executor::HttpExecutor` is merged (swap the
//! body of [`http_executor`] for `HttpExecutor::new(url)` then), and comparison helpers.

#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use quilt_executor::{
    ExecutionResult, Executor, ExecutorError, GraphQLError, Request, Response, from_fn,
};
use serde_json::{Value, json};

/// An executor that POSTs `{query, variables, operationName, extensions}` as JSON to `url` and
/// decodes the answer as an [`ExecutionResult`].
pub fn http_executor(url: String) -> impl Executor + Clone {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    from_fn(move |request: Request| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let mut body = json!({
                "query": request.query(),
                "variables": Value::Object(request.variables.clone()),
            });
            if let Some(name) = &request.operation_name {
                body["operationName"] = json!(name);
            }
            if !request.extensions.is_empty() {
                body["extensions"] = Value::Object(request.extensions.clone());
            }
            let response = client
                .post(&url)
                .json(&body)
                .send()
                .await
                .map_err(|e| ExecutorError::other(format!("POST {url}: {e}")))?;
            let bytes = response
                .bytes()
                .await
                .map_err(|e| ExecutorError::other(format!("reading {url}: {e}")))?;
            let result: ExecutionResult =
                serde_json::from_slice(&bytes).map_err(|e| ExecutorError::Decode {
                    endpoint: url.clone(),
                    message: e.to_string(),
                })?;
            Ok(Response::Single(result))
        }
    })
}

/// Executes and returns the single result.
pub async fn run(executor: &impl Executor, request: Request) -> ExecutionResult {
    tokio::time::timeout(Duration::from_secs(10), async {
        executor
            .execute(request)
            .await
            .unwrap()
            .into_single()
            .await
            .unwrap()
    })
    .await
    .expect("the request did not finish within 10 s")
}

/// A result made comparable: errors without locations (they point into different documents),
/// sorted by path and message (a service resolves fields concurrently, so the order of errors
/// of one request is not fixed even when it runs alone).
pub fn normalized(result: &ExecutionResult) -> Value {
    let mut errors: Vec<GraphQLError> = result
        .errors
        .iter()
        .cloned()
        .map(|mut e| {
            e.locations.clear();
            e
        })
        .collect();
    errors.sort_by_key(|e| serde_json::to_string(e).unwrap());
    json!({
        "data": result.data,
        "errors": errors,
    })
}
