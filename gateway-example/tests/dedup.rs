//! Deduplication through the whole gateway: inbound (identical concurrent client queries share
//! one execution, on by default, never across credentials) and upstream (identical in-flight
//! subgraph requests of a stitched schema share one HTTP request).

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

mod common;

use std::time::Duration;

use common::{settings, start, within};
use gateway_example::spec::SubschemaSpec;
use quilt_executor::{
    DedupStats, ExecuteFuture, Executor, ExecutorExt, HttpExecutor, Request, SharedExecutor,
};
use quilt_stitch::{Stitcher, SubschemaConfig};
use quilt_test_support::WAIT;
use quilt_test_support::gated::{GatedServer, HELD_ITEMS};
use quilt_wrap::{SchemaSource, load_schema};
use serde_json::{Value, json};

/// A client of `url` sending `authorization`.
fn client(url: &str, authorization: &str) -> HttpExecutor {
    HttpExecutor::builder(url)
        .header("authorization", authorization)
        .deduplicate_inflight(false)
        .timeout(WAIT)
        .build()
        .unwrap()
}

async fn data(future: ExecuteFuture) -> Value {
    let result = within(async { future.await?.into_single().await })
        .await
        .unwrap();
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    result.data_value().unwrap()
}

fn held() -> Value {
    json!({ "held": (0..HELD_ITEMS).map(|i| format!("item {i}")).collect::<Vec<_>>() })
}

/// Waits, at most `WAIT`, until `read()` satisfies `condition`; counters are plain numbers, not
/// channels, so they are read again every millisecond.
async fn until<T: std::fmt::Debug>(read: impl Fn() -> T, condition: impl Fn(&T) -> bool) {
    tokio::time::timeout(WAIT, async {
        while !condition(&read()) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("still {:?}", read()));
}

#[tokio::test]
async fn the_gateway_shares_identical_concurrent_queries_but_never_across_credentials() {
    let service = GatedServer::start().await.unwrap();
    let gateway = start(settings(vec![SubschemaSpec::new(
        "gated",
        service.http_url(),
    )]))
    .await;
    assert_eq!(gateway.prepared.dedup_stats(), Some(DedupStats::default()));
    let before = service.http_requests();

    let ada = client(&gateway.url, "Bearer ada");
    let futures: Vec<_> = (0..5)
        .map(|_| tokio::spawn(ada.execute(Request::new("{ held }").unwrap())))
        .collect();
    service.wait_for_arrivals(1).await.unwrap();
    until(
        || gateway.prepared.dedup_stats().unwrap(),
        |stats| stats.shared == 4,
    )
    .await;
    service.open();
    for future in futures {
        assert_eq!(
            data(Box::pin(async { future.await.unwrap() })).await,
            held()
        );
    }
    assert_eq!(service.http_requests() - before, 1);
    assert_eq!(
        gateway.prepared.dedup_stats(),
        Some(DedupStats {
            executions: 1,
            shared: 4
        })
    );

    // Two users asking the same thing at the same time: each `who` waits until two calls
    // reached the service, so a shared execution would fail.
    let bob = client(&gateway.url, "Bearer bob");
    let query = "{ who(until: 3) }"; // `held` above arrived once
    let (for_ada, for_bob) = tokio::join!(
        data(ada.execute(Request::new(query).unwrap())),
        data(bob.execute(Request::new(query).unwrap()))
    );
    assert_eq!(for_ada, json!({ "who": "Bearer ada" }));
    assert_eq!(for_bob, json!({ "who": "Bearer bob" }));
    assert_eq!(service.http_requests() - before, 3);
    assert_eq!(gateway.prepared.dedup_stats().unwrap().shared, 4);
}

#[tokio::test]
async fn no_dedup_leaves_every_query_its_own_execution() {
    let service = GatedServer::start().await.unwrap();
    let mut spec = SubschemaSpec::new("gated", service.http_url());
    spec.dedup = false;
    let mut settings = settings(vec![spec]);
    settings.dedup = false;
    let gateway = start(settings).await;
    assert_eq!(gateway.prepared.dedup_stats(), None);
    let ada = client(&gateway.url, "Bearer ada");
    // Three identical queries each wait for the others' arrival at the service.
    let query = "{ who(until: 3) }";
    let answers =
        futures::future::join_all((0..3).map(|_| data(ada.execute(Request::new(query).unwrap()))))
            .await;
    for answer in answers {
        assert_eq!(answer, json!({ "who": "Bearer ada" }));
    }
    assert_eq!(gateway.prepared.gateway.upstream_dedup_stats().shared, 0);
}

/// Waits for every task and checks that each answered the held items.
async fn every_answer_is_held(
    running: Vec<
        tokio::task::JoinHandle<Result<quilt_executor::Response, quilt_executor::ExecutorError>>,
    >,
) {
    for task in running {
        let result = within(async { task.await.unwrap().unwrap().into_single().await })
            .await
            .unwrap();
        assert_eq!(result.data_value(), Some(held()), "{:?}", result.errors);
    }
}

/// The schema of the service `http` reaches, stitched alone over `executor`.
async fn stitched_alone(http: &HttpExecutor, executor: impl Executor) -> SharedExecutor {
    let schema = load_schema(http, SchemaSource::introspection())
        .await
        .unwrap();
    Stitcher::new()
        .subschema(SubschemaConfig::new("gated", schema, executor))
        .build()
        .unwrap()
        .boxed()
}

#[tokio::test]
async fn identical_subgraph_requests_of_a_stitched_schema_share_one_http_request() {
    let service = GatedServer::start().await.unwrap();
    let http = HttpExecutor::builder(service.http_url().as_str())
        .timeout(WAIT)
        .build()
        .unwrap();
    // No batching and no inbound deduplication: only the HTTP executor can share.
    let stitched = stitched_alone(&http, http.clone()).await;
    let before = service.http_requests();
    let clients = 5;
    let futures: Vec<_> = (0..clients)
        .map(|_| stitched.execute(Request::new("{ held }").unwrap()))
        .collect();
    let running: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    service.wait_for_arrivals(1).await.unwrap();
    until(
        || {
            (
                http.dedup_stats(),
                service.arrivals(),
                service.http_requests() - before,
            )
        },
        |(stats, _, _)| stats.shared == clients - 1,
    )
    .await;
    service.open();
    every_answer_is_held(running).await;
    let upstream = service.http_requests() - before;
    assert!(
        upstream < clients,
        "{upstream} upstream requests for {clients} clients"
    );
    assert_eq!(upstream, 1);
    assert_eq!(http.dedup_stats().shared, clients - 1);
}

#[tokio::test]
async fn a_client_that_disconnects_does_not_cancel_the_answer_of_the_others() {
    let service = GatedServer::start().await.unwrap();
    let gateway = start(settings(vec![SubschemaSpec::new(
        "gated",
        service.http_url(),
    )]))
    .await;
    let before = service.http_requests();
    let ada = client(&gateway.url, "Bearer ada");
    let first = tokio::spawn(ada.execute(Request::new("{ held }").unwrap()));
    service.wait_for_arrivals(1).await.unwrap();
    let second = tokio::spawn(ada.execute(Request::new("{ held }").unwrap()));
    until(
        || gateway.prepared.dedup_stats().unwrap(),
        |stats| stats.shared == 1,
    )
    .await;
    // The client that started the execution goes away: its connection closes.
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    service.open();
    let answer = data(Box::pin(async { second.await.unwrap() })).await;
    assert_eq!(answer, held(), "the other client gets the whole answer");
    assert_eq!(service.http_requests() - before, 1);
}

#[tokio::test]
async fn client_operations_that_differ_only_in_their_names_share_one_subgraph_request() {
    use quilt_batch::{BatchExt, BatchOptions};
    let service = GatedServer::start().await.unwrap();
    let http = HttpExecutor::builder(service.http_url().as_str())
        .timeout(WAIT)
        .deduplicate_inflight(false)
        .build()
        .unwrap();
    // Batched, as the gateway's subschemas are; no inbound deduplication.
    let stitched = stitched_alone(&http, http.clone().batched(BatchOptions::default())).await;
    let (before, arrived_before) = (service.http_requests(), service.arrivals());
    let clients = 4;
    // Each client names its operation (as many do, one name per screen): the subgraph
    // requests carry those names, and are still one execution, with one field.
    let running: Vec<_> = (0..clients)
        .map(|i| {
            let request = Request::new(format!("query Screen{i} {{ held }}")).unwrap();
            tokio::spawn(stitched.execute(request))
        })
        .collect();
    service.wait_for_arrivals(1).await.unwrap();
    service.open();
    every_answer_is_held(running).await;
    assert_eq!(service.http_requests() - before, 1);
    // One `held` resolved: the four were not merged as four aliased fields.
    assert_eq!(service.arrivals() - arrived_before, 1);
}
