#![allow(clippy::unwrap_used)]
//! `@defer` and `@stream` through the stitched schema over the four JavaScript services of the
//! type merging tests (test-support/js/merge-subgraph.mjs, over HTTP): the payloads (initial
//! first, then the deferred fragments and streamed items), their paths and labels, and the
//! final result equal to the same operation without the directives.

mod common;

use common::run;
use futures::StreamExt;
use quilt_executor::{Executor, Request};
use quilt_stitch::{StitchedSchema, Stitcher, SubschemaConfig};
use quilt_test_support::JsPeer;
use quilt_wrap::{SchemaSource, load_schema};
use serde_json::{Value, json};

const NAMES: [&str; 4] = ["accounts", "products", "inventory", "reviews"];

/// The four services and Quilt stitching them from their `_sdl`.
async fn start() -> (StitchedSchema, Vec<JsPeer>) {
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
    (stitcher.build().unwrap(), subgraphs)
}

/// Asserts that `query`'s payloads, applied, equal `plain`'s single result, that there is
/// more than one payload, and answers the payloads.
async fn same_as(gateway: &StitchedSchema, query: &str, plain: &str, variables: Value) -> Vec<Value> {
    let parts = payloads(gateway, query, variables.clone()).await;
    let whole = run(gateway, plain, variables).await;
    assert!(parts.len() >= 2, "one payload only: {parts:#?}");
    assert_eq!(parts[0]["hasNext"], json!(true), "{parts:#?}");
    assert_eq!(parts.last().unwrap()["hasNext"], json!(false), "{parts:#?}");
    // The two documents differ, so do the errors' locations.
    assert_eq!(
        without_locations(applied(&parts)),
        without_locations(whole),
        "payloads: {parts:#?}"
    );
    parts
}

fn without_locations(mut result: Value) -> Value {
    if let Some(errors) = result["errors"].as_array_mut() {
        for error in errors {
            error.as_object_mut().unwrap().remove("locations");
        }
    }
    result
}

/// The payloads of `query` as JSON, in order.
async fn payloads(gateway: &impl Executor, query: &str, variables: Value) -> Vec<Value> {
    let mut request = Request::new(query.to_owned()).unwrap();
    if let Value::Object(map) = variables {
        request.variables = map;
    }
    let response = gateway.execute(request).await.unwrap();
    let mut stream = response.into_stream();
    let mut out = Vec::new();
    while let Some(result) = tokio::time::timeout(std::time::Duration::from_secs(10), stream.next())
        .await
        .unwrap()
    {
        out.push(serde_json::from_slice(&result.unwrap().to_json().unwrap()).unwrap());
    }
    out
}

/// The final result after applying every payload to the first.
fn applied(payloads: &[Value]) -> Value {
    let mut data = payloads[0]["data"].clone();
    let mut errors: Vec<Value> = payloads[0]["errors"].as_array().cloned().unwrap_or_default();
    for payload in &payloads[1..] {
        for entry in payload["incremental"].as_array().cloned().unwrap_or_default() {
            let path = entry["path"].as_array().unwrap().clone();
            if let Some(items) = entry["items"].as_array() {
                let (last, list_path) = path.split_last().unwrap();
                let list = at(&mut data, list_path);
                let index = last.as_u64().unwrap() as usize;
                for (offset, item) in items.iter().enumerate() {
                    let list = list.as_array_mut().unwrap();
                    if index + offset < list.len() {
                        list[index + offset] = item.clone();
                    } else {
                        list.push(item.clone());
                    }
                }
            } else if entry.get("data").is_some() {
                merge(at(&mut data, &path), &entry["data"]);
            }
            errors.extend(entry["errors"].as_array().cloned().unwrap_or_default());
        }
    }
    if errors.is_empty() {
        json!({ "data": data })
    } else {
        json!({ "data": data, "errors": errors })
    }
}

fn at<'v>(value: &'v mut Value, path: &[Value]) -> &'v mut Value {
    let mut current = value;
    for segment in path {
        current = match segment {
            Value::String(key) => &mut current[key.as_str()],
            Value::Number(n) => &mut current[n.as_u64().unwrap() as usize],
            _ => unreachable!(),
        };
    }
    current
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                match target.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

#[tokio::test]
async fn deferred_fragments_and_streamed_lists_add_up_to_the_whole_result() {
    let (gateway, _subgraphs) = start().await;
    // Merged fields of two other services in a deferred fragment.
    let parts = same_as(
        &gateway,
        "{ reviews(first: 3) { id ... @defer(label: \"more\") { author { name } product { name price } } } }",
        "{ reviews(first: 3) { id author { name } product { name price } } }",
        json!({}),
    )
    .await;
    assert!(parts[0]["data"]["reviews"][0].get("author").is_none(), "{parts:#?}");
    let entries: Vec<&Value> = parts[1..]
        .iter()
        .flat_map(|p| p["incremental"].as_array().unwrap())
        .collect();
    assert_eq!(entries.len(), 3, "{entries:#?}");
    assert!(entries.iter().all(|e| e["label"] == json!("more")));
    // A fragment on the service's own fields, nested defers, a root-level defer.
    same_as(
        &gateway,
        "{ topProducts(first: 2) { upc ... @defer { name ... @defer { reviews { id author { name } } } } } }",
        "{ topProducts(first: 2) { upc name reviews { id author { name } } } }",
        json!({}),
    )
    .await;
    same_as(
        &gateway,
        "{ me { name } ... @defer(label: \"top\") { topProducts(first: 2) { name inStock } } }",
        "{ me { name } topProducts(first: 2) { name inStock } }",
        json!({}),
    )
    .await;
    // A deferred named fragment; @defer(if: $d) on and off.
    same_as(
        &gateway,
        "query ($d: Boolean!) { topProducts(first: 3) { upc ...P @defer(if: $d) } } fragment P on Product { shippingEstimate reviews { body } }",
        "{ topProducts(first: 3) { upc shippingEstimate reviews { body } } }",
        json!({"d": true}),
    )
    .await;
    let off = payloads(
        &gateway,
        "query ($d: Boolean!) { topProducts(first: 3) { upc ...P @defer(if: $d) } } fragment P on Product { shippingEstimate }",
        json!({"d": false}),
    )
    .await;
    assert_eq!(off.len(), 1, "{off:#?}");
    // @stream on a root list and on a merged list.
    let parts = same_as(
        &gateway,
        "{ topProducts(first: 4) @stream(initialCount: 1) { upc name } }",
        "{ topProducts(first: 4) { upc name } }",
        json!({}),
    )
    .await;
    assert_eq!(parts[0]["data"]["topProducts"].as_array().unwrap().len(), 1);
    same_as(
        &gateway,
        "{ topProducts(first: 2) { upc reviews @stream { id rating } } }",
        "{ topProducts(first: 2) { upc reviews { id rating } } }",
        json!({}),
    )
    .await;
    // Errors inside a deferred fragment.
    same_as(
        &gateway,
        "{ me { name } reviews(first: 4) { id ... @defer { author { email } } } }",
        "{ me { name } reviews(first: 4) { id author { email } } }",
        json!({}),
    )
    .await;
}
