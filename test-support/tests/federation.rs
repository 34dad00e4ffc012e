//! The four federation subgraphs over real HTTP: each publishes SDL that Quilt loads, resolves
//! its entities by key (with nulls for unknown keys), and the expected responses computed from
//! the data have the sizes the benchmark needs.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use quilt_test_support::federation::{self, HEAVY_QUERY, SIMPLE_QUERY, data, expected};
use quilt_wrap::{SchemaSource, load_schema};
use serde_json::{Value, json};

async fn post(url: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// POSTs `query` with `representations` as `$r`.
async fn entities(url: &str, query: &str, representations: Value) -> Value {
    post(
        url,
        json!({ "query": query, "variables": { "r": representations } }),
    )
    .await
}

#[tokio::test]
async fn quilt_loads_each_subgraphs_federation_sdl() {
    let subgraphs = federation::start_all().await.unwrap();
    let expect: [(&str, &str, &[&str]); 4] = [
        ("accounts", "User", &["id", "name", "username", "birthday"]),
        (
            "inventory",
            "Product",
            &["upc", "weight", "price", "inStock", "shippingEstimate"],
        ),
        ("products", "Product", &["upc", "name", "price", "weight"]),
        ("reviews", "Review", &["id", "body", "author", "product"]),
    ];
    for ((name, server), (expected_name, type_name, fields)) in
        subgraphs.all().into_iter().zip(expect)
    {
        assert_eq!(name, expected_name);
        let executor = quilt_executor::HttpExecutor::builder(server.http_url())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let schema = load_schema(&executor, SchemaSource::federation().endpoint(name))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let object = schema
            .get_object(type_name)
            .unwrap_or_else(|| panic!("{name} has no {type_name}"));
        for field in fields {
            assert!(
                object.fields.contains_key(*field),
                "{name}: {type_name}.{field}"
            );
        }
        assert!(
            schema
                .get_object("Query")
                .unwrap()
                .fields
                .contains_key("_entities"),
            "{name}"
        );
        // graphql-js (the Node gateways' parser) rejects a description on `extend type`.
        let sdl = post(
            &server.http_url(),
            json!({ "query": "{ _service { sdl } }" }),
        )
        .await;
        let sdl = sdl["data"]["_service"]["sdl"].as_str().unwrap();
        assert!(!sdl.contains("\"\"\"\nextend"), "{name}: {sdl}");
    }
    let reviews_sdl = post(
        &subgraphs.reviews.http_url(),
        json!({ "query": "{ _service { sdl } }" }),
    )
    .await;
    let sdl = reviews_sdl["data"]["_service"]["sdl"].as_str().unwrap();
    assert!(sdl.contains("@provides(fields: \"username\")"), "{sdl}");
    let inventory_sdl = post(
        &subgraphs.inventory.http_url(),
        json!({ "query": "{ _service { sdl } }" }),
    )
    .await;
    let sdl = inventory_sdl["data"]["_service"]["sdl"].as_str().unwrap();
    assert!(sdl.contains("@requires(fields: \"price weight\")"), "{sdl}");
}

#[tokio::test]
async fn accounts_answers_its_root_fields_and_users_by_key() {
    let subgraphs = federation::start_all().await.unwrap();
    let url = subgraphs.accounts.http_url();
    let roots = post(
        &url,
        json!({ "query": "{ me { id } user(id: \"3\") { name } users { username } }" }),
    )
    .await;
    assert_eq!(
        roots,
        json!({ "data": {
            "me": { "id": "1" },
            "user": { "name": "Anjali Raman" },
            "users": [
                { "username": "mira" }, { "username": "tlind" }, { "username": "anjalir" },
                { "username": "psalgado" }, { "username": "ytanabe" }, { "username": "elifd" }
            ]
        } })
    );
    let query = "query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on User { id name username birthday } } }";
    let result = entities(
        &url,
        query,
        json!([{ "__typename": "User", "id": "2" }, { "__typename": "User", "id": "99" }]),
    )
    .await;
    assert_eq!(
        result,
        json!({ "data": { "_entities": [
            { "__typename": "User", "id": "2", "name": "Tobias Lindqvist", "username": "tlind", "birthday": 662688000 },
            null
        ] } })
    );
    assert_eq!(subgraphs.accounts.stats().snapshot().http_requests, 2);
}

#[tokio::test]
async fn products_answers_top_products_and_products_by_upc() {
    let subgraphs = federation::start_all().await.unwrap();
    let url = subgraphs.products.http_url();
    let query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { upc name price weight } } }";
    let result = entities(
        &url,
        query,
        json!([
            { "__typename": "Product", "upc": "2" },
            { "__typename": "Product", "upc": "12" },
            { "__typename": "Product", "upc": "nope" }
        ]),
    )
    .await;
    assert_eq!(
        result,
        json!({ "data": { "_entities": [
            { "upc": "2", "name": "Linen sofa", "price": 1499, "weight": 900 },
            { "upc": "12", "name": "Item 12", "price": 444, "weight": 636 },
            null
        ] } })
    );
    // The simple query is answered by products alone, byte for byte as expected.
    let body = reqwest::Client::new()
        .post(&url)
        .json(&json!({ "query": SIMPLE_QUERY }))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        std::str::from_utf8(&body).unwrap(),
        expected::simple_response().to_string()
    );
}

#[tokio::test]
async fn inventory_computes_shipping_from_the_price_and_weight_it_is_sent() {
    let subgraphs = federation::start_all().await.unwrap();
    let query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { upc inStock shippingEstimate } } }";
    let result = entities(
        &subgraphs.inventory.http_url(),
        query,
        json!([
            // The representation's figures win over the catalogue's (desk: 899, 120).
            { "__typename": "Product", "upc": "1", "price": 10, "weight": 300 },
            { "__typename": "Product", "upc": "2", "price": 1499, "weight": 900 },
            { "__typename": "Product", "upc": "3" },
            { "__typename": "Product", "upc": "100001", "price": 1, "weight": 1 }
        ]),
    )
    .await;
    assert_eq!(
        result,
        json!({ "data": { "_entities": [
            { "upc": "1", "inStock": true, "shippingEstimate": 150 },
            { "upc": "2", "inStock": false, "shippingEstimate": 0 },
            { "upc": "3", "inStock": true, "shippingEstimate": null },
            null
        ] } })
    );
}

#[tokio::test]
async fn reviews_resolves_reviews_users_and_products_in_one_call() {
    let subgraphs = federation::start_all().await.unwrap();
    let query = "query($r: [_Any!]!) { _entities(representations: $r) { __typename \
        ... on Review { id author { id username } product { upc } } \
        ... on User { id reviews { id } } \
        ... on Product { upc reviews { id } } } }";
    let result = entities(
        &subgraphs.reviews.http_url(),
        query,
        json!([
            { "__typename": "Review", "id": "4" },
            { "__typename": "User", "id": "1" },
            { "__typename": "Product", "upc": "1" },
            { "__typename": "Product", "upc": "9" },
            { "__typename": "Review", "id": "404" }
        ]),
    )
    .await;
    assert_eq!(
        result,
        json!({ "data": { "_entities": [
            { "__typename": "Review", "id": "4", "author": { "id": "4", "username": "psalgado" }, "product": { "upc": "2" } },
            { "__typename": "User", "id": "1", "reviews": [{ "id": "1" }, { "id": "7" }] },
            { "__typename": "Product", "upc": "1", "reviews": [{ "id": "1" }, { "id": "2" }, { "id": "3" }] },
            { "__typename": "Product", "upc": "9", "reviews": [] },
            null
        ] } })
    );
    assert_eq!(subgraphs.reviews.stats().snapshot().http_requests, 1);
}

#[test]
fn the_heavy_response_is_about_88_kb_and_follows_the_query() {
    let heavy = expected::heavy_response().to_string();
    assert!(
        (84_000..=92_000).contains(&heavy.len()),
        "heavy response is {} bytes",
        heavy.len()
    );
    let heavy = expected::heavy_response();
    // users → reviews → product → reviews → author → reviews → product.
    let first = &heavy["data"]["users"][0];
    assert_eq!(first["username"], "mira");
    let product = &first["reviews"][0]["product"];
    assert_eq!(product["name"], "Walnut desk");
    assert_eq!(product["shippingEstimate"], 60);
    let author = &product["reviews"][1]["author"];
    assert_eq!(author["id"], "2");
    assert_eq!(author["reviews"][1]["product"]["upc"], "4");
    assert_eq!(heavy["data"]["topProducts"].as_array().unwrap().len(), 5);
    assert!(HEAVY_QUERY.starts_with("fragment User on User"));
}

#[test]
fn the_large_response_has_several_mib() {
    let large = expected::large_response(federation::LARGE_PRODUCTS).to_string();
    assert!(large.len() > 3 << 20, "{} bytes", large.len());
    assert_eq!(
        data::top_products(federation::LARGE_PRODUCTS as i32).len(),
        federation::LARGE_PRODUCTS
    );
    // Its fields come in the order the query asks for them (answers are compared byte for byte).
    let query = federation::large_query(2);
    let selection = query.rsplit_once("{ ").unwrap().1.trim_end_matches(" } }");
    let first = &expected::large_response(2)["data"]["topProducts"][0];
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.join(" "), selection);
}
