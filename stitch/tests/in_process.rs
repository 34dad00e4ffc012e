#![allow(clippy::unwrap_used)]
//! Subschemas that are executors in the same process: async-graphql schemas run locally, and
//! a stitched schema as a subschema of another, next to a service over HTTP.

mod common;

use common::services::{MutationLog, accounts, products_schema};
use common::{Services, run};
use quilt_stitch::{Stitcher, SubschemaConfig};
use quilt_test_support::LocalExecutor;
use serde_json::json;

#[tokio::test]
async fn a_stitched_schema_stitches_like_any_other_subschema() {
    let log = MutationLog::default();
    let (a, p) = (accounts(log.clone()), products_schema(log.clone()));
    let inner = Stitcher::new()
        .subschema(SubschemaConfig::from_sdl("accounts", &a.sdl(), LocalExecutor::new(a)).unwrap())
        .subschema(SubschemaConfig::from_sdl("products", &p.sdl(), LocalExecutor::new(p)).unwrap())
        .build()
        .unwrap();
    let services = Services::start().await;
    let outer = Stitcher::new()
        .subschema(SubschemaConfig::new(
            "inner",
            inner.schema().clone(),
            inner.clone(),
        ))
        .subschema(
            SubschemaConfig::from_sdl(
                "reviews",
                &services.sdl[2],
                common::http(services.reviews.http_url()),
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    let query = "query Q($upc: String!) {
        me { name }
        product(upc: $upc) { name }
        search(term: \"furniture\") { ... on Category { title } }
        feed { ... on Comment { text } }
        u: user(id: \"3\") { name email }
      }";
    let result = run(&outer, query, json!({"upc": "2"})).await;
    assert_eq!(
        result["data"],
        json!({
            "me": {"name": "Ada"},
            "product": {"name": "Couch"},
            "search": [{"title": "Furniture"}],
            "feed": [{}, {"text": "Nice"}, {}],
            "u": {"name": "Alan", "email": null}
        })
    );
    assert_eq!(result["errors"][0]["path"], json!(["u", "email"]));
    assert_eq!(
        run(
            &outer,
            "mutation { renameUser(id: \"1\", name: \"Z\") { name } }",
            json!({})
        )
        .await,
        json!({"data": {"renameUser": {"name": "Z"}}})
    );
    assert_eq!(log.entries(), vec!["accounts.renameUser(Z)"]);
    assert_eq!(inner.plan_cache_stats().plans, 2);
    assert_eq!(services.reviews.stats().snapshot().http_requests, 1);
}

/// `Apollo-Expose-Query-Plan: true` gets the plan in `extensions.apolloQueryPlan.text` when
/// the schema allows it, and nothing otherwise (nor without the header).
#[tokio::test]
async fn the_query_plan_is_exposed_only_when_allowed_and_asked_for() {
    use quilt_executor::{Context, Executor, Request};

    let log = MutationLog::default();
    let a = accounts(log);
    let build = |expose: bool| {
        Stitcher::new()
            .subschema(
                SubschemaConfig::from_sdl("accounts", &a.sdl(), LocalExecutor::new(a.clone()))
                    .unwrap(),
            )
            .expose_query_plan(expose)
            .build()
            .unwrap()
    };
    let ask = |header: bool| {
        let mut request = Request::new("{ me { name } }").unwrap();
        if header {
            let mut headers = http::HeaderMap::new();
            headers.insert(
                quilt_stitch::EXPOSE_QUERY_PLAN_HEADER,
                http::HeaderValue::from_static("true"),
            );
            request.context = Context::from_headers(headers);
        }
        request
    };
    let answer = |schema: quilt_stitch::StitchedSchema, request: Request| async move {
        let response = schema.execute(request).await.unwrap();
        response.into_single().await.unwrap()
    };
    let exposed = answer(build(true), ask(true)).await;
    assert_eq!(exposed.data_value(), Some(json!({"me": {"name": "Ada"}})));
    let plan = &exposed.extensions.as_ref().unwrap()["apolloQueryPlan"]["text"];
    let plan = plan.as_str().unwrap();
    assert!(plan.starts_with("query\n  fetch accounts: "), "{plan}");
    assert!(plan.contains("me { name }"), "{plan}");
    assert_eq!(answer(build(true), ask(false)).await.extensions, None);
    assert_eq!(answer(build(false), ask(true)).await.extensions, None);
}
