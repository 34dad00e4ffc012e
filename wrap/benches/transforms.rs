//! Request and result mapping through a chain of transforms (no network): the per-request cost
//! a wrapped schema adds once its documents are cached.

#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use quilt_executor::{ExecutionResult, Request, Response, from_fn};
use quilt_wrap::transforms::{
    RenameObjectFields, RenameRootFields, RenameTypes, TransformEnumValues, WrapType,
};
use quilt_wrap::{WrapSchemaConfig, wrap_schema};
use serde_json::{Value, json};

fn schema() -> apollo_compiler::Schema {
    let sdl = quilt_test_support::subgraph::schema(quilt_test_support::Stats::default()).sdl();
    apollo_compiler::Schema::parse_and_validate(sdl, "s.graphql")
        .unwrap()
        .into_inner()
}

fn users(n: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| json!({"__typename": "User", "id": i.to_string(), "n": format!("user {i}"), "role": "MEMBER"}))
            .collect(),
    )
}

fn bench(c: &mut Criterion) {
    let executor =
        from_fn(|_r: Request| async { Ok(Response::Single(ExecutionResult::default())) });
    let wrapped = wrap_schema(
        WrapSchemaConfig::new(schema(), executor)
            .transform(RenameTypes::new(|n| Some(format!("Gh{n}"))))
            .transform(RenameRootFields::new(|_, f, _| Some(format!("gh_{f}"))))
            .transform(RenameObjectFields::new(|t, f, _| {
                (t == "GhUser" && f == "name").then(|| "fullName".into())
            }))
            .transform(TransformEnumValues::new(|_, v, _| Some(v.to_lowercase()))),
    )
    .unwrap();
    let query = "query Q($f: GhUserFilter!) { gh_searchUsers(filter: $f) { __typename id n: fullName role } }";
    let request = || {
        Request::new(query)
            .unwrap()
            .variable("f", json!({"role": "member"}))
    };
    let inner_result = ExecutionResult::from_data(json!({"gh_searchUsers": users(100)}));

    c.bench_function("map_request, 4 transforms, cached document", |b| {
        b.iter_batched(
            request,
            |r| wrapped.map_request(r).unwrap(),
            BatchSize::SmallInput,
        )
    });
    let (_, mapped) = wrapped.map_request(request()).unwrap();
    c.bench_function("map_result, 4 transforms, 100 objects", |b| {
        b.iter_batched(
            || inner_result.clone(),
            |r| wrapped.map_result(r, &mapped),
            BatchSize::SmallInput,
        )
    });

    let executor =
        from_fn(|_r: Request| async { Ok(Response::Single(ExecutionResult::default())) });
    let namespaced = wrap_schema(
        WrapSchemaConfig::new(schema(), executor).transform(WrapType::new("Query", "Ns", "ns")),
    )
    .unwrap();
    let ns_request = || Request::new("{ ns { users { id name role } } }").unwrap();
    let (_, ns_mapped) = namespaced.map_request(ns_request()).unwrap();
    let ns_result =
        ExecutionResult::from_data(json!({"_qw_ns": "Query", "_qw_ns__users": users(100)}));
    c.bench_function("map_result, WrapType, 100 objects", |b| {
        b.iter_batched(
            || ns_result.clone(),
            |r| namespaced.map_result(r, &ns_mapped),
            BatchSize::SmallInput,
        )
    });
    let mut n = 0u64;
    c.bench_function("transform_document, 4 transforms, uncached", |b| {
        b.iter(|| {
            // a fresh text each time (a comment) defeats the cache
            n += 1;
            let doc = quilt_executor::Document::parse(format!("{query} # {n}")).unwrap();
            wrapped.transform_document(&doc, Some("Q")).unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
