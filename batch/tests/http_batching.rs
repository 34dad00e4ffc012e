//! The batcher in front of a real GraphQL service over HTTP: what crosses the wire.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod support;

use futures::future::join_all;
use http::{HeaderMap, HeaderValue};
use quilt_batch::{BatchExt, BatchOptions};
use quilt_executor::{Context, Executor, Request};
use quilt_test_support::TestServer;
use serde_json::json;
use support::{http_executor, run};

fn hello(i: usize) -> Request {
    Request::new(format!("query Q{i}($n: String) {{ hello(name: $n) }}"))
        .unwrap()
        .variable("n", json!(format!("n{i}")))
}

fn user(i: usize) -> Request {
    Request::new(format!("{{ u: user(id: {}) {{ id name }} }}", i % 5 + 1)).unwrap()
}

fn expected_user(i: usize) -> serde_json::Value {
    let id = i % 5 + 1;
    let name = ["Ada", "Grace", "Alan", "Edsger", "Barbara"][id - 1];
    json!({"u": {"id": id.to_string(), "name": name}})
}

async fn hundred_concurrent(executor: &impl Executor) {
    let futures = (0..100).map(|i| async move {
        if i % 2 == 0 {
            let r = run(executor, hello(i)).await;
            assert_eq!(
                r.data_value(),
                Some(json!({"hello": format!("Hello, n{i}!")}))
            );
            assert!(r.errors.is_empty());
        } else {
            let r = run(executor, user(i)).await;
            assert_eq!(r.data_value(), Some(expected_user(i)));
            assert!(r.errors.is_empty());
        }
    });
    join_all(futures).await;
}

#[tokio::test]
async fn hundred_concurrent_requests_make_one_upstream_request() {
    let server = TestServer::start().await.unwrap();
    let batched = http_executor(server.http_url()).batched(BatchOptions::default());
    hundred_concurrent(&batched).await;
    assert_eq!(server.stats().snapshot().http_requests, 1);
}

#[tokio::test]
async fn max_batch_size_ten_makes_ten_upstream_requests() {
    let server = TestServer::start().await.unwrap();
    let batched =
        http_executor(server.http_url()).batched(BatchOptions::default().max_batch_size(10));
    hundred_concurrent(&batched).await;
    assert_eq!(server.stats().snapshot().http_requests, 10);
}

#[tokio::test]
async fn unbatched_the_same_requests_make_a_hundred() {
    let server = TestServer::start().await.unwrap();
    hundred_concurrent(&http_executor(server.http_url())).await;
    assert_eq!(server.stats().snapshot().http_requests, 100);
}

#[tokio::test]
async fn different_credentials_never_share_an_upstream_request() {
    let server = TestServer::start().await.unwrap();
    let batched = http_executor(server.http_url()).batched(BatchOptions::default());
    let with_token = |token: &'static str, i: usize| {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static(token));
        hello(i).context(Context::from_headers(headers))
    };
    let requests = (0..6).map(|i| {
        let request = if i % 2 == 0 {
            with_token("Bearer a", i)
        } else {
            with_token("Bearer b", i)
        };
        run(&batched, request)
    });
    let results = join_all(requests).await;
    for (i, r) in results.iter().enumerate() {
        assert_eq!(
            r.data_value(),
            Some(json!({"hello": format!("Hello, n{i}!")}))
        );
    }
    assert_eq!(server.stats().snapshot().http_requests, 2);
}

#[tokio::test]
async fn mutations_batch_among_themselves_and_run_in_arrival_order() {
    let server = TestServer::start().await.unwrap();
    let batched = http_executor(server.http_url()).batched(BatchOptions::default());
    let mutation = |by: i64| {
        Request::new("mutation($by: Int) { increment(by: $by) }")
            .unwrap()
            .variable("by", json!(by))
    };
    let (m1, q, m2, m3) = tokio::join!(
        run(&batched, mutation(1)),
        run(&batched, hello(0)),
        run(&batched, mutation(10)),
        run(&batched, mutation(100)),
    );
    // Identical mutation documents are not deduplicated, and they ran serially in order.
    assert_eq!(m1.data_value(), Some(json!({"increment": 1})));
    assert_eq!(m2.data_value(), Some(json!({"increment": 11})));
    assert_eq!(m3.data_value(), Some(json!({"increment": 111})));
    assert_eq!(q.data_value(), Some(json!({"hello": "Hello, n0!"})));
    // One request for the mutations, one for the query.
    assert_eq!(server.stats().snapshot().http_requests, 2);
    assert_eq!(server.stats().snapshot().counter, 111);
}

/// An HTTP executor of `server` that records the document text of every request it sends.
fn recorded(
    server: &TestServer,
) -> (
    impl Executor + use<>,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let inner = http_executor(server.http_url());
    let recorder = {
        let seen = seen.clone();
        quilt_executor::from_fn(move |request: Request| {
            seen.lock().unwrap().push(request.query().to_owned());
            inner.execute(request)
        })
    };
    (recorder, seen)
}

#[tokio::test]
async fn identical_queries_share_one_field_and_each_get_the_result() {
    let server = TestServer::start().await.unwrap();
    // Count the fields of the merged operation through a recording wrapper.
    let (recorder, seen) = recorded(&server);
    let batched = recorder.batched(BatchOptions::default());
    let results =
        join_all((0..5).map(|i| run(&batched, if i < 4 { hello(7) } else { user(1) }))).await;
    for r in &results[..4] {
        assert_eq!(r.data_value(), Some(json!({"hello": "Hello, n7!"})));
    }
    assert_eq!(results[4].data_value(), Some(expected_user(1)));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0],
        "query Q7($_v0_n: String) { _v0_hello: hello(name: $_v0_n) _v1_u: user(id: 2) { id name } }"
    );
}

/// Requests merged into one each get their answer in the form their own request asked for
/// (the merged request asks the HTTP executor for a tree and is split as trees).
#[tokio::test]
async fn merged_requests_answer_each_in_the_form_it_asked_for() {
    use quilt_executor::{DataForm, ResultData};
    let server = TestServer::start().await.unwrap();
    let batched = http_executor(server.http_url()).batched(BatchOptions::default());
    let forms = [
        DataForm::Tree,
        DataForm::Value,
        DataForm::Json,
        DataForm::Tree,
    ];
    let answers = join_all(
        forms
            .iter()
            .enumerate()
            .map(|(i, form)| run(&batched, hello(i).data_form(*form))),
    )
    .await;
    assert_eq!(
        server.stats().snapshot().http_requests,
        1,
        "one merged request"
    );
    for (i, (answer, form)) in answers.iter().zip(forms).enumerate() {
        assert_eq!(
            answer.data.as_ref().map(ResultData::form),
            Some(form),
            "{i}"
        );
        assert_eq!(
            answer.data_value(),
            Some(json!({"hello": format!("Hello, n{i}!")}))
        );
    }
}

/// The same printed one-operation document under different operation names (a stitched
/// gateway's upstream requests for client operations that differ only in their names) is one
/// execution: one field upstream, every request its answer. Parsed documents (a client's own)
/// keep their names apart.
#[tokio::test]
async fn printed_documents_that_differ_only_in_their_names_share_one_field() {
    use quilt_executor::{Document, OperationType};
    let server = TestServer::start().await.unwrap();
    let (recorder, seen) = recorded(&server);
    let batched = recorder.batched(BatchOptions::default());
    let printed = |i: usize| {
        let name = format!("Client{i}");
        let text = format!("query {name}($n: String) {{ hello(name: $n) }}");
        Request::from_document(Document::from_printed(
            text,
            OperationType::Query,
            Some(&name),
        ))
        .operation_name(name)
        .variable("n", json!("n7"))
    };
    let results = join_all((0..4).map(|i| run(&batched, printed(i)))).await;
    for r in &results {
        assert_eq!(r.data_value(), Some(json!({"hello": "Hello, n7!"})));
        assert!(r.errors.is_empty());
    }
    // Parsed documents with different names stay two fields.
    let parsed = |name: &str| {
        Request::new(format!("query {name}($n: String) {{ hello(name: $n) }}"))
            .unwrap()
            .variable("n", json!("n7"))
    };
    let results = join_all([run(&batched, parsed("A")), run(&batched, parsed("B"))]).await;
    for r in &results {
        assert_eq!(r.data_value(), Some(json!({"hello": "Hello, n7!"})));
    }
    let seen = seen.lock().unwrap();
    assert_eq!(
        *seen,
        vec![
            "query Client0($n: String) { hello(name: $n) }".to_owned(),
            "query A($_v0_n: String, $_v1_n: String) { _v0_hello: hello(name: $_v0_n) _v1_hello: hello(name: $_v1_n) }"
                .to_owned(),
        ]
    );
}
