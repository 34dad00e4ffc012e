#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing
//! Bad input reaching a stitched schema through quilt-server: a malformed JSON body, an
//! unknown operation name, wrong variable types, a 1 MB document and a deeply nested one each
//! get a clear error with the GraphQL-over-HTTP status, and the gateway keeps serving.

mod common;

use common::{settings, start};
use serde_json::{Value, json};

async fn post(client: &reqwest::Client, url: &str, body: String) -> (u16, Value) {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/graphql-response+json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn message(body: &Value) -> String {
    body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn bad_input_gets_clear_errors_and_the_gateway_keeps_serving() {
    let gateway = start(settings(Vec::new())).await;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();
    let url = &gateway.url;

    let (status, body) = post(&client, url, "{\"query\": \"{ me { name } }\"".into()).await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).to_lowercase().contains("json"), "{body}");

    let (status, body) = post(
        &client,
        url,
        json!({"query": "query A { me { name } }", "operationName": "B"}).to_string(),
    )
    .await;
    assert!(status == 400 || status == 422 || status == 200, "{status}");
    assert!(
        body.get("data").is_none() && message(&body).contains('B'),
        "{body}"
    );

    let (status, body) = post(
        &client,
        url,
        json!({"query": "query ($n: Int) { topProducts(first: $n) { name } }", "variables": {"n": "five"}}).to_string(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.get("data").is_none() && message(&body).contains('n'),
        "{body}"
    );

    let huge = format!("{{ me {{ name }} }} # {}", "x".repeat(1024 * 1024));
    let (status, body) = post(&client, url, json!({"query": huge}).to_string()).await;
    assert!(status == 400 || status == 413, "{status} {body}");
    assert!(body.get("data").is_none(), "{body}");

    let deep = format!(
        "{{ me {}name{} }}",
        "{ reviews { product { reviews ".repeat(60),
        " } } }".repeat(60)
    );
    let (status, body) = post(&client, url, json!({"query": deep}).to_string()).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        !message(&body).is_empty() && body.get("data").is_none(),
        "{body}"
    );

    // Still serving.
    let (status, body) = post(
        &client,
        url,
        json!({"query": "{ me { name } }"}).to_string(),
    )
    .await;
    assert_eq!(
        (status, body),
        (200, json!({"data": {"me": {"name": "Ada"}}}))
    );
}
