#![allow(clippy::unwrap_used)]
//! Faulty upstreams do not take the others' data with them, and their faults reach the client
//! as errors at the right paths:
//! - a slow one: the server gives each request a deadline, the stitched schema stops waiting
//!   for the fetches still open then, and the client gets what arrived with `TIMEOUT` errors
//!   (naming the subschema) at the fields that did not, before the server's own timeout would
//!   have answered nothing;
//! - one that answers values of the wrong type (checked while the response is shaped), or no
//!   data and no errors.

mod common;

use std::time::{Duration, Instant};

use axum::Json;
use axum::routing::post as route_post;
use common::Services;
use quilt_server::GraphQLServer;
use quilt_stitch::{EntryPoint, Stitcher, SubschemaConfig};
use quilt_test_support::{Stats, TestServer};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio_util::task::AbortOnDropHandle;

/// An HTTP service that accepts connections, reads what comes and never answers.
async fn hanging_service() -> (String, AbortOnDropHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/graphql", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            held.push(tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                while socket.read(&mut buffer).await.is_ok_and(|n| n > 0) {}
            }));
        }
    });
    (url, AbortOnDropHandle::new(task))
}

const SLOW_SDL: &str = "
type User { id: ID! mood: String }
type Query { slowField: String slowUser(id: ID!): User }";

/// The three services and the hanging one, stitched and served with a 1 s request timeout.
async fn serve(services: &Services, slow_url: String) -> (String, AbortOnDropHandle<()>) {
    let (configs, _) = services.subschemas();
    let slow = SubschemaConfig::from_sdl("slow", SLOW_SDL, common::http(slow_url))
        .unwrap()
        .merge("User", EntryPoint::key_field("slowUser", "id"));
    let gateway = configs
        .into_iter()
        .chain([slow])
        .fold(Stitcher::new(), |s, c| s.subschema(c))
        .build()
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/graphql", listener.local_addr().unwrap());
    let server = GraphQLServer::builder(gateway)
        .request_timeout(Some(Duration::from_secs(1)))
        .build();
    let task = tokio::spawn(async move {
        let _ = server.serve(listener).await;
    });
    (url, AbortOnDropHandle::new(task))
}

async fn post(url: &str, query: &str) -> (Value, Duration) {
    let started = Instant::now();
    let response = reqwest::Client::new()
        .post(url)
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": query }))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    let body = response.json().await.unwrap();
    (body, started.elapsed())
}

fn codes_and_paths(result: &Value) -> Vec<(Value, Value, Value)> {
    result["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["path"].clone(),
                e["extensions"]["code"].clone(),
                e["extensions"]["serviceName"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_hanging_root_field_times_out_at_its_path_and_the_others_answer() {
    let services = Services::start().await;
    let (slow_url, _slow) = hanging_service().await;
    let (url, _server) = serve(&services, slow_url).await;
    let (result, took) = post(
        &url,
        "{ topProducts(first: 2) { upc } slowField me { name } }",
    )
    .await;
    assert_eq!(
        result["data"],
        json!({"topProducts": [{"upc": "1"}, {"upc": "2"}], "slowField": null, "me": {"name": "Ada"}}),
        "{result}"
    );
    assert_eq!(
        codes_and_paths(&result),
        vec![(json!(["slowField"]), json!("TIMEOUT"), json!("slow"))],
        "{result}"
    );
    let message = result["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("subschema `slow`"), "{message}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn a_hanging_merged_field_times_out_at_each_object_and_the_rest_is_kept() {
    let services = Services::start().await;
    let (slow_url, _slow) = hanging_service().await;
    let (url, _server) = serve(&services, slow_url).await;
    let (result, _) = post(&url, "{ me { name mood } topProducts(first: 1) { name } }").await;
    assert_eq!(
        result["data"],
        json!({"me": {"name": "Ada", "mood": null}, "topProducts": [{"name": "Table"}]}),
        "{result}"
    );
    let errors = codes_and_paths(&result);
    assert_eq!(errors.len(), 1, "{result}");
    assert_eq!(errors[0].0, json!(["me", "mood"]), "{result}");
    assert_eq!(errors[0].1, json!("TIMEOUT"), "{result}");
}

const BAD_SDL: &str = "
enum Color { RED }
type Query {
  wrongString: String
  wrongInt: Int!
  badEnum: Color
  list: [Int]
  converted: String
  nothing: String
}";

/// A service that answers whatever it is asked with values of the wrong types, and
/// `{"data": null}` (no errors) to a query that selects `nothing`.
async fn bad_service() -> TestServer {
    let router = axum::Router::new().route(
        "/graphql",
        route_post(|Json(body): Json<Value>| async move {
            let query = body["query"].as_str().unwrap_or_default().to_owned();
            Json(if query.contains("nothing") {
                json!({"data": null})
            } else {
                json!({"data": {
                    "wrongString": {"x": 1},
                    "wrongInt": "seven",
                    "badEnum": "BLUE",
                    "list": [1, "two", 3],
                    "converted": 5,
                }})
            })
        }),
    );
    TestServer::serve("127.0.0.1:0".parse().unwrap(), router, Stats::default())
        .await
        .unwrap()
}

async fn with_bad_service(services: &Services, bad: &TestServer) -> quilt_stitch::StitchedSchema {
    let (configs, _) = services.subschemas();
    let bad = SubschemaConfig::from_sdl("bad", BAD_SDL, common::http(bad.http_url())).unwrap();
    configs
        .into_iter()
        .chain([bad])
        .fold(Stitcher::new(), |s, c| s.subschema(c))
        .build()
        .unwrap()
}

#[tokio::test]
async fn values_of_the_wrong_type_become_errors_at_their_paths() {
    let services = Services::start().await;
    let bad = bad_service().await;
    let gateway = with_bad_service(&services, &bad).await;
    let result = common::run(
        &gateway,
        "{ wrongString list badEnum converted topProducts(first: 1) { upc } }",
        json!({}),
    )
    .await;
    assert_eq!(
        result["data"],
        json!({
            "wrongString": null,
            "list": [1, null, 3],
            "badEnum": null,
            "converted": "5",
            "topProducts": [{"upc": "1"}],
        }),
        "{result}"
    );
    let paths: Vec<Value> = result["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].clone())
        .collect();
    assert_eq!(
        paths,
        vec![
            json!(["wrongString"]),
            json!(["list", 1]),
            json!(["badEnum"])
        ],
        "{result}"
    );
    assert!(
        result["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("String cannot represent value: an object"),
        "{result}"
    );
    // The object never reaches the client, whatever its text.
    assert!(!result.to_string().contains("\"x\""), "{result}");
    // A non-null field of the wrong type: null propagates to the nearest nullable parent.
    let result = common::run(&gateway, "{ wrongInt }", json!({})).await;
    assert_eq!(result["data"], Value::Null, "{result}");
    assert_eq!(result["errors"][0]["path"], json!(["wrongInt"]), "{result}");
}

#[tokio::test]
async fn an_answer_without_data_or_errors_is_an_error_naming_the_subschema() {
    let services = Services::start().await;
    let bad = bad_service().await;
    let gateway = with_bad_service(&services, &bad).await;
    let result = common::run(
        &gateway,
        "{ nothing topProducts(first: 1) { upc } }",
        json!({}),
    )
    .await;
    assert_eq!(
        result["data"],
        json!({"nothing": null, "topProducts": [{"upc": "1"}]}),
        "{result}"
    );
    let error = &result["errors"][0];
    assert_eq!(error["path"], json!(["nothing"]), "{result}");
    assert_eq!(
        error["extensions"]["code"],
        json!("INVALID_UPSTREAM_RESPONSE")
    );
    assert_eq!(error["extensions"]["serviceName"], json!("bad"));
}
