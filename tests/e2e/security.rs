//! The security defaults of the `gateway-example` binary and the settings that change them:
//! CSRF prevention (HTTP and WebSocket origins), CORS, the introspection switch, automatic
//! persisted queries (in memory, and through Redis shared by two gateway processes) and the
//! allow-list of a manifest.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

use crate::common::{GatewayProcess, TempDir, redis_or_skip, within};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const RESERVE: &str =
    r#"mutation { reserveSeat(venueId: "hall-1", number: "A1", holder: "mallory") { number } }"#;

/// The probe of a page on another site: a form POST (no preflight) running a mutation.
async fn cross_site_form(url: &str, preflight_header: Option<&str>) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .text("operations", json!({ "query": RESERVE }).to_string())
        .text("map", "{}");
    let mut request = reqwest::Client::new()
        .post(url)
        .header("origin", "https://evil.example")
        .multipart(form);
    if let Some(header) = preflight_header {
        request = request.header(header, "true");
    }
    within(request.send()).await.unwrap()
}

#[tokio::test]
async fn a_cross_site_form_post_cannot_run_a_mutation_by_default() {
    let gateway = GatewayProcess::start(&[]).await;
    let refused = cross_site_form(&gateway.url, None).await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "CSRF_PREVENTED",
        "{body}"
    );
    // The seat is still free: the mutation never ran.
    let seat = gateway
        .query(r#"{ venue(id: "hall-1") { seats { number status } } }"#)
        .await;
    assert_eq!(
        seat["data"]["venue"]["seats"][0],
        json!({"number": "A1", "status": "OPEN"})
    );
    // An upload client sends the preflight-forcing header (which a page cannot without a
    // preflight that CORS refuses).
    let allowed = cross_site_form(&gateway.url, Some("apollo-require-preflight")).await;
    assert_eq!(allowed.status(), 200);
    let body: Value = allowed.json().await.unwrap();
    assert_eq!(body["data"]["reserveSeat"]["number"], "A1", "{body}");
}

#[tokio::test]
async fn csrf_can_be_configured_off_or_extended_to_get() {
    let dir = TempDir::new("security-csrf");
    let off = dir.file("off.toml", "[csrf]\nenabled = false\n");
    let gateway = GatewayProcess::start(&["--config".into(), off]).await;
    assert_eq!(cross_site_form(&gateway.url, None).await.status(), 200);
    drop(gateway);

    let get = dir.file(
        "get.toml",
        "[csrf]\ncheck_get = true\nrequired_headers = [\"x-quilt-client\"]\n",
    );
    let gateway = GatewayProcess::start(&["--config".into(), get]).await;
    let client = reqwest::Client::new();
    let url = format!("{}?query=%7B__typename%7D", gateway.url);
    let refused = within(client.get(&url).send()).await.unwrap();
    assert_eq!(refused.status(), 400);
    let allowed = within(client.get(&url).header("x-quilt-client", "web").send())
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
}

/// Opens a WebSocket to the gateway with `origin`; the upgrade's HTTP status.
async fn ws_status(gateway: &GatewayProcess, origin: Option<&str>) -> u16 {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = gateway
        .url
        .replacen("http", "ws", 1)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    match within(tokio_tungstenite::connect_async(request)).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("unexpected WebSocket failure: {other}"),
    }
}

#[tokio::test]
async fn websocket_upgrades_from_foreign_origins_are_refused() {
    let gateway =
        GatewayProcess::start(&["--cors-origin".into(), "https://app.example".into()]).await;
    let own = gateway.url.trim_end_matches("/graphql").to_owned();
    assert_eq!(ws_status(&gateway, Some("https://evil.example")).await, 403);
    assert_eq!(ws_status(&gateway, Some("https://app.example")).await, 101);
    assert_eq!(ws_status(&gateway, Some(&own)).await, 101, "same origin");
    assert_eq!(
        ws_status(&gateway, None).await,
        101,
        "no Origin: not a browser"
    );
}

#[tokio::test]
async fn cors_origins_from_flags_are_answered_to_preflights() {
    let gateway =
        GatewayProcess::start(&["--cors-origin".into(), "https://app.example".into()]).await;
    let client = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        client
            .request(reqwest::Method::OPTIONS, &gateway.url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = within(preflight("https://app.example")).await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let foreign = within(preflight("https://evil.example")).await.unwrap();
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn introspection_can_be_switched_off_and_typename_still_works() {
    let gateway = GatewayProcess::start(&["--no-introspection".into()]).await;
    let refused = gateway.query("{ __schema { queryType { name } } }").await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "INTROSPECTION_DISABLED",
        "{refused}"
    );
    let refused = gateway.query(r#"{ __type(name: "Query") { name } }"#).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"],
        "INTROSPECTION_DISABLED"
    );
    assert_eq!(
        gateway.query("{ __typename me { __typename } }").await,
        json!({"data": {"__typename": "Query", "me": {"__typename": "User"}}})
    );
}

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Posts an APQ request: the hash, with or without the query.
async fn apq(url: &str, query: Option<&str>, hash: &str) -> Value {
    let mut body = json!({
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": hash}}
    });
    if let Some(query) = query {
        body["query"] = json!(query);
    }
    within(reqwest::Client::new().post(url).json(&body).send())
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn automatic_persisted_queries_round_trip_in_memory() {
    let gateway = GatewayProcess::start(&[]).await;
    let query = "{ me { name } }";
    let hash = sha256(query);
    let missing = apq(&gateway.url, None, &hash).await;
    assert_eq!(missing["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(
        missing["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );
    let registered = apq(&gateway.url, Some(query), &hash).await;
    assert_eq!(registered, json!({"data": {"me": {"name": "Ada"}}}));
    assert_eq!(
        apq(&gateway.url, None, &hash).await,
        json!({"data": {"me": {"name": "Ada"}}})
    );
    let mismatch = apq(&gateway.url, Some("{ me { id } }"), &hash).await;
    assert!(
        mismatch["errors"][0]["message"].as_str().is_some(),
        "{mismatch}"
    );
    assert!(
        mismatch.get("data").is_none_or(Value::is_null),
        "{mismatch}"
    );
}

#[tokio::test]
async fn two_gateways_share_persisted_queries_through_redis() {
    let Some(redis) = redis_or_skip().await else {
        return;
    };
    let dir = TempDir::new("security-apq-redis");
    let config = dir.file(
        "gateway.toml",
        &format!("[persisted_queries]\nstore = \"{redis}\"\n"),
    );
    let first = GatewayProcess::start(&["--config".into(), config.clone()]).await;
    let second = GatewayProcess::start(&["--config".into(), config]).await;
    // A document no earlier run registered: its hash is new to the shared store.
    let query = format!(
        "query Shared{} {{ me {{ name }} }}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let hash = sha256(&query);
    let missing = apq(&second.url, None, &hash).await;
    assert_eq!(
        missing["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );
    assert_eq!(
        apq(&first.url, Some(&query), &hash).await,
        json!({"data": {"me": {"name": "Ada"}}})
    );
    assert_eq!(
        apq(&second.url, None, &hash).await,
        json!({"data": {"me": {"name": "Ada"}}}),
        "the second gateway finds what the first registered"
    );
}

#[tokio::test]
async fn only_the_manifests_operations_are_served_in_allow_list_mode() {
    let dir = TempDir::new("security-manifest");
    let listed = "query Me { me { name } }";
    let manifest = dir.file(
        "manifest.json",
        &json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{"id": "me-v1", "name": "Me", "type": "query", "body": listed}]
        })
        .to_string(),
    );
    let config = dir.file(
        "gateway.toml",
        &format!(
            "[persisted_queries]\nmanifest = \"{}\"\nonly_persisted = true\n",
            manifest.replace('\\', "\\\\")
        ),
    );
    let gateway = GatewayProcess::start(&["--config".into(), config]).await;
    assert_eq!(
        apq(&gateway.url, None, "me-v1").await,
        json!({"data": {"me": {"name": "Ada"}}}),
        "by id"
    );
    assert_eq!(
        gateway.query(listed).await,
        json!({"data": {"me": {"name": "Ada"}}}),
        "by its text"
    );
    let refused = gateway.query("{ me { id name } }").await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_IN_LIST",
        "{refused}"
    );
}
