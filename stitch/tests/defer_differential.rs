#![allow(clippy::unwrap_used)]
//! @defer and @stream through the stitched schema, against graphql-tools over the same real
//! services: three graphql-yoga services (`test-support/js/defer-subgraph.mjs`: `products`,
//! `reviews` — slow, 150 ms a request — and `users`, merged by the stitching directives of
//! `test-support/js/defer/*.graphql`), the reference gateway (`defer-gateway.mjs`:
//! `stitchSchemas` served by yoga with `useDeferStream()`) and Quilt's `Stitcher` over the same
//! SDL, served by `quilt_server::GraphQLServer`. Each operation is POSTed to both with the same
//! `Accept`; the parts are read off the wire and applied (`quilt_test_support::incremental`),
//! and the final results must agree: data equal as JSON values (key order aside), errors equal
//! by count and sorted paths (messages aside), and Quilt answers in more than one part wherever
//! the reference does. Every mismatch is reported before the test fails.
//!
//! Where graphql-tools is wrong the case says what the spec expects instead, and the test
//! checks that the reference still deviates only that way: its error paths in deferred
//! payloads repeat or drop segments (`["product","reviews","reviews",1,"flaky"]`), and a
//! deferred fragment on a non-merged type whose field needs another service comes back null
//! without an error.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use quilt_executor::{ExecuteFuture, Executor, Request};
use quilt_server::GraphQLServer;
use quilt_stitch::{Stitcher, SubschemaConfig};
use quilt_test_support::JsPeer;
use quilt_test_support::incremental::{apply, read_parts};
use quilt_test_support::js::js_dir;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::task::AbortOnDropHandle;

const NAMES: [&str; 3] = ["products", "reviews", "users"];

/// What both gateways are sent: incremental delivery preferred, JSON for a single result.
const MULTIPART: &str = "multipart/mixed;deferSpec=20220824, application/json";
const SSE: &str = "text/event-stream";

/// One operation.
struct Case {
    name: &'static str,
    query: &'static str,
    variables: Value,
    /// Whether the reference answers in more than one part (checked: the case tests what it
    /// says it tests).
    incremental: bool,
    /// The spec's error paths where the reference's are wrong (same count, other paths).
    spec_paths: Option<Vec<Value>>,
    /// The spec's final data where the reference's is wrong.
    spec_data: Option<Value>,
}

fn case(name: &'static str, query: &'static str) -> Case {
    Case {
        name,
        query,
        variables: json!({}),
        incremental: true,
        spec_paths: None,
        spec_data: None,
    }
}

impl Case {
    fn variables(self, variables: Value) -> Self {
        Self { variables, ..self }
    }
    fn single(self) -> Self {
        Self {
            incremental: false,
            ..self
        }
    }
    fn spec_paths(self, paths: Vec<Value>) -> Self {
        Self {
            spec_paths: Some(paths),
            ..self
        }
    }
    fn spec_data(self, data: Value) -> Self {
        Self {
            spec_data: Some(data),
            ..self
        }
    }
}

fn corpus() -> Vec<Case> {
    vec![
        // The products service's own fields, deferred.
        case(
            "own fields deferred",
            r#"{ product(id: "p1") { id ... @defer { name price } } }"#,
        ),
        // Merged fields of the slow service, deferred.
        case(
            "merged fields of the slow service deferred",
            r#"{ product(id: "p1") { id name ... @defer { reviews { id body rating } } } }"#,
        ),
        // One deferred fragment per item of a list of merged objects.
        case(
            "merged fields deferred in a list",
            r#"{ products { id name ... @defer { reviews { id body } } } }"#,
        ),
        // A deferred fragment inside a deferred fragment, the inner one across a third service;
        // user u3's non-null name fails: the inner fragment is nulled, not the author.
        case(
            "nested defers across services",
            r#"{ product(id: "p2") { id ... @defer(label: "outer") {
                 reviews { id author { id ... @defer(label: "inner") { name email } } } } } }"#,
        )
        .spec_paths(vec![json!(["product", "reviews", 0, "author", "name"])]),
        // Nested defers in a list of merged objects.
        case(
            "nested defers in a list of merged objects",
            r#"{ products { id ... @defer { reviews { id author { id ... @defer(label: "user") { name } } } } } }"#,
        )
        .spec_paths(vec![json!(["products", 1, "reviews", 0, "author", "name"])]),
        // Nested defers of one service's own fields.
        case(
            "nested defers of own fields",
            r#"{ product(id: "p1") { id ... @defer { name ... @defer { price } } } }"#,
        ),
        // Sibling fragments with labels, each for another service.
        case(
            "labels",
            r#"{ product(id: "p3") { id ... @defer(label: "own") { name }
                 ... @defer(label: "merged") { reviews { id } } } }"#,
        ),
        case(
            "defer if false",
            r#"{ product(id: "p1") { id ... @defer(if: false) { name reviews { id } } } }"#,
        )
        .single(),
        case(
            "defer if a variable that is true",
            r#"query($d: Boolean!) { product(id: "p1") { id ... @defer(if: $d) { name reviews { id } } } }"#,
        )
        .variables(json!({"d": true})),
        case(
            "defer if a variable that is false",
            r#"query($d: Boolean!) { product(id: "p1") { id ... @defer(if: $d) { name reviews { id } } } }"#,
        )
        .variables(json!({"d": false}))
        .single(),
        case(
            "a deferred named fragment spread",
            r#"{ product(id: "p1") { id ...Details @defer(label: "details") } }
               fragment Details on Product { price reviews { rating } }"#,
        ),
        case(
            "stream a root list",
            r#"{ products @stream(initialCount: 1) { id name } }"#,
        ),
        // Streamed items of a merged type's list, each with a field of a third service; user
        // u3's name fails and nulls that item's author.
        case(
            "stream a list of a merged type",
            r#"{ product(id: "p2") { name reviews @stream(initialCount: 0) { id body author { name } } } }"#,
        ),
        // Nullable fields failing inside a deferred fragment: r2's flaky, u2's email.
        case(
            "errors of nullable fields in a deferred fragment",
            r#"{ product(id: "p1") { id ... @defer { reviews { id flaky author { name email } } } } }"#,
        )
        .spec_paths(vec![
            json!(["product", "reviews", 1, "flaky"]),
            json!(["product", "reviews", 1, "author", "email"]),
        ]),
        // r4's non-null strict fails: the null propagates through the non-null reviews to the
        // deferred fragment (its entry's data is null); the initial payload keeps the product.
        case(
            "a non-null error nulls the deferred fragment only",
            r#"{ product(id: "p4") { id name ... @defer { reviews { id strict } } } }"#,
        )
        .spec_paths(vec![json!(["product", "reviews", 0, "strict"])]),
        // A deferred fragment on the query root.
        case(
            "defer on the query root",
            r#"{ products { id } ... @defer(label: "root") { product(id: "p1") { name reviews { id } } } }"#,
        ),
        // A deferred fragment on Review (not merged) whose field needs the users service:
        // graphql-tools answers `author: null` without an error.
        case(
            "a deferred field of a non-merged type that needs another service",
            r#"{ product(id: "p1") { id ... @defer { reviews { id ... @defer { author { name } } } } } }"#,
        )
        .spec_data(json!({"product": {"id": "p1", "reviews": [
            {"id": "r1", "author": {"name": "Ada"}},
            {"id": "r2", "author": {"name": "Grace"}}
        ]}})),
    ]
}

/// The three services, the reference gateway and Quilt's gateway, all on 127.0.0.1:0.
struct Gateways {
    _services: Vec<JsPeer>,
    /// The documents Quilt sent, by service.
    sent: Sent,
    reference: JsPeer,
    quilt_url: String,
    _quilt: AbortOnDropHandle<()>,
}

/// The documents an executor is asked, recorded.
#[derive(Clone, Default)]
struct Sent(Arc<Mutex<Vec<(&'static str, String)>>>);

struct Recording<E> {
    name: &'static str,
    inner: E,
    sent: Sent,
}

impl<E: Executor> Executor for Recording<E> {
    fn execute(&self, request: Request) -> ExecuteFuture {
        self.sent
            .0
            .lock()
            .unwrap()
            .push((self.name, request.query().to_owned()));
        self.inner.execute(request)
    }
}

async fn start() -> Gateways {
    start_with(&[]).await
}

/// The gateways, the services named in `answer_defer` sent `@defer` by Quilt.
async fn start_with(answer_defer: &[&str]) -> Gateways {
    let sent = Sent::default();
    let mut services = Vec::new();
    for name in NAMES {
        services.push(JsPeer::start("defer-subgraph.mjs", &[name]).await.unwrap());
    }
    let urls: Vec<String> = services.iter().map(|p| p.http_url("/graphql")).collect();
    let args: Vec<&str> = urls.iter().map(String::as_str).collect();
    let reference = JsPeer::start("defer-gateway.mjs", &args).await.unwrap();

    let mut stitcher = Stitcher::new();
    for (name, url) in NAMES.iter().zip(&urls) {
        let path = js_dir().join("defer").join(format!("{name}.graphql"));
        let sdl = std::fs::read_to_string(&path).unwrap();
        let executor = quilt_executor::HttpExecutor::builder(url.clone())
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let executor = Recording {
            name,
            inner: executor,
            sent: sent.clone(),
        };
        stitcher = stitcher.subschema(
            SubschemaConfig::from_sdl(*name, &sdl, executor)
                .unwrap()
                .incremental_delivery(answer_defer.contains(name)),
        );
    }
    let gateway = stitcher.build().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let quilt_url = format!("http://{}/graphql", listener.local_addr().unwrap());
    let server = GraphQLServer::new(gateway);
    let task = tokio::spawn(async move {
        let _ = server.serve(listener).await;
    });
    Gateways {
        _services: services,
        sent,
        reference,
        quilt_url,
        _quilt: AbortOnDropHandle::new(task),
    }
}

/// The parts of the answer to `case` from `url`, or what went wrong reading them.
async fn parts(
    client: &reqwest::Client,
    url: &str,
    accept: &str,
    case: &Case,
) -> Result<Vec<Value>, String> {
    let body = json!({"query": case.query, "variables": case.variables});
    let response = client
        .post(url)
        .header("accept", accept)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    read_parts(response)
        .await
        .map_err(|e| format!("{status} `{content_type}`: {e:#}"))
}

/// The paths of a final result's errors, sorted.
fn error_paths(result: &Value) -> Vec<Value> {
    let mut paths: Vec<Value> = result["errors"]
        .as_array()
        .map(|errors| errors.iter().map(|e| e["path"].clone()).collect())
        .unwrap_or_default();
    paths.sort_by_key(Value::to_string);
    paths
}

/// What is wrong with a stream's shape: a later part holding `data`, the last part of several
/// not saying `hasNext: false`.
fn shape_problems(parts: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    if parts.len() > 1 {
        if parts[0]["hasNext"] != json!(true) {
            problems.push("the first of several parts lacks hasNext: true".to_owned());
        }
        if parts.last().unwrap()["hasNext"] != json!(false) {
            problems.push("the last part lacks hasNext: false".to_owned());
        }
        for (i, part) in parts.iter().enumerate().skip(1) {
            if part.get("data").is_some() {
                problems.push(format!("part {} has top-level data", i + 1));
            }
        }
    }
    problems
}

/// Runs every case against both gateways with `accept`; returns the mismatches.
async fn compare(gateways: &Gateways, accept: &str, corpus: &[Case]) -> Vec<String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let reference_url = gateways.reference.http_url("/graphql");
    let mut failures = Vec::new();
    for case in corpus {
        let reference_parts = parts(&client, &reference_url, accept, case)
            .await
            .unwrap_or_else(|e| panic!("{}: the reference failed: {e}", case.name));
        let reference = apply(&reference_parts)
            .unwrap_or_else(|e| panic!("{}: the reference's parts: {e:#}", case.name));
        // The case's premise: the reference answers as the case says.
        assert_eq!(
            reference_parts.len() > 1,
            case.incremental,
            "{}: the reference's parts: {reference_parts:#?}",
            case.name
        );
        assert!(
            shape_problems(&reference_parts).is_empty(),
            "{}: the reference's parts: {:?}",
            case.name,
            shape_problems(&reference_parts)
        );
        let reference_paths = error_paths(&reference);
        let expected_paths = match &case.spec_paths {
            Some(paths) => {
                let mut paths = paths.clone();
                paths.sort_by_key(Value::to_string);
                assert_eq!(
                    paths.len(),
                    reference_paths.len(),
                    "{}: the reference's errors are no longer only misplaced: {reference}",
                    case.name
                );
                paths
            }
            None => reference_paths,
        };
        let expected_data = match &case.spec_data {
            Some(data) => {
                assert_ne!(
                    &reference["data"], data,
                    "{}: the reference is right now; drop the case's spec data",
                    case.name
                );
                data.clone()
            }
            None => reference["data"].clone(),
        };

        let quilt_parts = match parts(&client, &gateways.quilt_url, accept, case).await {
            Ok(parts) => parts,
            Err(e) => {
                failures.push(format!(
                    "{}: Quilt's answer could not be read: {e}\n  reference: {reference}",
                    case.name
                ));
                continue;
            }
        };
        let mut problems = Vec::new();
        let quilt = match apply(&quilt_parts) {
            Ok(quilt) => quilt,
            Err(e) => {
                problems.push(format!("its parts do not apply: {e:#}"));
                Value::Null
            }
        };
        if quilt.get("data") != Some(&expected_data) {
            problems.push("final data differ".to_owned());
        }
        if error_paths(&quilt) != expected_paths {
            problems.push(format!(
                "error paths differ: expected {}, Quilt's {}",
                Value::Array(expected_paths.clone()),
                Value::Array(error_paths(&quilt))
            ));
        }
        if reference_parts.len() > 1 && quilt_parts.len() < 2 {
            problems.push(format!(
                "the reference answered in {} parts, Quilt in {}",
                reference_parts.len(),
                quilt_parts.len()
            ));
        }
        problems.extend(shape_problems(&quilt_parts));
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n  query:     {}\n  expected:  {{\"data\":{expected_data},\"error paths\":{}}}\n  reference: {reference}\n  quilt:     {quilt}\n  reference parts: {}\n  quilt parts:     {}",
                case.name,
                problems.join("; "),
                case.query.split_whitespace().collect::<Vec<_>>().join(" "),
                Value::Array(expected_paths),
                Value::Array(reference_parts),
                Value::Array(quilt_parts),
            ));
        }
    }
    failures
}

#[tokio::test]
async fn defer_and_stream_over_multipart_answer_like_graphql_tools() {
    let gateways = start().await;
    let corpus = corpus();
    let failures = compare(&gateways, MULTIPART, &corpus).await;
    assert!(
        failures.is_empty(),
        "{} of {} operations differ from graphql-tools over multipart/mixed:\n\n{}",
        failures.len(),
        corpus.len(),
        failures.join("\n\n")
    );
}

#[tokio::test]
async fn defer_and_stream_over_sse_answer_like_graphql_tools() {
    let gateways = start().await;
    let corpus: Vec<Case> = corpus()
        .into_iter()
        .filter(|c| {
            c.name == "merged fields of the slow service deferred"
                || c.name == "stream a list of a merged type"
        })
        .collect();
    assert_eq!(corpus.len(), 2);
    let failures = compare(&gateways, SSE, &corpus).await;
    assert!(
        failures.is_empty(),
        "{} of {} operations differ from graphql-tools over SSE:\n\n{}",
        failures.len(),
        corpus.len(),
        failures.join("\n\n")
    );
}

#[tokio::test]
async fn a_subschema_that_answers_defer_itself_is_sent_it_and_the_results_stay_the_same() {
    // The products service (graphql-yoga with its defer-stream plugin) is sent the deferred
    // fragments inside its root fields; every operation still answers like the reference.
    let gateways = start_with(&["products"]).await;
    let corpus = corpus();
    let failures = compare(&gateways, MULTIPART, &corpus).await;
    assert!(
        failures.is_empty(),
        "{} of {} operations differ from graphql-tools with products answering @defer:\n\n{}",
        failures.len(),
        corpus.len(),
        failures.join("\n\n")
    );
    let sent = gateways.sent.0.lock().unwrap().clone();
    let deferred: Vec<&String> = sent
        .iter()
        .filter(|(name, query)| *name == "products" && query.contains("@defer"))
        .map(|(_, query)| query)
        .collect();
    assert!(
        deferred.iter().any(|q| q.contains("label: \"_qd")),
        "products was never sent @defer: {sent:#?}"
    );
    assert!(
        sent.iter()
            .all(|(name, query)| *name == "products" || !query.contains("@defer")),
        "only products is sent @defer: {sent:#?}"
    );
    assert!(sent.iter().all(|(_, query)| !query.contains("@stream")));

    // A client that takes JSON only: the subschema's payloads merged into one answer.
    let client = reqwest::Client::new();
    let body =
        json!({"query": "{ product(id: \"p1\") { id ... @defer { name price reviews { id } } } }"});
    let quilt: Value = client
        .post(&gateways.quilt_url)
        .header("accept", "application/json")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let response = client
        .post(gateways.reference.http_url("/graphql"))
        .header("accept", MULTIPART)
        .json(&body)
        .send()
        .await
        .unwrap();
    let reference = apply(&read_parts(response).await.unwrap()).unwrap();
    assert_eq!(quilt["data"], reference["data"], "{quilt}");
    assert!(quilt.get("errors").is_none(), "{quilt}");
}
