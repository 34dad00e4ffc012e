//! The HTTP executor against the JavaScript reference peers: graphql-yoga 5 (with
//! @graphql-yoga/plugin-defer-stream) and graphql-sse's handler, started from
//! `test-support/js`.

#![allow(clippy::unwrap_used)] // a panic in a test is a test failure

mod http_support;

use futures::StreamExt;
use http_support::within;
use quilt_executor::http::HttpExecutor;
use quilt_executor::{ExecutionResult, Executor, Request, Upload};
use quilt_test_support::JsPeer;
use serde_json::{Value, json};

async fn yoga() -> (JsPeer, HttpExecutor) {
    let peer = JsPeer::start("yoga.mjs", &[]).await.unwrap();
    let executor = HttpExecutor::new(peer.http_url("/graphql")).unwrap();
    (peer, executor)
}

async fn single(executor: &HttpExecutor, request: Request) -> ExecutionResult {
    let response = within(executor.execute(request)).await.unwrap();
    assert!(!response.is_stream(), "expected a single result");
    response.into_single().await.unwrap()
}

async fn all(executor: &HttpExecutor, request: Request) -> Vec<ExecutionResult> {
    let response = within(executor.execute(request)).await.unwrap();
    assert!(response.is_stream(), "expected a stream");
    within(response.into_stream().collect::<Vec<_>>())
        .await
        .into_iter()
        .map(|item| item.unwrap())
        .collect()
}

#[tokio::test]
async fn yoga_answers_a_post_query_with_variables_and_errors() {
    let (_peer, executor) = yoga().await;
    let request = Request::new("query($n: String) { hello(name: $n) }")
        .unwrap()
        .variable("n", json!("Quilt"));
    let result = single(&executor, request).await;
    assert_eq!(result.data_value(), Some(json!({"hello": "Hello, Quilt!"})));

    let result = single(&executor, Request::new("{ hello fail }").unwrap()).await;
    assert_eq!(
        result.data_value(),
        Some(json!({"hello": "Hello, world!", "fail": null}))
    );
    assert_eq!(result.errors[0].message, "yoga field failed");
}

#[tokio::test]
async fn yoga_answers_a_get_query_with_headers() {
    let peer = JsPeer::start("yoga.mjs", &[]).await.unwrap();
    let executor = HttpExecutor::builder(peer.http_url("/graphql"))
        .use_get_for_queries(true)
        .header("x-quilt", "over GET")
        .build()
        .unwrap();
    let result = single(
        &executor,
        Request::new(r#"{ hello header(name: "x-quilt") }"#).unwrap(),
    )
    .await;
    assert_eq!(
        result.data_value(),
        Some(json!({"hello": "Hello, world!", "header": "over GET"}))
    );
}

#[tokio::test]
async fn yoga_streams_a_subscription_over_sse() {
    let (_peer, executor) = yoga().await;
    let events = all(
        &executor,
        Request::new("subscription { count(to: 4) }").unwrap(),
    )
    .await;
    let counts: Vec<Value> = events
        .iter()
        .map(|e| e.data_value().unwrap()["count"].clone())
        .collect();
    assert_eq!(counts, vec![json!(1), json!(2), json!(3), json!(4)]);
}

#[tokio::test]
async fn yoga_defers_over_multipart_mixed() {
    let (_peer, executor) = yoga().await;
    let events = all(
        &executor,
        Request::new("{ fast ... @defer { slow } }").unwrap(),
    )
    .await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].data_value(), Some(json!({"fast": "fast"})));
    assert_eq!(events[0].has_next, Some(true));
    let incremental = events[1].incremental.as_ref().unwrap();
    assert_eq!(incremental[0].data, Some(json!({"slow": "slow"})));
    assert_eq!(events.last().unwrap().has_next, Some(false));
}

#[tokio::test]
async fn yoga_streams_a_list_over_multipart_mixed() {
    let (_peer, executor) = yoga().await;
    let events = all(
        &executor,
        Request::new("{ letters @stream(initialCount: 1) }").unwrap(),
    )
    .await;
    assert_eq!(events[0].data_value(), Some(json!({"letters": ["a"]})));
    let streamed: Vec<Value> = events[1..]
        .iter()
        .flat_map(|e| e.incremental.clone().unwrap_or_default())
        .flat_map(|i| i.items.unwrap_or_default())
        .collect();
    assert_eq!(streamed, vec![json!("b"), json!("c")]);
    assert_eq!(events.last().unwrap().has_next, Some(false));
}

#[tokio::test]
async fn yoga_receives_a_file_upload() {
    let (_peer, executor) = yoga().await;
    let request = Request::new(
        "mutation($file: File!) { upload(file: $file) { filename mimeType content size } }",
    )
    .unwrap()
    .upload(
        "file",
        Upload::new("notes.txt", "uploaded to yoga").content_type("text/plain"),
    );
    let result = single(&executor, request).await;
    assert_eq!(
        result.data_value(),
        Some(
            json!({"upload": {"filename": "notes.txt", "mimeType": "text/plain", "content": "uploaded to yoga", "size": 16}})
        ),
        "{:?}",
        result.errors
    );
}

#[tokio::test]
async fn graphql_sse_handler_streams_a_subscription_and_answers_a_query() {
    let peer = JsPeer::start("graphql-sse.mjs", &[]).await.unwrap();
    let executor = HttpExecutor::new(peer.http_url("/graphql/stream")).unwrap();
    let events = all(
        &executor,
        Request::new("subscription { count(to: 5) }").unwrap(),
    )
    .await;
    let counts: Vec<Value> = events
        .iter()
        .map(|e| e.data_value().unwrap()["count"].clone())
        .collect();
    assert_eq!(counts, (1..=5).map(|n| json!(n)).collect::<Vec<_>>());

    // graphql-sse's distinct connections mode takes every operation as an event stream, so a
    // query asks for one with a per-request `accept` header.
    let request = Request::new(r#"{ hello(name: "SSE") }"#)
        .unwrap()
        .extension("headers", json!({"accept": "text/event-stream"}));
    let result = within(executor.execute(request))
        .await
        .unwrap()
        .into_single()
        .await
        .unwrap();
    assert_eq!(result.data_value(), Some(json!({"hello": "Hello, SSE!"})));
}
