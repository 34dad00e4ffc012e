//! What a wrapper passes on travels in the request, so it passes on by construction: the form
//! in which the caller wants the data, and variables given as JSON text. Pinned here through
//! every combinator, in front of real services on loopback.

#![allow(clippy::unwrap_used)]

mod http_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http::HeaderMap;
use http::header::AUTHORIZATION;
use http_support::{next, recorder, within};
use quilt_executor::{
    DataForm, DedupOptions, ExecutionResult, Executor, ExecutorExt, HeaderRules, HttpExecutor,
    Request, Response, ResultData, RetryPolicy, SharedExecutor, from_fn,
};
use quilt_test_support::TestServer;
use serde_json::value::RawValue;
use serde_json::{Value, json};

const QUERY: &str = "query($n: String!) { hello(name: $n) }";

fn request(form: DataForm) -> Request {
    Request::new(QUERY)
        .unwrap()
        .variable("n", json!("form"))
        .data_form(form)
}

async fn answer(executor: &dyn Executor, request: Request) -> ExecutionResult {
    within(async { executor.execute(request).await?.into_single().await })
        .await
        .unwrap()
}

/// The HTTP executor of `url` behind each of the combinators (and behind all of them at once).
fn wrapped(url: &str) -> Vec<(&'static str, SharedExecutor)> {
    let http = || {
        HttpExecutor::builder(url)
            .header_rules(HeaderRules::new().propagate(AUTHORIZATION))
            .build()
            .unwrap()
    };
    let nothing = from_fn(|_r: Request| async {
        Ok(Response::Single(ExecutionResult::from_data(json!("other"))))
    });
    vec![
        ("http", http().boxed()),
        ("timeout", http().timeout(Duration::from_secs(10)).boxed()),
        ("retry", http().retry(RetryPolicy::new(2)).boxed()),
        (
            "with_headers",
            http().with_headers(|_r: &Request| HeaderMap::new()).boxed(),
        ),
        (
            "dedup_inflight",
            http().dedup_inflight(DedupOptions::default()).boxed(),
        ),
        ("route", http().route_subscriptions(nothing).boxed()),
        ("map_request", http().map_request(|r| r).boxed()),
        ("arc", Arc::new(Arc::new(http())).boxed()),
        (
            "all of them",
            http()
                .timeout(Duration::from_secs(10))
                .retry(RetryPolicy::new(2))
                .with_headers(|_r: &Request| HeaderMap::new())
                .dedup_inflight(DedupOptions::default())
                .map_request(|r| r)
                .boxed(),
        ),
    ]
}

#[tokio::test]
async fn every_combinator_passes_the_asked_form_on_to_the_http_executor() {
    let server = TestServer::start().await.unwrap();
    for (name, executor) in wrapped(&server.http_url()) {
        let tree = answer(&*executor, request(DataForm::Tree)).await;
        assert_eq!(
            tree.data.as_ref().map(ResultData::form),
            Some(DataForm::Tree),
            "{name}: asked for a tree"
        );
        assert_eq!(tree.data_value(), Some(json!({"hello": "Hello, form!"})));
        let value = answer(&*executor, request(DataForm::Value)).await;
        assert_eq!(
            value.data.as_ref().map(ResultData::form),
            Some(DataForm::Value),
            "{name}: asked for a value"
        );
        assert_eq!(value.data_value(), tree.data_value(), "{name}");
    }
}

#[tokio::test]
async fn shared_executions_keep_each_callers_form() {
    let server = TestServer::start().await.unwrap();
    let executor = HttpExecutor::new(server.http_url())
        .unwrap()
        .dedup_inflight(DedupOptions::default());
    let (tree, value) = tokio::join!(
        answer(&executor, request(DataForm::Tree)),
        answer(&executor, request(DataForm::Value)),
    );
    assert_eq!(
        tree.data.as_ref().map(ResultData::form),
        Some(DataForm::Tree)
    );
    assert_eq!(
        value.data.as_ref().map(ResultData::form),
        Some(DataForm::Value)
    );
    assert_eq!(tree.data, value.data, "the same data in two forms");
}

#[tokio::test]
async fn map_result_reads_a_value_and_answers_in_the_asked_form() {
    let server = TestServer::start().await.unwrap();
    let saw_value = Arc::new(AtomicBool::new(false));
    let seen = saw_value.clone();
    let executor = HttpExecutor::new(server.http_url())
        .unwrap()
        .map_result(move |mut result| {
            let value = result.data.as_ref().and_then(ResultData::as_value).cloned();
            seen.store(value.is_some(), Ordering::SeqCst);
            result.data = value.map(|v| json!({"mapped": v}).into());
            result
        });
    for form in [DataForm::Tree, DataForm::Json, DataForm::Value] {
        saw_value.store(false, Ordering::SeqCst);
        let result = answer(&executor, request(form)).await;
        assert!(
            saw_value.load(Ordering::SeqCst),
            "{form:?}: the function got a value"
        );
        assert_eq!(result.data.as_ref().map(ResultData::form), Some(form));
        assert_eq!(
            result.data_value(),
            Some(json!({"mapped": {"hello": "Hello, form!"}}))
        );
    }
}

#[tokio::test]
async fn variables_given_as_json_text_reach_the_wire_as_written_through_every_combinator() {
    let (server, mut seen) = recorder(200, "application/json", r#"{"data":{"ok":true}}"#).await;
    // Spaces the by-value path would not write: the text went through untouched.
    let text = r#"[1, {"b": "two"}]"#;
    for (name, executor) in wrapped(&server.http_url()) {
        if name == "map_request" || name == "all of them" {
            continue;
        }
        let request = Request::new("query($list: [In]) { a(list: $list) }")
            .unwrap()
            .raw_variable("list", RawValue::from_string(text.to_owned()).unwrap());
        let result = answer(&*executor, request).await;
        assert_eq!(result.data_value(), Some(json!({"ok": true})), "{name}");
        let body = next(&mut seen).await.body;
        let body = std::str::from_utf8(&body).unwrap();
        assert!(
            body.contains(&format!(r#""variables":{{"list":{text}}}"#)),
            "{name}: {body}"
        );
    }
}

#[tokio::test]
async fn functions_read_variables_given_as_json_text_by_value() {
    let (server, mut seen) = recorder(200, "application/json", r#"{"data":{"ok":true}}"#).await;
    let text = r#"[1, {"b": "two"}]"#;
    let raw = || RawValue::from_string(text.to_owned()).unwrap();
    // `map_request` hands its function every variable by value (and the wire gets values).
    let http = HttpExecutor::new(server.http_url()).unwrap();
    let mapped = http.map_request(|request: Request| {
        assert!(request.raw_variables.is_empty());
        let list = request.variables["list"].clone();
        request.variable("copy", list)
    });
    let request = Request::new("query($list: [In]) { a(list: $list) }")
        .unwrap()
        .raw_variable("list", raw());
    answer(&mapped, request).await;
    let body = next(&mut seen).await.json();
    assert_eq!(
        body["variables"],
        json!({"list": [1, {"b": "two"}], "copy": [1, {"b": "two"}]})
    );
    // So does `from_fn`.
    let echo = from_fn(|request: Request| async move {
        let variables = Value::Object(request.variables.clone());
        let raw = request.raw_variables.len();
        Ok(Response::Single(ExecutionResult::from_data(
            json!({"variables": variables, "raw": raw}),
        )))
    });
    let request = Request::new("query($list: [In]) { a(list: $list) }")
        .unwrap()
        .raw_variable("list", raw());
    let result = answer(&echo, request).await;
    assert_eq!(
        result.data_value(),
        Some(json!({"variables": {"list": [1, {"b": "two"}]}, "raw": 0}))
    );
}
