//! Pass-through load: requests/s and the gateway's CPU per request for one query sent to a
//! subgraph directly and through the `gateway-example` binary, in one run.
//!
//! ```sh
//! cargo bench -p gateway-example --bench passthrough            # 32 connections, 10 s per phase
//! CONNECTIONS=64 SECONDS=20 cargo bench -p gateway-example --bench passthrough
//! ```
//!
//! The subgraph (the demo's products service) and the load client run in this process; the
//! gateway runs as its own process (the release binary, `--subschema products=URL`), so its
//! CPU time is read from `/proc/PID/stat` alone. Phases: direct, via the gateway, direct again
//! (to see drift on a shared machine).

#![allow(clippy::unwrap_used)] // a benchmark: a failure is the run failing

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gateway_example::demo::{products, serve};
use tokio::io::{AsyncBufReadExt, BufReader};

const QUERY: &str = r#"{"query":"{ topProducts(first: 3) { upc name price } }"}"#;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// User + system CPU time of a process so far, from `/proc/PID/stat`.
fn cpu_time(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

struct Phase {
    requests: u64,
    elapsed: Duration,
}

/// `connections` clients POST the query in a loop for `duration`; every answer is checked.
async fn load(url: &str, connections: u64, duration: Duration) -> Phase {
    let client = reqwest::Client::builder().http1_only().build().unwrap();
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (client, url, done) = (client.clone(), url.to_owned(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let response = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(QUERY)
                        .send()
                        .await
                        .unwrap();
                    assert!(response.status().is_success());
                    let body = response.bytes().await.unwrap();
                    assert!(body.windows(5).any(|w| w == b"Table"), "unexpected answer");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    Phase {
        requests: done.load(Ordering::Relaxed),
        elapsed: start.elapsed(),
    }
}

fn rate(phase: &Phase) -> f64 {
    phase.requests as f64 / phase.elapsed.as_secs_f64()
}

#[tokio::main]
async fn main() {
    let connections = env_or("CONNECTIONS", 32);
    let seconds = Duration::from_secs(env_or("SECONDS", 10));
    let service = serve::serve(
        "products",
        products::schema(),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )
    .await
    .unwrap();

    let mut gateway = tokio::process::Command::new(env!("CARGO_BIN_EXE_gateway-example"))
        .args(["--listen", "127.0.0.1:0", "--subschema"])
        .arg(format!("products={}", service.http_url()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = gateway.id().unwrap().to_string();
    let mut lines = BufReader::new(gateway.stdout.take().unwrap()).lines();
    let gateway_url = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("the gateway exited");
        if let Some(rest) = line.strip_prefix("Quilt gateway listening on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };

    // Warm up both paths (connections, plan cache).
    load(&service.http_url(), connections, Duration::from_secs(1)).await;
    load(&gateway_url, connections, Duration::from_secs(1)).await;

    let direct = load(&service.http_url(), connections, seconds).await;
    let cpu_before = cpu_time(&pid);
    let via = load(&gateway_url, connections, seconds).await;
    let gateway_cpu = cpu_time(&pid) - cpu_before;
    let direct_again = load(&service.http_url(), connections, seconds).await;

    println!(
        "pass-through query, {connections} connections, {}s per phase",
        seconds.as_secs()
    );
    println!(
        "  direct to the subgraph : {:>8.0} requests/s",
        rate(&direct)
    );
    println!(
        "  via gateway-example    : {:>8.0} requests/s ({:.0} % of direct)",
        rate(&via),
        100.0 * rate(&via) / rate(&direct)
    );
    println!(
        "  direct again           : {:>8.0} requests/s",
        rate(&direct_again)
    );
    println!(
        "  gateway CPU            : {:.1} µs per request ({:.2} s over {} requests; {:.0} requests/s per core)",
        gateway_cpu.as_secs_f64() * 1e6 / via.requests as f64,
        gateway_cpu.as_secs_f64(),
        via.requests,
        via.requests as f64 / gateway_cpu.as_secs_f64()
    );
}
