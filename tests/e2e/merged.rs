//! Types merged across services by their stitching directives (`@key`/`@merge` in `_sdl`):
//! `User.reviews` under accounts' `me`, `Review.author.name` under reviews' `latestReviews`,
//! `Product.reviews` under products' `topProducts`, in the embedded demo and against the
//! JavaScript shop services.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

use crate::common::{GatewayProcess, js_shop, settings, start};
use serde_json::{Value, json};

const MERGED: &str = r#"{
    me { name reviews { body product { name price } } }
    topProducts(first: 1) { name reviews { rating author { username } } }
    latestReviews(first: 1) { body author { name } product { name } }
}"#;

fn expected() -> Value {
    json!({"data": {
        "me": {"name": "Ada", "reviews": [
            {"body": "Love it!", "product": {"name": "Table", "price": 899}},
            {"body": "Prefer something else.", "product": {"name": "Chair", "price": 54}}
        ]},
        "topProducts": [{"name": "Table", "reviews": [
            {"rating": 5, "author": {"username": "@ada"}},
            {"rating": 3, "author": {"username": "@alan"}}
        ]}],
        "latestReviews": [{"body": "Bright enough.", "author": {"name": "Edsger"}, "product": {"name": "Lamp"}}]
    }})
}

#[tokio::test]
async fn demo_types_are_merged_across_services() {
    let gateway = start(settings(Vec::new())).await;
    assert_eq!(gateway.query(MERGED).await, expected());
}

#[tokio::test]
async fn javascript_services_types_are_merged_by_the_binary() {
    let (_peers, flags) = js_shop().await;
    let gateway = GatewayProcess::start(&flags).await;
    assert_eq!(gateway.query(MERGED).await, expected());
}
