//! `quilt-bench incremental`: time to the initial payload against time to the complete
//! response, for a query that defers its slowest service.
//!
//! The same operation is sent twice per round: with `@defer` (`Accept: multipart/mixed`), timed
//! to the end of the first part and to the end of the response, and without it (JSON), timed
//! to the end. Every deferred answer, once its parts are applied, must equal the plain answer.
//!
//! ```text
//! quilt-bench incremental --url URL [--requests 200] [--connections 8]
//! ```

use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::args::Args;

/// The query: products and their stock answered at once (products, inventory), their reviews
/// and authors (reviews — the slow service — and accounts) deferred.
pub const DEFERRED: &str = "query DeferQuery { topProducts { upc name price inStock \
... @defer(label: \"reviews\") { reviews { id body author { id username } } } } }";
/// The same without `@defer`.
pub const PLAIN: &str = "query DeferQuery { topProducts { upc name price inStock \
reviews { id body author { id username } } } }";

/// One timed answer.
struct Timing {
    first: Duration,
    complete: Duration,
}

pub async fn run(args: &Args) -> anyhow::Result<()> {
    let url = args.get("url").context("--url is required")?.to_owned();
    let requests: usize = args.number("requests", 200)?;
    let connections: usize = args.number("connections", 8)?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let expected = plain(&client, &url).await?.1;
    // Warm up both (plans cached, connections open).
    for _ in 0..connections {
        deferred(&client, &url, &expected).await?;
        plain(&client, &url).await?;
    }
    let deferred_timings =
        timed(requests, connections, || deferred(&client, &url, &expected)).await?;
    let plain_timings = timed(requests, connections, || async {
        let (timing, answer) = plain(&client, &url).await?;
        anyhow::ensure!(answer == expected, "a plain answer differs: {answer}");
        Ok(timing)
    })
    .await?;
    println!("{requests} answers each, {connections} at once; milliseconds");
    println!("| query | first part p50 | first part p90 | complete p50 | complete p90 |");
    println!("|---|---|---|---|---|");
    for (name, timings) in [
        ("@defer (multipart)", &deferred_timings),
        ("plain (JSON)", &plain_timings),
    ] {
        let first = percentiles(timings.iter().map(|t| t.first));
        let complete = percentiles(timings.iter().map(|t| t.complete));
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.1} |",
            first.0, first.1, complete.0, complete.1
        );
    }
    Ok(())
}

/// Runs `once` `requests` times, `connections` at a time.
async fn timed<F, Fut>(requests: usize, connections: usize, once: F) -> anyhow::Result<Vec<Timing>>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Timing>>,
{
    futures::stream::iter(0..requests)
        .map(|_| once())
        .buffer_unordered(connections.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// The plain query, timed, and its answer.
async fn plain(client: &reqwest::Client, url: &str) -> anyhow::Result<(Timing, Value)> {
    let started = Instant::now();
    let body = client
        .post(url)
        .header("accept", "application/json")
        .json(&json!({ "query": PLAIN }))
        .send()
        .await?
        .bytes()
        .await?;
    let complete = started.elapsed();
    let answer: Value = serde_json::from_slice(&body)?;
    anyhow::ensure!(
        answer.get("errors").is_none(),
        "the plain query failed: {answer}"
    );
    Ok((
        Timing {
            first: complete,
            complete,
        },
        answer,
    ))
}

/// The deferred query, timed to its first part and to its end, checked against `expected`.
async fn deferred(client: &reqwest::Client, url: &str, expected: &Value) -> anyhow::Result<Timing> {
    let started = Instant::now();
    let mut response = client
        .post(url)
        .header("accept", "multipart/mixed;deferSpec=20220824")
        .json(&json!({ "query": DEFERRED }))
        .send()
        .await?;
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let boundary = quilt_test_support::incremental::boundary(&content_type)
        .with_context(|| format!("not a multipart answer: {content_type}"))?;
    let delimiter = format!("\r\n--{boundary}");
    let mut body = Vec::new();
    let mut first = None;
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
        if first.is_none() && occurrences(&body, delimiter.as_bytes()) >= 1 {
            first = Some(started.elapsed());
        }
    }
    let complete = started.elapsed();
    let text = String::from_utf8(body)?;
    let parts = quilt_test_support::incremental::parse_multipart(&text, &boundary)?;
    anyhow::ensure!(
        parts.len() > 1,
        "the deferred query came in one part: {text}"
    );
    let mut applied = quilt_test_support::incremental::apply(&parts)?;
    if applied["errors"].as_array().is_some_and(Vec::is_empty)
        && let Some(object) = applied.as_object_mut()
    {
        object.remove("errors");
    }
    anyhow::ensure!(
        applied == *expected,
        "a deferred answer, applied, differs: {applied}"
    );
    Ok(Timing {
        first: first.unwrap_or(complete),
        complete,
    })
}

/// How many times `needle` occurs in `haystack` after its first byte (the first part's end is
/// the first delimiter after the opening one, which starts the body without a CRLF).
fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .skip(1)
        .filter(|w| *w == needle)
        .count()
}

/// The median and the 90th percentile, in milliseconds.
fn percentiles(values: impl Iterator<Item = Duration>) -> (f64, f64) {
    let mut ms: Vec<f64> = values.map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| {
        if ms.is_empty() {
            return 0.0;
        }
        let i = ((ms.len() - 1) as f64 * q).round() as usize;
        ms[i]
    };
    (at(0.5), at(0.9))
}
