//! GitHub's introspection JSON (`@octokit/graphql-schema`, 4.9 MB, 1606 types) → validated
//! schema.
//!
//! `cargo bench -p quilt-wrap --bench introspection`

#![allow(clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};

fn github_json() -> String {
    let path =
        quilt_test_support::js::js_dir().join("node_modules/@octokit/graphql-schema/schema.json");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `npm ci` in test-support/js)", path.display()))
}

fn introspection(c: &mut Criterion) {
    let json = github_json();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut group = c.benchmark_group("github_introspection");
    group.sample_size(20);
    group.bench_function("json_text_to_valid_schema", |b| {
        b.iter(|| quilt_wrap::schema_from_introspection_str(std::hint::black_box(&json)).unwrap())
    });
    group.bench_function("json_value_to_valid_schema", |b| {
        b.iter(|| quilt_wrap::schema_from_introspection(std::hint::black_box(&value)).unwrap())
    });
    // Where the time goes: JSON scanning alone, and validation alone.
    group.bench_function("phase_json_scan_only", |b| {
        b.iter(|| {
            serde_json::from_str::<serde::de::IgnoredAny>(std::hint::black_box(&json)).unwrap()
        })
    });
    let built = quilt_wrap::schema_from_introspection_str(&json)
        .unwrap()
        .into_inner();
    group.bench_function("phase_validate_only", |b| {
        b.iter(|| std::hint::black_box(built.clone()).validate().unwrap())
    });
    group.finish();
}

criterion_group!(benches, introspection);
criterion_main!(benches);
