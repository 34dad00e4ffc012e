//! The load generator: a fixed number of keep-alive HTTP/1.1 connections, each sending the next
//! request as soon as the previous answer is read, for a fixed duration after a warm-up. Every
//! response is checked against the expected body, and the gateway's CPU time, peak memory and
//! the subgraphs' request counts are sampled at the edges of the measured window.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Uri;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpStream;

use crate::direct::DirectPlan;
use crate::procstat;
use crate::scenario::{Check, Requests};

/// What to run.
pub struct Plan {
    /// The GraphQL endpoint.
    pub url: Uri,
    /// Concurrent connections (each with one request in flight).
    pub connections: usize,
    /// The measured window.
    pub duration: Duration,
    /// Load before the window, not measured (connections open, caches warm, JIT done).
    pub warmup: Duration,
    /// How long one request may take before it counts as an error.
    pub timeout: Duration,
    /// The requests.
    pub requests: Arc<Requests>,
    /// The gateway's process, whose CPU time and peak RSS are reported.
    pub gateway_pid: Option<u32>,
    /// The subgraphs' process.
    pub subgraph_pid: Option<u32>,
    /// Where the subgraphs report their request counts (`quilt-bench subgraphs` serves it).
    pub counters_url: Option<Uri>,
}

/// The figures of one run.
#[derive(Debug, Default, Clone, Serialize, serde::Deserialize)]
pub struct Report {
    /// A name for the table (`quilt`, `hive`, ...).
    pub label: String,
    /// The scenario.
    pub scenario: String,
    /// Connections.
    pub connections: usize,
    /// Measured seconds.
    pub seconds: f64,
    /// Answers within the window (errors included).
    pub requests: u64,
    /// Answers per second.
    pub rps: f64,
    /// Latency percentiles in milliseconds (none without answers).
    pub p50_ms: Option<f64>,
    /// 95th percentile.
    pub p95_ms: Option<f64>,
    /// 99th percentile.
    pub p99_ms: Option<f64>,
    /// Failed requests: connection errors, timeouts, non-200 statuses.
    pub errors: u64,
    /// 200 answers whose body differed from the expected one.
    pub mismatches: u64,
    /// `bytes` (every body equal byte for byte), `json` (equal JSON, written differently),
    /// `MISMATCH`, or `unchecked`.
    pub check: String,
    /// Mean response body size.
    pub response_bytes: u64,
    /// The gateway's CPU time per answer in the window.
    pub gateway_cpu_ms: Option<f64>,
    /// The gateway's peak RSS at the end (MiB).
    pub gateway_peak_rss_mib: Option<f64>,
    /// The subgraphs' CPU time per answer in the window.
    pub subgraph_cpu_ms: Option<f64>,
    /// Requests the subgraphs received per answer in the window.
    pub upstream_per_request: Option<f64>,
    /// The load generator's own CPU time per answer in the window (it shares the machine with
    /// the gateway: what it takes is not there for the gateway).
    #[serde(default)]
    pub load_cpu_ms: Option<f64>,
    /// The machine's 1-minute load average before the run.
    pub load_average: f64,
    /// The first failure seen, for diagnosis.
    pub first_error: Option<String>,
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    errors: u64,
    mismatches: u64,
    json_only: u64,
    checked: u64,
    bytes: u64,
    first_error: Option<String>,
    first_mismatch: Option<Bytes>,
}

/// Runs `plan`; a body that differs from the expected one is written to `mismatch_dump` (the
/// first only).
pub async fn run(plan: Plan, mismatch_dump: Option<&str>) -> anyhow::Result<Report> {
    let load_average = procstat::load_average().unwrap_or(f64::NAN);
    let start = Instant::now();
    let window_start = start + plan.warmup;
    let window_end = window_start + plan.duration;
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(plan.connections);
    for _ in 0..plan.connections {
        let (url, requests, next) = (plan.url.clone(), plan.requests.clone(), next.clone());
        let window = (window_start, window_end);
        tasks.push(tokio::spawn(connection(
            url,
            requests,
            next,
            window,
            plan.timeout,
        )));
    }

    tokio::time::sleep_until(window_start.into()).await;
    let load_cpu_before = procstat::cpu_ms(std::process::id()).ok();
    let gateway_cpu_before = plan.gateway_pid.map(procstat::cpu_ms).transpose()?;
    let subgraph_cpu_before = plan.subgraph_pid.map(procstat::cpu_ms).transpose()?;
    let counters_before = match &plan.counters_url {
        Some(url) => Some(upstream_requests(url).await?),
        None => None,
    };
    tokio::time::sleep_until(window_end.into()).await;
    let load_cpu_after = procstat::cpu_ms(std::process::id()).ok();
    let gateway_cpu_after = plan.gateway_pid.map(procstat::cpu_ms).transpose()?;
    let subgraph_cpu_after = plan.subgraph_pid.map(procstat::cpu_ms).transpose()?;
    let counters_after = match &plan.counters_url {
        Some(url) => Some(upstream_requests(url).await?),
        None => None,
    };
    let peak_rss = plan.gateway_pid.map(procstat::peak_rss_kib).transpose()?;

    let mut tally = Tally::default();
    for task in tasks {
        let part = task.await.context("a connection task panicked")?;
        tally.latencies_us.extend(part.latencies_us);
        tally.errors += part.errors;
        tally.mismatches += part.mismatches;
        tally.json_only += part.json_only;
        tally.checked += part.checked;
        tally.bytes += part.bytes;
        tally.first_error = tally.first_error.or(part.first_error);
        tally.first_mismatch = tally.first_mismatch.or(part.first_mismatch);
    }
    if let (Some(path), Some(body)) = (mismatch_dump, &tally.first_mismatch) {
        std::fs::write(path, body).with_context(|| format!("writing {path}"))?;
    }

    tally.latencies_us.sort_unstable();
    let answered = tally.latencies_us.len() as u64;
    let requests = answered + tally.errors;
    let per_request = |before: Option<f64>, after: Option<f64>| match (before, after) {
        (Some(b), Some(a)) if answered > 0 => Some((a - b) / answered as f64),
        _ => None,
    };
    let check = if tally.checked == 0 {
        "unchecked"
    } else if tally.mismatches > 0 {
        "MISMATCH"
    } else if tally.json_only > 0 {
        "json"
    } else {
        "bytes"
    };
    Ok(Report {
        label: String::new(),
        scenario: String::new(),
        connections: plan.connections,
        seconds: plan.duration.as_secs_f64(),
        requests,
        rps: answered as f64 / plan.duration.as_secs_f64(),
        p50_ms: percentile(&tally.latencies_us, 0.50),
        p95_ms: percentile(&tally.latencies_us, 0.95),
        p99_ms: percentile(&tally.latencies_us, 0.99),
        errors: tally.errors,
        mismatches: tally.mismatches,
        check: check.to_owned(),
        response_bytes: tally.bytes.checked_div(answered).unwrap_or(0),
        gateway_cpu_ms: per_request(gateway_cpu_before, gateway_cpu_after),
        gateway_peak_rss_mib: peak_rss.map(|kib| kib as f64 / 1024.0),
        subgraph_cpu_ms: per_request(subgraph_cpu_before, subgraph_cpu_after),
        upstream_per_request: per_request(
            counters_before.map(|c| c as f64),
            counters_after.map(|c| c as f64),
        ),
        load_cpu_ms: per_request(load_cpu_before, load_cpu_after),
        load_average,
        first_error: tally.first_error,
    })
}

/// The `q` quantile of sorted microseconds, in milliseconds.
fn percentile(sorted_us: &[u32], q: f64) -> Option<f64> {
    if sorted_us.is_empty() {
        return None;
    }
    let rank = ((q * sorted_us.len() as f64).ceil() as usize).clamp(1, sorted_us.len());
    Some(f64::from(sorted_us[rank - 1]) / 1000.0)
}

/// One virtual client's connections: one to the gateway, or one per subgraph for the direct
/// plan.
enum Session {
    Gateway {
        url: Uri,
        sender: Option<Sender>,
    },
    Direct {
        plan: Arc<DirectPlan>,
        senders: [Option<Sender>; 4],
    },
}

/// An answer: its status and body (for the direct plan, the last subgraph's), and the bytes
/// received in all.
struct Answer {
    status: http::StatusCode,
    body: Bytes,
    bytes: usize,
}

impl Session {
    fn new(url: &Uri, requests: &Requests) -> Self {
        match requests {
            Requests::Direct(plan) => Session::Direct {
                plan: plan.clone(),
                senders: Default::default(),
            },
            _ => Session::Gateway {
                url: url.clone(),
                sender: None,
            },
        }
    }

    /// Drops the connections (after a timeout: an answer may still be on its way).
    fn reset(&mut self) {
        match self {
            Session::Gateway { sender, .. } => *sender = None,
            Session::Direct { senders, .. } => *senders = Default::default(),
        }
    }

    async fn send(&mut self, body: Bytes) -> anyhow::Result<Answer> {
        match self {
            Session::Gateway { url, sender } => {
                let (status, body) = send_on(sender, url, body).await?;
                Ok(Answer {
                    status,
                    bytes: body.len(),
                    body,
                })
            }
            Session::Direct { plan, senders } => {
                let mut answer = Answer {
                    status: http::StatusCode::OK,
                    body: Bytes::new(),
                    bytes: 0,
                };
                for level in &plan.levels {
                    // A level sends at most one request per subgraph, so each takes its own
                    // connection.
                    let sends = senders.iter_mut().zip(&plan.urls).enumerate().filter_map(
                        |(i, (sender, url))| {
                            let (_, body) = level.iter().find(|(to, _)| *to == i)?;
                            Some(send_on(sender, url, body.clone()))
                        },
                    );
                    for sent in futures::future::join_all(sends).await {
                        let (status, body) = sent?;
                        answer.bytes += body.len();
                        if status != http::StatusCode::OK || contains(&body, b"\"errors\"") {
                            return Ok(Answer {
                                status: http::StatusCode::BAD_GATEWAY,
                                body,
                                bytes: answer.bytes,
                            });
                        }
                        answer.body = body;
                    }
                }
                Ok(answer)
            }
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Sends on `sender`, connecting first if it has no connection; drops the connection after a
/// failure.
async fn send_on(
    sender: &mut Option<Sender>,
    url: &Uri,
    body: Bytes,
) -> anyhow::Result<(http::StatusCode, Bytes)> {
    let connection = match sender {
        Some(connection) => connection,
        None => sender.insert(connect(url).await.context("connect")?),
    };
    let answer = exchange(connection, url, body).await;
    if answer.is_err() {
        *sender = None;
    }
    answer
}

/// One virtual client's loop: send, read the whole answer, check it, repeat until the window
/// ends; reconnect after a failure.
async fn connection(
    url: Uri,
    requests: Arc<Requests>,
    next: Arc<AtomicUsize>,
    (window_start, window_end): (Instant, Instant),
    timeout: Duration,
) -> Tally {
    let mut tally = Tally::default();
    let mut session = Session::new(&url, &requests);
    while Instant::now() < window_end {
        let fail = |tally: &mut Tally, error: String| {
            if (window_start..=window_end).contains(&Instant::now()) {
                tally.errors += 1;
                tally.first_error.get_or_insert(error);
            }
        };
        let (body, expected) = requests.get(next.fetch_add(1, Ordering::Relaxed));
        let began = Instant::now();
        let answer = tokio::time::timeout(timeout, session.send(body)).await;
        let finished = Instant::now();
        // An answer counts when it arrives within the window, even if it was asked for before:
        // a run of slow requests (the large scenario) still measures its steady rate.
        let measured = finished >= window_start && finished <= window_end;
        match answer {
            Ok(Ok(answer)) if answer.status == http::StatusCode::OK => {
                if !measured {
                    continue;
                }
                tally
                    .latencies_us
                    .push(u32::try_from((finished - began).as_micros()).unwrap_or(u32::MAX));
                tally.bytes += answer.bytes as u64;
                if let Some(expected) = expected {
                    tally.checked += 1;
                    match expected.check(&answer.body) {
                        Check::Bytes => {}
                        Check::Json => tally.json_only += 1,
                        Check::Mismatch => {
                            tally.mismatches += 1;
                            tally.first_mismatch.get_or_insert(answer.body);
                        }
                    }
                }
            }
            Ok(Ok(answer)) => {
                let body = &answer.body;
                let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
                fail(&mut tally, format!("status {}: {text}", answer.status));
            }
            Ok(Err(e)) => {
                fail(&mut tally, format!("{e:#}"));
                // Do not spin on a refused port.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(_) => {
                session.reset();
                fail(&mut tally, format!("no answer within {timeout:?}"));
            }
        }
    }
    tally
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(url: &Uri) -> anyhow::Result<Sender> {
    let host = url.host().context("the URL has no host")?;
    let port = url.port_u16().unwrap_or(80);
    let stream = TcpStream::connect((host, port)).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn exchange(
    sender: &mut Sender,
    url: &Uri,
    body: Bytes,
) -> anyhow::Result<(http::StatusCode, Bytes)> {
    sender.ready().await?;
    let authority = url.authority().map(|a| a.as_str()).unwrap_or("localhost");
    let request = http::Request::post(url.path())
        .header(http::header::HOST, authority)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::ACCEPT, "application/json")
        .body(Full::new(body))?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// The sum of the subgraphs' HTTP request counts, from `quilt-bench subgraphs`' counters URL.
async fn upstream_requests(url: &Uri) -> anyhow::Result<u64> {
    let mut sender = connect(url).await?;
    sender.ready().await?;
    let authority = url.authority().map(|a| a.as_str()).unwrap_or("localhost");
    let request = http::Request::get(url.path())
        .header(http::header::HOST, authority)
        .body(Full::new(Bytes::new()))?;
    let response = sender.send_request(request).await?;
    let body = response.into_body().collect().await?.to_bytes();
    let counts: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&body)?;
    Ok(counts.values().filter_map(serde_json::Value::as_u64).sum())
}

/// One request, for readiness checks and for showing an answer: the status and body.
pub async fn once(url: &Uri, body: Bytes) -> anyhow::Result<(http::StatusCode, Bytes)> {
    let mut sender = connect(url).await?;
    exchange(&mut sender, url, body).await
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let sorted: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(percentile(&sorted, 0.5), Some(50.0));
        assert_eq!(percentile(&sorted, 0.99), Some(99.0));
        assert_eq!(percentile(&sorted[..1], 0.99), Some(1.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
