//! The test server itself answers every protocol the executors' tests rely on.
#![allow(clippy::unwrap_used)]

use quilt_test_support::{TestServer, WAIT};
use serde_json::{Value, json};

async fn post(url: &str, body: Value, accept: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .header("accept", accept)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn answers_post_get_and_counts_requests() {
    let server = TestServer::start().await.unwrap();
    let r: Value = post(
        &server.http_url(),
        json!({"query": "{ hello(name: \"Quilt\") }"}),
        "application/json",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(r, json!({"data": {"hello": "Hello, Quilt!"}}));
    let r: Value = reqwest::get(format!("{}?query=%7B%20hello%20%7D", server.http_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r, json!({"data": {"hello": "Hello, world!"}}));
    assert_eq!(server.stats().snapshot().http_requests, 2);
}

#[tokio::test]
async fn streams_subscriptions_over_sse_and_multipart() {
    let server = TestServer::start().await.unwrap();
    let body = post(
        &server.http_url(),
        json!({"query": "subscription { count(to: 3) }"}),
        "text/event-stream",
    )
    .await
    .text()
    .await
    .unwrap();
    assert_eq!(body.matches("event: next").count(), 3, "{body}");
    assert!(body.contains("event: complete"), "{body}");
    let body = post(
        &server.http_url(),
        json!({"query": "subscription { count(to: 2) }"}),
        "multipart/mixed;subscriptionSpec=1.0",
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        body.contains(r#"{"payload":{"data":{"count":2}}}"#),
        "{body}"
    );
    server
        .stats()
        .wait_for(WAIT, |c| c.subscriptions_finished == 2)
        .await
        .unwrap();
}

#[tokio::test]
async fn restarts_on_the_same_port() {
    let server = TestServer::start().await.unwrap();
    let addr = server.addr();
    let server = server.restart().await.unwrap();
    assert_eq!(server.addr(), addr);
    let r = post(
        &server.http_url(),
        json!({"query": "{ hello }"}),
        "application/json",
    )
    .await;
    assert!(r.status().is_success());
    server.stop().await;
    let refused = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .send()
        .await;
    assert!(refused.is_err());
}
