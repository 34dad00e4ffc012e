//! What the federation queries must return, computed from [`super::data`] alone, with the
//! fields in the order the queries ask for them (so that a serialized response can be compared
//! byte for byte).

use serde_json::{Map, Value, json};

use super::data;

/// The response to [`HEAVY_QUERY`](super::HEAVY_QUERY).
pub fn heavy_response() -> Value {
    let users: Vec<Value> = data::USERS
        .iter()
        .map(|user| {
            let mut object = user_fields(user.id);
            let reviews: Vec<Value> = data::reviews_by_author(user.id)
                .map(|review| {
                    let mut object = review_fields(review);
                    object.insert("product".into(), deep_product(review.product_upc));
                    Value::Object(object)
                })
                .collect();
            object.insert("reviews".into(), Value::Array(reviews));
            Value::Object(object)
        })
        .collect();
    let top_products: Vec<Value> = data::top_products(5)
        .iter()
        .map(|product| deep_product(&product.upc))
        .collect();
    json!({ "data": { "users": users, "topProducts": top_products } })
}

/// The response to [`SIMPLE_QUERY`](super::SIMPLE_QUERY).
pub fn simple_response() -> Value {
    let products: Vec<Value> = data::top_products(5)
        .into_iter()
        .map(|p| json!({ "upc": p.upc, "name": p.name, "price": p.price, "weight": p.weight }))
        .collect();
    json!({ "data": { "topProducts": products } })
}

/// The response to [`large_query`](super::large_query)`(first)`.
pub fn large_response(first: usize) -> Value {
    let first = i32::try_from(first).unwrap_or(i32::MAX);
    let products: Vec<Value> = data::top_products(first)
        .iter()
        .map(|p| Value::Object(product_fields(&p.upc)))
        .collect();
    json!({ "data": { "topProducts": products } })
}

/// `...User` (`id username name`).
fn user_fields(id: &str) -> Map<String, Value> {
    let user = data::user(id);
    let mut object = Map::new();
    object.insert("id".into(), json!(id));
    object.insert("username".into(), json!(user.map(|u| u.username)));
    object.insert("name".into(), json!(user.map(|u| u.name)));
    object
}

/// `...Review` (`id body`).
fn review_fields(review: &data::Review) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert("id".into(), json!(review.id));
    object.insert("body".into(), json!(review.body));
    object
}

/// `...Product` (`inStock name price shippingEstimate upc weight`).
fn product_fields(upc: &str) -> Map<String, Value> {
    let product = data::product(upc);
    let price = product.as_ref().map(|p| p.price);
    let weight = product.as_ref().map(|p| p.weight);
    let mut object = Map::new();
    object.insert(
        "inStock".into(),
        json!(product.as_ref().map(|p| p.in_stock)),
    );
    object.insert("name".into(), json!(product.as_ref().map(|p| &p.name)));
    object.insert("price".into(), json!(price));
    object.insert(
        "shippingEstimate".into(),
        json!(data::shipping_estimate(price, weight)),
    );
    object.insert("upc".into(), json!(upc));
    object.insert("weight".into(), json!(weight));
    object
}

/// `{ ...Product reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } } }`.
fn deep_product(upc: &str) -> Value {
    let mut object = product_fields(upc);
    let reviews: Vec<Value> = data::reviews_of_product(upc)
        .map(|review| {
            let mut author = user_fields(review.author_id);
            let authored: Vec<Value> = data::reviews_by_author(review.author_id)
                .map(|authored| {
                    let mut object = review_fields(authored);
                    object.insert(
                        "product".into(),
                        Value::Object(product_fields(authored.product_upc)),
                    );
                    Value::Object(object)
                })
                .collect();
            author.insert("reviews".into(), Value::Array(authored));
            let mut object = review_fields(review);
            object.insert("author".into(), Value::Object(author));
            Value::Object(object)
        })
        .collect();
    object.insert("reviews".into(), Value::Array(reviews));
    Value::Object(object)
}
