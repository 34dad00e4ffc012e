//! GraphQL over HTTP: the graphql-http audit from npm, and the behaviours it does not cover.
#![allow(clippy::unwrap_used)]

mod common;

use common::{WAIT, client, node, serve, start};
use quilt_executor::{ExecutionResult, ExecutorError, Request, Response, from_fn};
use quilt_test_support::Stats;
use serde_json::{Value, json};

#[tokio::test]
async fn graphql_http_audit_passes_every_must_should_and_may() {
    let server = start().await;
    let results = node("audit.mjs", &[&server.url()]).await;
    assert!(results.len() > 40, "the audit ran: {results:?}");
    let failing: Vec<String> = results
        .iter()
        .filter(|r| r["status"] != "ok")
        .map(|r| format!("{} {} ({})", r["id"], r["name"], r["reason"]))
        .collect();
    assert!(
        failing.is_empty(),
        "failing audits:\n{}",
        failing.join("\n")
    );
}

#[tokio::test]
async fn mutation_over_get_is_405_with_allow_post() {
    let server = start().await;
    let response = client()
        .get(server.url())
        .query(&[("query", "mutation { increment }")])
        .header("accept", "application/graphql-response+json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "METHOD_NOT_ALLOWED"
    );
    assert_eq!(
        server.stats.snapshot().counter,
        0,
        "the mutation did not run"
    );
}

async fn post(url: &str, accept: &str, body: Value) -> (u16, String, Value) {
    let response = client()
        .post(url)
        .header("accept", accept)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (status, content_type, response.json().await.unwrap())
}

#[tokio::test]
async fn status_codes_follow_the_negotiated_media_type() {
    let server = start().await;
    let grj = "application/graphql-response+json";
    let (status, content_type, body) =
        post(&server.url(), grj, json!({"query": "{ hello }"})).await;
    assert_eq!(
        (status, body),
        (200, json!({"data": {"hello": "Hello, world!"}}))
    );
    assert!(content_type.starts_with(grj), "{content_type}");
    // Parse error: 400 without data, or 200 with application/json.
    let (status, _, body) = post(&server.url(), grj, json!({"query": "{"})).await;
    assert_eq!(status, 400);
    assert!(body.get("data").is_none());
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "GRAPHQL_PARSE_FAILED"
    );
    let (status, content_type, _) =
        post(&server.url(), "application/json", json!({"query": "{"})).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("application/json"));
    // Validation error from the executor (errors and no data): the same rule.
    let (status, _, body) = post(&server.url(), grj, json!({"query": "{ nope }"})).await;
    assert_eq!(status, 400);
    assert!(body.get("data").is_none() && body["errors"][0]["message"].is_string());
    let (status, _, _) = post(
        &server.url(),
        "application/json",
        json!({"query": "{ nope }"}),
    )
    .await;
    assert_eq!(status, 200);
    // A field error keeps data: 200 in both.
    let (status, _, body) = post(&server.url(), grj, json!({"query": "{ fail hello }"})).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["hello"], "Hello, world!");
}

#[tokio::test]
async fn malformed_requests_get_clear_4xx() {
    let server = start().await;
    let url = server.url();
    let send = |builder: reqwest::RequestBuilder| async move {
        let response = builder.send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        (
            status,
            body["errors"][0]["message"].as_str().unwrap().to_owned(),
        )
    };
    // (With a preflight-forcing header: without one CSRF prevention answers first, see
    // tests/security.rs.)
    let (status, message) = send(
        client()
            .post(&url)
            .header("apollo-require-preflight", "true")
            .body(r#"{"query":"{ hello }"}"#),
    )
    .await;
    assert_eq!(status, 415);
    assert!(message.contains("no Content-Type"), "{message}");
    let (status, message) = send(
        client()
            .post(&url)
            .header("content-type", "text/plain")
            .header("apollo-require-preflight", "true")
            .body("{ hello }"),
    )
    .await;
    assert_eq!(status, 415);
    assert!(message.contains("text/plain"), "{message}");
    let (status, message) = send(
        client()
            .post(&url)
            .header("content-type", "application/json; charset=latin1")
            .body(r#"{"query":"{ hello }"}"#),
    )
    .await;
    assert_eq!(status, 415);
    assert!(message.contains("latin1"), "{message}");
    let (status, message) = send(
        client()
            .post(&url)
            .header("content-type", "application/json"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(message.contains("empty"), "{message}");
    let (status, message) = send(
        client()
            .post(&url)
            .header("content-type", "application/json")
            .body("{ \"not json"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(message.contains("not valid JSON"), "{message}");
    for (body, name) in [
        (json!({"query": "{ hello }", "variables": "x"}), "variables"),
        (
            json!({"query": "{ hello }", "extensions": [1]}),
            "extensions",
        ),
        (json!({"query": 7}), "query"),
    ] {
        let (status, message) = send(client().post(&url).json(&body)).await;
        assert_eq!(status, 400);
        assert!(message.contains(name), "{message}");
    }
    let (status, message) = send(client().post(&url).json(&json!([{"query": "{ hello }"}]))).await;
    assert_eq!(status, 400);
    assert!(message.contains("object"), "{message}");
    let (status, _) = send(
        client()
            .post(&url)
            .header("accept", "text/plain")
            .json(&json!({"query": "{ hello }"})),
    )
    .await;
    assert_eq!(status, 406);
    let (status, message) = send(
        client()
            .post(&url)
            .json(&json!({"query": "subscription { count(to: 2) }"})),
    )
    .await;
    assert_eq!(status, 406);
    assert!(message.contains("text/event-stream"), "{message}");
    let (status, _) = send(client().patch(&url).json(&json!({"query": "{ hello }"}))).await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn get_queries_with_variables_and_incoming_headers_reach_the_context() {
    let server = start().await;
    let body: Value = client()
        .get(server.url())
        .query(&[
            ("query", "query H($n: String!) { header(name: $n) }"),
            ("variables", r#"{"n":"authorization"}"#),
        ])
        .header("authorization", "Bearer secret")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({"data": {"header": "Bearer secret"}}));
}

#[tokio::test]
async fn executor_errors_are_graphql_errors_502_or_200() {
    let failing = from_fn(|_r: Request| async {
        Err::<Response, _>(ExecutorError::Connect {
            endpoint: "http://upstream.invalid/graphql".into(),
            message: "connection refused".into(),
            source: None,
        })
    });
    let server = serve(failing, Stats::default(), |b| b).await;
    let (status, content_type, body) = post(
        &server.url(),
        "application/graphql-response+json",
        json!({"query": "{ hello }"}),
    )
    .await;
    assert_eq!(status, 502);
    assert!(content_type.starts_with("application/graphql-response+json"));
    assert_eq!(body["errors"][0]["extensions"]["code"], "CONNECT_ERROR");
    assert_eq!(
        body["errors"][0]["message"], "the upstream service could not be reached",
        "the endpoint and the transport's text stay in the log"
    );
    let (status, _, body) = post(
        &server.url(),
        "application/json",
        json!({"query": "{ hello }"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["errors"][0]["extensions"]["code"], "CONNECT_ERROR");
}

#[tokio::test]
async fn executor_errors_show_their_details_only_when_the_server_exposes_them() {
    let failing = || {
        from_fn(|_r: Request| async {
            Err::<Response, _>(ExecutorError::HttpStatus {
                endpoint: "http://10.1.2.3:4001/graphql".into(),
                status: 500,
                body_excerpt: "at Pool.connect (postgres://app:hunter2@db)".into(),
            })
        })
    };
    let masked = serve(failing(), Stats::default(), |b| b).await;
    let response = reqwest::Client::new()
        .post(masked.url())
        .header("x-request-id", "trace-me-42")
        .json(&json!({"query": "{ hello }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");
    let text = response.text().await.unwrap();
    assert!(
        !text.contains("10.1.2.3") && !text.contains("hunter2"),
        "no internals reach the client: {text}"
    );
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "HTTP_ERROR");
    assert_eq!(body["errors"][0]["extensions"]["http"]["status"], 500);

    let exposed = serve(failing(), Stats::default(), |b| {
        b.expose_upstream_details(true)
    })
    .await;
    let (_, _, body) = post(
        &exposed.url(),
        "application/json",
        json!({"query": "{ hello }"}),
    )
    .await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("10.1.2.3") && message.contains("hunter2"),
        "{message}"
    );
}

#[tokio::test]
async fn every_request_gets_an_id_and_a_bad_one_is_replaced() {
    let server = start().await;
    let client = reqwest::Client::new();
    let fresh = client
        .post(server.url())
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    let id = fresh.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    let injected = client
        .post(server.url())
        .header("x-request-id", "a b\"{}<script>")
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    let replaced = injected.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(replaced.len(), 32, "an unsafe id is not echoed: {replaced}");
}

#[tokio::test]
async fn the_request_id_reaches_the_executor_in_the_context_not_in_the_headers() {
    // A header unique to every request would keep batching and deduplication (which compare
    // the client's headers) from ever joining two requests.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let executor = from_fn(move |request: Request| {
        let record = record.clone();
        async move {
            let id = request
                .context
                .get::<quilt_executor::RequestId>()
                .map(|id| id.to_string());
            let header = request.context.headers().get("x-request-id").cloned();
            record.lock().unwrap().push((id, header));
            Ok(Response::Single(ExecutionResult::from_data(
                json!({"hello": "world"}),
            )))
        }
    });
    let server = serve(executor, Stats::default(), |b| b).await;
    let response = reqwest::Client::new()
        .post(server.url())
        .json(&json!({"query": "{ hello }"}))
        .send()
        .await
        .unwrap();
    let answered = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen, [(Some(answered), None)]);
}

#[tokio::test]
async fn multipart_uploads_reach_the_request() {
    let echo = from_fn(|request: Request| async move {
        let files: Vec<Value> = request
            .uploads
            .iter()
            .map(|u| {
                json!({
                    "path": u.path,
                    "filename": u.file.filename,
                    "type": u.file.content_type,
                    "content": String::from_utf8_lossy(&u.file.body),
                })
            })
            .collect();
        Ok(Response::Single(ExecutionResult::from_data(json!({
            "files": files,
            "variables": request.variables,
        }))))
    });
    let server = serve(echo, Stats::default(), |b| b).await;
    let form = reqwest::multipart::Form::new()
        .text(
            "operations",
            json!({
                "query": "mutation($f: Upload!, $fs: [Upload!]!) { a(f: $f, fs: $fs) }",
                "variables": {"f": null, "fs": [null, null]}
            })
            .to_string(),
        )
        .text(
            "map",
            json!({"0": ["variables.f"], "1": ["variables.fs.0", "variables.fs.1"]}).to_string(),
        )
        .part(
            "0",
            reqwest::multipart::Part::bytes(b"alpha".to_vec())
                .file_name("a.txt")
                .mime_str("text/plain")
                .unwrap(),
        )
        .part(
            "1",
            reqwest::multipart::Part::bytes(b"beta".to_vec()).file_name("b.bin"),
        );
    let body: Value = client()
        .post(server.url())
        .header("apollo-require-preflight", "true")
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["data"]["files"],
        json!([
            {"path": "f", "filename": "a.txt", "type": "text/plain", "content": "alpha"},
            {"path": "fs.0", "filename": "b.bin", "type": null, "content": "beta"},
            {"path": "fs.1", "filename": "b.bin", "type": null, "content": "beta"},
        ])
    );
    assert_eq!(
        body["data"]["variables"],
        json!({"f": null, "fs": [null, null]})
    );
    // A map naming a file that was not sent is a clear 400.
    let form = reqwest::multipart::Form::new()
        .text("operations", json!({"query": "mutation { a }"}).to_string())
        .text("map", json!({"9": ["variables.f"]}).to_string());
    let response = client()
        .post(server.url())
        .header("apollo-require-preflight", "true")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("\"9\"")
    );
}

#[tokio::test]
async fn graphiql_and_health() {
    let server = start().await;
    let response = client()
        .get(server.url())
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    assert!(
        html.contains("GraphiQL") && html.contains("\"/graphql\""),
        "{html}"
    );
    assert!(
        html.contains("graphqlWs.createClient"),
        "subscriptions go over WebSocket"
    );
    let health: Value = tokio::time::timeout(WAIT, async {
        client()
            .get(format!("http://{}/health", server.addr))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(health, json!({"status": "pass"}));
}

/// Asked for JSON bytes, answers its data in that form, as the stitched schema does.
struct AlreadySerialized;

const BIG: usize = 300_000;

impl quilt_executor::Executor for AlreadySerialized {
    fn execute(&self, request: Request) -> quilt_executor::ExecuteFuture {
        if request.data_form != quilt_executor::DataForm::Json {
            return Box::pin(async {
                let data = json!({"big": "x".repeat(BIG)});
                Ok(Response::Single(ExecutionResult::from_data(data)))
            });
        }
        Box::pin(async {
            let data = serde_json::to_vec(&json!({"big": "x".repeat(BIG)})).unwrap();
            Ok(Response::Single(ExecutionResult {
                data: Some(quilt_executor::ResultData::Json(data.into())),
                errors: vec![quilt_executor::GraphQLError::new("late")],
                ..ExecutionResult::default()
            }))
        })
    }
}

#[tokio::test]
async fn data_already_serialized_is_sent_in_parts_with_its_length() {
    for dedup in [false, true] {
        let server = serve(AlreadySerialized, Stats::default(), |builder| {
            if dedup {
                builder.dedup(quilt_server::InboundDedup::default())
            } else {
                builder
            }
        })
        .await;
        let response = client()
            .post(server.url())
            .header("accept", "application/graphql-response+json")
            .json(&json!({"query": "{ big }"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let length: usize = response.headers()["content-length"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let body = response.bytes().await.unwrap();
        assert_eq!(body.len(), length, "dedup {dedup}");
        let expected = json!({"data": {"big": "x".repeat(BIG)}, "errors": [{"message": "late"}]});
        assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), expected);
        assert!(body.starts_with(b"{\"data\":{\"big\":\"xxx"), "data first");
    }
}
