//! Merge and split of 100 requests × 5 root fields (the batcher's own CPU cost per batch).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use quilt_batch::merge::{combine, prefix_request};
use quilt_batch::split::split_result;
use quilt_batch::{ExtensionsReducer, later_keys_win};
use quilt_executor::{ExecutionResult, JsonMap, Request};
use serde_json::{Value, json};

const REQUESTS: usize = 100;

fn requests() -> Vec<Request> {
    (0..REQUESTS)
        .map(|i| {
            Request::new(
                "query Q($id: ID!, $name: String) { user(id: $id) { id name role } \
                 hello(name: $name) a: echo(value: \"x\") ...F posts(count: 2) { id title } } \
                 fragment F on Query { b: hello }",
            )
            .unwrap()
            .variable("id", json!((i % 5 + 1).to_string()))
            .variable("name", json!(format!("n{i}")))
        })
        .collect()
}

fn merged_answer() -> ExecutionResult {
    let mut data = JsonMap::new();
    for i in 0..REQUESTS {
        data.insert(
            format!("_v{i}_user"),
            json!({"id": "1", "name": "Ada", "role": "ADMIN"}),
        );
        data.insert(format!("_v{i}_hello"), json!(format!("Hello, n{i}!")));
        data.insert(format!("_v{i}_a"), json!("x"));
        data.insert(format!("_v{i}_b"), json!("Hello, world!"));
        data.insert(
            format!("_v{i}_posts"),
            json!([{"id": "1", "title": "Post 1"}, {"id": "2", "title": "Post 2"}]),
        );
    }
    ExecutionResult::from_data(Value::Object(data))
}

fn bench(c: &mut Criterion) {
    let requests = requests();
    let reducer: ExtensionsReducer = Arc::new(later_keys_win);
    let merge = |requests: &[Request]| {
        let prefixed = requests
            .iter()
            .enumerate()
            .map(|(i, r)| prefix_request(i, r).unwrap())
            .collect();
        let merged = combine(prefixed, requests, &reducer);
        // Printing is part of the cost (done once per batch).
        black_box(merged.request.query().len());
        merged
    };
    let plan = merge(&requests).plan;
    let answer = merged_answer();

    let mut group = c.benchmark_group("batch_100x5");
    group.throughput(Throughput::Elements(REQUESTS as u64));
    group.bench_function("merge_and_print", |b| {
        b.iter(|| merge(black_box(&requests)))
    });
    group.bench_function("split", |b| {
        b.iter_batched(
            || answer.clone(),
            |answer| split_result(answer, black_box(&plan)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("merge_print_split", |b| {
        b.iter_batched(
            || answer.clone(),
            |answer| {
                let merged = merge(black_box(&requests));
                split_result(answer, &merged.plan)
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
