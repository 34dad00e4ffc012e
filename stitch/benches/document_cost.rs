//! What a document costs before anything is sent upstream, against its size and its fragment
//! depth: the server's limits (`quilt_server::check_limits`: depth, aliases,
//! root fields, expanded selections) and the stitched schema's validation + planning (+ the
//! shaping of a one-field answer), with the plan cache off so every iteration does it all.
//!
//! Families, each growing in one direction:
//! - `fragment_bomb/{n}`: `{ me { ...F0 } }` where each of n fragments spreads the next one
//!   twice (2^n selections once expanded). The server refuses it above
//!   `max_selections` (n > 12 with the default 5 000); the stitched schema is measured up to
//!   n = 12, which the server lets through.
//! - `fragment_chain/{n}`: n fragments, each selecting a field and spreading the next once
//!   (apollo-compiler refuses chains of about a hundred: "too much nesting").
//! - `aliases/{n}`: n aliased root fields `aK: me { id name }`.
//!
//! - `cold_plan/heavy`: the gateway benchmark's heavy query over its four federation
//!   subgraphs (`quilt_test_support::federation`), parsed, validated and planned with the
//!   plan cache off (`StitchedSchema::explain`, which also writes the plan as text): what
//!   every request of the load harness's `many-plans` scenario costs before it is sent.
//!
//! Run: `cargo bench -p quilt-stitch --bench document_cost`

#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::services::{MutationLog, accounts};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use quilt_executor::{Document, ExecutionResult, Executor, Request, Response, from_fn};
use quilt_server::check_limits;
use quilt_stitch::{StitchLimits, Stitcher, SubschemaConfig};
use serde_json::json;

/// A family of documents: its name, how one of size n is written, the sizes measured.
type Family = (&'static str, fn(usize) -> String, &'static [usize]);

fn fragment_bomb(levels: usize) -> String {
    let mut query = String::from("{ me { ...F0 } }");
    for i in 0..levels {
        query.push_str(&format!(
            " fragment F{i} on User {{ ...F{n} ...F{n} }}",
            n = i + 1
        ));
    }
    query.push_str(&format!(" fragment F{levels} on User {{ name }}"));
    query
}

fn fragment_chain(length: usize) -> String {
    let mut query = String::from("{ me { ...F0 } }");
    for i in 0..length {
        query.push_str(&format!(" fragment F{i} on User {{ id ...F{} }}", i + 1));
    }
    query.push_str(&format!(" fragment F{length} on User {{ name }}"));
    query
}

fn aliases(count: usize) -> String {
    let fields: String = (0..count)
        .map(|i| format!("a{i}: me {{ id name }} "))
        .collect();
    format!("{{ {fields}}}")
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sdl = accounts(MutationLog::default()).sdl();
    // Every answer is the same small object: the cost measured is the gateway's preparation.
    let canned = from_fn(|request: Request| async move {
        let names: Vec<String> = request
            .document
            .operation(request.operation_name.as_deref())
            .map(|op| {
                op.selection_set
                    .iter()
                    .filter_map(|s| s.as_field().map(|f| f.response_name().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let user = json!({"id": "1", "name": "Ada"});
        let data: serde_json::Map<String, serde_json::Value> =
            names.into_iter().map(|n| (n, user.clone())).collect();
        Ok(Response::Single(ExecutionResult::from_data(data.into())))
    });
    let schema = Stitcher::new()
        .limits(StitchLimits {
            plan_cache_capacity: 0,
            ..StitchLimits::default()
        })
        .subschema(SubschemaConfig::from_sdl("accounts", &sdl, canned).unwrap())
        .build()
        .unwrap();
    let server_limits = quilt_server::Limits::default();

    let families: [Family; 3] = [
        ("fragment_bomb", fragment_bomb, &[3, 6, 9, 12]),
        ("fragment_chain", fragment_chain, &[10, 20, 40, 80]),
        ("aliases", aliases, &[25, 50, 100, 200]),
    ];
    for (family, make, sizes) in families {
        let mut group = c.benchmark_group(format!("document_cost/{family}"));
        for &n in sizes {
            let text = make(n);
            let document = Document::parse(text.as_str()).unwrap();
            // Every document is answered (none is over a limit of the stitched schema).
            let answer = runtime.block_on(async {
                let request = Request::from_document(document.clone());
                schema
                    .execute(request)
                    .await
                    .unwrap()
                    .into_single()
                    .await
                    .unwrap()
            });
            assert!(
                answer.errors.is_empty(),
                "{family}/{n}: {:?}",
                answer.errors
            );
            group.bench_with_input(
                BenchmarkId::new("server_limits", n),
                &document,
                |b, document| b.iter(|| check_limits(document, None, &server_limits).is_ok()),
            );
            group.bench_with_input(
                BenchmarkId::new("validate_plan_shape", n),
                &document,
                |b, document| {
                    b.to_async(&runtime).iter(|| async {
                        let request = Request::from_document(document.clone());
                        schema
                            .execute(request)
                            .await
                            .unwrap()
                            .into_single()
                            .await
                            .unwrap()
                    })
                },
            );
        }
        group.finish();
    }
    // The server's check alone on bombs far past any limit: still linear in the text.
    let mut group = c.benchmark_group("document_cost/server_limits_bomb");
    for n in [16, 32, 64, 128] {
        let document = Document::parse(fragment_bomb(n)).unwrap();
        group.bench_with_input(BenchmarkId::from_parameter(n), &document, |b, document| {
            b.iter(|| check_limits(document, None, &server_limits).is_err())
        });
    }
    group.finish();
}

fn cold_plan(c: &mut Criterion) {
    use quilt_test_support::federation;
    let mut stitcher = Stitcher::new().limits(StitchLimits {
        plan_cache_capacity: 0,
        ..StitchLimits::default()
    });
    for (name, sdl) in federation::sdls() {
        let schema = quilt_wrap::schema_from_federation_sdl(&sdl).unwrap();
        // Never called: only planning is measured.
        let unused =
            from_fn(
                |_request: Request| async move { Ok(Response::Single(ExecutionResult::default())) },
            );
        stitcher = stitcher.subschema(SubschemaConfig::new(name, schema, unused));
    }
    let gateway = stitcher.build().unwrap();
    let mut group = c.benchmark_group("cold_plan");
    group.bench_function("heavy", |b| {
        b.iter(|| {
            gateway
                .explain(federation::HEAVY_QUERY, None)
                .unwrap()
                .len()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .measurement_time(std::time::Duration::from_secs(2))
        .warm_up_time(std::time::Duration::from_millis(500));
    targets = bench, cold_plan
}
criterion_main!(benches);
