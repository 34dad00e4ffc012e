//! What clients see of upstream failures through the `gateway-example` binary: never an
//! internal URL, an upstream's error body or a stack trace; each masked error has a stable
//! `extensions.code` and the request id, and the gateway's log line with that request id holds
//! the detail. `--expose-upstream-details` shows it all (development).

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

use std::sync::{Arc, Mutex};

use crate::common::{GatewayProcess, TempDir, within};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use quilt_test_support::{Stats, TestServer};
use serde_json::{Value, json};

/// What the fake subgraph does with a query that is not the schema's.
#[derive(Clone, Copy)]
enum Mode {
    /// HTTP 500 with a body that names a database DSN with its password.
    ServerError,
    /// A GraphQL error carrying a stack trace and an ordinary extension.
    StackTrace,
}

const SECRET: &str = "hunter2-db-password";

async fn vault(State(mode): State<Arc<Mutex<Mode>>>, body: String) -> Response {
    if body.contains("_sdl") {
        return axum::Json(json!({"data": {"_sdl": "type Query { secret: String }"}}))
            .into_response();
    }
    let mode = *mode.lock().unwrap();
    match mode {
        Mode::ServerError => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "Error: connect ECONNREFUSED postgres://app:{SECRET}@db.internal:5432\n    at Pool.connect (/srv/vault/db.js:12:7)"
            ),
        )
            .into_response(),
        Mode::StackTrace => axum::Json(json!({
            "data": {"secret": null},
            "errors": [{
                "message": "the vault is sealed",
                "path": ["secret"],
                "extensions": {
                    "code": "SEALED",
                    "retryAfter": 30,
                    "stacktrace": [format!("Error: sealed with {SECRET}"), "    at seal (/srv/vault/index.js:3:9)"],
                    "exception": {"stacktrace": ["at seal"]}
                }
            }]
        }))
        .into_response(),
    }
}

/// The fake subgraph on a port of its own, and the switch of its mode.
async fn start_vault(mode: Mode) -> (TestServer, Arc<Mutex<Mode>>) {
    let mode = Arc::new(Mutex::new(mode));
    let router = Router::new()
        .route("/graphql", post(vault))
        .with_state(mode.clone());
    let server = TestServer::serve("127.0.0.1:0".parse().unwrap(), router, Stats::default())
        .await
        .unwrap();
    (server, mode)
}

/// Posts `{ secret }`; the response's `x-request-id` and its body as text.
async fn ask(gateway: &GatewayProcess) -> (String, String) {
    let response = within(
        reqwest::Client::new()
            .post(&gateway.url)
            .json(&json!({"query": "{ secret }"}))
            .send(),
    )
    .await
    .unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    (id, response.text().await.unwrap())
}

/// The log line naming `id` that contains `needle`, waiting for the gateway to write it.
async fn log_line(log: &Arc<Mutex<String>>, id: &str, needle: &str) -> String {
    within(async {
        loop {
            let found = log
                .lock()
                .unwrap()
                .lines()
                .find(|line| line.contains(id) && line.contains(needle))
                .map(str::to_owned);
            if let Some(line) = found {
                return line;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
}

fn assert_clean(text: &str, vault_port: u16) {
    for internal in [
        SECRET,
        "127.0.0.1",
        &vault_port.to_string(),
        "stacktrace",
        "db.js",
        "index.js",
    ] {
        assert!(
            !text.contains(internal),
            "`{internal}` reached the client: {text}"
        );
    }
}

#[tokio::test]
async fn an_upstream_500_with_a_secret_in_its_body_is_masked_and_logged_with_the_request_id() {
    let (vault, _mode) = start_vault(Mode::ServerError).await;
    let port = vault.addr().port();
    let (gateway, log) = GatewayProcess::start_logged(&[
        "--subschema".into(),
        format!("vault={}", vault.http_url()),
    ])
    .await;
    let (id, text) = ask(&gateway).await;
    assert_clean(&text, port);
    let body: Value = serde_json::from_str(&text).unwrap();
    let error = &body["errors"][0];
    assert_eq!(
        error["message"],
        "subschema `vault` failed with HTTP status 500"
    );
    assert_eq!(error["path"], json!(["secret"]));
    assert_eq!(error["extensions"]["code"], "HTTP_ERROR");
    assert_eq!(error["extensions"]["serviceName"], "vault");
    assert_eq!(error["extensions"]["requestId"], id.as_str());
    let line = log_line(&log, &id, SECRET).await;
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
}

#[tokio::test]
async fn a_down_upstream_is_masked_and_the_log_names_its_address() {
    let (vault, _mode) = start_vault(Mode::ServerError).await;
    let port = vault.addr().port();
    let (gateway, log) = GatewayProcess::start_logged(&[
        "--subschema".into(),
        format!("vault={}", vault.http_url()),
    ])
    .await;
    vault.stop().await;
    let (id, text) = ask(&gateway).await;
    assert_clean(&text, port);
    let body: Value = serde_json::from_str(&text).unwrap();
    let error = &body["errors"][0];
    assert_eq!(error["message"], "subschema `vault` could not be reached");
    assert_eq!(error["extensions"]["code"], "CONNECT_ERROR");
    assert_eq!(error["extensions"]["requestId"], id.as_str());
    log_line(&log, &id, &format!("127.0.0.1:{port}")).await;
    // The gateway keeps serving: its own fields still answer.
    assert_eq!(
        gateway.query("{ __typename }").await,
        json!({"data": {"__typename": "Query"}})
    );
}

#[tokio::test]
async fn upstream_stack_traces_never_reach_the_client_and_other_extensions_do() {
    let (vault, _mode) = start_vault(Mode::StackTrace).await;
    let port = vault.addr().port();
    let (gateway, log) = GatewayProcess::start_logged(&[
        "--subschema".into(),
        format!("vault={}", vault.http_url()),
    ])
    .await;
    let (id, text) = ask(&gateway).await;
    assert_clean(&text, port);
    // The stack trace goes to the log, with the request id.
    log_line(&log, &id, &format!("sealed with {SECRET}")).await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        body["errors"][0],
        json!({
            "message": "the vault is sealed",
            "locations": [{"line": 1, "column": 3}],
            "path": ["secret"],
            "extensions": {"code": "SEALED", "retryAfter": 30}
        })
    );
}

#[tokio::test]
async fn a_redacted_subschema_keeps_only_allowed_extensions_and_logs_the_original() {
    let (vault, _mode) = start_vault(Mode::StackTrace).await;
    let dir = TempDir::new("masking-redact");
    let path = dir.file(
        "gateway.toml",
        &format!(
            "[[subschemas]]\nname = \"vault\"\nurl = \"{}\"\n[subschemas.errors]\nredact = true\n",
            vault.http_url()
        ),
    );
    let (gateway, log) = GatewayProcess::start_logged(&["--config".into(), path]).await;
    let (id, text) = ask(&gateway).await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        body["errors"][0],
        json!({
            "message": "Subgraph errors redacted",
            "locations": [{"line": 1, "column": 3}],
            "path": ["secret"],
            "extensions": {"code": "SEALED", "requestId": id}
        })
    );
    log_line(&log, &id, "the vault is sealed").await;
}

#[tokio::test]
async fn exposing_upstream_details_shows_the_upstream_body_for_development() {
    let (vault, _mode) = start_vault(Mode::ServerError).await;
    let (gateway, _log) = GatewayProcess::start_logged(&[
        "--subschema".into(),
        format!("vault={}", vault.http_url()),
        "--expose-upstream-details".into(),
    ])
    .await;
    let (_, text) = ask(&gateway).await;
    assert!(text.contains(SECRET), "{text}");
}
