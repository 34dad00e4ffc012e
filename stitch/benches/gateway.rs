//! Gateway cost per request, side by side in one run:
//!
//! - `gateway_cpu/two_services_in_process`: the stitched schema over two in-process executors
//!   that answer instantly with canned data. Everything measured is the gateway's own work
//!   (plan cache hit, variable coercion, step requests, shaping), on one thread, so the time
//!   per iteration is its CPU time per request.
//! - `two_service_query/via_gateway` vs `two_service_query/direct`: the same two-service query
//!   over loopback HTTP to two real async-graphql subgraphs, through the gateway, and as the
//!   two subqueries sent straight to the subgraphs (concurrently) without it.
//!
//! Run: `cargo bench -p quilt-stitch --bench gateway`

#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::services::{MutationLog, accounts, products_schema};
use criterion::{Criterion, criterion_group, criterion_main};
use quilt_executor::{ExecutionResult, Executor, Request, Response, from_fn};
use quilt_stitch::{Stitcher, SubschemaConfig};
use quilt_test_support::{Stats, TestServer, graphql_router};
use serde_json::json;

const QUERY: &str = "query Two($first: Int!) { me { id name role } topProducts(first: $first) { upc name price tags } }";

fn request() -> Request {
    Request::new(QUERY).unwrap().variable("first", json!(4))
}

fn canned(data: serde_json::Value) -> impl Executor {
    from_fn(move |_r: Request| {
        let data = data.clone();
        async move { Ok(Response::Single(ExecutionResult::from_data(data))) }
    })
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let log = MutationLog::default();
    let (a, p) = (accounts(log.clone()), products_schema(log));
    let (a_sdl, p_sdl) = (a.sdl(), p.sdl());

    // Pure gateway work: canned upstream answers.
    let products: Vec<_> = (1..=4)
        .map(|i| json!({"upc": i.to_string(), "name": format!("P{i}"), "price": 10.5, "tags": ["a", "b"]}))
        .collect();
    let in_process = Stitcher::new()
        .subschema(
            SubschemaConfig::from_sdl(
                "accounts",
                &a_sdl,
                canned(json!({"me": {"id": "1", "name": "Ada", "role": "ADMIN"}})),
            )
            .unwrap(),
        )
        .subschema(
            SubschemaConfig::from_sdl("products", &p_sdl, canned(json!({"topProducts": products})))
                .unwrap(),
        )
        .build()
        .unwrap();
    let mut group = c.benchmark_group("gateway_cpu");
    group.bench_function("two_services_in_process", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = in_process.execute(request()).await.unwrap();
            response.into_single().await.unwrap()
        })
    });
    // What a server answering JSON does with each: the tree serialized, or the data written
    // as JSON while it is completed.
    group.bench_function("two_services_in_process_to_bytes_via_tree", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = in_process.execute(request()).await.unwrap();
            serde_json::to_vec(&response.into_single().await.unwrap()).unwrap()
        })
    });
    group.bench_function("two_services_in_process_to_bytes_serialized", |b| {
        b.to_async(&runtime).iter(|| async {
            let request = request().data_form(quilt_executor::DataForm::Json);
            let response = in_process.execute(request).await.unwrap();
            response.into_single().await.unwrap().to_json().unwrap()
        })
    });
    group.finish();

    // Over loopback HTTP.
    let (accounts_server, products_server) = runtime.block_on(async {
        let localhost = "127.0.0.1:0".parse().unwrap();
        let stats = Stats::default();
        (
            TestServer::serve(localhost, graphql_router(a, stats.clone()), stats.clone())
                .await
                .unwrap(),
            TestServer::serve(localhost, graphql_router(p, stats.clone()), stats)
                .await
                .unwrap(),
        )
    });
    let accounts_http = common::http(accounts_server.http_url());
    let products_http = common::http(products_server.http_url());
    let gateway = Stitcher::new()
        .subschema(SubschemaConfig::from_sdl("accounts", &a_sdl, accounts_http.clone()).unwrap())
        .subschema(SubschemaConfig::from_sdl("products", &p_sdl, products_http.clone()).unwrap())
        .build()
        .unwrap();
    let mut group = c.benchmark_group("two_service_query");
    group.bench_function("via_gateway", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = gateway.execute(request()).await.unwrap();
            let result = response.into_single().await.unwrap();
            assert!(result.errors.is_empty());
            result
        })
    });
    let me = Request::new("{ me { id name role } }").unwrap();
    let top =
        Request::new("query($first: Int!) { topProducts(first: $first) { upc name price tags } }")
            .unwrap()
            .variable("first", json!(4));
    group.bench_function("direct", |b| {
        b.to_async(&runtime).iter(|| async {
            let (x, y) = futures::join!(
                accounts_http.execute(me.clone()),
                products_http.execute(top.clone())
            );
            (
                x.unwrap().into_single().await.unwrap(),
                y.unwrap().into_single().await.unwrap(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
