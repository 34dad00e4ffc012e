#![allow(clippy::unwrap_used)]
//! Subschemas behind the batching executor and behind transforms, stitched like any other.

mod common;

use common::{Services, http, run};
use futures::future::join_all;
use quilt_batch::BatchOptions;
use quilt_stitch::{Stitcher, SubschemaConfig};
use quilt_wrap::transforms::{RenameRootFields, RenameTypes};
use quilt_wrap::{WrapSchemaConfig as WrapConfig, wrap_schema};
use serde_json::json;

fn products_subschema(services: &Services, batch: bool) -> SubschemaConfig {
    let config = SubschemaConfig::from_sdl(
        "products",
        &services.sdl[1],
        http(services.products.http_url()),
    )
    .unwrap();
    if batch {
        config.batch(BatchOptions::default())
    } else {
        config
    }
}

async fn ten_concurrent_operations(batch: bool) -> u64 {
    let services = Services::start().await;
    let gateway = Stitcher::new()
        .subschema(products_subschema(&services, batch))
        .build()
        .unwrap();
    let queries: Vec<String> = (1..=10)
        .map(|i| format!("{{ topProducts(first: {i}) {{ upc }} }}"))
        .collect();
    let results = join_all(queries.iter().map(|q| run(&gateway, q, json!({})))).await;
    // Each operation gets its own answer: the first `first` products.
    let all = results[9]["data"]["topProducts"]
        .as_array()
        .unwrap()
        .clone();
    assert!(all.len() >= 3, "{all:?}");
    for (i, result) in results.iter().enumerate() {
        let expected = &all[..(i + 1).min(all.len())];
        assert_eq!(result, &json!({"data": {"topProducts": expected}}));
    }
    services.products.stats().snapshot().http_requests
}

#[tokio::test]
async fn a_batched_subschema_sends_the_steps_of_concurrent_operations_in_one_request() {
    assert_eq!(ten_concurrent_operations(true).await, 1);
}

#[tokio::test]
async fn an_unbatched_subschema_sends_one_request_per_operation() {
    assert_eq!(ten_concurrent_operations(false).await, 10);
}

#[tokio::test]
async fn a_wrapped_subschema_is_stitched_with_its_transformed_names() {
    let services = Services::start().await;
    let schema = apollo_compiler::Schema::parse_and_validate(&services.sdl[0], "accounts.graphql")
        .unwrap()
        .into_inner();
    let wrapped = wrap_schema(
        WrapConfig::new(schema, http(services.accounts.http_url()))
            .transform(RenameTypes::new(|name| {
                (name == "User").then(|| "AccountsUser".to_owned())
            }))
            .transform(RenameRootFields::new(|_, name, _| {
                (name == "me").then(|| "accountsMe".to_owned())
            })),
    )
    .unwrap();
    let gateway = Stitcher::new()
        .subschema(SubschemaConfig::wrapped("accounts", wrapped))
        .subschema(products_subschema(&services, false))
        .build()
        .unwrap();
    let sdl = gateway.sdl();
    assert!(sdl.contains("accountsMe: AccountsUser!"), "{sdl}");
    assert!(!sdl.contains("type User "), "{sdl}");
    let result = run(
        &gateway,
        "{ accountsMe { __typename id name } topProducts(first: 1) { upc } }",
        json!({}),
    )
    .await;
    assert_eq!(
        result,
        json!({"data": {
            "accountsMe": {"__typename": "AccountsUser", "id": "1", "name": "Ada"},
            "topProducts": [{"upc": "1"}]
        }})
    );
}
