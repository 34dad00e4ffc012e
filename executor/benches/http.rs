//! HttpExecutor round trip vs a raw reqwest POST of the same bytes to the same local server.
//!
//! Run with `cargo bench -p quilt-executor --bench http`. The server is a minimal axum handler
//! answering a fixed small GraphQL JSON body, on its own runtime thread; the clients run on
//! another. The executor's overhead is the ratio of the two medians; the bench also prints
//! medians of paired samples (raw and executor requests alternating), which machine load
//! drifting during the run does not skew.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use criterion::{Criterion, criterion_group, criterion_main};
use quilt_executor::http::HttpExecutor;
use quilt_executor::{Executor, Request};

const ANSWER: &str =
    r#"{"data":{"user":{"id":"1","name":"Ada","role":"ADMIN","bestFriendId":"2"}}}"#;
const QUERY: &str = "query User($id: ID!) { user(id: $id) { id name role bestFriendId } }";

fn start_server() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("server runtime");
        runtime.block_on(async move {
            let router = Router::new().route(
                "/graphql",
                post(|| async { ([("content-type", "application/json")], ANSWER) }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr"))
                .expect("send addr");
            axum::serve(listener, router).await.expect("serve");
        });
    });
    rx.recv().expect("server address")
}

fn round_trip(c: &mut Criterion) {
    let addr = start_server();
    let url = format!("http://{addr}/graphql");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");

    let executor = HttpExecutor::new(url.clone()).expect("executor");
    let request = Request::new(QUERY)
        .expect("query")
        .operation_name("User")
        .variable("id", serde_json::json!("1"));
    // The exact bytes the executor sends.
    let body = bytes::Bytes::from(
        serde_json::to_vec(&serde_json::json!({
            "query": QUERY,
            "operationName": "User",
            "variables": {"id": "1"},
        }))
        .expect("body"),
    );
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .expect("client");

    let mut group = c.benchmark_group("http_round_trip");
    let raw = || async {
        let response = client
            .post(&url)
            .header("content-type", "application/json")
            .header(
                "accept",
                "application/graphql-response+json, application/json;q=0.9, multipart/mixed;q=0.5",
            )
            .body(body.clone())
            .send()
            .await
            .expect("send");
        black_box(response.bytes().await.expect("body"))
    };
    group.bench_function("raw_reqwest_post", |b| b.to_async(&runtime).iter(raw));
    // The same, reading the answer as JSON, which any client of the service does: the executor
    // decodes every answer into an `ExecutionResult`.
    let raw_json = || async {
        let bytes = raw().await;
        black_box(serde_json::from_slice::<serde_json::Value>(&bytes).expect("json"))
    };
    group.bench_function("raw_reqwest_post_json", |b| {
        b.to_async(&runtime).iter(raw_json)
    });
    let no_dedup = HttpExecutor::builder(url.clone())
        .deduplicate_inflight(false)
        .build()
        .expect("executor");
    group.bench_function("http_executor_no_dedup", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = no_dedup.execute(request.clone()).await.expect("execute");
            black_box(response.into_single().await.expect("result"))
        })
    });
    group.bench_function("http_executor", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = executor.execute(request.clone()).await.expect("execute");
            black_box(response.into_single().await.expect("result"))
        })
    });
    // Raw again, so that drift in machine load during the run shows.
    group.bench_function("raw_reqwest_post_again", |b| b.to_async(&runtime).iter(raw));
    group.bench_function("raw_reqwest_post_json_again", |b| {
        b.to_async(&runtime).iter(raw_json)
    });
    group.finish();

    // The groups above run one after another, so drift in the machine's load between them
    // shows up as overhead (or as a gain). Paired samples cancel it: each round sends one raw
    // request (bytes only), one raw request read as JSON, and one through each executor, in a
    // rotating order, and the medians of the four series are compared.
    const ROUNDS: usize = 20_000;
    let mut samples: [Vec<Duration>; 4] = std::array::from_fn(|_| Vec::with_capacity(ROUNDS));
    runtime.block_on(async {
        for round in 0..ROUNDS + 500 {
            for k in 0..4 {
                let which = (round + k) % 4;
                let start = Instant::now();
                match which {
                    0 => {
                        black_box(raw_json().await);
                    }
                    3 => {
                        black_box(raw().await);
                    }
                    1 => {
                        let response = no_dedup.execute(request.clone()).await.expect("execute");
                        black_box(response.into_single().await.expect("result"));
                    }
                    2 => {
                        let response = executor.execute(request.clone()).await.expect("execute");
                        black_box(response.into_single().await.expect("result"));
                    }
                    _ => unreachable!("four series"),
                }
                // The first 500 rounds warm up.
                if round >= 500 {
                    samples[which].push(start.elapsed());
                }
            }
        }
    });
    let [raw, no_dedup, dedup, bytes] = samples.map(|mut series| {
        series.sort_unstable();
        series[series.len() / 2].as_secs_f64() * 1e6
    });
    println!(
        "paired medians over {ROUNDS} rounds: raw POST {bytes:.1} µs, raw POST + JSON {raw:.1} \
         µs, HttpExecutor {no_dedup:.1} µs without dedup ({:+.1} % over raw + JSON, {:+.1} % \
         over raw), {dedup:.1} µs with dedup ({:+.1} %, {:+.1} %)",
        (no_dedup / raw - 1.0) * 100.0,
        (no_dedup / bytes - 1.0) * 100.0,
        (dedup / raw - 1.0) * 100.0,
        (dedup / bytes - 1.0) * 100.0,
    );
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
