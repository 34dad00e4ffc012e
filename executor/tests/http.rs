//! The HTTP executor against the in-repo Rust subgraph (and small recording servers) over
//! loopback: what it sends, what it gives back.

#![allow(clippy::unwrap_used)] // a panic in a test is a test failure

mod http_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::any;
use futures::StreamExt;
use http_support::{WAIT, next, recorder, serve, within};
use quilt_executor::http::{HttpExecutor, HttpMethod, RequestTimeout, SubscriptionProtocol};
use quilt_executor::{
    Context, DataForm, ErrorKind, ExecutionResult, Executor, PathSegment, Request, Response,
    ResultData, RetryPolicy, Upload,
};
use quilt_test_support::TestServer;
use serde_json::{Value, json};
use sha2::Digest;

const OK_BODY: &str = r#"{"data":{"ok":true}}"#;

async fn single(executor: &HttpExecutor, request: Request) -> ExecutionResult {
    let response = within(executor.execute(request)).await.unwrap();
    assert!(!response.is_stream(), "expected a single result");
    response.into_single().await.unwrap()
}

#[tokio::test]
async fn query_with_variables_returns_data() {
    let server = TestServer::start().await.unwrap();
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    let request = Request::new("query U($id: ID!) { user(id: $id) { id name role } }")
        .unwrap()
        .operation_name("U")
        .variable("id", json!("2"));
    let result = single(&executor, request).await;
    assert_eq!(
        result.data_value(),
        Some(json!({"user": {"id": "2", "name": "Grace", "role": "MEMBER"}}))
    );
    assert!(result.errors.is_empty());
}

#[tokio::test]
async fn asked_for_a_tree_it_answers_the_same_result_with_its_data_as_a_tree() {
    let server = TestServer::start().await.unwrap();
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    let request = Request::new("query U($id: ID!) { user(id: $id) { id name role } nope: fail }")
        .unwrap()
        .operation_name("U")
        .variable("id", json!("2"));
    let as_value = single(&executor, request.clone()).await;
    let response = within(executor.execute(request.data_form(DataForm::Tree)))
        .await
        .unwrap();
    let mut as_tree = response.into_single().await.unwrap();
    assert_eq!(
        as_tree.data.as_ref().map(ResultData::form),
        Some(DataForm::Tree),
        "the data comes as a tree"
    );
    let tree = as_tree.take_data_tree().unwrap();
    assert_eq!(Some(Value::from(tree)), as_value.data_value());
    assert_eq!(as_tree.errors, as_value.errors);
    assert!(
        !as_value.errors.is_empty(),
        "an error travels beside the data"
    );
}

#[tokio::test]
async fn posts_the_query_text_as_json_with_the_graphql_accept_header() {
    let (server, mut seen) = recorder(200, "application/json", OK_BODY).await;
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    let request = Request::new("query Q($n: Int) { a(n: $n) }")
        .unwrap()
        .variable("n", json!(3));
    let result = single(&executor, request).await;
    assert_eq!(result.data_value(), Some(json!({"ok": true})));
    let seen = next(&mut seen).await;
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(
        seen.header("accept"),
        Some("application/graphql-response+json, application/json;q=0.9, multipart/mixed;q=0.5")
    );
    assert_eq!(
        seen.json(),
        json!({"query": "query Q($n: Int) { a(n: $n) }", "variables": {"n": 3}})
    );
}

#[tokio::test]
async fn mutations_run_in_order_on_the_service() {
    let server = TestServer::start().await.unwrap();
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    let result = single(
        &executor,
        Request::new("mutation { a: increment(by: 2) b: increment(by: 3) }").unwrap(),
    )
    .await;
    assert_eq!(result.data_value(), Some(json!({"a": 2, "b": 5})));
    assert_eq!(server.stats().snapshot().counter, 5);
}

#[tokio::test]
async fn graphql_errors_are_results_with_paths_and_extensions() {
    let server = TestServer::start().await.unwrap();
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    let result = single(
        &executor,
        Request::new("{ hello fail(message: \"nope\") }").unwrap(),
    )
    .await;
    assert_eq!(result.data_value().unwrap()["hello"], "Hello, world!");
    assert_eq!(result.errors.len(), 1);
    let error = &result.errors[0];
    assert_eq!(error.message, "nope");
    assert_eq!(error.path, Some(vec![PathSegment::from("fail")]));
    assert_eq!(error.code(), Some("BOOM"));
    assert!(!error.locations.is_empty());
}

#[tokio::test]
async fn a_validation_error_is_a_result_without_data() {
    let server = TestServer::start().await.unwrap();
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    let result = single(&executor, Request::new("{ doesNotExist }").unwrap()).await;
    assert!(
        result
            .data
            .as_ref()
            .is_none_or(quilt_executor::ResultData::is_null)
    );
    assert!(result.errors[0].message.contains("doesNotExist"));
}

#[tokio::test]
async fn a_4xx_with_a_graphql_body_is_a_result() {
    let (server, _seen) = recorder(
        400,
        "application/graphql-response+json",
        r#"{"errors":[{"message":"Variable \"$id\" got invalid value"}]}"#,
    )
    .await;
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    let result = single(&executor, Request::new("{ a }").unwrap()).await;
    assert_eq!(result.data, None);
    assert!(result.errors[0].message.contains("invalid value"));
}

#[tokio::test]
async fn get_for_queries_puts_the_operation_in_the_url() {
    let server = TestServer::start().await.unwrap();
    let executor = HttpExecutor::builder(server.http_url())
        .use_get_for_queries(true)
        .build()
        .unwrap();
    let request = Request::new("query H($n: String!) { hello(name: $n) }")
        .unwrap()
        .variable("n", json!("GET"));
    let result = single(&executor, request).await;
    assert_eq!(result.data_value(), Some(json!({"hello": "Hello, GET!"})));

    let (recording, mut seen) = recorder(200, "application/json", OK_BODY).await;
    let executor = HttpExecutor::builder(recording.http_url())
        .use_get_for_queries(true)
        .build()
        .unwrap();
    let request = Request::new("query H($n: String!) { hello(name: $n) }")
        .unwrap()
        .variable("n", json!("GET"));
    single(&executor, request).await;
    let seen = next(&mut seen).await;
    assert_eq!(seen.method, "GET");
    assert!(seen.body.is_empty());
    assert_eq!(seen.header("content-type"), None);
    assert_eq!(
        seen.query_pairs(),
        vec![
            (
                "query".into(),
                "query H($n: String!) { hello(name: $n) }".into()
            ),
            ("variables".into(), r#"{"n":"GET"}"#.into()),
        ]
    );
}

#[tokio::test]
async fn mutations_go_over_post_even_when_get_is_configured() {
    let (recording, mut seen) = recorder(200, "application/json", OK_BODY).await;
    let executor = HttpExecutor::builder(recording.http_url())
        .method(HttpMethod::Get)
        .build()
        .unwrap();
    single(&executor, Request::new("mutation { increment }").unwrap()).await;
    let seen = next(&mut seen).await;
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.json(), json!({"query": "mutation { increment }"}));

    let server = TestServer::start().await.unwrap();
    let executor = HttpExecutor::builder(server.http_url())
        .method(HttpMethod::Get)
        .build()
        .unwrap();
    let result = single(
        &executor,
        Request::new("mutation { increment(by: 7) }").unwrap(),
    )
    .await;
    assert_eq!(result.data_value(), Some(json!({"increment": 7})));
}

#[tokio::test]
async fn static_function_and_extension_headers_reach_the_service() {
    let server = TestServer::start().await.unwrap();
    let executor = HttpExecutor::builder(server.http_url())
        .header("x-static", "static")
        .header("x-replaced", "static")
        .header_fn(|request: &Request| {
            let mut headers = http::HeaderMap::new();
            let user = request
                .context
                .headers()
                .get("x-user")
                .cloned()
                .unwrap_or(http::HeaderValue::from_static("anonymous"));
            headers.insert("x-from-fn", user);
            headers
        })
        .build()
        .unwrap();
    let mut client_headers = http::HeaderMap::new();
    client_headers.insert("x-user", http::HeaderValue::from_static("ada"));
    let request = Request::new(
        r#"{ s: header(name: "x-static") f: header(name: "x-from-fn") r: header(name: "x-replaced") e: header(name: "x-ext") }"#,
    )
    .unwrap()
    .context(Context::from_headers(client_headers))
    .extension("headers", json!({"x-ext": "from-extensions", "x-replaced": "ext"}));
    let result = single(&executor, request).await;
    assert_eq!(
        result.data_value(),
        Some(json!({"s": "static", "f": "ada", "r": "ext", "e": "from-extensions"}))
    );
}

#[tokio::test]
async fn credentials_in_the_endpoint_url_are_sent_as_basic_auth() {
    let (recording, mut seen) = recorder(200, "application/json", OK_BODY).await;
    let url = recording
        .http_url()
        .replacen("http://", "http://ada:secret@", 1);
    let executor = HttpExecutor::new(url).unwrap();
    let result = single(&executor, Request::new("{ a }").unwrap()).await;
    assert_eq!(result.data_value(), Some(json!({"ok": true})));
    let seen = next(&mut seen).await;
    // base64("ada:secret")
    assert_eq!(seen.header("authorization"), Some("Basic YWRhOnNlY3JldA=="));
}

#[tokio::test]
async fn extension_overrides_are_applied_and_not_forwarded() {
    let (recording, mut seen) = recorder(200, "application/json", OK_BODY).await;
    // The configured endpoint does not answer; the request's `extensions.endpoint` does.
    let executor = HttpExecutor::new("http://127.0.0.1:9/graphql").unwrap();
    let request = Request::new("{ a }")
        .unwrap()
        .extension("endpoint", json!(recording.http_url()))
        .extension("headers", json!({"authorization": "Bearer x"}))
        .extension("trace", json!(true));
    let result = single(&executor, request).await;
    assert_eq!(result.data_value(), Some(json!({"ok": true})));
    let seen = next(&mut seen).await;
    assert_eq!(seen.header("authorization"), Some("Bearer x"));
    assert_eq!(
        seen.json(),
        json!({"query": "{ a }", "extensions": {"trace": true}})
    );
}

#[tokio::test]
async fn a_request_timeout_in_the_context_overrides_the_executor_timeout() {
    let server = TestServer::start().await.unwrap();
    let executor = HttpExecutor::builder(server.http_url())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let request = Request::new("{ slow(ms: 5000) }")
        .unwrap()
        .context(Context::default().insert(RequestTimeout(Duration::from_millis(100))));
    let started = std::time::Instant::now();
    let error = within(executor.execute(request)).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    assert!(started.elapsed() < Duration::from_secs(3));

    let executor = HttpExecutor::builder(server.http_url())
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let request = Request::new("{ slow(ms: 300) }")
        .unwrap()
        .context(Context::default().insert(RequestTimeout(Duration::from_secs(5))));
    let result = single(&executor, request).await;
    assert_eq!(result.data_value(), Some(json!({"slow": "slept 300ms"})));
}

/// A server answering 503 to the first `failures` requests, counting them all.
async fn flaky(failures: u32) -> (TestServer, Arc<AtomicU32>) {
    let count = Arc::new(AtomicU32::new(0));
    let seen = count.clone();
    let router = Router::new().route(
        "/graphql",
        any(move || {
            let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                if n <= failures {
                    (StatusCode::SERVICE_UNAVAILABLE, "<html>busy</html>").into_response()
                } else {
                    (
                        [("content-type", "application/json")],
                        format!(r#"{{"data":{{"attempt":{n}}}}}"#),
                    )
                        .into_response()
                }
            }
        }),
    );
    (serve(router).await, count)
}

#[tokio::test]
async fn retries_queries_on_5xx_but_never_mutations() {
    let policy = RetryPolicy::new(3).initial_backoff(Duration::from_millis(5));
    let (server, count) = flaky(2).await;
    let executor = HttpExecutor::builder(server.http_url())
        .retry(policy.clone())
        .build()
        .unwrap();
    let result = single(&executor, Request::new("{ a }").unwrap()).await;
    assert_eq!(result.data_value(), Some(json!({"attempt": 3})));
    assert_eq!(count.load(Ordering::SeqCst), 3);

    let (server, count) = flaky(2).await;
    let executor = HttpExecutor::builder(server.http_url())
        .retry(policy)
        .build()
        .unwrap();
    let error = within(executor.execute(Request::new("mutation { a }").unwrap()))
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(503));
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn retries_against_the_real_subgraph_count_upstream_requests() {
    // A timeout is transient: the query outlasts every attempt's timeout, so with two attempts
    // in all the service counts exactly two requests and the caller gets the timeout.
    let server = TestServer::start().await.unwrap();
    let executor = HttpExecutor::builder(server.http_url())
        .timeout(Duration::from_millis(100))
        .retry(RetryPolicy::new(2).initial_backoff(Duration::from_millis(1)))
        .build()
        .unwrap();
    let error = within(executor.execute(Request::new("{ slow(ms: 1000) }").unwrap()))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    server
        .stats()
        .wait_for(WAIT, |c| c.http_requests == 2)
        .await
        .unwrap();
}

#[tokio::test]
async fn uploads_one_file_and_many_files() {
    let server = TestServer::start().await.unwrap();
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    let request = Request::new(
        "mutation($file: Upload!) { upload(file: $file) { filename mimeType content size } }",
    )
    .unwrap()
    .upload(
        "file",
        Upload::new("hello.txt", "hello, upload").content_type("text/plain"),
    );
    let result = single(&executor, request).await;
    assert_eq!(
        result.data_value(),
        Some(
            json!({"upload": {"filename": "hello.txt", "mimeType": "text/plain", "content": "hello, upload", "size": 13}})
        ),
        "{:?}",
        result.errors
    );

    let request = Request::new(
        "mutation($files: [Upload!]!) { uploadMany(files: $files) { filename content } }",
    )
    .unwrap()
    .variable("files", json!([null, null]))
    .upload("files.0", Upload::new("a.txt", "A"))
    .upload("files.1", Upload::new("b.bin", vec![0x42u8; 3]));
    let result = single(&executor, request).await;
    assert_eq!(
        result.data_value(),
        Some(
            json!({"uploadMany": [{"filename": "a.txt", "content": "A"}, {"filename": "b.bin", "content": "BBB"}]})
        ),
        "{:?}",
        result.errors
    );
}

#[tokio::test]
async fn identical_concurrent_queries_are_sent_once() {
    let server = TestServer::start().await.unwrap();
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    let requests = (0..10).map(|_| executor.execute(Request::new("{ slow(ms: 300) }").unwrap()));
    let responses = within(futures::future::join_all(requests)).await;
    for response in responses {
        let result = response.unwrap().into_single().await.unwrap();
        assert_eq!(result.data_value(), Some(json!({"slow": "slept 300ms"})));
    }
    assert_eq!(server.stats().snapshot().http_requests, 1);
    assert_eq!(executor.deduplicated_requests(), 9);

    // Mutations are never deduplicated.
    let mutations =
        (0..5).map(|_| executor.execute(Request::new("mutation { increment }").unwrap()));
    for response in within(futures::future::join_all(mutations)).await {
        response.unwrap();
    }
    assert_eq!(server.stats().snapshot().http_requests, 6);
    assert_eq!(server.stats().snapshot().counter, 5);

    // Different headers make different requests.
    let a = Request::new("{ slow(ms: 100) }")
        .unwrap()
        .extension("headers", json!({"x-user": "a"}));
    let b = Request::new("{ slow(ms: 100) }")
        .unwrap()
        .extension("headers", json!({"x-user": "b"}));
    let (a, b) = within(async { futures::join!(executor.execute(a), executor.execute(b)) }).await;
    a.unwrap();
    b.unwrap();
    assert_eq!(server.stats().snapshot().http_requests, 8);
}

#[tokio::test]
async fn deduplication_can_be_turned_off() {
    let server = TestServer::start().await.unwrap();
    let executor = HttpExecutor::builder(server.http_url())
        .deduplicate_inflight(false)
        .build()
        .unwrap();
    let requests = (0..4).map(|_| executor.execute(Request::new("{ slow(ms: 100) }").unwrap()));
    for response in within(futures::future::join_all(requests)).await {
        response.unwrap();
    }
    assert_eq!(server.stats().snapshot().http_requests, 4);
    assert_eq!(executor.deduplicated_requests(), 0);
}

#[tokio::test]
async fn apq_sends_the_hash_first_then_the_query_when_unknown() {
    let (tx, mut seen) = tokio::sync::mpsc::channel::<Value>(16);
    let router = Router::new().route(
        "/graphql",
        any(move |body: Bytes| {
            let tx = tx.clone();
            async move {
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let has_query = body.get("query").is_some();
                let _ = tx.send(body).await;
                let answer = if has_query {
                    r#"{"data":{"hello":"full query"}}"#
                } else {
                    r#"{"errors":[{"message":"PersistedQueryNotFound","extensions":{"code":"PERSISTED_QUERY_NOT_FOUND"}}]}"#
                };
                ([("content-type", "application/json")], answer)
            }
        }),
    );
    let server = serve(router).await;
    let executor = HttpExecutor::builder(server.http_url())
        .apq(true)
        .build()
        .unwrap();
    let result = single(&executor, Request::new("{ hello }").unwrap()).await;
    assert_eq!(result.data_value(), Some(json!({"hello": "full query"})));

    let hash = hex::encode(sha2::Sha256::digest(b"{ hello }"));
    let persisted = json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});
    let first = within(seen.recv()).await.unwrap();
    assert_eq!(first, json!({"extensions": persisted}));
    let second = within(seen.recv()).await.unwrap();
    assert_eq!(
        second,
        json!({"query": "{ hello }", "extensions": persisted})
    );
}

#[tokio::test]
async fn sse_subscription_streams_events_then_completes() {
    let server = TestServer::start().await.unwrap();
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    let response =
        within(executor.execute(Request::new("subscription { count(from: 1, to: 5) }").unwrap()))
            .await
            .unwrap();
    assert!(response.is_stream());
    let events: Vec<_> = within(response.into_stream().collect::<Vec<_>>()).await;
    let values: Vec<Value> = events
        .into_iter()
        .map(|event| event.unwrap().data_value().unwrap()["count"].clone())
        .collect();
    assert_eq!(
        values,
        vec![json!(1), json!(2), json!(3), json!(4), json!(5)]
    );
    server
        .stats()
        .wait_for(WAIT, |c| c.subscriptions_finished == 1)
        .await
        .unwrap();
}

#[tokio::test]
async fn sse_subscription_over_get() {
    let server = TestServer::start().await.unwrap();
    let executor = HttpExecutor::builder(server.http_url())
        .method(HttpMethod::Get)
        .build()
        .unwrap();
    let response = within(
        executor.execute(
            Request::new("subscription($to: Int!) { count(to: $to) }")
                .unwrap()
                .variable("to", json!(3)),
        ),
    )
    .await
    .unwrap();
    let events: Vec<_> = within(response.into_stream().collect::<Vec<_>>()).await;
    let values: Vec<Value> = events
        .into_iter()
        .map(|event| event.unwrap().data_value().unwrap()["count"].clone())
        .collect();
    assert_eq!(values, vec![json!(1), json!(2), json!(3)]);
}

#[tokio::test]
async fn apollo_multipart_subscription_skips_heartbeats() {
    let server = TestServer::start().await.unwrap();
    let executor = HttpExecutor::builder(server.http_url())
        .subscription_protocol(SubscriptionProtocol::ApolloMultipart)
        .header("x-heartbeat-ms", "5")
        .build()
        .unwrap();
    let response =
        within(executor.execute(
            Request::new("subscription { count(from: 1, to: 4, intervalMs: 40) }").unwrap(),
        ))
        .await
        .unwrap();
    assert!(response.is_stream());
    let events: Vec<_> = within(response.into_stream().collect::<Vec<_>>()).await;
    let values: Vec<Value> = events
        .into_iter()
        .map(|event| event.unwrap().data_value().unwrap()["count"].clone())
        .collect();
    assert_eq!(values, vec![json!(1), json!(2), json!(3), json!(4)]);
}

#[tokio::test]
async fn apollo_multipart_transport_error_ends_the_stream() {
    let router = Router::new().route(
        "/graphql",
        any(|| async {
            (
                [("content-type", "multipart/mixed;boundary=\"graphql\";subscriptionSpec=\"1.0\"")],
                "\r\n--graphql\r\ncontent-type: application/json\r\n\r\n{\"payload\":{\"data\":{\"n\":1}}}\r\n--graphql\r\ncontent-type: application/json\r\n\r\n{}\r\n--graphql\r\ncontent-type: application/json\r\n\r\n{\"payload\":null,\"errors\":[{\"message\":\"subgraph went away\"}]}\r\n--graphql--\r\n",
            )
        }),
    );
    let server = serve(router).await;
    let executor = HttpExecutor::builder(server.http_url())
        .subscription_protocol(SubscriptionProtocol::ApolloMultipart)
        .build()
        .unwrap();
    let response = within(executor.execute(Request::new("subscription { n }").unwrap()))
        .await
        .unwrap();
    let events: Vec<_> = within(response.into_stream().collect::<Vec<_>>()).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        events[0].as_ref().unwrap().data_value(),
        Some(json!({"n": 1}))
    );
    let error = events[1].as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Closed);
    assert!(error.to_string().contains("subgraph went away"), "{error}");
}

#[tokio::test]
async fn dropping_an_sse_subscription_stream_cancels_it_upstream() {
    let server = TestServer::start().await.unwrap();
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    let response =
        within(executor.execute(Request::new("subscription { ticks(intervalMs: 10) }").unwrap()))
            .await
            .unwrap();
    let mut stream = response.into_stream();
    for expected in 1..=3 {
        let event = within(stream.next()).await.unwrap().unwrap();
        assert_eq!(event.data_value(), Some(json!({"ticks": expected})));
    }
    assert_eq!(server.stats().snapshot().subscriptions_cancelled, 0);
    drop(stream);
    server
        .stats()
        .wait_for(WAIT, |c| c.subscriptions_cancelled == 1)
        .await
        .unwrap();
}

#[tokio::test]
async fn dropping_an_apollo_multipart_stream_cancels_it_upstream() {
    let server = TestServer::start().await.unwrap();
    let executor = HttpExecutor::builder(server.http_url())
        .subscription_protocol(SubscriptionProtocol::ApolloMultipart)
        .build()
        .unwrap();
    let response =
        within(executor.execute(Request::new("subscription { ticks(intervalMs: 10) }").unwrap()))
            .await
            .unwrap();
    let mut stream = response.into_stream();
    let event = within(stream.next()).await.unwrap().unwrap();
    assert_eq!(event.data_value(), Some(json!({"ticks": 1})));
    drop(stream);
    server
        .stats()
        .wait_for(WAIT, |c| c.subscriptions_cancelled == 1)
        .await
        .unwrap();
}

#[tokio::test]
async fn incremental_delivery_over_multipart_is_a_stream_of_payloads() {
    let router = Router::new().route(
        "/graphql",
        any(|| async {
            (
                [("content-type", "multipart/mixed; boundary=\"-\"")],
                "\r\n---\r\ncontent-type: application/json; charset=utf-8\r\n\r\n{\"data\":{\"a\":1},\"hasNext\":true}\r\n---\r\ncontent-type: application/json; charset=utf-8\r\n\r\n{\"incremental\":[{\"data\":{\"b\":2},\"path\":[]}],\"hasNext\":false}\r\n-----\r\n",
            )
        }),
    );
    let server = serve(router).await;
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    let response = within(executor.execute(Request::new("{ a ... @defer { b } }").unwrap()))
        .await
        .unwrap();
    assert!(response.is_stream());
    let events: Vec<ExecutionResult> = within(response.into_stream().collect::<Vec<_>>())
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].data_value(), Some(json!({"a": 1})));
    assert_eq!(events[0].has_next, Some(true));
    let incremental = events[1].incremental.as_ref().unwrap();
    assert_eq!(incremental[0].data, Some(json!({"b": 2})));
    assert_eq!(events[1].has_next, Some(false));
}

#[tokio::test]
async fn a_response_is_single_when_the_service_answers_json_to_a_subscription() {
    let server = TestServer::start().await.unwrap();
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    // A validation error comes back as one result, not a stream.
    let response = within(executor.execute(Request::new("subscription { noSuchField }").unwrap()))
        .await
        .unwrap();
    let first = within(response.into_stream().next())
        .await
        .unwrap()
        .unwrap();
    assert!(!first.errors.is_empty());
}

#[tokio::test]
async fn works_as_a_shared_executor() {
    let server = TestServer::start().await.unwrap();
    let executor: quilt_executor::SharedExecutor =
        Arc::new(HttpExecutor::new(server.http_url()).unwrap());
    let result = within(executor.execute(Request::new("{ hello }").unwrap()))
        .await
        .unwrap();
    let Response::Single(result) = result else {
        panic!("expected a single result")
    };
    assert_eq!(result.data_value(), Some(json!({"hello": "Hello, world!"})));
}
