//! `quilt-bench subgraphs`: the four federation subgraphs in this process on fixed ports, and a
//! counters endpoint the load generator reads to count upstream requests per client request.

use std::net::SocketAddr;

use axum::routing::get;
use quilt_test_support::federation;

use crate::args::Args;

/// Serves the subgraphs until Ctrl-C or SIGTERM. Ports: `--port-base B` puts accounts,
/// inventory, products, reviews on B+1..B+4 and the counters on B+10 (default 4100); `0` picks
/// free ports. `--reviews-delay 200ms` makes the reviews subgraph answer each request that
/// late (the incremental delivery benchmark's slow service). Prints `NAME=URL` lines,
/// `counters=URL`, then `ready`.
pub async fn serve(args: &Args) -> anyhow::Result<()> {
    let base: u16 = args.number("port-base", 4100)?;
    let port = |offset: u16| if base == 0 { 0 } else { base + offset };
    let addr = |offset: u16| SocketAddr::from(([127, 0, 0, 1], port(offset)));
    let delay = args.duration("reviews-delay", std::time::Duration::ZERO)?;
    let subgraphs = federation::start_slowed([addr(1), addr(2), addr(3), addr(4)], delay).await?;
    for (name, server) in subgraphs.all() {
        println!("{name}={}", server.http_url());
    }

    let stats: Vec<_> = subgraphs
        .all()
        .map(|(name, server)| (name, server.stats().clone()))
        .into();
    let counters = axum::Router::new().route(
        "/counters",
        get(move || {
            let counts: serde_json::Map<_, _> = stats
                .iter()
                .map(|(name, stats)| ((*name).to_owned(), stats.snapshot().http_requests.into()))
                .collect();
            async move { axum::Json(counts) }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr(10)).await?;
    println!("counters=http://{}/counters", listener.local_addr()?);
    println!("ready");

    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        served = axum::serve(listener, counters) => served?,
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    subgraphs.stop().await;
    Ok(())
}
