//! Running the gateway: the demo services when no subschema is given, the stitched gateway,
//! polling, and the server.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;

use quilt_executor::{CallbackRegistry, DedupOptions, DedupStats};
use quilt_server::{
    GraphQLServer, InboundDedup, Manifest, MemoryStore, PersistedQueries, PersistedQueryStore,
    RedisStore, SharedLimits,
};
use tokio_util::task::AbortOnDropHandle;

use crate::config::{CALLBACK_PATH, Settings};
use crate::demo::Demo;
use crate::demo::seats::Venue;
use crate::gateway::{Gateway, StitchOptions};
use crate::sections::ApqStore;
use crate::spec::{ForwardedHeaders, SubschemaSpec, SubscriptionTransport};

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
    /// Persisted queries (APQ and the manifest).
    persisted: PersistedQueries,
    /// The pools every serving thread's server draws from.
    limits: SharedLimits,
    _poll: Option<AbortOnDropHandle<()>>,
}

/// Starts the demo services when `settings` names no subschema, connects to the subschemas,
/// stitches them, and starts polling if asked. With callback subscriptions, the callback URL is
/// [`Settings::callback_url`]: bind the listener first and put its address in
/// `settings.listen` (as [`serve`] does) when listening on port 0.
pub async fn prepare(settings: &Settings) -> anyhow::Result<Prepared> {
    let (specs, demo) = demo_or_specs(settings).await?;
    let shared = Shared::new(settings, &specs)?;
    connect(settings, specs, &shared, demo).await
}

/// The query plan of `query` (operation `operation_name`, or its only one) against the
/// gateway `settings` describe, printed as [`StitchedSchema::explain`] prints it; the demo
/// services are started for it when no subschema is configured.
///
/// [`StitchedSchema::explain`]: quilt_stitch::StitchedSchema::explain
pub fn explain(
    settings: &Settings,
    query: &str,
    operation_name: Option<&str>,
) -> anyhow::Result<String> {
    event_loop()?.block_on(async {
        let prepared = prepare(settings).await?;
        let schema = prepared.gateway.executor().current();
        schema.explain(query, operation_name).map_err(|errors| {
            let messages: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
            anyhow::anyhow!("the operation cannot be planned: {}", messages.join("; "))
        })
    })
}

/// The subschemas to stitch: the settings', or the demo's, started here.
async fn demo_or_specs(settings: &Settings) -> anyhow::Result<(Vec<SubschemaSpec>, Option<Demo>)> {
    if !settings.subschemas.is_empty() {
        return Ok((settings.subschemas.clone(), None));
    }
    let redis = settings.demo_redis.as_ref().map(|redis| redis.url.as_str());
    let pubsub = settings.demo_pubsub.as_deref();
    // The command line sets both prefixes alike; settings built by hand may set only Redis's.
    let prefix = settings
        .demo_redis
        .as_ref()
        .map_or(&settings.demo_prefix, |redis| &redis.prefix);
    let venue = Venue::shared(pubsub, redis, prefix)
        .await
        .with_context(|| {
            let urls: Vec<&str> = pubsub.into_iter().chain(redis).collect();
            format!("the Seat-Saver venue cannot use {}", urls.join(" and "))
        })?;
    let demo = Demo::start_with(venue).await?;
    Ok((demo.specs(), Some(demo)))
}

/// What every serving thread shares: the callback registry (the services call back whichever
/// thread takes the connection), the inbound deduplication (identical queries share one
/// execution whichever threads they arrive on), the persisted queries (a query registered
/// through one thread is found by the others), and the pools behind the limits (a limit counts
/// every thread's clients; an SSE stream reserved through one thread is found by the others).
#[derive(Clone)]
struct Shared {
    limits: SharedLimits,
    callback: Option<CallbackRegistry>,
    dedup: Option<InboundDedup>,
    apq_store: ApqStore,
    memory_store: Arc<MemoryStore>,
    manifest: Option<Manifest>,
}

impl Shared {
    fn new(settings: &Settings, specs: &[SubschemaSpec]) -> anyhow::Result<Self> {
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
        // `DedupOptions::default()` keys on `Authorization` and `Cookie`, and on every header
        // the subschemas' rules forward by name; one forwarded by a pattern cannot be keyed on,
        // so then nothing is shared. The server's deduplication (rather than the executor
        // combinator) also shares the serialized answer.
        let forwarded = ForwardedHeaders::of(specs);
        if settings.dedup && forwarded.by_pattern {
            tracing::warn!(
                "inbound deduplication is off: a subschema forwards client headers by pattern"
            );
        }
        let dedup = (settings.dedup && !forwarded.by_pattern).then(|| {
            InboundDedup::new(
                forwarded
                    .names
                    .into_iter()
                    .fold(DedupOptions::default(), DedupOptions::header),
            )
        });
        let persisted = &settings.persisted_queries;
        let memory_store = Arc::new(match persisted.memory_bytes {
            Some(bytes) => MemoryStore::new(bytes),
            None => MemoryStore::default(),
        });
        Ok(Self {
            limits: SharedLimits::new(&settings.limits, &settings.streaming),
            callback,
            dedup,
            apq_store: persisted.store()?,
            memory_store,
            manifest: persisted.manifest()?,
        })
    }

    /// The persisted-query settings of one serving thread (a Redis store connects from the
    /// thread's own event loop).
    async fn persisted_queries(&self, settings: &Settings) -> anyhow::Result<PersistedQueries> {
        let store: Arc<dyn PersistedQueryStore> = match &self.apq_store {
            ApqStore::Memory => self.memory_store.clone(),
            ApqStore::Redis(options) => Arc::new(
                RedisStore::connect(options.clone())
                    .await
                    .context("[persisted_queries] store: cannot reach Redis")?,
            ),
        };
        Ok(PersistedQueries {
            apq: settings.persisted_queries.apq.unwrap_or(true),
            store,
            manifest: self.manifest.clone(),
            only_persisted: settings.persisted_queries.only_persisted.unwrap_or(false),
        })
    }
}

/// Connects to the subschemas and stitches them (executors of this thread's event loop).
async fn connect(
    settings: &Settings,
    specs: Vec<SubschemaSpec>,
    shared: &Shared,
    demo: Option<Demo>,
) -> anyhow::Result<Prepared> {
    let options = StitchOptions {
        expose_upstream_details: settings.expose_upstream_details,
        expose_query_plan: settings.expose_query_plan,
        subscriptions: settings.subscriptions.clone(),
        limits: settings.stitch_limits,
    };
    let gateway =
        Arc::new(Gateway::connect_with_options(specs, shared.callback.clone(), options).await?);
    let poll = settings.poll_interval.map(|every| gateway.poll(every));
    let persisted = shared.persisted_queries(settings).await?;
    Ok(Prepared {
        persisted,
        gateway,
        demo,
        dedup: shared.dedup.clone(),
        callback: shared.callback.clone(),
        limits: shared.limits.clone(),
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
    builder = builder
        .limits(settings.limits.clone())
        .shared_limits(prepared.limits.clone())
        .streaming(quilt_server::Streaming {
            shutdown_delay: settings.shutdown_delay,
            ..settings.streaming.clone()
        })
        .expose_upstream_details(settings.expose_upstream_details)
        .introspection(settings.introspection)
        .graphiql(settings.graphiql)
        .persisted_queries(prepared.persisted.clone());
    // Checked when the settings were made (and by --check-config).
    if let Ok(csrf) = settings.csrf.to_server() {
        builder = builder.csrf(csrf);
    }
    if let Ok(Some(cors)) = settings.cors.to_server() {
        builder = builder.cors(cors);
    }
    crate::telemetry::apply(builder, &settings.telemetry).build()
}

/// Serves until SIGTERM or SIGINT (then drains) on `settings.threads` serving threads; `ready` is told the address
/// (and the demo, when it runs) once every thread serves.
///
/// Each serving thread runs a single-threaded event loop with its own executors (upstream
/// connections, batching) and stitched schema, and listens on the same address with
/// `SO_REUSEPORT`, so the kernel spreads connections over the threads. The threads share the
/// inbound deduplication and the callback registry. (One multi-threaded runtime for all of it
/// costs more: tasks move between threads, every hand-over wakes a thread, and concurrent
/// requests batch less. On the load harness's heavy query, two single-threaded loops needed
/// about a quarter less CPU per answer than one two-thread runtime, and answered more; see
/// bench/README.md.) The demo services, when they run, share the first thread.
///
/// The first thread binds first, so the callback URL of callback subscriptions derives from
/// the bound address; the others bind once they are connected. Before that, the port is
/// bound once without `SO_REUSEPORT` (and released): if another process listens on it, the
/// gateway fails with "address in use" instead of silently sharing its connections, and a
/// second gateway started on the port while this one runs fails the same way. (A program
/// of the same user that sets `SO_REUSEPORT` itself could still join; the kernel offers no
/// way to close a port group.)
pub fn serve(
    mut settings: Settings,
    ready: impl FnOnce(SocketAddr, Option<&Demo>),
) -> anyhow::Result<()> {
    if !cfg!(unix) {
        // `SO_REUSEPORT` is what spreads connections over the threads.
        settings.threads = 1;
    }
    let mut settings = settings.per_thread();
    let runtime = event_loop()?;
    runtime.block_on(async move {
        let shares_port = settings.threads > 1;
        if shares_port {
            // Our threads share the port (`SO_REUSEPORT`); nobody else may. A plain bind
            // fails while any socket listens on the port, ours or another process's, so it
            // tells "address in use" before we join the port, and fails the same way for a
            // second gateway started on it while we run.
            settings.listen = probe(settings.listen)?;
        }
        let first = bind(settings.listen, shares_port)?;
        settings.listen = first.local_addr()?;
        let (specs, demo) = demo_or_specs(&settings).await?;
        let shared = Shared::new(&settings, &specs)?;
        let (report, mut reports) = tokio::sync::mpsc::unbounded_channel();
        let mut threads = Vec::with_capacity(settings.threads.saturating_sub(1));
        for i in 1..settings.threads {
            let (settings, specs, shared) = (settings.clone(), specs.clone(), shared.clone());
            let report = report.clone();
            let thread = std::thread::Builder::new()
                .name(format!("quilt-serve-{i}"))
                .spawn(move || serve_thread(settings, specs, shared, report))
                .context("starting a serving thread")?;
            threads.push(thread);
        }
        drop(report);
        let prepared = connect(&settings, specs, &shared, demo).await?;
        for _ in 1..settings.threads {
            match reports.recv().await {
                Some(Ok(())) => {}
                Some(Err(error)) => return Err(error),
                None => anyhow::bail!("a serving thread ended before it served"),
            }
        }
        let _metrics = crate::telemetry::serve_metrics(&settings.telemetry).await?;
        ready(settings.listen, prepared.demo.as_ref());
        server(&prepared, &settings).serve(first).await?;
        for thread in threads {
            match thread.join() {
                Ok(outcome) => outcome?,
                Err(_) => anyhow::bail!("a serving thread panicked"),
            }
        }
        Ok(())
    })
}

/// One serving thread after the first: connects, binds the shared port, says so, serves.
fn serve_thread(
    settings: Settings,
    specs: Vec<SubschemaSpec>,
    shared: Shared,
    report: tokio::sync::mpsc::UnboundedSender<anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let runtime = match event_loop() {
        Ok(runtime) => runtime,
        Err(error) => {
            let message = format!("{error:#}");
            let _ = report.send(Err(error));
            anyhow::bail!(message);
        }
    };
    runtime.block_on(async move {
        let started = async {
            let prepared = connect(&settings, specs, &shared, None).await?;
            let listener = bind(settings.listen, true)?;
            anyhow::Ok((prepared, listener))
        };
        let (prepared, listener) = match started.await {
            Ok(started) => started,
            Err(error) => {
                let message = format!("{error:#}");
                let _ = report.send(Err(error));
                anyhow::bail!(message);
            }
        };
        let _ = report.send(Ok(()));
        server(&prepared, &settings).serve(listener).await?;
        Ok(())
    })
}

/// A single-threaded event loop with I/O and timers.
fn event_loop() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting an event loop")
}

/// Checks that nothing listens on `addr` by binding it without `SO_REUSEPORT` (and closing it
/// again); the address bound (the port chosen, for port 0).
fn probe(addr: SocketAddr) -> anyhow::Result<SocketAddr> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .with_context(|| format!("cannot listen on {addr}"))?;
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket
        .bind(addr)
        .with_context(|| format!("cannot listen on {addr}"))?;
    Ok(socket.local_addr()?)
}

/// A listener on `addr`; with `shared`, one of several on the same port (`SO_REUSEPORT`).
fn bind(addr: SocketAddr, shared: bool) -> anyhow::Result<tokio::net::TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .with_context(|| format!("cannot listen on {addr}"))?;
    // What `std::net::TcpListener::bind` does on Unix: a restarted gateway can bind the port
    // while connections of the last one linger.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    #[cfg(unix)]
    if shared {
        socket.set_reuseport(true)?;
    }
    #[cfg(not(unix))]
    let _ = shared;
    socket
        .bind(addr)
        .with_context(|| format!("cannot listen on {addr}"))?;
    socket
        .listen(1024)
        .with_context(|| format!("cannot listen on {addr}"))
}
