//! Parsing upstream answers into the [`Data`] tree and writing it back, on the gateway
//! benchmark's answers: the heavy query's whole answer (88 KB of nested users, reviews and
//! products) and the large query's (40,000 products, 4 MB).
//!
//! Run with `cargo bench -p quilt-executor --bench data`. The allocator is mimalloc, as in the
//! gateway, since the tree's cost is partly its allocations.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use quilt_executor::data::Data;
use quilt_test_support::federation::{LARGE_PRODUCTS, expected};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn answers() -> [(&'static str, Vec<u8>); 2] {
    let json = |value: serde_json::Value| serde_json::to_vec(&value).expect("serializable");
    [
        ("heavy", json(expected::heavy_response())),
        ("large", json(expected::large_response(LARGE_PRODUCTS))),
    ]
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("data");
    for (name, json) in answers() {
        group.throughput(Throughput::Bytes(json.len() as u64));
        group.bench_function(format!("parse/{name}"), |b| {
            b.iter(|| Data::from_slice(black_box(&json)).expect("valid JSON"))
        });
        let data = Data::from_slice(&json).expect("valid JSON");
        assert_eq!(data.to_json(), json);
        group.bench_function(format!("write/{name}"), |b| {
            b.iter(|| black_box(&data).to_json())
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = parse
}
criterion_main!(benches);
