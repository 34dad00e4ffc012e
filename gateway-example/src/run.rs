//! Running the gateway: the demo services when no subschema is given, the stitched gateway,
//! polling, and the server.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;

use quilt_executor::{DedupOptions, DedupStats};
use quilt_server::{GraphQLServer, InboundDedup};
use tokio_util::task::AbortOnDropHandle;

use crate::config::Settings;
use crate::demo::Demo;
use crate::demo::seats::Venue;
use crate::gateway::Gateway;

/// A gateway ready to serve, with what it needs kept alive.
pub struct Prepared {
    /// The gateway.
    pub gateway: Arc<Gateway>,
    /// The demo services, when the gateway stitches them.
    pub demo: Option<Demo>,
    /// Inbound deduplication in the server, when it is on.
    dedup: Option<InboundDedup>,
    _poll: Option<AbortOnDropHandle<()>>,
}

/// Starts the demo services when `settings` names no subschema, connects to the subschemas,
/// stitches them, and starts polling if asked.
pub async fn prepare(settings: &Settings) -> anyhow::Result<Prepared> {
    let (specs, demo) = if settings.subschemas.is_empty() {
        let venue = match &settings.demo_redis {
            Some(redis) => Venue::redis(&redis.url, &redis.prefix)
                .await
                .with_context(|| {
                    format!("the Seat-Saver venue cannot use Redis at {}", redis.url)
                })?,
            None => Venue::in_memory(),
        };
        let demo = Demo::start_with(venue).await?;
        (demo.specs(), Some(demo))
    } else {
        (settings.subschemas.clone(), None)
    };
    let gateway = Arc::new(Gateway::connect(specs).await?);
    let poll = settings.poll_interval.map(|every| gateway.poll(every));
    // The gateway forwards `Authorization` upstream; `DedupOptions::default()` keys on it and
    // on `Cookie`. The server's deduplication (rather than the executor combinator) also
    // shares the serialized answer.
    let dedup = settings
        .dedup
        .then(|| InboundDedup::new(DedupOptions::default()));
    Ok(Prepared {
        gateway,
        demo,
        dedup,
        _poll: poll,
    })
}

impl Prepared {
    /// Inbound deduplication's counters (executions, and requests that shared one), when it
    /// is on.
    pub fn dedup_stats(&self) -> Option<DedupStats> {
        self.dedup.as_ref().map(|dedup| dedup.stats())
    }
}

/// The GraphQL server over the gateway, with the settings' GraphiQL assets.
pub fn server(prepared: &Prepared, settings: &Settings) -> GraphQLServer {
    let mut builder = GraphQLServer::builder(prepared.gateway.executor());
    if let Some(dedup) = &prepared.dedup {
        builder = builder.dedup(dedup.clone());
    }
    if let Some(assets) = &settings.graphiql_assets {
        builder = builder.graphiql_assets(assets.clone());
    }
    builder.build()
}

/// Prepares and serves until Ctrl-C; `ready` is told the address once the port is bound.
pub async fn serve(
    settings: Settings,
    ready: impl FnOnce(SocketAddr, &Prepared),
) -> anyhow::Result<()> {
    let prepared = prepare(&settings).await?;
    let listener = tokio::net::TcpListener::bind(settings.listen).await?;
    ready(listener.local_addr()?, &prepared);
    server(&prepared, &settings).serve(listener).await?;
    Ok(())
}
