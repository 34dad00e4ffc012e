//! Security defaults over a running server: CSRF prevention (every content type a browser
//! sends without a preflight, with and without a preflight-forcing header, POST and GET), the
//! WebSocket origin check (foreign, same and no `Origin`), CORS from settings, and the
//! introspection switch on HTTP, SSE and WebSocket. Every refusal is checked on the wire, and
//! the server is shown to keep serving.
#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

mod common;

use common::ws::{connect_with, recv, send};
use common::{WAIT, client, start, start_with};
use quilt_server::{Cors, Csrf};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const MUTATION: &str = "mutation { increment }";

/// Posts `body` with `content_type` (none when `None`) and extra headers; status and JSON body.
async fn post(
    url: &str,
    content_type: Option<&str>,
    headers: &[(&str, &str)],
    body: String,
) -> (u16, Value) {
    let mut request = client().post(url).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| json!({ "text": text })),
    )
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

/// A `multipart/form-data` body running `MUTATION` with an empty map, as a page on another
/// site can post it from a form.
fn multipart_mutation() -> (String, String) {
    let boundary = "QuiltBoundary";
    let body = format!(
        "--{boundary}\r\ncontent-disposition: form-data; name=\"operations\"\r\n\r\n{}\r\n\
         --{boundary}\r\ncontent-disposition: form-data; name=\"map\"\r\n\r\n{{}}\r\n\
         --{boundary}--\r\n",
        json!({ "query": MUTATION })
    );
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn csrf_matrix_over_post() {
    let server = start().await;
    let url = server.url();
    let json_body = json!({ "query": MUTATION }).to_string();
    let (multipart_type, multipart_body) = multipart_mutation();
    let cases: Vec<(Option<&str>, String)> = vec![
        (None, json_body.clone()),
        (Some("text/plain"), json_body.clone()),
        (Some("text/plain; charset=utf-8"), json_body.clone()),
        (
            Some("application/x-www-form-urlencoded"),
            format!("query={MUTATION}"),
        ),
        (Some(multipart_type.as_str()), multipart_body.clone()),
    ];
    for (content_type, body) in &cases {
        let (status, answer) = post(
            &url,
            *content_type,
            &[("origin", "https://evil.example")],
            body.clone(),
        )
        .await;
        assert_eq!(status, 400, "{content_type:?}: {answer}");
        assert_eq!(code(&answer), "CSRF_PREVENTED", "{content_type:?}");
        let message = answer["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("apollo-require-preflight"), "{message}");
        assert!(answer.get("data").is_none());
    }
    // Nothing ran.
    assert_eq!(server.stats.snapshot().counter, 0);
    // With a preflight-forcing header each one passes CSRF prevention: the multipart request
    // runs, the others meet the content type check.
    for header in ["apollo-require-preflight", "x-apollo-operation-name"] {
        for (content_type, body) in &cases {
            let (status, answer) =
                post(&url, *content_type, &[(header, "Increment")], body.clone()).await;
            assert_ne!(
                code(&answer),
                "CSRF_PREVENTED",
                "{content_type:?}: {answer}"
            );
            if content_type.is_some_and(|t| t.starts_with("multipart/")) {
                assert_eq!(status, 200, "{answer}");
                assert!(answer["data"]["increment"].is_i64(), "{answer}");
            } else {
                assert_eq!(status, 415, "{content_type:?}: {answer}");
            }
        }
    }
    assert_eq!(server.stats.snapshot().counter, 2);
    // An empty header value does not count.
    let (status, answer) = post(
        &url,
        Some(&multipart_type),
        &[("apollo-require-preflight", "")],
        multipart_body,
    )
    .await;
    assert_eq!((status, code(&answer)), (400, "CSRF_PREVENTED"));
    // JSON needs a preflight from a browser: no header needed.
    let (status, answer) = post(&url, Some("application/json"), &[], json_body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["increment"], 3);
}

#[tokio::test]
async fn csrf_on_get_only_when_asked_and_configurable_headers() {
    let hello = [("query", "{ hello }")];
    // Default: GET queries run without a header.
    let server = start().await;
    let response = client()
        .get(server.url())
        .query(&hello)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["hello"], "Hello, world!");

    let strict = start_with(|b| {
        b.csrf(Csrf {
            check_get: true,
            required_headers: vec!["x-quilt-client".into()],
            ..Csrf::default()
        })
    })
    .await;
    let response = client()
        .get(strict.url())
        .query(&hello)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "CSRF_PREVENTED");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("x-quilt-client")
    );
    // Only the configured header counts now.
    let response = client()
        .get(strict.url())
        .query(&hello)
        .header("apollo-require-preflight", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let response = client()
        .get(strict.url())
        .query(&hello)
        .header("x-quilt-client", "web")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The GraphiQL page is still served.
    let page = client()
        .get(strict.url())
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    // Off: a text/plain POST is only refused for its content type.
    let off = start_with(|b| b.csrf(Csrf::disabled())).await;
    let (status, _) = post(&off.url(), Some("text/plain"), &[], "{}".into()).await;
    assert_eq!(status, 415);
}

/// The status of a WebSocket handshake with `origin` (none when `None`): 101 when upgraded.
async fn ws_handshake(url: &str, origin: Option<&str>) -> u16 {
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("handshake in time")
    {
        Ok((_, response)) => response.status().as_u16(),
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("handshake failed: {other}"),
    }
}

/// Runs `MUTATION` over graphql-transport-ws with these handshake headers.
async fn ws_mutation(url: &str, headers: &[(&str, &str)]) -> Value {
    let mut socket = connect_with(url, Some("graphql-transport-ws"), headers).await;
    send(&mut socket, json!({"type": "connection_init"})).await;
    assert_eq!(recv(&mut socket).await["type"], "connection_ack");
    send(
        &mut socket,
        json!({"type": "subscribe", "id": "1", "payload": {"query": MUTATION}}),
    )
    .await;
    recv(&mut socket).await
}

#[tokio::test]
async fn websocket_upgrades_are_checked_against_the_allowed_origins() {
    let server = start().await;
    let url = server.ws_url();
    let own = format!("http://{}", server.addr);
    assert_eq!(ws_handshake(&url, Some("https://evil.example")).await, 403);
    assert_eq!(ws_handshake(&url, Some("null")).await, 403);
    assert_eq!(
        ws_handshake(
            &url,
            Some(&format!("http://127.0.0.1:{}", server.addr.port() + 1))
        )
        .await,
        403
    );
    assert_eq!(server.stats.snapshot().counter, 0);
    assert_eq!(ws_handshake(&url, Some(&own)).await, 101);
    assert_eq!(ws_handshake(&url, None).await, 101);
    // Same origin and no origin run operations.
    let next = ws_mutation(&url, &[("origin", own.as_str())]).await;
    assert_eq!(next["payload"]["data"]["increment"], 1, "{next}");
    let next = ws_mutation(&url, &[]).await;
    assert_eq!(next["payload"]["data"]["increment"], 2, "{next}");

    // Configured origins are allowed too, others still not.
    let cors = start_with(|b| b.cors(Cors::origins(["https://app.example"]))).await;
    let url = cors.ws_url();
    assert_eq!(ws_handshake(&url, Some("https://app.example")).await, 101);
    assert_eq!(ws_handshake(&url, Some("https://evil.example")).await, 403);
    let next = ws_mutation(&url, &[("origin", "https://app.example")]).await;
    assert_eq!(next["payload"]["data"]["increment"], 1, "{next}");
    // Without CSRF prevention the check is off.
    let off = start_with(|b| b.csrf(Csrf::disabled())).await;
    assert_eq!(
        ws_handshake(&off.ws_url(), Some("https://evil.example")).await,
        101
    );
}

#[tokio::test]
async fn cors_settings_build_the_cors_layer() {
    let server = start_with(|b| {
        b.cors(Cors {
            origins: vec!["https://app.example".into()],
            allow_credentials: true,
            max_age: Some(std::time::Duration::from_secs(600)),
            ..Cors::default()
        })
    })
    .await;
    let preflight = |origin: &'static str| {
        client()
            .request(reqwest::Method::OPTIONS, server.url())
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, apollo-require-preflight",
            )
            .send()
    };
    let allowed = preflight("https://app.example").await.unwrap();
    assert!(allowed.status().is_success());
    let headers = allowed.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(headers["access-control-allow-credentials"], "true");
    assert_eq!(headers["access-control-max-age"], "600");
    let allowed_headers = headers["access-control-allow-headers"].to_str().unwrap();
    assert!(allowed_headers.contains("apollo-require-preflight"));
    let foreign = preflight("https://evil.example").await.unwrap();
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn introspection_off_is_refused_on_http_sse_and_websocket() {
    let server = start_with(|b| b.introspection(false)).await;
    let url = server.url();
    let queries = [
        "{ __schema { queryType { name } } }",
        "{ t: __type(name: \"Query\") { name } }",
        "query { ...F } fragment F on Query { ... on Query { __schema { types { name } } } }",
    ];
    // Twice each: a refused document is never served from the document cache.
    for _ in 0..2 {
        for query in queries {
            let response = client()
                .post(&url)
                .header("accept", "application/graphql-response+json")
                .json(&json!({ "query": query }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 400, "{query}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(code(&body), "INTROSPECTION_DISABLED", "{query}");
            assert!(body.get("data").is_none());
        }
    }
    // An operation of a document that passes does not let another one through later.
    let both = "query Ok { __typename } query Schema { __schema { description } }";
    for (name, expected) in [("Ok", ""), ("Schema", "INTROSPECTION_DISABLED")] {
        let body: Value = client()
            .post(&url)
            .json(&json!({ "query": both, "operationName": name }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(code(&body), expected, "{body}");
    }
    // GET.
    let body: Value = client()
        .get(&url)
        .query(&[("query", queries[0])])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(code(&body), "INTROSPECTION_DISABLED");
    // SSE.
    let text = client()
        .post(&url)
        .header("accept", "text/event-stream")
        .json(&json!({ "query": queries[1] }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("INTROSPECTION_DISABLED"), "{text}");
    // WebSocket.
    let mut socket = connect_with(&server.ws_url(), Some("graphql-transport-ws"), &[]).await;
    send(&mut socket, json!({"type": "connection_init"})).await;
    assert_eq!(recv(&mut socket).await["type"], "connection_ack");
    send(
        &mut socket,
        json!({"type": "subscribe", "id": "1", "payload": {"query": queries[2]}}),
    )
    .await;
    let error = recv(&mut socket).await;
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(
        error["payload"][0]["extensions"]["code"],
        "INTROSPECTION_DISABLED"
    );
    // `__typename` always works, and the server keeps serving.
    send(
        &mut socket,
        json!({"type": "subscribe", "id": "2", "payload": {"query": "{ __typename hello }"}}),
    )
    .await;
    let next = recv(&mut socket).await;
    assert_eq!(next["payload"]["data"]["__typename"], "Query", "{next}");
    let body: Value = client()
        .post(&url)
        .json(&json!({ "query": "{ __typename hello }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["hello"], "Hello, world!");
    // On by default.
    let open = start().await;
    let body: Value = client()
        .post(open.url())
        .json(&json!({ "query": queries[0] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
}
