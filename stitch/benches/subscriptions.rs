//! Scale benchmark of stitched subscriptions (not a timed test): many concurrent WebSocket
//! client subscriptions through one gateway process to one deduplicated upstream subscription.
//!
//! The upstream shop (reviews streaming `reviewAdded`, accounts and products resolving the
//! merged `author { name }` and `product { name inStock }`) runs in this process; the gateway
//! (a stitched schema served by quilt-server) runs as a child process (this binary again), so
//! its memory can be read alone from `/proc/PID/status`. Each event is published, then the
//! benchmark waits until every client has it before publishing the next: the delay from publish
//! to the last client is the whole fan-out (upstream WebSocket, merged-field resolution, shaping
//! once, one write per client socket).
//!
//! ```sh
//! cargo bench -p quilt-stitch --bench subscriptions                  # 10,000 clients, 100 events
//! CLIENTS=1000 EVENTS=50 cargo bench -p quilt-stitch --bench subscriptions
//! ```
//!
//! Each client is its own WebSocket connection (graphql-transport-ws, Quilt's `WsExecutor`), so
//! the process needs one file descriptor per client (`ulimit -n`); `SUBS_PER_CONNECTION=100`
//! multiplexes that many subscriptions on each connection instead, which separates the cost of
//! a connection from the cost of a subscription.

#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../tests/subs/mod.rs"]
mod subs;

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use quilt_executor::{Executor, ReconnectPolicy, Request, WsExecutor};
use quilt_stitch::SubscriptionOptions;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::Notify;

const GATEWAY_MODE: &str = "QUILT_SUBS_BENCH_GATEWAY";
const QUERY: &str =
    "subscription { reviewAdded { id body author { name } product { name inStock } } }";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    if let Ok(addrs) = std::env::var(GATEWAY_MODE) {
        runtime.block_on(gateway(&addrs));
    } else if std::env::args().any(|a| a == "--bench") {
        runtime.block_on(bench());
    }
}

/// The child: stitches the shop at the given addresses and serves it; prints `LISTENING port`.
async fn gateway(addrs: &str) {
    let addrs: Vec<SocketAddr> = addrs.split(',').map(|a| a.parse().unwrap()).collect();
    let stitched = subs::stitch_at(
        addrs[0],
        &format!("http://{}/graphql", addrs[1]),
        &format!("http://{}/graphql", addrs[2]),
        SubscriptionOptions::default(),
        ReconnectPolicy::default(),
    );
    // Reports the gateway's open client subscriptions whenever the count changes, so that the
    // benchmark publishes only once every client is in.
    let watched = stitched.clone();
    tokio::spawn(async move {
        let mut last = u64::MAX;
        loop {
            let clients = watched.subscription_stats().clients;
            if clients != last {
                println!("CLIENTS {clients}");
                last = clients;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let server = quilt_server::GraphQLServer::builder(stitched)
        .limits(quilt_server::Limits {
            max_ws_connections: 1_000_000,
            max_subscriptions: 1_000_000,
            max_operations_per_connection: 1_000_000,
            ..quilt_server::Limits::default()
        })
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("LISTENING {}", listener.local_addr().unwrap().port());
    server.serve(listener).await.unwrap();
}

/// The gateway's resident memory in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib * 1024
}

/// What the clients received, per event: how many have it and when the last one got it.
struct Tally {
    clients: u32,
    start: Instant,
    counts: Vec<AtomicU32>,
    last_ns: Vec<AtomicU64>,
    all_in: Notify,
    /// Events out of order, repeated or malformed (must stay 0).
    wrong: AtomicU64,
}

async fn bench() {
    let clients = env_usize("CLIENTS", 10_000);
    let events = env_usize("EVENTS", 100);
    let per_connection = env_usize("SUBS_PER_CONNECTION", 1).max(1);
    let shop = subs::Shop::start().await;
    let addrs = shop.addrs().map(|a| a.to_string()).join(",");
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .env(GATEWAY_MODE, addrs)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port: u16 = loop {
        let line = lines.next_line().await.unwrap().unwrap();
        if let Some(port) = line.strip_prefix("LISTENING ") {
            break port.parse().unwrap();
        }
    };
    let url = format!("ws://127.0.0.1:{port}/graphql");
    let (gateway_clients, mut gateway_clients_rx) = tokio::sync::watch::channel(0u64);
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(n) = line.strip_prefix("CLIENTS ") {
                gateway_clients.send_replace(n.parse().unwrap_or(0));
            }
        }
    });

    // Warm up: one client subscribes and receives an event, so that the baseline holds the
    // gateway's fixed costs (plan cache entry, upstream sockets).
    {
        let warm = WsExecutor::new(url.clone());
        let mut stream = warm
            .execute(Request::new(QUERY).unwrap())
            .await
            .unwrap()
            .into_stream();
        shop.reviews_stats
            .wait_for(Duration::from_secs(10), |c| c.active_subscriptions() == 1)
            .await
            .unwrap();
        shop.publisher.publish(0);
        tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("the warm-up event did not arrive")
            .unwrap()
            .unwrap();
    }
    shop.reviews_stats
        .wait_for(Duration::from_secs(10), |c| c.active_subscriptions() == 0)
        .await
        .unwrap();
    let baseline = rss(pid);
    eprintln!(
        "gateway up (pid {pid}, RSS {} MiB); opening {clients} subscriptions",
        baseline >> 20
    );

    let tally = Arc::new(Tally {
        clients: clients as u32,
        start: Instant::now(),
        counts: (0..=events).map(|_| AtomicU32::new(0)).collect(),
        last_ns: (0..=events).map(|_| AtomicU64::new(0)).collect(),
        all_in: Notify::new(),
        wrong: AtomicU64::new(0),
    });
    let subscribed = Arc::new(AtomicU32::new(0));
    let subscribed_all = Arc::new(Notify::new());
    let opened = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    let mut executor = WsExecutor::new(url.clone());
    for i in 0..clients {
        if i % per_connection == 0 {
            executor = WsExecutor::new(url.clone());
        }
        let (executor, tally) = (executor.clone(), tally.clone());
        let (subscribed, subscribed_all) = (subscribed.clone(), subscribed_all.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = executor
                .execute(Request::new(QUERY).unwrap())
                .await
                .unwrap()
                .into_stream();
            if subscribed.fetch_add(1, Ordering::AcqRel) + 1 == tally.clients {
                subscribed_all.notify_one();
            }
            let mut expected = 1usize;
            while let Some(event) = stream.next().await {
                let at = tally.start.elapsed().as_nanos() as u64;
                let id = event
                    .ok()
                    .and_then(|e| e.data_value())
                    .and_then(|d| d["reviewAdded"]["id"].as_str().map(str::to_owned))
                    .and_then(|id| id.parse::<usize>().ok());
                if id != Some(expected) {
                    tally.wrong.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                tally.last_ns[expected].fetch_max(at, Ordering::Relaxed);
                if tally.counts[expected].fetch_add(1, Ordering::AcqRel) + 1 == tally.clients {
                    tally.all_in.notify_one();
                }
                expected += 1;
            }
            drop(executor);
        }));
    }
    tokio::time::timeout(Duration::from_secs(300), subscribed_all.notified())
        .await
        .expect("clients did not subscribe in time");
    eprintln!(
        "clients subscribed after {:?}; waiting for the gateway",
        opened.elapsed()
    );
    // Every client is in its group at the gateway.
    tokio::time::timeout(
        Duration::from_secs(300),
        gateway_clients_rx.wait_for(|n| *n == clients as u64),
    )
    .await
    .expect("the gateway did not see every subscription in time")
    .unwrap();
    assert_eq!(shop.reviews_stats.snapshot().active_subscriptions(), 1);
    let subscribe_time = opened.elapsed();
    let loaded = rss(pid);

    eprintln!("gateway has every subscription after {subscribe_time:?}; publishing");
    let mut delays = Vec::with_capacity(events);
    for n in 1..=events {
        let published = tally.start.elapsed().as_nanos() as u64;
        shop.publisher.publish(n as u32);
        tokio::time::timeout(Duration::from_secs(60), tally.all_in.notified())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "event {n} reached {} of {clients} clients",
                    tally.counts[n].load(Ordering::Relaxed)
                )
            });
        let last = tally.last_ns[n].load(Ordering::Relaxed);
        delays.push(Duration::from_nanos(last.saturating_sub(published)));
    }
    let upstream = shop.reviews_stats.snapshot();
    drop(tasks);

    delays.sort();
    let pct =
        |p: f64| delays[((delays.len() as f64 * p).ceil() as usize).clamp(1, delays.len()) - 1];
    let received: u64 = tally.counts[1..]
        .iter()
        .map(|c| u64::from(c.load(Ordering::Relaxed)))
        .sum();
    println!(
        "stitched subscriptions: {clients} WebSocket client subscriptions, {per_connection} per connection ({} connections), {events} events",
        clients.div_ceil(per_connection)
    );
    println!(
        "  upstream subscriptions started at the reviews service: {}",
        upstream.subscriptions_started - 1
    );
    println!(
        "  events received: {received} of {} ({} lost, {} out of order or repeated)",
        clients * events,
        (clients * events) as u64 - received,
        tally.wrong.load(Ordering::Relaxed)
    );
    println!(
        "  publish -> last client: p50 {:?}, p99 {:?}, max {:?}",
        pct(0.50),
        pct(0.99),
        delays[delays.len() - 1]
    );
    println!(
        "  gateway RSS: {} MiB before, {} MiB with {clients} idle subscriptions: {} bytes per subscription",
        baseline >> 20,
        loaded >> 20,
        loaded.saturating_sub(baseline) / clients as u64
    );
    println!("  time to open every subscription: {subscribe_time:?}");
}
