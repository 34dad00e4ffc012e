//! What the differential tests against the graphql-tools reference share: a corpus entry, the
//! reference's answer over HTTP, error paths compared as sorted lists, a peer's request count.

use std::time::Duration;

use quilt_test_support::JsPeer;
use serde_json::{Value, json};

/// One operation of a corpus.
pub struct Case {
    pub query: &'static str,
    pub variables: Value,
    /// The spec's error paths where the reference's are wrong (graphql-tools reports batched
    /// errors without the list index); `None`: the reference's own.
    pub spec_paths: Option<Vec<&'static str>>,
}

/// An operation without variables whose error paths are the reference's.
pub fn case(query: &'static str) -> Case {
    Case {
        query,
        variables: json!({}),
        spec_paths: None,
    }
}

/// An operation whose error paths are `paths` (the reference's are wrong).
pub fn spec(query: &'static str, paths: Vec<&'static str>) -> Case {
    Case {
        spec_paths: Some(paths),
        ..case(query)
    }
}

impl Case {
    /// The error paths expected: the spec's where given, else the reference's, sorted.
    pub fn expected_paths(&self, reference: &Value) -> Vec<String> {
        match &self.spec_paths {
            Some(paths) => {
                let mut paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
                paths.sort();
                paths
            }
            None => error_paths(reference),
        }
    }
}

/// A client with a 10 s timeout.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The reference gateway's answer to `query`.
pub async fn post(client: &reqwest::Client, url: &str, query: &str, variables: &Value) -> Value {
    let body = json!({"query": query, "variables": variables});
    let response = client.post(url).json(&body).send().await.unwrap();
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

/// The paths of a result's errors, printed and sorted.
pub fn error_paths(result: &Value) -> Vec<String> {
    let mut paths: Vec<String> = result["errors"]
        .as_array()
        .map(|errors| errors.iter().map(|e| e["path"].to_string()).collect())
        .unwrap_or_default();
    paths.sort();
    paths
}

/// The GraphQL requests a counting JavaScript service has received (`GET /count`).
pub async fn count(client: &reqwest::Client, peer: &JsPeer) -> u64 {
    let text = client
        .get(peer.http_url("/count"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.trim().parse().unwrap()
}
