//! Running the gateway: the demo services when no subschema is given, the stitched gateway,
//! polling, and the server.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;

use quilt_executor::{CallbackRegistry, DedupOptions, DedupStats};
use quilt_server::{GraphQLServer, InboundDedup};
use tokio_util::task::AbortOnDropHandle;

use crate::config::{CALLBACK_PATH, Settings};
use crate::demo::Demo;
use crate::demo::seats::Venue;
use crate::gateway::Gateway;
use crate::spec::SubscriptionTransport;

/// A gateway ready to serve, with what it needs kept alive.
pub struct Prepared {
    /// The gateway.
    pub gateway: Arc<Gateway>,
    /// The demo services, when the gateway stitches them.
    pub demo: Option<Demo>,
    /// Inbound deduplication in the server, when it is on.
    dedup: Option<InboundDedup>,
    /// The callback registry, when a subschema's subscriptions use the HTTP callback protocol.
    pub callback: Option<CallbackRegistry>,
    _poll: Option<AbortOnDropHandle<()>>,
}

/// Starts the demo services when `settings` names no subschema, connects to the subschemas,
/// stitches them, and starts polling if asked. With callback subscriptions, the callback URL is
/// [`Settings::callback_url`]: bind the listener first and put its address in
/// `settings.listen` (as [`serve`] does) when listening on port 0.
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
    let callback = specs
        .iter()
        .any(|spec| spec.subscriptions == SubscriptionTransport::Callback)
        .then(|| CallbackRegistry::new(settings.callback_url()))
        .transpose()?;
    if let Some(registry) = &callback {
        tracing::info!(
            url = registry.public_url(),
            "callback subscriptions are called back at"
        );
    }
    let gateway = Arc::new(Gateway::connect_with(specs, callback.clone()).await?);
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
        callback,
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

/// The GraphQL server over the gateway, with the settings' GraphiQL assets and, for callback
/// subscriptions, the callback route.
pub fn server(prepared: &Prepared, settings: &Settings) -> GraphQLServer {
    let mut builder = GraphQLServer::builder(prepared.gateway.executor());
    if let Some(registry) = &prepared.callback {
        builder = builder.callback(CALLBACK_PATH, registry.clone());
    }
    if let Some(dedup) = &prepared.dedup {
        builder = builder.dedup(dedup.clone());
    }
    if let Some(assets) = &settings.graphiql_assets {
        builder = builder.graphiql_assets(assets.clone());
    }
    builder.build()
}

/// Binds the listen address, prepares (the callback URL derives from the bound address) and
/// serves until Ctrl-C; `ready` is told the address once the gateway is ready.
pub async fn serve(
    mut settings: Settings,
    ready: impl FnOnce(SocketAddr, &Prepared),
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(settings.listen).await?;
    settings.listen = listener.local_addr()?;
    let prepared = prepare(&settings).await?;
    ready(settings.listen, &prepared);
    server(&prepared, &settings).serve(listener).await?;
    Ok(())
}
