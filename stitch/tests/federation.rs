#![allow(clippy::unwrap_used)]
//! Apollo Federation subgraphs stitched directly: the four Rust subgraphs of the well-known
//! gateway benchmark (accounts, inventory, products, reviews; `quilt_test_support::federation`)
//! read from `{ _service { sdl } }` alone. `@key(fields:)` becomes an `_entities` entry point,
//! `@requires` a computed field, `@external` fields are left to their owner and `@provides`
//! lets reviews answer `author { username }` itself. The deep query across all four returns
//! exactly what the subgraphs' data implies, with one request per service per plan level.

mod common;

use std::sync::{Arc, Mutex};

use common::run_op;
use quilt_executor::{ExecuteFuture, Executor, JsonMap, Request};
use quilt_stitch::{Stitcher, SubschemaConfig};
use quilt_test_support::federation::{self, HEAVY_QUERY, NAMES, SIMPLE_QUERY, expected};
use quilt_wrap::{SchemaSource, load_schema};
use serde_json::json;

/// The four subgraphs stitched, each through Quilt's HTTP executor (recorded, which changes
/// nothing it sends).
async fn stitched(subgraphs: &federation::Subgraphs) -> quilt_stitch::StitchedSchema {
    observed(subgraphs, true, false).await.0
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

/// Key and required fields the client selects itself are read from the client's fields (the
/// planner does not select them twice): the answers are the data's, whether the client's
/// field is plain, aliased or conditional.
#[tokio::test]
async fn requirements_read_from_the_clients_own_fields_give_the_datas_answers() {
    let subgraphs = federation::start_all().await.unwrap();
    let gateway = stitched(&subgraphs).await;
    let products = expected::large_response(5)["data"]["topProducts"].clone();
    let products = products.as_array().unwrap();
    // Every requirement (upc, price, weight) selected plainly by the client.
    let plain = run_op(&gateway, &federation::large_query(5), json!({}), None).await;
    assert_eq!(plain, expected::large_response(5));
    let query = "query Q($x: Boolean!) { topProducts(first: 5) { price @include(if: $x) \
                 mass: weight upc shippingEstimate } }";
    for x in [true, false] {
        let result = run_op(&gateway, query, json!({ "x": x }), None).await;
        let wanted: Vec<serde_json::Value> = products
            .iter()
            .map(|p| {
                let mut object = serde_json::Map::new();
                if x {
                    object.insert("price".into(), p["price"].clone());
                }
                object.insert("mass".into(), p["weight"].clone());
                object.insert("upc".into(), p["upc"].clone());
                object.insert("shippingEstimate".into(), p["shippingEstimate"].clone());
                serde_json::Value::Object(object)
            })
            .collect();
        assert_eq!(
            serde_json::to_string(&result).unwrap(),
            serde_json::to_string(&json!({ "data": { "topProducts": wanted } })).unwrap(),
            "x = {x}"
        );
    }
    // The client's response key `weight` is its alias of `price`: the requirement `weight`
    // is read from the planner's `_qk_weight`, not from the client's field of that name.
    let aliased = "{ topProducts(first: 5) { weight: price upc shippingEstimate } }";
    let result = run_op(&gateway, aliased, json!({}), None).await;
    let wanted: Vec<serde_json::Value> = products
        .iter()
        .map(|p| {
            json!({ "weight": p["price"], "upc": p["upc"],
                    "shippingEstimate": p["shippingEstimate"] })
        })
        .collect();
    assert!(
        products.iter().any(|p| p["price"] != p["weight"]),
        "the data must tell price from weight"
    );
    assert_eq!(
        serde_json::to_string(&result).unwrap(),
        serde_json::to_string(&json!({ "data": { "topProducts": wanted } })).unwrap()
    );
    // The requirements selected only inside fragments that always apply (spread after the
    // field that needs them): read from the fragments' fields, the same answer.
    let fragments = "fragment P on Product { upc price } fragment W on Product { weight } \
                     query LargeQuery { topProducts(first: 5) { inStock name ...P \
                     shippingEstimate ... { ...W } } }";
    let result = run_op(&gateway, fragments, json!({}), None).await;
    let wanted: Vec<serde_json::Value> = products
        .iter()
        .map(|p| {
            json!({ "inStock": p["inStock"], "name": p["name"], "upc": p["upc"],
                    "price": p["price"], "shippingEstimate": p["shippingEstimate"],
                    "weight": p["weight"] })
        })
        .collect();
    assert_eq!(
        serde_json::to_string(&result).unwrap(),
        serde_json::to_string(&json!({ "data": { "topProducts": wanted } })).unwrap()
    );
}

/// Passes requests on to Quilt's HTTP executor, as they are (`raw`) or with the variables given
/// as JSON text read into values first (as an executor reading variables by value does), and
/// records each request's variables by value (the JSON text ones parsed) and whether any went
/// on as JSON text.
struct Observed {
    inner: quilt_executor::HttpExecutor,
    raw: bool,
    seen: Arc<Mutex<Vec<(String, JsonMap, bool)>>>,
}

impl Observed {
    fn record(&self, request: &Request) {
        let mut copy = request.clone();
        let had_raw = !copy.raw_variables.is_empty();
        copy.materialize_raw_variables().unwrap();
        let entry = (copy.query().to_owned(), copy.variables, had_raw);
        self.seen.lock().unwrap().push(entry);
    }
}

impl Executor for Observed {
    fn execute(&self, mut request: Request) -> ExecuteFuture {
        if !self.raw {
            request.materialize_raw_variables().unwrap();
        }
        self.record(&request);
        self.inner.execute(request)
    }
}

type Seen = Arc<Mutex<Vec<(String, JsonMap, bool)>>>;

async fn observed(
    subgraphs: &federation::Subgraphs,
    raw: bool,
    batch: bool,
) -> (quilt_stitch::StitchedSchema, Seen) {
    let seen = Seen::default();
    let mut stitcher = Stitcher::new();
    for (name, server) in subgraphs.all() {
        let inner = common::http(server.http_url());
        let schema = load_schema(&inner, SchemaSource::federation())
            .await
            .unwrap();
        let executor = Observed {
            inner,
            raw,
            seen: seen.clone(),
        };
        let mut config = SubschemaConfig::new(name, schema, executor);
        if batch {
            config = config.batch(quilt_batch::BatchOptions::default());
        }
        stitcher = stitcher.subschema(config);
    }
    (stitcher.build().unwrap(), seen)
}

#[tokio::test]
async fn representations_written_as_json_text_are_the_values_the_by_value_path_sends() {
    let subgraphs = federation::start_all().await.unwrap();
    let expected = serde_json::to_string(&expected::heavy_response()).unwrap();
    let mut sent = Vec::new();
    for raw in [false, true] {
        let (gateway, seen) = observed(&subgraphs, raw, false).await;
        let result = run_op(&gateway, HEAVY_QUERY, json!({}), None).await;
        assert_eq!(
            serde_json::to_string(&result).unwrap(),
            expected,
            "raw: {raw}"
        );
        let mut requests = std::mem::take(&mut *seen.lock().unwrap());
        // Only the entity requests carry representations, and only they go as JSON text.
        for (query, variables, had_raw) in &requests {
            let entities = query.contains("_entities");
            assert_eq!(*had_raw, raw && entities, "{query}");
            assert_eq!(
                entities,
                variables.contains_key("_qv0_representations"),
                "{query}"
            );
        }
        requests.sort_by(|a, b| a.0.cmp(&b.0));
        let by_value: Vec<(String, JsonMap)> =
            requests.into_iter().map(|(q, v, _)| (q, v)).collect();
        sent.push(by_value);
    }
    assert!(sent[0].iter().any(|(query, _)| query.contains("_entities")));
    assert_eq!(
        sent[0], sent[1],
        "the same requests, by value and as JSON text"
    );
}

#[tokio::test]
async fn batched_entity_requests_with_representations_as_json_text_split_back_exactly() {
    let subgraphs = federation::start_all().await.unwrap();
    let (gateway, seen) = observed(&subgraphs, true, true).await;
    let expected = expected::heavy_response();
    let answers =
        futures::future::join_all((0..4).map(|_| run_op(&gateway, HEAVY_QUERY, json!({}), None)))
            .await;
    for answer in answers {
        assert_eq!(answer, expected);
    }
    // The four clients' entity requests were merged: representations under prefixed names,
    // still as JSON text.
    let seen = seen.lock().unwrap();
    let merged: Vec<_> = seen
        .iter()
        .filter(|(query, _, _)| query.contains("_entities"))
        .collect();
    assert!(!merged.is_empty());
    assert!(merged.iter().all(|(_, _, had_raw)| *had_raw));
    assert!(
        merged
            .iter()
            .any(|(_, variables, _)| variables.keys().any(|k| k.starts_with("_v1_"))),
        "some entity requests were merged: {:?}",
        merged
            .iter()
            .map(|(_, v, _)| v.keys().collect::<Vec<_>>())
            .collect::<Vec<_>>()
    );
}

/// Two federation services for [`written_representations_are_serde_jsons_bytes_once_each`]:
/// `catalog` lists items (keys with characters JSON escapes, repeated), `stock` resolves
/// `Item @key(fields: "id n")` from its representations.
mod written {
    use async_graphql::{EmptyMutation, EmptySubscription, ID, Object, Schema, SimpleObject};

    #[derive(SimpleObject, Clone)]
    pub struct Item {
        pub id: ID,
        pub n: i32,
    }

    pub struct CatalogQuery;

    #[Object(name = "Query")]
    impl CatalogQuery {
        async fn items(&self) -> Vec<Item> {
            ITEMS
                .iter()
                .map(|(id, n)| Item {
                    id: ID::from(*id),
                    n: *n,
                })
                .collect()
        }

        #[graphql(entity)]
        async fn find_item(&self, #[graphql(key)] id: ID, #[graphql(key)] n: i32) -> Item {
            Item { id, n }
        }
    }

    /// The catalogue: the first item again third, and its id with another `n` last.
    pub const ITEMS: [(&str, i32); 5] = [
        ("x\"y\\", 1),
        ("é\u{1}\u{7f}\n", 2),
        ("x\"y\\", 1),
        ("plain", 3),
        ("x\"y\\", 2),
    ];

    #[derive(SimpleObject, Clone)]
    #[graphql(name = "Item")]
    pub struct StockItem {
        pub id: ID,
        pub n: i32,
        pub stock: i32,
    }

    pub struct StockQuery;

    #[Object(name = "Query")]
    impl StockQuery {
        /// A root field of its own (a federation SDL without one leaves `Query` empty).
        async fn warehouses(&self) -> i32 {
            1
        }

        #[graphql(entity)]
        async fn find_stock_item(
            &self,
            #[graphql(key)] id: ID,
            #[graphql(key)] n: i32,
        ) -> StockItem {
            let stock = stock(&id, n);
            StockItem { id, n, stock }
        }
    }

    /// The stock of an item: a function of both key fields.
    pub fn stock(id: &str, n: i32) -> i32 {
        id.chars().count() as i32 * 10 + n
    }

    pub fn catalog() -> Schema<CatalogQuery, EmptyMutation, EmptySubscription> {
        Schema::build(CatalogQuery, EmptyMutation, EmptySubscription)
            .enable_federation()
            .finish()
    }

    pub fn stock_schema() -> Schema<StockQuery, EmptyMutation, EmptySubscription> {
        Schema::build(StockQuery, EmptyMutation, EmptySubscription)
            .enable_federation()
            .finish()
    }
}

/// `router` served on a free loopback port.
async fn serve(router: axum::Router) -> quilt_test_support::TestServer {
    let any: std::net::SocketAddr = ([127, 0, 0, 1], 0).into();
    quilt_test_support::TestServer::serve(any, router, quilt_test_support::Stats::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn written_representations_are_serde_jsons_bytes_once_each() {
    use quilt_test_support::{Stats, graphql_router};
    let catalog = serve(graphql_router(written::catalog(), Stats::default())).await;
    // The stock service keeps every request body as it came over the wire.
    let bodies: Arc<Mutex<Vec<String>>> = Arc::default();
    let kept = bodies.clone();
    let router =
        graphql_router(written::stock_schema(), Stats::default()).layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let kept = kept.clone();
                async move {
                    let (parts, body) = request.into_parts();
                    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                    kept.lock()
                        .unwrap()
                        .push(String::from_utf8(bytes.to_vec()).unwrap());
                    let request = axum::extract::Request::from_parts(parts, bytes.into());
                    next.run(request).await
                }
            },
        ));
    let stock = serve(router).await;
    let gateway = common::federation_gateway(&[("catalog", &catalog), ("stock", &stock)]).await;
    bodies.lock().unwrap().clear();

    let result = run_op(&gateway, "{ items { id n stock } }", json!({}), None).await;
    let items: Vec<serde_json::Value> = written::ITEMS
        .iter()
        .map(|(id, n)| json!({ "id": id, "n": n, "stock": written::stock(id, *n) }))
        .collect();
    assert_eq!(result, json!({ "data": { "items": items } }));
    // One entity request; its representations are the bytes serde_json writes for them, each
    // distinct one once, in the order first seen.
    let bodies = bodies.lock().unwrap().clone();
    let entities: Vec<&String> = bodies.iter().filter(|b| b.contains("_entities")).collect();
    assert_eq!(entities.len(), 1, "{bodies:?}");
    let distinct = [0, 1, 3, 4].map(|i| {
        let (id, n) = written::ITEMS[i];
        json!({ "__typename": "Item", "id": id, "n": n })
    });
    let text = serde_json::to_string(&distinct).unwrap();
    assert!(
        entities[0].contains(&format!("\"_qv0_representations\":{text}")),
        "{text} not in {}",
        entities[0]
    );
}

/// Two federation services for the tests of one fetch serving several places: `shelf` lists
/// items in two lists that share some, `stock` resolves `Item @key(fields: "id")`'s stock and
/// fails for the item `broken`.
mod places {
    use async_graphql::{EmptyMutation, EmptySubscription, ID, Object, Schema, SimpleObject};

    #[derive(SimpleObject, Clone)]
    pub struct Item {
        pub id: ID,
    }

    fn items(ids: &[&str]) -> Vec<Item> {
        ids.iter().map(|id| Item { id: ID::from(*id) }).collect()
    }

    pub const ITEMS: [&str; 3] = ["a", "b", "broken"];
    pub const FEATURED: [&str; 3] = ["b", "broken", "c"];

    pub struct ShelfQuery;

    #[Object(name = "Query")]
    impl ShelfQuery {
        async fn items(&self) -> Vec<Item> {
            items(&ITEMS)
        }

        async fn featured(&self) -> Vec<Item> {
            items(&FEATURED)
        }

        #[graphql(entity)]
        async fn find_item(&self, #[graphql(key)] id: ID) -> Item {
            Item { id }
        }
    }

    /// The stock service's SDL (federation: `Item @key(fields: "id")` with its stock).
    pub const STOCK_SDL: &str = "type Item @key(fields: \"id\") { id: ID! stock: Int }\n\
                                 type Query { warehouses: Int! }";

    /// The stock service, written by hand: its `_entities` answer puts the error of the item
    /// `broken` at that item's index (`[alias, index, "stock"]`, as graphql-js does; the
    /// async-graphql subgraphs leave the index out).
    pub async fn stock_service(body: axum::body::Bytes) -> axum::Json<serde_json::Value> {
        use serde_json::{Value, json};
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let query = request["query"].as_str().unwrap_or_default();
        if query.contains("_service") {
            return axum::Json(json!({ "data": { "_service": { "sdl": STOCK_SDL } } }));
        }
        // `<alias>: _entities(representations: $<variable>)`.
        let Some(at) = query.find(": _entities") else {
            return axum::Json(json!({ "errors": [{ "message": "not an entity request" }] }));
        };
        let alias = query[..at].rsplit(['{', ' ']).next().unwrap_or_default();
        let representations = request["variables"]
            .as_object()
            .and_then(|variables| variables.values().find_map(Value::as_array))
            .cloned()
            .unwrap_or_default();
        let mut errors = Vec::new();
        let items: Vec<Value> = representations
            .iter()
            .enumerate()
            .map(|(i, representation)| match representation["id"].as_str() {
                Some("broken") => {
                    errors.push(json!({
                        "message": "the stock of this item is unknown",
                        "path": [alias, i, "stock"],
                    }));
                    json!({ "stock": null })
                }
                Some(id) => json!({ "stock": stock(id) }),
                None => Value::Null,
            })
            .collect();
        axum::Json(json!({ "data": { alias: items }, "errors": errors }))
    }

    pub fn stock(id: &str) -> i32 {
        id.len() as i32 * 10
    }

    pub fn shelf() -> Schema<ShelfQuery, EmptyMutation, EmptySubscription> {
        Schema::build(ShelfQuery, EmptyMutation, EmptySubscription)
            .enable_federation()
            .finish()
    }
}

/// The same merged fields of the same type at two places of the response (`items` and
/// `featured`, which share objects) take one fetch: one `_entities` request whose
/// representations are each distinct object once, whichever places it stands at; every
/// object at both places gets its result, and the error of the one that fails is placed at
/// each of its places, on the field of that place (its own location in the document).
#[tokio::test]
async fn one_fetch_serves_every_place_of_the_same_merged_fields_and_errors_reach_each_place() {
    use quilt_test_support::{Stats, graphql_router};
    let shelf = serve(graphql_router(places::shelf(), Stats::default())).await;
    let stock =
        serve(axum::Router::new().route("/graphql", axum::routing::post(places::stock_service)))
            .await;
    let inner = common::http(stock.http_url());
    let sent = common::Sent::default();
    let mut stitcher = Stitcher::new();
    let shelf_executor = common::http(shelf.http_url());
    let shelf_schema = load_schema(&shelf_executor, SchemaSource::federation())
        .await
        .unwrap();
    stitcher = stitcher.subschema(SubschemaConfig::new("shelf", shelf_schema, shelf_executor));
    let stock_schema = load_schema(&inner, SchemaSource::federation())
        .await
        .unwrap();
    let recording = common::Recording::new(inner, sent.clone());
    stitcher = stitcher.subschema(SubschemaConfig::new("stock", stock_schema, recording));
    let gateway = stitcher.build().unwrap();

    let query = "{\n  items { id stock }\n  featured { id stock }\n}";
    let plan = gateway.explain(query, None).unwrap();
    assert!(
        plan.contains("stock._entities [items, featured] Item (id): { stock }"),
        "{plan}"
    );
    sent.take();
    let result = run_op(&gateway, query, json!({}), None).await;
    let place = |ids: &[&str]| -> Vec<serde_json::Value> {
        ids.iter()
            .map(|id| match *id {
                "broken" => json!({ "id": id, "stock": null }),
                id => json!({ "id": id, "stock": places::stock(id) }),
            })
            .collect()
    };
    assert_eq!(
        result["data"],
        json!({ "items": place(&places::ITEMS), "featured": place(&places::FEATURED) }),
        "{result}"
    );
    let mut errors: Vec<(serde_json::Value, serde_json::Value)> = result["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["path"].clone(), e["locations"].clone()))
        .collect();
    errors.sort_by_key(|(path, _)| path.to_string());
    assert_eq!(
        errors,
        vec![
            (
                json!(["featured", 1, "stock"]),
                json!([{ "line": 3, "column": 17 }])
            ),
            (
                json!(["items", 2, "stock"]),
                json!([{ "line": 2, "column": 14 }])
            ),
        ],
        "{result}"
    );
    assert!(
        result["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["message"]
                .as_str()
                .unwrap()
                .contains("the stock of this item is unknown")),
        "{result}"
    );
    // One request to stock, each object once: a, b, broken (from `items`), then c.
    let requests = sent.take();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let representations: Vec<&str> = requests[0].1["_qv0_representations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(representations, ["a", "b", "broken", "c"]);
}

/// An operation's groupings of fields are kept with it after its first response, where no
/// `@skip`/`@include` takes a variable: later responses, and responses shaped at the same
/// time, are still byte for byte the same. Where a condition takes a variable, each request's
/// variables decide it again.
#[tokio::test]
async fn later_and_concurrent_responses_of_an_operation_are_shaped_alike_and_conditions_on_variables_per_request()
 {
    let subgraphs = federation::start_all().await.unwrap();
    let gateway = stitched(&subgraphs).await;
    let expected = serde_json::to_string(&expected::heavy_response()).unwrap();
    for _ in 0..3 {
        let result = run_op(&gateway, HEAVY_QUERY, json!({}), None).await;
        assert_eq!(serde_json::to_string(&result).unwrap(), expected);
    }
    let fresh = stitched(&subgraphs).await;
    let answers =
        futures::future::join_all((0..8).map(|_| run_op(&fresh, HEAVY_QUERY, json!({}), None)))
            .await;
    for answer in answers {
        assert_eq!(serde_json::to_string(&answer).unwrap(), expected);
    }

    let query = "query ($r: Boolean!) { topProducts(first: 2) { upc \
                 ... on Product @include(if: $r) { reviews { id } } name @skip(if: $r) } }";
    let with = run_op(&gateway, query, json!({ "r": true }), None).await;
    let without = run_op(&gateway, query, json!({ "r": false }), None).await;
    let again = run_op(&gateway, query, json!({ "r": true }), None).await;
    let products = |answer: &serde_json::Value| answer["data"]["topProducts"].clone();
    let first = products(&with)[0].clone();
    assert!(
        first.get("reviews").is_some() && first.get("name").is_none(),
        "{with}"
    );
    let first = products(&without)[0].clone();
    assert!(
        first.get("name").is_some() && first.get("reviews").is_none(),
        "{without}"
    );
    assert_eq!(again, with);
}
