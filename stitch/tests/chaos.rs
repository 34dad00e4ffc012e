#![allow(clippy::unwrap_used)]
//! Chaos: under steady load through a served gateway, one subgraph is killed and restarted
//! three times. Every client request is answered within the request timeout (with data, or
//! with errors at paths: never a hung or dropped request), and after each restart every
//! request started a second later succeeds again.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Services;
use common::services::products_schema;
use quilt_server::GraphQLServer;
use quilt_stitch::Stitcher;
use quilt_test_support::{Stats, TestServer, graphql_router};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::task::AbortOnDropHandle;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
const QUERY: &str = "{ product(upc: \"1\") { name } me { name } }";

/// One client request: when it started, how long it took, and its answer.
struct Sample {
    started: Instant,
    took: Duration,
    answer: Result<Value, String>,
}

#[tokio::test]
async fn requests_are_answered_through_three_restarts_and_recover_within_a_second() {
    let mut services = Services::start().await;
    let (configs, _) = services.subschemas();
    let gateway = configs
        .into_iter()
        .fold(Stitcher::new(), |s, c| s.subschema(c))
        .build()
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/graphql", listener.local_addr().unwrap());
    let server = GraphQLServer::builder(gateway)
        .request_timeout(Some(REQUEST_TIMEOUT))
        .build();
    let _server = AbortOnDropHandle::new(tokio::spawn(async move {
        let _ = server.serve(listener).await;
    }));

    // Steady load: six clients, one request after another each.
    let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
    let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let clients: Vec<_> = (0..6)
        .map(|_| {
            let (url, samples, running) = (url.clone(), samples.clone(), running.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .timeout(REQUEST_TIMEOUT * 3)
                    .build()
                    .unwrap();
                while running.load(std::sync::atomic::Ordering::Relaxed) {
                    let started = Instant::now();
                    let answer = async {
                        let response = client
                            .post(&url)
                            .header("accept", "application/graphql-response+json")
                            .json(&json!({ "query": QUERY }))
                            .send()
                            .await
                            .map_err(|e| e.to_string())?;
                        response.json::<Value>().await.map_err(|e| e.to_string())
                    }
                    .await;
                    samples.lock().unwrap().push(Sample {
                        started,
                        took: started.elapsed(),
                        answer,
                    });
                }
            })
        })
        .collect();

    // Three kills of the products service, each down for half a second, a second and a half
    // of steady service after each restart.
    let addr = services.products.addr();
    let stats = Stats::default();
    let mut restarts = Vec::new();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..3 {
        let down = std::mem::replace(&mut services.products, TestServer::start().await.unwrap());
        down.stop().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let schema = products_schema(services.log.clone());
        services.products =
            TestServer::serve(addr, graphql_router(schema, stats.clone()), stats.clone())
                .await
                .unwrap();
        restarts.push(Instant::now());
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    running.store(false, std::sync::atomic::Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }

    let samples = samples.lock().unwrap();
    assert!(samples.len() > 100, "only {} requests", samples.len());
    let mut failed = 0;
    for sample in samples.iter() {
        // Answered, in time, with data or with errors that say where.
        let answer = sample
            .answer
            .as_ref()
            .unwrap_or_else(|e| panic!("no answer: {e}"));
        assert!(
            sample.took < REQUEST_TIMEOUT + Duration::from_millis(500),
            "{:?}: {answer}",
            sample.took
        );
        assert!(answer.get("data").is_some(), "{answer}");
        if let Some(errors) = answer["errors"].as_array() {
            failed += 1;
            for error in errors {
                assert!(
                    error["path"].is_array(),
                    "an error without a path: {answer}"
                );
            }
            // The healthy service's data is kept.
            assert_eq!(answer["data"]["me"]["name"], "Ada", "{answer}");
        }
        // A second after each restart, everything succeeds again (until the next kill, half
        // a second later: only requests that ended before it count).
        let ended = sample.started + sample.took;
        let recovered = restarts.iter().any(|r| {
            sample.started >= *r + Duration::from_secs(1)
                && ended < *r + Duration::from_millis(1500)
        });
        if recovered {
            assert!(answer.get("errors").is_none(), "not recovered: {answer}");
        }
    }
    // The kills did fail some requests (the test saw the outages).
    assert!(failed > 0, "no request saw an outage");
}
