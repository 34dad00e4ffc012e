//! Loading an Apollo Federation subgraph (async-graphql with `enable_federation`) from its
//! `{ _service { sdl } }`: the federation directives stay applied, what the SDL leaves out is
//! added, and the types and fields equal what the same server's introspection says.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use async_graphql::{
    ComplexObject, EmptyMutation, EmptySubscription, ID, Object, Schema, SimpleObject,
};
use quilt_test_support::{Stats, TestServer, graphql_router};
use quilt_wrap::{SchemaSource, load_schema};
use support::compare::schema_diff;
use support::http::http_executor;

const WAIT: Duration = Duration::from_secs(20);

/// A product, owned by another subgraph (`extend type Product @key(fields: "upc")`).
#[derive(SimpleObject)]
#[graphql(extends, complex)]
struct Product {
    #[graphql(external)]
    upc: String,
    #[graphql(external)]
    weight: i32,
    #[graphql(external)]
    price: i32,
}

#[ComplexObject]
impl Product {
    /// Shipping cost, from the price and weight another subgraph owns.
    #[graphql(requires = "price weight")]
    async fn shipping_estimate(&self) -> i32 {
        self.price * self.weight / 10
    }
}

/// A review.
#[derive(SimpleObject)]
struct Review {
    id: ID,
    /// The text.
    #[graphql(shareable)]
    body: String,
    #[graphql(provides = "price")]
    product: Product,
    #[graphql(deprecation = "use body")]
    text: Option<String>,
}

struct Query;

#[Object]
impl Query {
    /// The latest reviews.
    async fn reviews(&self, #[graphql(default = 3)] first: i32) -> Vec<Review> {
        (0..first)
            .map(|i| Review {
                id: ID(i.to_string()),
                body: "ok".into(),
                product: Product {
                    upc: "1".into(),
                    weight: 1,
                    price: 1,
                },
                text: None,
            })
            .collect()
    }

    #[graphql(entity)]
    async fn find_product(&self, upc: String) -> Product {
        Product {
            upc,
            weight: 1,
            price: 10,
        }
    }

    #[graphql(entity)]
    async fn find_review(&self, id: ID) -> Review {
        Review {
            id,
            body: "ok".into(),
            product: Product {
                upc: "1".into(),
                weight: 1,
                price: 1,
            },
            text: None,
        }
    }
}

async fn start() -> TestServer {
    let schema = Schema::build(Query, EmptyMutation, EmptySubscription)
        .enable_federation()
        .finish();
    let stats = Stats::default();
    TestServer::serve(
        "127.0.0.1:0".parse().unwrap(),
        graphql_router(schema, stats.clone()),
        stats,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn federation_sdl_builds_with_its_directives() {
    let server = start().await;
    let url = server.http_url();
    let executor = http_executor(&url);
    let schema = tokio::time::timeout(
        WAIT,
        load_schema(&executor, SchemaSource::federation().endpoint(&url)),
    )
    .await
    .unwrap()
    .unwrap();

    let product = schema.get_object("Product").unwrap();
    assert_eq!(
        product.directives.get("key").unwrap().to_string(),
        r#"@key(fields: "upc")"#
    );
    // `@extends` is not among the names async-graphql's `@link` imports: the link spec's
    // namespaced name is used.
    assert!(
        product.directives.has("federation__extends"),
        "an SDL-only extension is marked @extends:\n{schema}"
    );
    assert!(product.fields["weight"].directives.has("external"));
    assert_eq!(
        product.fields["shippingEstimate"]
            .directives
            .get("requires")
            .unwrap()
            .to_string(),
        r#"@requires(fields: "price weight")"#
    );
    let review = schema.get_object("Review").unwrap();
    assert!(review.fields["body"].directives.has("shareable"));
    assert!(review.fields["product"].directives.has("provides"));
    assert!(schema.schema_definition.directives.has("link"));
    let members: Vec<String> = schema
        .get_union("_Entity")
        .unwrap()
        .members
        .iter()
        .map(|m| m.to_string())
        .collect();
    assert_eq!(members.len(), 2, "{members:?}");
    let printed = schema.to_string();
    assert!(!printed.contains("extend type"), "flattened: {printed}");

    // The types and fields are exactly those the server's introspection reports.
    let introspected =
        tokio::time::timeout(WAIT, load_schema(&executor, SchemaSource::introspection()))
            .await
            .unwrap()
            .unwrap();
    let diff: Vec<String> = schema_diff(&schema, &introspected)
        .into_iter()
        .filter(|d| !d.starts_with('@')) // directive definitions: introspection lists none of federation's
        .collect();
    // The only differences: the scalars and enum the added directive definitions use, the
    // description async-graphql wrote on an `extend type` (not valid GraphQL, so dropped), and
    // the description async-graphql gives `_Any`, which the SDL leaves out.
    let expected = [
        "federation__FieldSet: only in the left schema",
        "link__Import: only in the left schema",
        "link__Purpose: only in the left schema",
        "Product: description None vs Some(\"A product, owned by another subgraph (`extend type Product @key(fields: \\\"upc\\\")`).\")",
        "_Any: description None vs Some(\"The `_Any` scalar is used to pass representations of entities from external\\nservices into the root `_entities` field for execution.\")",
    ];
    assert_eq!(diff, expected, "SDL:\n{printed}");
}
