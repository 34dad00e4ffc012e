#![allow(clippy::unwrap_used)]
//! Type merging against the graphql-tools reference: four JavaScript services (accounts,
//! products, inventory, reviews; test-support/js/merge-subgraph.mjs) publish their SDL with
//! the stitching directives as `{ _sdl }`. Quilt stitches them from `_sdl` alone; the
//! reference is `@graphql-tools/stitch` with `@graphql-tools/stitching-directives`
//! (test-support/js/merge-gateway.mjs). The data must be equal, key order included; error
//! paths must be equal, except where graphql-tools is known to drop list indices from the
//! paths of errors inside merged lists (its long-standing batch path bug): there the test
//! gives the spec's paths, which Quilt must produce.

mod common;

use common::differential::{Case, case, client, count, error_paths, post, spec};
use common::run_op;
use quilt_stitch::{StitchedSchema, Stitcher, SubschemaConfig};
use quilt_test_support::JsPeer;
use quilt_wrap::{SchemaSource, load_schema};
use serde_json::json;

const NAMES: [&str; 4] = ["accounts", "products", "inventory", "reviews"];

fn corpus() -> Vec<Case> {
    vec![
        // One hop: products → reviews, reviews → accounts (single-key entry point).
        case("{ topProducts(first: 2) { upc name reviews { id body } } }"),
        case("{ reviews(first: 3) { id author { id name } } }"),
        case("{ me { name reviews { id rating } } }"),
        // Shared field answered by the service at hand (no hop), canonical elsewhere.
        case("{ reviews(first: 2) { author { username } } }"),
        case("{ me { username } }"),
        // Two and three hops.
        case("{ topProducts(first: 3) { name reviews { body author { name } } } }"),
        case("{ me { reviews { product { name price reviews { author { username } } } } } }"),
        case(
            "{ reviews(first: 4) { product { upc name inStock reviews { author { name reviews { id } } } } } }",
        ),
        // Computed field: inventory needs price and weight from products.
        case("{ topProducts(first: 4) { upc inStock shippingEstimate } }"),
        case("{ reviews(first: 5) { product { shippingEstimate } } }"),
        case("{ reviews(first: 3) { product { name shippingEstimate inStock price } } }"),
        // Duplicate keys in one list: each author fetched once, merged into every review.
        case("{ reviews { id author { name } } }"),
        case("{ reviews(first: 12) { product { upc name } } }"),
        // Abstract types across services: a union of reviews' Review and merged Product.
        case(
            "{ recent { __typename ... on Review { body author { name } } ... on Product { upc name inStock } } }",
        ),
        case("{ recent { ... on Product { shippingEstimate reviews { id } } } }"),
        // Aliases, fragments, variables and directives through merged fields.
        case("{ topProducts(first: 2) { n: name r: reviews { a: author { n: name } } } }"),
        case(
            "{ topProducts(first: 2) { ...P } } fragment P on Product { name reviews { ...R } } fragment R on Review { body author { ...U } } fragment U on User { name }",
        ),
        case("{ me { ... on User { name reviews { id } } } }"),
        Case {
            query: "query ($n: Int, $withAuthor: Boolean!) { topProducts(first: $n) { name reviews { id author @include(if: $withAuthor) { name } } } }",
            variables: json!({"n": 2, "withAuthor": true}),
            spec_paths: None,
        },
        Case {
            query: "query ($skip: Boolean!) { reviews(first: 3) { product { name @skip(if: $skip) inStock } } }",
            variables: json!({"skip": true}),
            spec_paths: None,
        },
        // Null entities: the author of review 21 and the product of review 23 do not exist.
        case("{ reviews { id author { name } } }"),
        case("{ reviews(first: 24) { id product { name price } } }"),
        // Errors inside merged fields and merged lists.
        case("{ me { email } reviews(first: 4) { author { email } } }"),
        spec(
            "{ reviews(first: 10) { id author { name reviews { id } } } }",
            vec![
                r#"["reviews",3,"author","reviews"]"#,
                r#"["reviews",8,"author","reviews"]"#,
            ],
        ),
        case("{ topProducts(first: 6) { upc name } }"),
        spec(
            "{ reviews(first: 6) { id product { upc name } } }",
            vec![r#"["reviews",4,"product","name"]"#],
        ),
        // Introspection of the merged schema.
        case("{ __type(name: \"Product\") { fields { name } } }"),
        case("{ __type(name: \"Recent\") { possibleTypes { name } } }"),
    ]
}

struct Setup {
    quilt: StitchedSchema,
    reference: JsPeer,
    subgraphs: Vec<JsPeer>,
}

async fn start() -> Setup {
    let mut subgraphs = Vec::new();
    for name in NAMES {
        subgraphs.push(JsPeer::start("merge-subgraph.mjs", &[name]).await.unwrap());
    }
    let urls: Vec<String> = subgraphs.iter().map(|p| p.http_url("/graphql")).collect();
    let args: Vec<&str> = urls.iter().map(String::as_str).collect();
    let reference = JsPeer::start("merge-gateway.mjs", &args).await.unwrap();
    let mut stitcher = Stitcher::new();
    for (name, url) in NAMES.iter().zip(&urls) {
        let executor = common::http(url.clone());
        let schema = load_schema(&executor, SchemaSource::sdl()).await.unwrap();
        stitcher = stitcher.subschema(SubschemaConfig::new(*name, schema, executor));
    }
    Setup {
        quilt: stitcher.build().unwrap(),
        reference,
        subgraphs,
    }
}

#[tokio::test]
async fn quilt_merges_types_like_graphql_tools() {
    let setup = start().await;
    let client = client();
    let url = setup.reference.http_url("/graphql");
    let mut failures = Vec::new();
    let mut with_data = 0;
    let corpus = corpus();
    for (i, case) in corpus.iter().enumerate() {
        let expected = post(&client, &url, case.query, &case.variables).await;
        let actual = run_op(&setup.quilt, case.query, case.variables.clone(), None).await;
        // Every operation of the corpus executes (a comparison of two request errors proves
        // little); all but the one whose null reaches the root have data.
        assert!(expected.get("data").is_some(), "#{i}: {expected}");
        with_data += usize::from(expected["data"].is_object());
        let same_data = serde_json::to_string(&expected["data"]).unwrap()
            == serde_json::to_string(&actual["data"]).unwrap();
        let expected_paths = case.expected_paths(&expected);
        if !same_data || expected_paths != error_paths(&actual) {
            failures.push(format!(
                "#{i} {}\n  reference: {expected}\n  expected paths: {expected_paths:?}\n  quilt:     {actual}",
                case.query
            ));
        }
    }
    assert_eq!(with_data, corpus.len() - 1);
    assert!(
        failures.is_empty(),
        "{} operations differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn one_request_per_service_per_plan_level_whatever_the_list_length() {
    let setup = start().await;
    let client = client();
    for first in [5, 50] {
        let before: Vec<u64> =
            futures::future::join_all(setup.subgraphs.iter().map(|p| count(&client, p))).await;
        let query = format!(
            "{{ topProducts(first: {first}) {{ reviews {{ author {{ name }} }} inStock }} }}"
        );
        let result = run_op(&setup.quilt, &query, json!({}), None).await;
        let products = result["data"]["topProducts"].as_array().unwrap();
        assert_eq!(products.len(), first);
        assert!(
            products
                .iter()
                .flat_map(|p| p["reviews"].as_array().unwrap())
                .any(|r| r["author"]["name"] == "Ada")
        );
        let after: Vec<u64> =
            futures::future::join_all(setup.subgraphs.iter().map(|p| count(&client, p))).await;
        let delta: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
        // Level 0 products, level 1 reviews and inventory, level 2 accounts: one each.
        assert_eq!(
            delta,
            vec![1, 1, 1, 1],
            "requests to {NAMES:?} for first: {first}"
        );
    }
}

#[tokio::test]
async fn a_delegated_list_field_returns_merged_types() {
    let mut subgraphs = Vec::new();
    for name in NAMES {
        subgraphs.push(JsPeer::start("merge-subgraph.mjs", &[name]).await.unwrap());
    }
    let mut stitcher = Stitcher::new();
    for (name, peer) in NAMES.iter().zip(&subgraphs) {
        let executor = common::http(peer.http_url("/graphql"));
        let schema = load_schema(&executor, SchemaSource::sdl()).await.unwrap();
        stitcher = stitcher.subschema(SubschemaConfig::new(*name, schema, executor));
    }
    // `Review.similar`: the products with the next two upcs, from products' `products(upcs:)`;
    // their `inStock` comes from inventory and `reviews` from reviews by type merging.
    let gateway = stitcher
        .type_defs("extend type Review { similar: [Product]! }")
        .resolve(
            "Review.similar",
            quilt_stitch::FieldResolver::delegate_with(
                "products",
                "products",
                "{ product { upc } }",
                |review, _args| {
                    let upc: u64 = review["product"]["upc"].as_str().unwrap().parse().unwrap();
                    serde_json::Map::from_iter([(
                        "upcs".to_owned(),
                        json!([(upc + 1).to_string(), (upc + 2).to_string()]),
                    )])
                },
            ),
        )
        .build()
        .unwrap();
    let result = run_op(
        &gateway,
        "{ reviews(first: 2) { id similar { upc name inStock reviews { id } } } }",
        json!({}),
        None,
    )
    .await;
    let direct = run_op(
        &gateway,
        r#"{ a: products(upcs: ["2", "3"]) { upc name inStock reviews { id } } b: products(upcs: ["3", "4"]) { upc name inStock reviews { id } } }"#,
        json!({}),
        None,
    )
    .await;
    assert!(result.get("errors").is_none(), "{result}");
    assert_eq!(result["data"]["reviews"][0]["similar"], direct["data"]["a"]);
    assert_eq!(result["data"]["reviews"][1]["similar"], direct["data"]["b"]);
    assert!(
        direct["data"]["a"][0]["reviews"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    );
}
