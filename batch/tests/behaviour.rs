//! What the batcher does with each kind of request and each kind of answer, against crafted
//! inner executors (`from_fn`) that record what they receive.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use futures::future::join_all;
use quilt_batch::{BatchExt, BatchOptions, BatchWindow, codes};
use quilt_executor::{
    ErrorKind, ExecutionResult, Executor, ExecutorError, Request, Response, Upload, from_fn,
};
use serde_json::{Value, json};
use support::run;

type Seen = Arc<Mutex<Vec<Request>>>;

/// An inner executor that records every request and answers with `answer(request)`.
fn recording(
    answer: impl Fn(&Request) -> Result<Response, ExecutorError> + Send + Sync + 'static,
) -> (impl Executor, Seen) {
    let seen: Seen = Arc::default();
    let executor = {
        let seen = seen.clone();
        from_fn(move |request: Request| {
            let answer = answer(&request);
            seen.lock().unwrap().push(request);
            async move { answer }
        })
    };
    (executor, seen)
}

fn single(value: Value) -> Result<Response, ExecutorError> {
    Ok(Response::Single(serde_json::from_value(value).unwrap()))
}

fn q(text: &str) -> Request {
    Request::new(text.to_owned()).unwrap()
}

#[tokio::test]
async fn a_batch_of_one_passes_the_original_request_and_response_through() {
    let (inner, seen) = recording(|_| {
        Ok(Response::Stream(
            futures::stream::iter(vec![Ok(ExecutionResult::from_data(json!({"a": 1})))]).boxed(),
        ))
    });
    let batched = inner.batched(BatchOptions::default());
    let request = q("query A { a }").extension("x", json!(1));
    let document = request.document.clone();
    let response = batched.execute(request).await.unwrap();
    assert!(
        response.is_stream(),
        "the inner response is handed back as it is"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].document.ptr_eq(&document),
        "not re-printed or rebuilt"
    );
    assert_eq!(seen[0].query(), "query A { a }");
    assert_eq!(seen[0].extensions.get("x"), Some(&json!(1)));
}

#[tokio::test]
async fn subscriptions_defer_and_uploads_bypass_the_batcher() {
    let (inner, seen) = recording(|request| {
        if request.query().contains("_v0_") {
            single(json!({"data": {"_v0_a": 1, "_v1_b": 2}}))
        } else {
            single(json!({"data": {}}))
        }
    });
    let batched = inner.batched(BatchOptions::default());
    let subscription = q("subscription { count(to: 1) }");
    let deferred = q("{ a ... @defer { b } }");
    let upload = q("mutation($f: Upload) { upload(file: $f) { size } }")
        .upload("f", Upload::new("a.txt", "A"));
    let bypassing = [subscription, deferred, upload];
    let documents: Vec<_> = bypassing.iter().map(|r| r.document.clone()).collect();
    let mut all: Vec<Request> = bypassing.into_iter().collect();
    all.push(q("{ a }"));
    all.push(q("{ b }"));
    let results = join_all(all.into_iter().map(|r| run(&batched, r))).await;
    assert_eq!(results[3].data_value(), Some(json!({"a": 1})));
    assert_eq!(results[4].data_value(), Some(json!({"b": 2})));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 4, "three alone, two merged into one");
    for document in &documents {
        assert!(seen.iter().any(|r| r.document.ptr_eq(document)));
    }
    assert!(seen.iter().any(|r| r.query() == "{ _v0_a: a _v1_b: b }"));
}

#[tokio::test]
async fn a_transport_failure_is_returned_to_every_request() {
    let (inner, seen) = recording(|_| {
        Err(ExecutorError::Timeout {
            endpoint: "http://upstream".into(),
            after: Duration::from_secs(1),
        })
    });
    let batched = inner.batched(BatchOptions::default());
    let results = join_all((0..3).map(|i| batched.execute(q(&format!("{{ f{i} }}"))))).await;
    for result in results {
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Timeout);
    }
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_request_error_of_the_merged_query_runs_each_request_alone() {
    let (inner, seen) = recording(|request| {
        if request.query().contains("_v0_") {
            single(json!({"errors": [{"message": "Cannot query field \"bad\""}]}))
        } else if request.query().contains("bad") {
            single(json!({"errors": [{"message": "Cannot query field \"bad\" alone"}]}))
        } else {
            single(json!({"data": {"good": true}}))
        }
    });
    let batched = inner.batched(BatchOptions::default());
    let (good, bad) = tokio::join!(run(&batched, q("{ good }")), run(&batched, q("{ bad }")));
    assert_eq!(good.data_value(), Some(json!({"good": true})));
    assert!(good.errors.is_empty());
    assert_eq!(bad.data, None);
    assert_eq!(bad.errors[0].message, "Cannot query field \"bad\" alone");
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn requests_run_alone_after_a_failed_merged_answer_keep_their_variables() {
    // The merged request takes the variables' values; a request run on its own afterwards gets
    // them back exactly (lists of objects, as entity representations are, included).
    let (inner, seen) = recording(|request| {
        if request.query().contains("_v0_") {
            single(json!({"errors": [{"message": "the merged request failed"}]}))
        } else {
            single(json!({"data": {"echo": request.variables.get("reps").cloned()}}))
        }
    });
    let batched = inner.batched(BatchOptions::default());
    let query = "query E($reps: [Rep!]!, $n: Int) { echo(reps: $reps, n: $n) }";
    let reps = |tag: &str| json!([{"__typename": "Product", "upc": tag}, {"__typename": "Product", "upc": "2", "nested": [1, {"a": null}]}]);
    let a = q(query).variable("reps", reps("a")).variable("n", json!(1));
    let b = q(query).variable("reps", reps("b"));
    let (a, b) = tokio::join!(run(&batched, a), run(&batched, b));
    assert_eq!(a.data_value(), Some(json!({"echo": reps("a")})));
    assert_eq!(b.data_value(), Some(json!({"echo": reps("b")})));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3, "merged once, then each alone");
    assert_eq!(
        seen[0].variables.keys().collect::<Vec<_>>(),
        ["_v0_reps", "_v0_n", "_v1_reps"]
    );
    assert_eq!(
        Value::Object(seen[1].variables.clone()),
        json!({"reps": reps("a"), "n": 1})
    );
    assert_eq!(
        Value::Object(seen[2].variables.clone()),
        json!({"reps": reps("b")})
    );
}

#[tokio::test]
async fn a_nulled_mutation_is_never_run_again() {
    let (inner, seen) = recording(|_| {
        single(json!({"data": null, "errors": [{"message": "non-null", "path": ["_v1_b"]}]}))
    });
    let batched = inner.batched(BatchOptions::default());
    let (a, b) = tokio::join!(
        run(&batched, q("mutation { a }")),
        run(&batched, q("mutation { b }"))
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "no second execution of a mutation"
    );
    assert_eq!(a.data_value(), Some(Value::Null));
    assert_eq!(a.errors.len(), 1);
    assert_eq!(a.errors[0].code(), Some(codes::MUTATION_NULLED));
    assert_eq!(b.data_value(), Some(Value::Null));
    assert_eq!(
        serde_json::to_value(&b.errors).unwrap(),
        json!([{"message": "non-null", "path": ["b"]}])
    );
}

#[tokio::test]
async fn a_request_error_of_merged_mutations_runs_them_alone_in_order() {
    let (inner, seen) = recording(|request| {
        if request.query().contains("_v0_") {
            single(json!({"errors": [{"message": "validation failed"}]}))
        } else {
            single(json!({"data": {"m": request.query()}}))
        }
    });
    let batched = inner.batched(BatchOptions::default());
    let (a, b) = tokio::join!(
        run(&batched, q("mutation { m(x: 1) }")),
        run(&batched, q("mutation { m(x: 2) }"))
    );
    assert_eq!(a.data_value(), Some(json!({"m": "mutation { m(x: 1) }"})));
    assert_eq!(b.data_value(), Some(json!({"m": "mutation { m(x: 2) }"})));
    let seen = seen.lock().unwrap();
    let order: Vec<&str> = seen.iter().map(|r| r.query()).collect();
    assert_eq!(
        order[1..],
        ["mutation { m(x: 1) }", "mutation { m(x: 2) }"],
        "alone, in arrival order"
    );
}

#[tokio::test]
async fn requests_from_spawned_tasks_of_one_tick_share_a_batch() {
    let (inner, seen) = recording(|request| {
        let mut data = serde_json::Map::new();
        for i in 0..8 {
            for j in 0..8 {
                if request.query().contains(&format!("_v{i}_f{j}:")) {
                    data.insert(format!("_v{i}_f{j}"), json!(j));
                }
            }
        }
        single(json!({ "data": data }))
    });
    let batched = Arc::new(inner.batched(BatchOptions::default()));
    let tasks: Vec<_> = (0..8)
        .map(|j| {
            let batched = batched.clone();
            tokio::spawn(async move { run(&*batched, q(&format!("{{ f{j} }}"))).await })
        })
        .collect();
    for (j, task) in tasks.into_iter().enumerate() {
        let result = task.await.unwrap();
        assert_eq!(result.data_value(), Some(json!({ format!("f{j}"): j })));
        assert!(result.errors.is_empty());
    }
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_duration_window_collects_requests_that_come_later() {
    let (inner, seen) = recording(|_| single(json!({"data": {"_v0_a": 1, "_v1_b": 2}})));
    let batched = inner
        .batched(BatchOptions::default().window(BatchWindow::Duration(Duration::from_millis(200))));
    let (a, b) = tokio::join!(run(&batched, q("{ a }")), async {
        // Arrives in a later tick, well within the window.
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        run(&batched, q("{ b }")).await
    });
    assert_eq!(a.data_value(), Some(json!({"a": 1})));
    assert_eq!(b.data_value(), Some(json!({"b": 2})));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

/// Deduplication shares an entry only between requests of the same document and the same
/// variables, given as values or as JSON text (an entity request's representations).
#[tokio::test]
async fn dedup_shares_an_entry_only_between_requests_with_the_same_variables() {
    let (inner, seen) = recording(|request| {
        // As many entries as the merged document has fields, each answering its prefix.
        let query = request.query().to_owned();
        let data: serde_json::Map<String, Value> = (0..4)
            .map(|i| format!("_v{i}_a"))
            .filter(|key| query.contains(key.as_str()))
            .map(|key| (key.clone(), json!(key)))
            .collect();
        single(json!({ "data": data }))
    });
    let batched = inner.batched(BatchOptions::default());
    let with = |n: i64, raw: &str| {
        let mut request = q("query Q($n: Int, $r: [Int]) { a(n: $n, r: $r) }");
        request.variables.insert("n".into(), json!(n));
        request.raw_variables.push((
            "r".into(),
            serde_json::value::RawValue::from_string(raw.to_owned())
                .unwrap()
                .into(),
        ));
        request
    };
    let results = join_all([
        run(&batched, with(1, "[1,2]")),
        run(&batched, with(1, "[1,2]")),
        run(&batched, with(2, "[1,2]")),
        run(&batched, with(1, "[1,3]")),
    ])
    .await;
    let answers: Vec<Value> = results.iter().map(|r| r.data_value().unwrap()).collect();
    // The first two share one entry; the other two differ in a value and in JSON text.
    assert_eq!(answers[0], answers[1]);
    assert_ne!(answers[0], answers[2]);
    assert_ne!(answers[0], answers[3]);
    assert_ne!(answers[2], answers[3]);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].query().matches("a(n:").count(),
        3,
        "{}",
        seen[0].query()
    );
}

/// Requests whose variables given as JSON text are longer than `solo_text_bytes` go on their
/// own, as they are; shorter ones are merged as before.
#[tokio::test]
async fn requests_with_long_json_text_variables_are_not_merged() {
    let (inner, seen) = recording(|request| {
        if request.query().contains("_v0_") {
            single(json!({"data": {"_v0_a": 0, "_v1_a": 1}}))
        } else {
            // (`from_fn` hands the function the variables by value.)
            let text = serde_json::to_string(&request.variables["r"]).unwrap();
            single(json!({"data": {"a": text.len()}}))
        }
    });
    let batched = inner.batched(BatchOptions::default().solo_text_bytes(8));
    let with = |text: &str| {
        q("query Q($r: [Int]) { a(r: $r) }")
            .raw_variable("r", quilt_executor::RawJson::from_written(text.to_owned()))
    };
    // Up to 8 bytes: merged into one request.
    let short = join_all([run(&batched, with("[1,2,3]")), run(&batched, with("[4,5]"))]).await;
    assert_eq!(short[0].data_value(), Some(json!({"a": 0})));
    assert_eq!(short[1].data_value(), Some(json!({"a": 1})));
    assert_eq!(std::mem::take(&mut *seen.lock().unwrap()).len(), 1);
    // Longer: one upstream request each, the document and the text untouched.
    let long = join_all([
        run(&batched, with("[1,2,3,4]")),
        run(&batched, with("[5,6,7,8,9]")),
    ])
    .await;
    assert_eq!(long[0].data_value(), Some(json!({"a": 9})));
    assert_eq!(long[1].data_value(), Some(json!({"a": 11})));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    for request in seen.iter() {
        assert_eq!(request.query(), "query Q($r: [Int]) { a(r: $r) }");
    }
    assert_eq!(seen[0].variables["r"], json!([1, 2, 3, 4]));
}

#[tokio::test]
async fn without_dedup_identical_queries_get_entries_of_their_own() {
    let (inner, seen) = recording(|_| single(json!({"data": {"_v0_a": 1, "_v1_a": 2}})));
    let batched = inner.batched(BatchOptions::default().dedup(false));
    let (x, y) = tokio::join!(run(&batched, q("{ a }")), run(&batched, q("{ a }")));
    assert_eq!(
        (x.data_value(), y.data_value()),
        (Some(json!({"a": 1})), Some(json!({"a": 2})))
    );
    assert_eq!(seen.lock().unwrap()[0].query(), "{ _v0_a: a _v1_a: a }");
}

#[tokio::test]
async fn the_extensions_reducer_and_the_scope_function_apply() {
    let (inner, seen) = recording(|request| {
        if request.query().contains("_v0_") {
            single(json!({"data": {"_v0_a": 1, "_v1_b": 2}}))
        } else {
            single(json!({"data": {"c": 3}}))
        }
    });
    let options = BatchOptions::default()
        .extensions_reducer(|mut merged, request| {
            let count = merged.get("count").and_then(Value::as_u64).unwrap_or(0);
            merged.insert("count".into(), json!(count + 1));
            if let Some(v) = request.extensions.get("trace") {
                merged.insert("trace".into(), v.clone());
            }
            merged
        })
        .scope(|request| {
            (!request.extensions.contains_key("alone")).then(|| quilt_batch::ScopeKey::from("all"))
        });
    let batched = inner.batched(options);
    let (a, b, c) = tokio::join!(
        run(&batched, q("{ a }").extension("trace", json!("t1"))),
        run(&batched, q("{ b }")),
        run(&batched, q("{ c }").extension("alone", json!(true))),
    );
    assert_eq!(a.data_value(), Some(json!({"a": 1})));
    assert_eq!(b.data_value(), Some(json!({"b": 2})));
    assert_eq!(c.data_value(), Some(json!({"c": 3})));
    let seen = seen.lock().unwrap();
    let merged = seen.iter().find(|r| r.query().contains("_v0_")).unwrap();
    assert_eq!(
        Value::Object(merged.extensions.clone()),
        json!({"count": 2, "trace": "t1"})
    );
}

#[tokio::test]
async fn a_batch_whose_callers_all_left_cancels_its_upstream_request() {
    let (dropped_tx, mut dropped_rx) = tokio::sync::mpsc::channel::<()>(4);
    let inner = from_fn(move |_request: Request| {
        let guard = DropSignal(dropped_tx.clone());
        async move {
            let _guard = guard;
            futures::future::pending::<()>().await;
            Ok(Response::Single(ExecutionResult::default()))
        }
    });
    let batched = inner.batched(BatchOptions::default());
    let calls = join_all([batched.execute(q("{ a }")), batched.execute(q("{ b }"))]);
    assert!(
        tokio::time::timeout(Duration::from_millis(100), calls)
            .await
            .is_err(),
        "the upstream never answers"
    );
    tokio::time::timeout(Duration::from_secs(5), dropped_rx.recv())
        .await
        .expect("the upstream request was not cancelled")
        .unwrap();
}

struct DropSignal(tokio::sync::mpsc::Sender<()>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.try_send(());
    }
}

#[tokio::test]
async fn a_merged_query_nulled_at_the_root_runs_each_request_alone() {
    let (inner, seen) = recording(|request| {
        if request.query().contains("_v0_") {
            single(json!({"data": null, "errors": [{"message": "nn", "path": ["_v1_b"]}]}))
        } else if request.query().contains('b') {
            single(json!({"data": null, "errors": [{"message": "nn", "path": ["b"]}]}))
        } else {
            single(json!({"data": {"a": 1}}))
        }
    });
    let batched = inner.batched(BatchOptions::default());
    let (a, b) = tokio::join!(run(&batched, q("{ a }")), run(&batched, q("{ b }")));
    assert_eq!(a.data_value(), Some(json!({"a": 1})));
    assert!(a.errors.is_empty());
    assert_eq!(b.data_value(), Some(Value::Null));
    assert_eq!(
        serde_json::to_value(&b.errors).unwrap(),
        json!([{"message": "nn", "path": ["b"]}])
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        3,
        "merged once, then each alone"
    );
}
