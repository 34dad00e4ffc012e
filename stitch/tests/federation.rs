#![allow(clippy::unwrap_used)]
//! Apollo Federation subgraphs stitched directly: the four Rust subgraphs of the well-known
//! gateway benchmark (accounts, inventory, products, reviews; `quilt_test_support::federation`)
//! read from `{ _service { sdl } }` alone. `@key(fields:)` becomes an `_entities` entry point,
//! `@requires` a computed field, `@external` fields are left to their owner and `@provides`
//! lets reviews answer `author { username }` itself. The deep query across all four returns
//! exactly what the subgraphs' data implies, with one request per service per plan level.

mod common;

use common::run_op;
use quilt_stitch::{Stitcher, SubschemaConfig};
use quilt_test_support::federation::{self, HEAVY_QUERY, NAMES, SIMPLE_QUERY, expected};
use quilt_wrap::{SchemaSource, load_schema};
use serde_json::json;

async fn stitched(subgraphs: &federation::Subgraphs) -> quilt_stitch::StitchedSchema {
    let mut stitcher = Stitcher::new();
    for (name, server) in subgraphs.all() {
        let executor = common::http(server.http_url());
        let schema = load_schema(&executor, SchemaSource::federation())
            .await
            .unwrap();
        stitcher = stitcher.subschema(SubschemaConfig::new(name, schema, executor));
    }
    stitcher.build().unwrap()
}

#[tokio::test]
async fn the_deep_query_across_four_federation_subgraphs_returns_what_the_data_implies() {
    let subgraphs = federation::start_all().await.unwrap();
    let gateway = stitched(&subgraphs).await;
    let sdl = gateway.sdl();
    assert!(!sdl.contains("_entities") && !sdl.contains("@key"), "{sdl}");

    let before: Vec<u64> = subgraphs
        .all()
        .iter()
        .map(|(_, s)| s.stats().snapshot().http_requests)
        .collect();
    let result = run_op(&gateway, HEAVY_QUERY, json!({}), None).await;
    assert_eq!(
        serde_json::to_string(&result).unwrap(),
        serde_json::to_string(&expected::heavy_response()).unwrap()
    );
    let after: Vec<u64> = subgraphs
        .all()
        .iter()
        .map(|(_, s)| s.stats().snapshot().http_requests)
        .collect();
    let delta: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    // Every service takes part in two levels of the plan (accounts: `users`, then the
    // authors' names; products: `topProducts`, then the reviewed products; reviews and
    // inventory: the two depths of reviews and of products) and is asked once per level,
    // whatever the number of entities: 8 requests for the ~88 KB response.
    assert_eq!(delta, vec![2, 2, 2, 2], "requests to {NAMES:?}");

    let simple = run_op(&gateway, SIMPLE_QUERY, json!({}), None).await;
    assert_eq!(simple, expected::simple_response());
}

#[tokio::test]
async fn requires_and_provides_decide_who_resolves_a_field() {
    let subgraphs = federation::start_all().await.unwrap();
    let gateway = stitched(&subgraphs).await;
    let reviews = subgraphs.reviews.stats();
    let accounts = subgraphs.accounts.stats();
    let before = (
        reviews.snapshot().http_requests,
        accounts.snapshot().http_requests,
    );
    // `author { username }` is provided by reviews: no call to accounts.
    let result = run_op(
        &gateway,
        "{ topProducts(first: 2) { reviews { author { username } } } }",
        json!({}),
        None,
    )
    .await;
    assert!(result.get("errors").is_none(), "{result}");
    assert_eq!(accounts.snapshot().http_requests, before.1);
    assert_eq!(reviews.snapshot().http_requests, before.0 + 1);
    // `name` is not provided: accounts is asked once for all authors.
    let result = run_op(
        &gateway,
        "{ topProducts(first: 2) { reviews { author { name } } } }",
        json!({}),
        None,
    )
    .await;
    assert!(result.get("errors").is_none(), "{result}");
    assert_eq!(accounts.snapshot().http_requests, before.1 + 1);
    // `shippingEstimate` requires price and weight, which products answers.
    let result = run_op(
        &gateway,
        "{ topProducts(first: 3) { shippingEstimate } }",
        json!({}),
        None,
    )
    .await;
    let estimates = result["data"]["topProducts"].as_array().unwrap();
    assert_eq!(estimates.len(), 3);
    assert!(
        estimates.iter().all(|p| p["shippingEstimate"].is_i64()),
        "{result}"
    );
}
