#![allow(clippy::unwrap_used)]
//! Bad input gets clear errors and no upstream call, never a panic; the plan cache spares
//! repeated work.

mod common;

use std::time::Instant;

use common::{Services, run, run_op};
use quilt_executor::{Executor, Request};
use quilt_stitch::{StitchLimits, Stitcher};
use serde_json::{Value, json};

fn message(result: &Value) -> String {
    assert!(
        result.get("data").is_none(),
        "a request error has no data: {result}"
    );
    result["errors"][0]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn unknown_or_missing_operation_name() {
    let services = Services::start().await;
    let (gateway, sent) = services.gateway();
    let document = "query A { me { name } } query B { me { id } }";
    let unknown = run_op(&gateway, document, json!({}), Some("C")).await;
    assert!(message(&unknown).contains('C'), "{unknown}");
    let missing = run(&gateway, document, json!({})).await;
    assert!(!message(&missing).is_empty(), "{missing}");
    assert!(sent[0].take().is_empty());
}

#[tokio::test]
async fn wrong_variable_types_and_missing_variables() {
    let services = Services::start().await;
    let (gateway, sent) = services.gateway();
    let query = "query ($id: ID!, $role: Role!) { user(id: $id) { name } r: usersByRole(role: $role) { id } }";
    for variables in [
        json!({"id": {"not": "an id"}, "role": "ADMIN"}),
        json!({"role": "ADMIN"}),
        json!({"id": null, "role": "ADMIN"}),
        json!({"id": "1", "role": "KING"}),
        json!({"id": "1", "role": 3}),
    ] {
        let result = run(&gateway, query, variables.clone()).await;
        let text = message(&result);
        assert_eq!(
            result["errors"][0]["extensions"]["code"],
            json!("BAD_USER_INPUT"),
            "{variables}: {text}"
        );
    }
    let input = "query ($f: ProductFilter) { filterProducts(filter: $f) { upc } }";
    let result = run(&gateway, input, json!({"f": {"maxPrice": "cheap"}})).await;
    assert!(message(&result).contains("maxPrice") || message(&result).contains("Float"));
    for s in &sent {
        assert!(s.take().is_empty(), "nothing is sent for bad variables");
    }
}

#[tokio::test]
async fn a_one_megabyte_query_is_refused_quickly() {
    let services = Services::start().await;
    let (gateway, sent) = services.gateway();
    // One megabyte: a huge string argument (cheap to lex, so the test stays fast).
    let query = format!(
        "{{ product(upc: \"{}\") {{ name }} }}",
        "9".repeat(1024 * 1024)
    );
    // The server parses the body into a request; the gateway refuses it before validating.
    let request = Request::new(query).unwrap();
    let started = Instant::now();
    let response = gateway.execute(request).await.unwrap();
    let result = serde_json::to_value(response.into_single().await.unwrap()).unwrap();
    assert!(
        started.elapsed().as_millis() < 500,
        "{:?}",
        started.elapsed()
    );
    assert!(message(&result).contains("limit"), "{}", message(&result));
    assert_eq!(
        result["errors"][0]["extensions"]["code"],
        json!("DOCUMENT_TOO_LARGE")
    );
    assert!(sent[0].take().is_empty());

    // The limit is configurable: with a 100-byte limit, a small document is refused too.
    let (configs, _) = services.subschemas();
    let strict = configs
        .into_iter()
        .fold(Stitcher::new(), |s, c| s.subschema(c))
        .limits(StitchLimits {
            max_document_bytes: 100,
            ..StitchLimits::default()
        })
        .build()
        .unwrap();
    let long = format!("{{ me {{ name }} {} }}", "id: __typename ".repeat(10));
    let result = run(&strict, &long, json!({})).await;
    assert_eq!(
        result["errors"][0]["extensions"]["code"],
        json!("DOCUMENT_TOO_LARGE")
    );
    assert_eq!(
        run(&strict, "{ me { name } }", json!({})).await,
        json!({"data": {"me": {"name": "Ada"}}})
    );
}

#[tokio::test]
async fn deeply_nested_queries_are_refused() {
    let services = Services::start().await;
    let (gateway, _) = services.gateway();
    let depth = 70;
    let query = format!("{}{}", "{ me ".repeat(depth), "}".repeat(depth));
    let result = run(&gateway, &query, json!({})).await;
    assert_eq!(
        result["errors"][0]["extensions"]["code"],
        json!("DOCUMENT_TOO_DEEP")
    );
    // Through fragments too.
    let mut fragments = String::from("{ ...F0 }");
    for i in 0..100 {
        fragments.push_str(&format!(
            " fragment F{i} on Query {{ me {{ ...F{} }} }}",
            i + 1
        ));
    }
    let result = run(&gateway, &fragments, json!({})).await;
    assert_eq!(
        result["errors"][0]["extensions"]["code"],
        json!("DOCUMENT_TOO_DEEP")
    );
    // Far deeper documents are refused by the parser, with an error, not a stack overflow.
    let very_deep = format!("{}{}", "{ a ".repeat(5_000), "}".repeat(5_000));
    assert!(Request::new(very_deep).is_err());
}

/// Documents designed to make every walk over them recurse (a chain of thousands of fragment
/// spreads, which the parser does not bound, and inline fragments nested just below the
/// parser's limit) are refused by the explicit nesting limit before anything recurses on
/// them, and the gateway answers a normal query right after, in the same process.
#[tokio::test]
async fn documents_designed_to_recurse_are_refused_and_the_gateway_keeps_serving() {
    let services = Services::start().await;
    let (gateway, sent) = services.gateway();
    let mut chain = String::from("{ me { ...F0 } }");
    for i in 0..6_000 {
        chain.push_str(&format!(" fragment F{i} on User {{ ...F{} }}", i + 1));
    }
    chain.push_str(" fragment F6000 on User { name }");
    assert!(chain.len() < StitchLimits::default().max_document_bytes);
    let inline = format!(
        "{{ me {{ {}name{} }} }}",
        "... on User { ".repeat(450),
        " }".repeat(450)
    );
    for (what, query) in [("spreads", &chain), ("inline fragments", &inline)] {
        let result = run(&gateway, query, json!({})).await;
        assert_eq!(
            result["errors"][0]["extensions"]["code"],
            json!("DOCUMENT_TOO_DEEP"),
            "{what}: {result}"
        );
        assert!(message(&result).contains("256 levels"), "{what}: {result}");
        let normal = run(&gateway, "{ me { name } }", json!({})).await;
        assert_eq!(normal, json!({"data": {"me": {"name": "Ada"}}}), "{what}");
    }
    // Only the normal queries went upstream.
    assert_eq!(sent[0].take().len(), 2);
}

#[tokio::test]
async fn second_identical_request_is_not_validated_or_planned_again() {
    let services = Services::start().await;
    let (gateway, sent) = services.gateway();
    let query = "query Q($n: Int) { reviews(first: $n) { id } me { name } }";
    let first = run(&gateway, query, json!({"n": 1})).await;
    let stats = gateway.plan_cache_stats();
    assert_eq!(
        (stats.misses, stats.hits, stats.validations, stats.plans),
        (1, 0, 1, 1)
    );
    // Same document, other variables: a hit, no validation, no planning, same documents sent.
    let second = run(&gateway, query, json!({"n": 2})).await;
    let stats = gateway.plan_cache_stats();
    assert_eq!(
        (stats.misses, stats.hits, stats.validations, stats.plans),
        (1, 1, 1, 1)
    );
    assert_eq!(first["data"]["reviews"].as_array().unwrap().len(), 1);
    assert_eq!(second["data"]["reviews"].as_array().unwrap().len(), 2);
    let reviews = sent[2].take();
    assert_eq!(reviews[0].0, reviews[1].0);
    // An invalid document is not cached: it is validated each time.
    for _ in 0..2 {
        run(&gateway, "{ nope }", json!({})).await;
    }
    let stats = gateway.plan_cache_stats();
    assert_eq!((stats.validations, stats.plans, stats.entries), (3, 1, 1));
    // Another operation name of the same document is another entry.
    let two = "query A { me { id } } query B { me { name } }";
    run_op(&gateway, two, json!({}), Some("A")).await;
    run_op(&gateway, two, json!({}), Some("B")).await;
    run_op(&gateway, two, json!({}), Some("A")).await;
    let stats = gateway.plan_cache_stats();
    assert_eq!((stats.plans, stats.entries, stats.hits), (3, 3, 2));
}

#[tokio::test]
async fn the_plan_cache_is_bounded() {
    let services = Services::start().await;
    let (configs, _) = services.subschemas();
    let gateway = configs
        .into_iter()
        .fold(Stitcher::new(), |s, c| s.subschema(c))
        .limits(StitchLimits {
            plan_cache_capacity: 2,
            ..StitchLimits::default()
        })
        .build()
        .unwrap();
    for i in 0..5 {
        let request = Request::new(format!("{{ a{i}: me {{ id }} }}")).unwrap();
        gateway.execute(request).await.unwrap();
    }
    assert_eq!(gateway.plan_cache_stats().entries, 2);
}
