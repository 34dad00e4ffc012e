//! `quilt-bench`: Quilt's load harness (issue 9). Not a test: benchmarks run by hand through
//! `bench/run.sh`, which starts the subgraphs and each gateway in turn and prints one table.
//!
//! ```text
//! quilt-bench subgraphs [--port-base 4100]        the four federation subgraphs, one process
//! quilt-bench load --url URL [--scenario heavy|simple|large|many-plans | --query-file F
//!     [--expect-file F]] [--connections 50] [--duration 10s] [--warmup 2s] [--pid GATEWAY]
//!     [--subgraph-pid PID] [--counters-url URL] [--label NAME] [--record FILE]
//!     [--products N] [--plans N] [--timeout 30s] [--dump-mismatch FILE]
//! quilt-bench load --scenario heavy-direct --accounts URL --inventory URL --products URL
//!     --reviews URL [...]                        the heavy query's subgraph work, direct
//! quilt-bench expected SCENARIO                   the body every answer must equal
//! quilt-bench query SCENARIO                      the scenario's query
//! quilt-bench wait --url URL [--timeout 60s]      until URL answers a GraphQL request
//! quilt-bench incremental --url URL [--requests 200] [--connections 8]
//!                                                 time to the initial payload vs the whole
//!                                                 answer, the slow service deferred
//! quilt-bench report FILE [--pairs "A:B ..."]    the table of the runs recorded in FILE; with
//!                                                 --pairs, the medians of each target's runs
//!                                                 and the ratios A / B run by run
//! ```

mod args;
mod direct;
mod incremental;
mod load;
mod procstat;
mod report;
mod scenario;
mod subgraphs;

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;

use args::Args;

const USAGE: &str = "usage: quilt-bench subgraphs|load|expected|query|wait|report|incremental [options] \
(see bench/README.md)";

/// mimalloc, as the gateway has: the subgraphs and the load generator allocate many small
/// values per request, and glibc's malloc was about an eighth of the subgraphs' CPU.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut argv = std::env::args().skip(1);
    let command = argv.next().unwrap_or_default();
    let args = Args::parse(argv, &[])?;
    match command.as_str() {
        "subgraphs" => subgraphs::serve(&args).await,
        "load" => load(&args).await,
        "expected" => {
            let name = args.positional.first().context(USAGE)?;
            let body = scenario::expected_body(name, &args)?;
            std::io::stdout().write_all(&body)?;
            Ok(())
        }
        "query" => {
            let name = args.positional.first().context(USAGE)?;
            println!("{}", scenario::query(name, &args)?);
            Ok(())
        }
        "wait" => wait(&args).await,
        "incremental" => incremental::run(&args).await,
        "report" => {
            let path = args.positional.first().context(USAGE)?;
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
            let reports = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(serde_json::from_str)
                .collect::<Result<Vec<load::Report>, _>>()?;
            print!("{}", report::table(&reports));
            if let Some(pairs) = args.get("pairs") {
                print!(
                    "{}",
                    report::summary(&reports, &report::parse_pairs(pairs)?)
                );
            }
            Ok(())
        }
        _ => anyhow::bail!(USAGE),
    }
}

fn pid(args: &Args, name: &str) -> anyhow::Result<Option<u32>> {
    args.get(name)
        .map(|p| p.parse().with_context(|| format!("--{name} {p}")))
        .transpose()
}

async fn load(args: &Args) -> anyhow::Result<()> {
    let (name, requests) = scenario::from_args(args)?;
    let url: hyper::Uri = match (&requests, args.get("url")) {
        (_, Some(url)) => url.parse()?,
        (scenario::Requests::Direct(plan), None) => plan.urls[0].clone(),
        _ => anyhow::bail!("--url is required"),
    };
    if let scenario::Requests::Direct(plan) = &requests {
        eprintln!(
            "heavy-direct: {} subgraph requests in {} levels per answer",
            plan.requests(),
            plan.levels.len()
        );
    }
    let plan = load::Plan {
        url,
        connections: args.number("connections", 50)?,
        duration: args.duration("duration", Duration::from_secs(10))?,
        warmup: args.duration("warmup", Duration::from_secs(2))?,
        timeout: args.duration("timeout", Duration::from_secs(30))?,
        requests: Arc::new(requests),
        gateway_pid: pid(args, "pid")?,
        subgraph_pid: pid(args, "subgraph-pid")?,
        counters_url: args.get("counters-url").map(str::parse).transpose()?,
    };
    let mut report = load::run(plan, args.get("dump-mismatch")).await?;
    report.label = args.get("label").unwrap_or("target").to_owned();
    report.scenario = name;
    print!("{}", report::table(std::slice::from_ref(&report)));
    if let Some(error) = &report.first_error {
        eprintln!("first error: {error}");
    }
    if let Some(path) = args.get("record") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {path}"))?;
        writeln!(file, "{}", serde_json::to_string(&report)?)?;
    }
    Ok(())
}

/// Waits until the URL answers `{ __typename }` with 200.
async fn wait(args: &Args) -> anyhow::Result<()> {
    let url: hyper::Uri = args.get("url").context("--url is required")?.parse()?;
    let deadline = Instant::now() + args.duration("timeout", Duration::from_secs(60))?;
    let body = Bytes::from_static(br#"{"query":"{ __typename }"}"#);
    loop {
        match load::once(&url, body.clone()).await {
            Ok((status, _)) if status == http::StatusCode::OK => return Ok(()),
            answer => {
                if Instant::now() >= deadline {
                    anyhow::bail!("{url} is not answering: {answer:?}");
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
