//! Inbound in-flight deduplication (`ExecutorExt::dedup_inflight`) in front of a real service on
//! loopback: identical concurrent queries share one upstream request; different credentials,
//! mutations and abandoned waiters are handled safely.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};
use quilt_executor::{
    Context, DedupInflight, DedupOptions, DedupStats, ErrorKind, Executor, ExecutorExt,
    HttpExecutor, Request,
};
use quilt_test_support::WAIT;
use quilt_test_support::gated::{GatedServer, HELD_ITEMS};
use serde_json::{Value, json};

/// The service's HTTP executor, forwarding the client's `Authorization` as a gateway does, with
/// its own (upstream) deduplication off so that only the combinator can share.
fn dedup_over(service: &GatedServer) -> Arc<DedupInflight<HttpExecutor>> {
    let http = HttpExecutor::builder(service.http_url().as_str())
        .deduplicate_inflight(false)
        .timeout(WAIT)
        .header_fn(|request: &Request| {
            let mut headers = HeaderMap::new();
            if let Some(value) = request.context.headers().get(AUTHORIZATION) {
                headers.insert(AUTHORIZATION, value.clone());
            }
            headers
        })
        .build()
        .unwrap();
    Arc::new(http.dedup_inflight(DedupOptions::default()))
}

fn as_user(query: &str, authorization: &'static str) -> Request {
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, HeaderValue::from_static(authorization));
    Request::new(query)
        .unwrap()
        .context(Context::from_headers(headers))
}

async fn data(future: quilt_executor::ExecuteFuture) -> Value {
    let result = tokio::time::timeout(WAIT, async { future.await?.into_single().await })
        .await
        .expect("answered in time")
        .unwrap();
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    result.data_value().unwrap()
}

fn held() -> Value {
    json!({ "held": (0..HELD_ITEMS).map(|i| format!("item {i}")).collect::<Vec<_>>() })
}

#[tokio::test]
async fn identical_concurrent_queries_share_one_upstream_request() {
    let service = GatedServer::start().await.unwrap();
    let dedup = dedup_over(&service);
    let before = service.http_requests();
    let futures: Vec<_> = (0..5)
        .map(|_| dedup.execute(as_user("{ held }", "Bearer ada")))
        .collect();
    service.wait_for_arrivals(1).await.unwrap();
    assert_eq!(
        dedup.stats(),
        DedupStats {
            executions: 1,
            shared: 4
        }
    );
    service.open();
    for future in futures {
        assert_eq!(data(future).await, held());
    }
    assert_eq!(
        service.http_requests() - before,
        1,
        "one upstream request for five clients"
    );

    // The finished execution left the table: the next request runs afresh.
    assert_eq!(
        data(dedup.execute(as_user("{ held }", "Bearer ada"))).await,
        held()
    );
    assert_eq!(
        dedup.stats(),
        DedupStats {
            executions: 2,
            shared: 4
        }
    );
}

#[tokio::test]
async fn clients_with_different_authorization_never_share_an_execution() {
    let service = GatedServer::start().await.unwrap();
    let dedup = dedup_over(&service);
    let before = service.http_requests();
    // Each `who` waits until two calls reached the service: had the two requests shared one
    // execution, only one would arrive and it would fail.
    let ada = dedup.execute(as_user("{ who(until: 2) }", "Bearer ada"));
    let bob = dedup.execute(as_user("{ who(until: 2) }", "Bearer bob"));
    let (ada, bob) = tokio::join!(data(ada), data(bob));
    assert_eq!(ada, json!({ "who": "Bearer ada" }));
    assert_eq!(bob, json!({ "who": "Bearer bob" }));
    assert_eq!(
        service.http_requests() - before,
        2,
        "one upstream request each"
    );
    assert_eq!(
        dedup.stats(),
        DedupStats {
            executions: 2,
            shared: 0
        }
    );
}

#[tokio::test]
async fn a_dropped_or_timed_out_client_does_not_cancel_the_shared_execution() {
    let service = GatedServer::start().await.unwrap();
    let dedup = dedup_over(&service);
    let before = service.http_requests();
    let first = dedup.execute(as_user("{ held }", "Bearer ada"));
    let patient = dedup.execute(as_user("{ held }", "Bearer ada"));
    let hasty = dedup
        .clone()
        .timeout(Duration::from_millis(20))
        .execute(as_user("{ held }", "Bearer ada"));
    service.wait_for_arrivals(1).await.unwrap();
    assert_eq!(
        dedup.stats(),
        DedupStats {
            executions: 1,
            shared: 2
        }
    );

    // The client that started the execution disconnects; another gives up on its deadline.
    drop(first);
    let error = hasty.await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);

    service.open();
    assert_eq!(
        data(patient).await,
        held(),
        "the remaining client gets the whole result"
    );
    assert_eq!(
        service.http_requests() - before,
        1,
        "the execution was never restarted"
    );
}

#[tokio::test]
async fn the_last_client_leaving_cancels_the_execution() {
    let service = GatedServer::start().await.unwrap();
    let dedup = dedup_over(&service);
    let only = dedup.execute(as_user("{ held }", "Bearer ada"));
    service.wait_for_arrivals(1).await.unwrap();
    drop(only);
    // A request after the cancellation starts its own execution instead of joining a dead one.
    let next = dedup.execute(as_user("{ held }", "Bearer ada"));
    service.wait_for_arrivals(2).await.unwrap();
    service.open();
    assert_eq!(data(next).await, held());
    assert_eq!(
        dedup.stats(),
        DedupStats {
            executions: 2,
            shared: 0
        }
    );
}

#[tokio::test]
async fn identical_concurrent_mutations_are_never_shared() {
    let service = GatedServer::start().await.unwrap();
    let dedup = dedup_over(&service);
    let before = service.http_requests();
    let one = dedup.execute(as_user("mutation { bump(until: 2) }", "Bearer ada"));
    let two = dedup.execute(as_user("mutation { bump(until: 2) }", "Bearer ada"));
    let (one, two) = tokio::join!(data(one), data(two));
    let mut counts = [one["bump"].as_i64().unwrap(), two["bump"].as_i64().unwrap()];
    counts.sort_unstable();
    assert_eq!(counts, [1, 2], "both mutations ran");
    assert_eq!(service.http_requests() - before, 2);
    assert_eq!(
        dedup.stats(),
        DedupStats::default(),
        "mutations pass straight through"
    );
}
