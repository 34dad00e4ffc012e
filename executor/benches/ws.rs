//! 1,000 concurrent subscriptions over one WsExecutor socket to the in-repo test subgraph:
//! the time until every one of them delivered all its events and ended.
//!
//! Run with `cargo bench -p quilt-executor --bench ws`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use quilt_executor::ws::WsExecutor;
use quilt_executor::{Executor, Request};
use quilt_test_support::TestServer;

const SUBSCRIPTIONS: usize = 1_000;
const EVENTS: usize = 10;

/// Runs every subscription to its end and returns the number of events received.
async fn run_all(executor: &WsExecutor, request: &Request) -> usize {
    let subscriptions = (0..SUBSCRIPTIONS).map(|_| async {
        let response = executor.execute(request.clone()).await.expect("subscribe");
        let mut stream = response.into_stream();
        let mut events = 0;
        while let Some(event) = stream.next().await {
            let event = event.expect("a transport error");
            black_box(&event);
            events += 1;
        }
        events
    });
    futures::future::join_all(subscriptions)
        .await
        .into_iter()
        .sum()
}

fn concurrent_subscriptions(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server = runtime.block_on(TestServer::start()).expect("test server");
    // A long lazy close keeps the one socket open across iterations.
    let executor = WsExecutor::builder(server.ws_url())
        .lazy_close_timeout(Duration::from_secs(600))
        .build();
    let request = Request::new(format!("subscription {{ count(to: {EVENTS}) }}")).expect("query");

    let mut group = c.benchmark_group("ws");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    group.throughput(Throughput::Elements((SUBSCRIPTIONS * EVENTS) as u64));
    group.bench_function("1000_subscriptions_x10_events_one_socket", |b| {
        b.to_async(&runtime).iter(|| async {
            let events = run_all(&executor, &request).await;
            // Every event of every subscription must have arrived: the figure cannot lie.
            assert_eq!(events, SUBSCRIPTIONS * EVENTS, "events were lost");
        });
    });
    group.finish();

    let connections = server.stats().snapshot().ws_connections;
    assert_eq!(connections, 1, "all subscriptions must share one socket");
    drop(executor);
    drop(server);
}

criterion_group!(benches, concurrent_subscriptions);
criterion_main!(benches);
