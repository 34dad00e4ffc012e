//! End-to-end throughput of 100 concurrent small queries to the test service on loopback,
//! batched (one upstream HTTP request) against unbatched (100), in one run.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::future::join_all;
use quilt_batch::{BatchExt, BatchOptions};
use quilt_executor::{Executor, Request};
use quilt_test_support::TestServer;
use serde_json::json;

const CONCURRENT: usize = 100;

fn queries() -> Vec<Request> {
    (0..CONCURRENT)
        .map(|i| {
            Request::new("query($id: ID!) { user(id: $id) { id name } }")
                .unwrap()
                .variable("id", json!((i % 5 + 1).to_string()))
        })
        .collect()
}

async fn round(executor: &impl Executor, requests: &[Request]) {
    let results = join_all(requests.iter().map(|r| support::run(executor, r.clone()))).await;
    assert!(results.iter().all(|r| r.errors.is_empty()));
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(TestServer::start()).unwrap();
    let unbatched = support::http_executor(server.http_url());
    // Dedup off: every query is its own field, the fair comparison.
    let batched =
        support::http_executor(server.http_url()).batched(BatchOptions::default().dedup(false));
    let requests = queries();

    let mut group = c.benchmark_group("loopback_100_concurrent_queries");
    group.throughput(Throughput::Elements(CONCURRENT as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("unbatched", |b| {
        b.to_async(&runtime).iter(|| round(&unbatched, &requests))
    });
    group.bench_function("batched", |b| {
        b.to_async(&runtime).iter(|| round(&batched, &requests))
    });
    group.finish();
    drop(server);
}

criterion_group!(benches, bench);
criterion_main!(benches);
