//! The heavy query's subgraph work sent straight to the subgraphs: the requests a planner that
//! batches perfectly would send (one per subgraph per plan level, entities deduplicated), level
//! after level, the requests of a level at once. Its rate and latency are what a gateway would
//! reach if its own work cost nothing; its request count is the floor for a gateway's.
//!
//! The representations come from the static data (a gateway would read them from the previous
//! level's answers; with static data they are the same).

use std::collections::BTreeSet;

use bytes::Bytes;
use hyper::Uri;
use quilt_test_support::federation::data;
use serde_json::{Value, json};

/// Which subgraph a request goes to (index into [`DirectPlan::urls`]).
pub const ACCOUNTS: usize = 0;
/// Inventory.
pub const INVENTORY: usize = 1;
/// Products.
pub const PRODUCTS: usize = 2;
/// Reviews.
pub const REVIEWS: usize = 3;

/// The levels of requests, each a list of `(subgraph, body)` sent concurrently.
#[derive(Debug)]
pub struct DirectPlan {
    /// accounts, inventory, products, reviews.
    pub urls: [Uri; 4],
    /// The levels, in order.
    pub levels: Vec<Vec<(usize, Bytes)>>,
}

impl DirectPlan {
    /// How many requests one execution sends.
    pub fn requests(&self) -> usize {
        self.levels.iter().map(Vec::len).sum()
    }
}

fn body(query: &str, representations: Option<Value>) -> Bytes {
    let body = match representations {
        Some(r) => json!({ "query": query, "variables": { "r": r } }),
        None => json!({ "query": query }),
    };
    Bytes::from(body.to_string())
}

fn product_representations(upcs: &BTreeSet<String>, with_price_weight: bool) -> Value {
    let list: Vec<Value> = upcs
        .iter()
        .map(|upc| {
            let product = data::product(upc);
            if with_price_weight {
                json!({
                    "__typename": "Product",
                    "upc": upc,
                    "price": product.as_ref().map(|p| p.price),
                    "weight": product.as_ref().map(|p| p.weight),
                })
            } else {
                json!({ "__typename": "Product", "upc": upc })
            }
        })
        .collect();
    Value::Array(list)
}

const ENTITIES: &str = "query($r: [_Any!]!) { _entities(representations: $r) {";
const AUTHOR: &str = "author { id username reviews { id body product { upc } } }";

/// The plan of the heavy query over the subgraphs at `urls` (accounts, inventory, products,
/// reviews): 4 levels, 7 requests.
pub fn heavy(urls: [Uri; 4]) -> DirectPlan {
    let top: BTreeSet<String> = data::top_products(5).into_iter().map(|p| p.upc).collect();
    // Level 1: the root fields.
    let users = body("{ users { id username name } }", None);
    let top_products = body("{ topProducts { upc name price weight } }", None);
    // Level 2: everything reviews knows under users and top products (author.username is
    // provided), and the top products' stock and shipping.
    let mut representations: Vec<Value> = data::USERS
        .iter()
        .map(|u| json!({ "__typename": "User", "id": u.id }))
        .collect();
    representations.extend(
        top.iter()
            .map(|upc| json!({ "__typename": "Product", "upc": upc })),
    );
    let reviews = body(
        &format!(
            "{ENTITIES} ... on User {{ reviews {{ id body product {{ upc reviews {{ id body {AUTHOR} }} }} }} }} \
             ... on Product {{ reviews {{ id body {AUTHOR} }} }} }} }}"
        ),
        Some(Value::Array(representations)),
    );
    let stock = format!("{ENTITIES} ... on Product {{ inStock shippingEstimate }} }} }}");
    let top_stock = body(&stock, Some(product_representations(&top, true)));
    // Level 3: the catalogue fields of every product under a review, the names of the authors.
    let reviewed: BTreeSet<String> = data::REVIEWS
        .iter()
        .map(|r| r.product_upc.to_owned())
        .collect();
    let products = body(
        &format!("{ENTITIES} ... on Product {{ name price weight }} }} }}"),
        Some(product_representations(&reviewed, false)),
    );
    let authors: BTreeSet<&str> = reviewed
        .iter()
        .chain(&top)
        .flat_map(|upc| data::reviews_of_product(upc).map(|r| r.author_id))
        .collect();
    let authors: Vec<Value> = authors
        .into_iter()
        .map(|id| json!({ "__typename": "User", "id": id }))
        .collect();
    let names = body(
        &format!("{ENTITIES} ... on User {{ name }} }} }}"),
        Some(Value::Array(authors)),
    );
    // Level 4: stock and shipping of those products, which need their price and weight.
    let reviewed_stock = body(&stock, Some(product_representations(&reviewed, true)));
    DirectPlan {
        urls,
        levels: vec![
            vec![(ACCOUNTS, users), (PRODUCTS, top_products)],
            vec![(REVIEWS, reviews), (INVENTORY, top_stock)],
            vec![(PRODUCTS, products), (ACCOUNTS, names)],
            vec![(INVENTORY, reviewed_stock)],
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quilt_test_support::federation;

    /// Every request of the plan is answered without errors by the real subgraphs, and the
    /// reviews request reaches down to the authors' reviewed products.
    #[tokio::test]
    async fn every_request_of_the_heavy_plan_is_answered_without_errors() {
        let Ok(subgraphs) = federation::start_all().await else {
            panic!("subgraphs did not start")
        };
        let urls = subgraphs
            .all()
            .map(|(_, server)| server.http_url().parse::<Uri>().ok().unwrap_or_default());
        let plan = heavy(urls);
        assert_eq!((plan.levels.len(), plan.requests()), (4, 7));
        for level in &plan.levels {
            for (to, body) in level {
                let answer = crate::load::once(&plan.urls[*to], body.clone()).await;
                let Ok((status, body)) = answer else {
                    panic!("no answer from subgraph {to}: {answer:?}")
                };
                let text = String::from_utf8_lossy(&body);
                assert_eq!(status, http::StatusCode::OK, "{text}");
                assert!(
                    text.starts_with("{\"data\":") && !text.contains("\"errors\""),
                    "{text}"
                );
                assert!(!text.contains("null"), "an entity was not found: {text}");
            }
        }
        let (_, reviews) = &plan.levels[1][0];
        let answer = crate::load::once(&plan.urls[REVIEWS], reviews.clone()).await;
        let text = answer
            .map(|(_, b)| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        assert!(text.contains("\"username\":\"mira\""), "{text}");
    }
}
