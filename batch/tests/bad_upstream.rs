//! A service that answers the merged operation with something it cannot have produced: every
//! affected request gets a clear GraphQL error with a code, never a panic and never another
//! request's data.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod support;

use futures::future::join_all;
use quilt_batch::{BatchExt, BatchOptions, codes};
use quilt_executor::{Executor, Request, Response, from_fn};
use serde_json::{Value, json};
use support::run;

/// A batched executor whose inner service always answers `answer`.
fn answering(answer: Value) -> impl Executor {
    from_fn(move |_request: Request| {
        let answer = answer.clone();
        async move { Ok(Response::Single(serde_json::from_value(answer).unwrap())) }
    })
    .batched(BatchOptions::default())
}

async fn three(executor: &impl Executor) -> Vec<quilt_executor::ExecutionResult> {
    join_all(
        ["{ a }", "{ b x: c }", "{ d }"]
            .into_iter()
            .map(|text| run(executor, Request::new(text).unwrap())),
    )
    .await
}

#[tokio::test]
async fn data_lacking_a_prefixed_key_gives_that_request_an_error_at_its_field() {
    let results = three(&answering(
        json!({"data": {"_v0_a": 1, "_v1_b": 2, "_v2_d": 4}}),
    ))
    .await;
    assert_eq!(results[0].data_value(), Some(json!({"a": 1})));
    assert!(results[0].errors.is_empty());
    assert_eq!(results[1].data_value(), Some(json!({"b": 2, "x": null})));
    assert_eq!(results[1].errors.len(), 1);
    assert_eq!(results[1].errors[0].code(), Some(codes::MISSING_FIELD));
    assert_eq!(
        serde_json::to_value(&results[1].errors[0].path).unwrap(),
        json!(["x"])
    );
    assert!(results[2].errors.is_empty());
}

#[tokio::test]
async fn data_keys_of_no_request_are_dropped_and_reported_to_every_request() {
    let results = three(&answering(json!({"data": {
        "_v0_a": 1, "_v1_b": 2, "_v1_x": 3, "_v2_d": 4, "_v3_a": "not yours", "a": "nor this"
    }})))
    .await;
    let data: Vec<_> = results.iter().map(|r| r.data.clone().unwrap()).collect();
    assert_eq!(
        data,
        vec![json!({"a": 1}), json!({"b": 2, "x": 3}), json!({"d": 4})]
    );
    for r in &results {
        assert_eq!(r.errors.len(), 1);
        assert_eq!(r.errors[0].code(), Some(codes::UNEXPECTED_FIELD));
        assert_eq!(r.errors[0].path, None);
        assert!(r.errors[0].message.contains("_v3_a"));
    }
}

#[tokio::test]
async fn an_error_path_pointing_nowhere_reaches_every_request_without_a_path() {
    let results = three(&answering(json!({
        "data": {"_v0_a": 1, "_v1_b": 2, "_v1_x": 3, "_v2_d": 4},
        "errors": [
            {"message": "lost", "path": ["_v9_a", 0, "id"]},
            {"message": "indexed", "path": [0]},
            {"message": "mine", "path": ["_v2_d"]}
        ]
    })))
    .await;
    for (i, r) in results.iter().enumerate() {
        let codes: Vec<_> = r.errors.iter().map(|e| e.code()).collect();
        let expected_own = usize::from(i == 2);
        assert_eq!(
            r.errors.len(),
            2 + expected_own,
            "request {i}: {:?}",
            r.errors
        );
        assert_eq!(
            codes
                .iter()
                .filter(|c| **c == Some(codes::UNATTRIBUTED_ERROR))
                .count(),
            2
        );
        for e in r
            .errors
            .iter()
            .filter(|e| e.code() == Some(codes::UNATTRIBUTED_ERROR))
        {
            assert_eq!(e.path, None, "never placed at a path of another request");
        }
    }
    let own = results[2]
        .errors
        .iter()
        .find(|e| e.message == "mine")
        .unwrap();
    assert_eq!(serde_json::to_value(&own.path).unwrap(), json!(["d"]));
}

#[tokio::test]
async fn data_that_is_not_an_object_gives_every_request_an_error() {
    let results = three(&answering(json!({"data": "surprise"}))).await;
    for r in &results {
        assert_eq!(r.data_value(), Some(Value::Null));
        assert_eq!(r.errors[0].code(), Some(codes::INVALID_DATA));
    }
}

#[tokio::test]
async fn an_empty_answer_to_a_merged_mutation_is_reported_not_invented() {
    let executor = answering(json!({"data": {}}));
    let (a, b) = tokio::join!(
        run(&executor, Request::new("mutation { a }").unwrap()),
        run(&executor, Request::new("mutation { b }").unwrap()),
    );
    assert_eq!(a.data_value(), Some(json!({"a": null})));
    assert_eq!(a.errors[0].code(), Some(codes::MISSING_FIELD));
    assert_eq!(b.data_value(), Some(json!({"b": null})));
    assert_eq!(b.errors[0].code(), Some(codes::MISSING_FIELD));
}
