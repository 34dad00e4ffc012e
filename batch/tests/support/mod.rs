//! Test helpers: the HTTP executor the tests use, and comparison helpers.

#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use quilt_executor::{ExecutionResult, Executor, GraphQLError, Request};
use serde_json::{Value, json};

/// Quilt's HTTP executor for `url`, with in-flight deduplication off so that the upstream
/// request counts measure batching alone.
pub fn http_executor(url: String) -> impl Executor + Clone {
    quilt_executor::HttpExecutor::builder(url)
        .timeout(Duration::from_secs(10))
        .deduplicate_inflight(false)
        .build()
        .unwrap()
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
