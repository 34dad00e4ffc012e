#![allow(clippy::unwrap_used)]
//! `@defer` and `@stream` through the stitched schema over the four JavaScript services of the
//! type merging tests (test-support/js/merge-subgraph.mjs, over HTTP): the payloads (initial
//! first, then the deferred fragments and streamed items), their paths and labels, and the
//! final result equal to the same operation without the directives; and each transport of the
//! server (multipart/mixed, SSE, both WebSocket subprotocols, and one JSON answer for a client
//! that takes no stream).

mod common;

use common::run;
use futures::StreamExt;
use quilt_executor::{Executor, Request};
use quilt_stitch::{StitchedSchema, Stitcher, SubschemaConfig};
use quilt_test_support::JsPeer;
use quilt_test_support::incremental::{apply, read_parts};
use quilt_test_support::ws_client::{connect_acked, recv, send};
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
async fn same_as(
    gateway: &StitchedSchema,
    query: &str,
    plain: &str,
    variables: Value,
) -> Vec<Value> {
    let parts = payloads(gateway, query, variables.clone()).await;
    let whole = run(gateway, plain, variables).await;
    assert!(parts.len() >= 2, "one payload only: {parts:#?}");
    assert_eq!(parts[0]["hasNext"], json!(true), "{parts:#?}");
    assert_eq!(parts.last().unwrap()["hasNext"], json!(false), "{parts:#?}");
    // The two documents differ, so do the errors' locations.
    assert_eq!(
        without_locations(apply(&parts).unwrap()),
        without_locations(whole),
        "payloads: {parts:#?}"
    );
    parts
}

/// `result` without error locations, and without `errors` when there is none.
fn without_locations(mut result: Value) -> Value {
    let object = result.as_object_mut().unwrap();
    match object.get_mut("errors").and_then(Value::as_array_mut) {
        Some(errors) if !errors.is_empty() => {
            for error in errors {
                error.as_object_mut().unwrap().remove("locations");
            }
        }
        _ => {
            object.remove("errors");
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
    assert!(
        parts[0]["data"]["reviews"][0].get("author").is_none(),
        "{parts:#?}"
    );
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

/// Quilt's server over `gateway` on a free port: (HTTP URL, WebSocket URL).
async fn serve(gateway: StitchedSchema) -> (String, String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = quilt_server::GraphQLServer::new(gateway)
            .serve(listener)
            .await;
    });
    (
        format!("http://{addr}/graphql"),
        format!("ws://{addr}/graphql"),
        task,
    )
}

const DEFERRED: &str =
    "{ reviews(first: 3) { id ... @defer(label: \"more\") { author { name } product { name } } } }";
const WHOLE: &str = "{ reviews(first: 3) { id author { name } product { name } } }";

/// The `payload`s of `kind` messages for operation `1`, until its `complete`.
async fn ws_payloads(socket: &mut quilt_test_support::ws_client::Socket, kind: &str) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let message = recv(socket).await;
        match message["type"].as_str() {
            Some("complete") => return out,
            Some(t) if t == kind => out.push(message["payload"].clone()),
            Some("ka" | "ping" | "pong") => {}
            _ => panic!("unexpected message {message}"),
        }
    }
}

#[tokio::test]
async fn every_transport_delivers_the_payloads_and_a_json_only_client_gets_the_whole_result() {
    let (gateway, _subgraphs) = start().await;
    let whole = run(&gateway, WHOLE, json!({})).await;
    let (http, ws, server) = serve(gateway).await;
    let client = reqwest::Client::new();
    let post = |accept: &'static str| {
        client
            .post(&http)
            .header("accept", accept)
            .json(&json!({ "query": DEFERRED }))
            .send()
    };

    for accept in [
        "multipart/mixed;deferSpec=20220824",
        "multipart/mixed;deferSpec=20220824, application/json",
        "text/event-stream",
    ] {
        let response = post(accept).await.unwrap();
        assert_eq!(response.status(), 200, "{accept}");
        let parts = read_parts(response).await.unwrap();
        assert!(parts.len() >= 2, "{accept}: {parts:#?}");
        assert!(
            parts[0]["data"]["reviews"][0].get("author").is_none(),
            "{parts:#?}"
        );
        assert_eq!(
            without_locations(apply(&parts).unwrap()),
            without_locations(whole.clone()),
            "{accept}: {parts:#?}"
        );
    }

    // A client that takes JSON only: the whole result in one answer.
    let response = post("application/json").await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, whole);

    // graphql-transport-ws: one `next` per payload.
    let mut socket = connect_acked(&ws, "graphql-transport-ws", json!({})).await;
    send(
        &mut socket,
        json!({"id": "1", "type": "subscribe", "payload": {"query": DEFERRED}}),
    )
    .await;
    let parts = ws_payloads(&mut socket, "next").await;
    assert!(parts.len() >= 2, "{parts:#?}");
    assert_eq!(
        without_locations(apply(&parts).unwrap()),
        without_locations(whole.clone())
    );

    // The legacy subscriptions-transport-ws protocol (`graphql-ws`): one `data` per payload.
    let mut socket = connect_acked(&ws, "graphql-ws", json!({})).await;
    send(
        &mut socket,
        json!({"id": "1", "type": "start", "payload": {"query": DEFERRED}}),
    )
    .await;
    let parts = ws_payloads(&mut socket, "data").await;
    assert!(parts.len() >= 2, "{parts:#?}");
    assert_eq!(
        without_locations(apply(&parts).unwrap()),
        without_locations(whole.clone())
    );
    server.abort();
}

#[tokio::test]
async fn defer_on_a_subscription_is_refused() {
    let executor = quilt_executor::from_fn(|_| async {
        Err(quilt_executor::ExecutorError::other("not called"))
    });
    let gateway = Stitcher::new()
        .subschema(
            SubschemaConfig::from_sdl(
                "ticks",
                "type Query { a: Int } type Tick { n: Int } type Subscription { tick: Tick }",
                executor,
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    let refused = run(
        &gateway,
        "subscription { tick { n ... @defer { m: n } } }",
        json!({}),
    )
    .await;
    assert!(refused.get("data").is_none(), "{refused}");
    let about_defer = |result: &Value| {
        result["errors"].as_array().is_some_and(|errors| {
            errors.iter().any(|e| {
                let message = e["message"].as_str().unwrap_or_default();
                message.contains("@defer") && message.contains("subscription")
            })
        })
    };
    assert!(about_defer(&refused), "{refused}");
    // Turned off, it is an ordinary subscription (which this executor fails).
    let off = run(
        &gateway,
        "subscription { tick { n ... @defer(if: false) { m: n } } }",
        json!({}),
    )
    .await;
    assert!(!about_defer(&off), "{off}");
    // Turned on by a variable: refused by the gateway when the variable is true.
    let on = run(
        &gateway,
        "subscription ($d: Boolean!) { tick { n ... @defer(if: $d) { m: n } } }",
        json!({"d": true}),
    )
    .await;
    assert!(on.get("data").is_none(), "{on}");
    assert!(about_defer(&on), "{on}");
}

#[tokio::test]
async fn a_client_that_drops_the_stream_after_the_initial_payload_cancels_the_rest() {
    let (gateway, _subgraphs) = start().await;
    let request = Request::new(DEFERRED.to_owned()).unwrap();
    let mut stream = gateway.execute(request).await.unwrap().into_stream();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.has_next, Some(true));
    drop(stream);
    // The gateway still answers, from the cached plan.
    let before = gateway.plan_cache_stats();
    let again = payloads(&gateway, DEFERRED, json!({})).await;
    assert!(again.len() >= 2);
    let after = gateway.plan_cache_stats();
    assert_eq!(
        after.plans, before.plans,
        "a deferred operation is planned once"
    );
    assert_eq!(after.hits, before.hits + 1);
}

#[tokio::test]
async fn an_operation_with_too_many_deferred_fragments_is_refused_and_others_still_answer() {
    let (gateway, _subgraphs) = start().await;
    let fragments: String = (0..65)
        .map(|i| format!(" ... @defer(label: \"f{i}\") {{ f{i}: name }}"))
        .collect();
    let query = format!("{{ topProducts(first: 1) {{ upc{fragments} }} }}");
    let refused = run(&gateway, &query, json!({})).await;
    assert!(refused.get("data").is_none(), "{refused}");
    assert_eq!(
        refused["errors"][0]["extensions"]["code"],
        json!("TOO_MANY_DEFERRED_FRAGMENTS"),
        "{refused}"
    );
    // 64 are within the limit.
    let fragments: String = (0..64)
        .map(|i| format!(" ... @defer(label: \"f{i}\") {{ f{i}: name }}"))
        .collect();
    let query = format!("{{ topProducts(first: 1) {{ upc{fragments} }} }}");
    let parts = payloads(&gateway, &query, json!({})).await;
    assert!(parts.len() >= 2, "{parts:#?}");
    assert_eq!(parts.last().unwrap()["hasNext"], json!(false));
    let again = payloads(&gateway, DEFERRED, json!({})).await;
    assert!(again.len() >= 2);
}
