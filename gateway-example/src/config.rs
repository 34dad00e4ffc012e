//! The gateway's settings, from the command line and an optional TOML file.
//!
//! ```toml
//! listen = "127.0.0.1:4000"
//! poll_interval = 30          # seconds; re-read the subschemas and swap the schema
//! dedup = true                # identical concurrent queries share one execution (default)
//! upstream_dedup = true       # identical in-flight subgraph requests share one (default)
//! redis_url = "redis://127.0.0.1:6379"   # demo only: the Seat-Saver venue shared through Redis
//! redis_prefix = "quilt-demo:"           # its key and channel prefix (default)
//! pubsub = "nats://127.0.0.1:4222"       # demo only: the venue's events through this broker
//!                                        # (redis://, mqtt://, amqp://, postgres://, nats://)
//! callback_url = "http://gateway.internal:4000/callback"  # callback subscriptions; default
//!                                                         # http://LISTEN/callback
//! threads = 2                 # serving threads (default: one per core)
//!
//! [[subschemas]]
//! name = "accounts"
//! url = "http://127.0.0.1:4001/graphql"
//! ws_url = "ws://127.0.0.1:4001/graphql"   # default: url with http -> ws
//! ws_protocol = "graphql-ws"               # or "graphql-transport-ws" (default)
//! timeout = 10                             # seconds
//! headers = { "x-api-key" = "secret" }
//!
//! [subschemas.transforms]
//! keep_root_fields = ["me", "users"]
//! type_prefix = "Acc_"
//! root_field_prefix = "acc_"
//!
//! [[subschemas]]
//! name = "reviews"
//! url = "http://127.0.0.1:4002/graphql"
//! subscriptions = "callback"               # HTTP callback protocol; default "ws"
//! # Header rules, applied in order to the client's headers (after its `Authorization`, which
//! # is forwarded unless `forward_authorization = false` or a rule removes it):
//! headers = [
//!   { propagate = { named = "x-tenant" } },                  # copy a client header
//!   { propagate = { named = "x-user", rename = "x-user-id", default = "anonymous" } },
//!   { propagate = { matching = "^x-trace-" } },              # every name the regex matches
//!   { insert = { name = "x-api-key", value = "secret" } },   # a fixed value
//!   { remove = { named = "x-debug" } },                      # drop what a rule above set
//!   { remove = { matching = "^x-internal-" } },
//! ]
//! ```
//!
//! `headers` is either a table of fixed headers (sent with every request and the WebSocket
//! upgrade) or a list of rules (`propagate`, `insert`, `remove`, as Apollo Router's `headers:`
//! section): a later rule replaces or removes what an earlier one set; names are
//! case-insensitive, `matching` is a case-insensitive regular expression. Over WebSocket the
//! upgrade carries what the rules send without client headers, and the client's
//! `Authorization` goes as `connectionParams.token`. Requests that differ in a header forwarded
//! by name never share an execution (inbound deduplication) or an upstream subscription; a
//! `matching` propagate rule turns both kinds of sharing off.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use serde::Deserialize;

use crate::sections::{
    CorsSection, CsrfSection, ErrorsSection, IntrospectionSection, LimitsSection,
    PersistedQueriesSection, SubscriptionsSection, TimeoutsSection,
};
use crate::spec::SubschemaSpec;

/// The address the gateway listens on by default.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4000";

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "gateway-example",
    about = "A Quilt gateway: stitches GraphQL services and serves them over HTTP, WebSocket, SSE and multipart. With no subschema, runs embedded demo services.",
    version
)]
pub struct Cli {
    /// A service to stitch (repeatable): NAME=URL, optionally followed by ,ws=WS_URL (the
    /// WebSocket endpoint of its subscriptions) and ,subscriptions=callback (subscriptions with
    /// the HTTP callback protocol instead: the service POSTs events to the gateway's callback
    /// URL).
    #[arg(
        long = "subschema",
        value_name = "NAME=URL[,ws=WS_URL][,subscriptions=ws|callback]"
    )]
    pub subschemas: Vec<String>,
    /// A TOML file with subschemas (headers, timeouts, WebSocket, transforms) and settings.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The address to listen on [default: 127.0.0.1:4000].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// The URL services reach the gateway's callback route at, for callback subscriptions
    /// (behind a proxy or in a container) [default: http://LISTEN/callback].
    #[arg(long, value_name = "URL")]
    pub callback_url: Option<String>,
    /// Re-read the subschemas every SECS seconds and swap in the new stitched schema.
    #[arg(long, value_name = "SECS")]
    pub poll_interval: Option<f64>,
    /// Where GraphiQL's scripts are loaded from (npm package layout, `{base}/graphiql@3.8.3/...`)
    /// [default: https://unpkg.com].
    // The doc comment is also the `--help` text, where a bare URL reads best.
    #[allow(rustdoc::bare_urls)]
    #[arg(long, value_name = "URL")]
    pub graphiql_assets: Option<String>,
    /// Do not let identical concurrent queries share one execution (inbound deduplication,
    /// on by default).
    #[arg(long)]
    pub no_dedup: bool,
    /// Do not let identical in-flight subgraph requests share one HTTP request (upstream
    /// deduplication, on by default).
    #[arg(long)]
    pub no_upstream_dedup: bool,
    /// Demo only: keep the Seat-Saver venue's seats and events in this Redis, so every demo
    /// instance started with it shares one venue [default: the REDIS_URL environment variable;
    /// unset: in memory].
    #[arg(long, value_name = "URL")]
    pub redis_url: Option<String>,
    /// Demo only: the prefix of the venue's Redis key and of its channels or topics on the
    /// PubSub broker [default: quilt-demo:].
    #[arg(long, value_name = "PREFIX", visible_alias = "pubsub-prefix")]
    pub redis_prefix: Option<String>,
    /// Demo only: publish the Seat-Saver venue's events through this broker, the engine chosen
    /// by the scheme: redis://, mqtt://, amqp://, postgres:// or nats://. The seats are kept
    /// in the Redis of --redis-url if given, else in the broker when it can (Redis,
    /// PostgreSQL), else in memory [default: the Redis of --redis-url, if any].
    #[arg(long, value_name = "URL")]
    pub pubsub: Option<String>,
    /// Serving threads: each runs its own single-threaded event loop with its own upstream
    /// connections and stitched schema, and the kernel spreads connections over them
    /// (SO_REUSEPORT) [default: one per core].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// On SIGTERM or SIGINT, keep taking requests this many seconds while the readiness check
    /// (/health/ready) fails, so a load balancer stops sending traffic, then drain
    /// [default: 0].
    #[arg(long, value_name = "SECS")]
    pub shutdown_delay: Option<f64>,
    /// Refuse `__schema` and `__type` queries (`__typename` still works).
    #[arg(long)]
    pub no_introspection: bool,
    /// Do not serve GraphiQL to browsers.
    #[arg(long)]
    pub no_graphiql: bool,
    /// A browser origin allowed to call the gateway (CORS; repeatable; `*` for any). Also the
    /// origins WebSocket upgrades may come from.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,
    /// The deepest field nesting a query may have [default: 32].
    #[arg(long, value_name = "N")]
    pub max_depth: Option<usize>,
    /// The most aliases a query may have [default: 100].
    #[arg(long, value_name = "N")]
    pub max_aliases: Option<usize>,
    /// The most lexical tokens a document may have [default: 15000].
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<usize>,
    /// Show clients upstream URLs, upstream error bodies and stack traces (development only).
    #[arg(long)]
    pub expose_upstream_details: bool,
    /// Answer a request carrying `Apollo-Expose-Query-Plan: true` with its plan in
    /// `extensions.apolloQueryPlan.text` (development only: a plan names the subschemas).
    #[arg(long)]
    pub expose_query_plan: bool,
    /// Check the settings (the --config file with every flag) and exit: 0 when they are
    /// valid, else 1 with the problem (the key and its line).
    #[arg(long)]
    pub check_config: bool,
    /// Print the query plan of the operation in FILE against the configured gateway (which
    /// subschema gets which document, level by level) and exit, without serving.
    #[arg(long, value_name = "FILE")]
    pub explain: Option<std::path::PathBuf>,
    /// With --explain: the operation to plan, when FILE holds several.
    #[arg(long, value_name = "NAME", requires = "explain")]
    pub operation_name: Option<String>,
    /// Metrics, traces and logs (over the file's `[telemetry]`).
    #[command(flatten)]
    pub telemetry: crate::telemetry::TelemetryFlags,
}

/// The prefix of the demo venue's Redis key and channels unless one is given.
pub const DEFAULT_REDIS_PREFIX: &str = "quilt-demo:";

/// Where the demo's Seat-Saver venue keeps its seats and events when it is shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoRedis {
    /// The Redis URL, e.g. `redis://127.0.0.1:6379`.
    pub url: String,
    /// The prefix of the hash (`{prefix}seats`) and of the channels (`{prefix}SEAT_SOLD`, ...).
    pub prefix: String,
}

/// The TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The address to listen on.
    pub listen: Option<SocketAddr>,
    /// Seconds between schema reloads.
    pub poll_interval: Option<f64>,
    /// GraphiQL's asset base URL.
    pub graphiql_assets: Option<String>,
    /// Whether GraphiQL is served to browsers at the GraphQL path (default true).
    pub graphiql: Option<bool>,
    /// Inbound in-flight deduplication (default true).
    pub dedup: Option<bool>,
    /// Upstream in-flight deduplication for every subschema (default true; a subschema's own
    /// `dedup` key can turn it off for that one).
    pub upstream_dedup: Option<bool>,
    /// Demo only: the Redis the Seat-Saver venue is shared through.
    pub redis_url: Option<String>,
    /// Demo only: the prefix of the venue's Redis key and channels.
    pub redis_prefix: Option<String>,
    /// Demo only: the broker the venue's events go through (the engine by the URL's scheme).
    pub pubsub: Option<String>,
    /// The public URL of the callback route (callback subscriptions).
    pub callback_url: Option<String>,
    /// Serving threads (default: one per core).
    pub threads: Option<usize>,
    /// Seconds of failing readiness before draining on a shutdown signal (default 0).
    pub shutdown_delay: Option<f64>,
    /// `[limits]`.
    #[serde(default)]
    pub limits: LimitsSection,
    /// `[timeouts]`.
    #[serde(default)]
    pub timeouts: TimeoutsSection,
    /// `[subscriptions]`.
    #[serde(default)]
    pub subscriptions: SubscriptionsSection,
    /// `[errors]`.
    #[serde(default)]
    pub errors: ErrorsSection,
    /// `[introspection]`.
    #[serde(default)]
    pub introspection: IntrospectionSection,
    /// `[cors]`.
    #[serde(default)]
    pub cors: CorsSection,
    /// `[csrf]`.
    #[serde(default)]
    pub csrf: CsrfSection,
    /// `[persisted_queries]`.
    #[serde(default)]
    pub persisted_queries: PersistedQueriesSection,
    /// The subschemas.
    #[serde(default)]
    pub subschemas: Vec<SubschemaSpec>,
    /// Metrics, traces and logs (see [`crate::telemetry`]).
    #[serde(default)]
    pub telemetry: crate::telemetry::TelemetryConfig,
}

impl FileConfig {
    /// Reads and parses a TOML file, `${NAME}` replaced by the environment variable `NAME`.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Self::parse_with_env(&text, |name| std::env::var(name).ok())
            .with_context(|| format!("in {}", path.display()))
    }

    /// Parses TOML text (without environment expansion).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        Ok(toml::from_str(text)?)
    }

    /// Parses TOML text, `${NAME}` replaced by `env(NAME)` first ([`crate::env_expand`]).
    pub fn parse_with_env(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let text = crate::env_expand::expand(text, env)?;
        Ok(toml::from_str(&text)?)
    }
}

/// Everything the gateway runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// How often the subschemas are re-read; `None`: never.
    pub poll_interval: Option<Duration>,
    /// GraphiQL's asset base URL; `None`: quilt-server's default.
    pub graphiql_assets: Option<String>,
    /// The subschemas; empty: run the embedded demo.
    pub subschemas: Vec<SubschemaSpec>,
    /// Whether identical concurrent queries (same document, operation name, variables,
    /// `Authorization` and `Cookie`) share one execution.
    pub dedup: bool,
    /// The Redis the demo's Seat-Saver venue is shared through; `None`: in memory. Used only
    /// when the demo runs (no subschemas).
    pub demo_redis: Option<DemoRedis>,
    /// The broker the demo venue's events go through (`redis://`, `mqtt://`, `amqp://`,
    /// `postgres://`, `nats://`); `None`: the Redis of `demo_redis`, or in memory.
    pub demo_pubsub: Option<String>,
    /// The prefix of the demo venue's keys, channels and topics.
    pub demo_prefix: String,
    /// The public URL of the callback route; `None`: `http://{listen}/callback` (see
    /// [`Settings::callback_url`]).
    pub callback_url: Option<String>,
    /// Serving threads (at least 1): see [`run::serve`](crate::run::serve).
    pub threads: usize,
    /// How long readiness fails before the drain starts on a shutdown signal.
    pub shutdown_delay: Duration,
    /// The server's limits (`[limits]`, `[timeouts]` and the limit flags over the defaults).
    pub limits: quilt_server::Limits,
    /// The server's streaming settings (`[timeouts]`, `[subscriptions]`).
    pub streaming: quilt_server::Streaming,
    /// The stitched schema's subscription options (`[subscriptions]`).
    pub subscriptions: quilt_stitch::SubscriptionOptions,
    /// The stitched schema's limits (`[limits]`).
    pub stitch_limits: quilt_stitch::StitchLimits,
    /// Whether GraphiQL is served (`graphiql`, `--no-graphiql`).
    pub graphiql: bool,
    /// Each subschema request's timeout unless the subschema sets its own
    /// (`[timeouts] upstream`; default 10 s).
    pub upstream_timeout: Option<Duration>,
    /// Whether clients see upstream details (`[errors]`, `--expose-upstream-details`).
    pub expose_upstream_details: bool,
    /// Whether a client may ask for its operation's plan (`--expose-query-plan`).
    pub expose_query_plan: bool,
    /// Whether `__schema`/`__type` may be queried (`[introspection]`, `--no-introspection`).
    pub introspection: bool,
    /// `[cors]`, with the `--cors-origin` flags' origins added.
    pub cors: CorsSection,
    /// `[csrf]`.
    pub csrf: CsrfSection,
    /// `[persisted_queries]`.
    pub persisted_queries: PersistedQueriesSection,
    /// Metrics, traces and logs.
    pub telemetry: crate::telemetry::TelemetryConfig,
}

/// The path of the callback route of callback subscriptions.
pub const CALLBACK_PATH: &str = "/callback";

impl Default for Settings {
    /// The settings of a gateway run without flags or file: the demo on
    /// `127.0.0.1:4000`, one serving thread, every library default.
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 4000)),
            poll_interval: None,
            graphiql_assets: None,
            subschemas: Vec::new(),
            dedup: true,
            demo_redis: None,
            demo_pubsub: None,
            demo_prefix: DEFAULT_REDIS_PREFIX.to_owned(),
            callback_url: None,
            threads: 1,
            shutdown_delay: Duration::ZERO,
            limits: quilt_server::Limits::default(),
            streaming: quilt_server::Streaming::default(),
            subscriptions: quilt_stitch::SubscriptionOptions::default(),
            stitch_limits: quilt_stitch::StitchLimits::default(),
            graphiql: true,
            upstream_timeout: None,
            expose_upstream_details: false,
            expose_query_plan: false,
            introspection: true,
            cors: CorsSection::default(),
            csrf: CsrfSection::default(),
            persisted_queries: PersistedQueriesSection::default(),
            telemetry: crate::telemetry::TelemetryConfig::default(),
        }
    }
}

impl Settings {
    /// The settings of each of `self.threads` serving threads: the caches' bounds (the plan
    /// cache's and the parsed documents' bytes and entries) are the process's, split evenly
    /// among the threads, each of which keeps caches of its own. A bound of 0 (no cache)
    /// stays 0.
    pub fn per_thread(&self) -> Settings {
        let threads = self.threads.max(1);
        let split = |bound: usize| {
            if bound == 0 {
                0
            } else {
                (bound / threads).max(1)
            }
        };
        let mut settings = self.clone();
        settings.limits.document_cache_bytes = split(self.limits.document_cache_bytes);
        settings.stitch_limits.plan_cache_bytes = split(self.stitch_limits.plan_cache_bytes);
        settings.stitch_limits.plan_cache_capacity = split(self.stitch_limits.plan_cache_capacity);
        settings
    }

    /// Checks what parsing cannot: that every subschema builds its executors (URLs, headers,
    /// timeouts), and that the files the settings name can be read. Nothing is contacted.
    pub fn check(&self) -> anyhow::Result<()> {
        let callback = self
            .subschemas
            .iter()
            .any(|spec| spec.subscriptions == crate::spec::SubscriptionTransport::Callback)
            .then(|| quilt_executor::CallbackRegistry::new(self.callback_url()))
            .transpose()
            .context("callback_url")?;
        // Executors may start background tasks when built: give them an event loop.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            for spec in &self.subschemas {
                crate::remote::Remote::new(spec.clone(), callback.as_ref())?;
            }
            anyhow::Ok(())
        })?;
        self.cors.to_server()?;
        self.csrf.to_server()?;
        self.persisted_queries.store()?;
        self.persisted_queries.manifest()?;
        Ok(())
    }

    /// The URL services POST callback messages to: the configured one, or the callback path on
    /// the listen address (an unspecified address, `0.0.0.0` or `[::]`, as loopback: set the
    /// URL when the services run elsewhere).
    pub fn callback_url(&self) -> String {
        if let Some(url) = &self.callback_url {
            return url.clone();
        }
        let mut addr = self.listen;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        format!("http://{addr}{CALLBACK_PATH}")
    }
}

impl Cli {
    /// The settings: the file's, with the command line's on top (flag subschemas come after
    /// the file's); `REDIS_URL` from the environment when neither names a Redis.
    pub fn settings(self) -> anyhow::Result<Settings> {
        self.settings_with_env(|name| std::env::var(name).ok())
    }

    /// [`Cli::settings`] with the environment read through `env`.
    pub fn settings_with_env(
        self,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Settings> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                FileConfig::parse_with_env(&text, &env)
                    .with_context(|| format!("in {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let mut subschemas = file.subschemas;
        for flag in &self.subschemas {
            subschemas.push(SubschemaSpec::parse_flag(flag)?);
        }
        if self.no_upstream_dedup || file.upstream_dedup == Some(false) {
            for spec in &mut subschemas {
                spec.dedup = false;
            }
        }
        let mut names = std::collections::HashSet::new();
        for spec in &subschemas {
            anyhow::ensure!(
                names.insert(spec.name.as_str()),
                "the subschema name `{}` is used twice",
                spec.name
            );
        }
        let poll = self.poll_interval.or(file.poll_interval);
        let poll_interval = poll
            .map(|secs| {
                anyhow::ensure!(
                    secs.is_finite() && secs > 0.0,
                    "the poll interval must be a positive number of seconds, not {secs}"
                );
                Ok(Duration::from_secs_f64(secs))
            })
            .transpose()?;
        let listen = match self.listen.or(file.listen) {
            Some(addr) => addr,
            None => DEFAULT_LISTEN.parse()?,
        };
        let demo_prefix = self
            .redis_prefix
            .or(file.redis_prefix)
            .unwrap_or_else(|| DEFAULT_REDIS_PREFIX.to_owned());
        let demo_redis = self
            .redis_url
            .or(file.redis_url)
            .or_else(|| env("REDIS_URL").filter(|url| !url.is_empty()))
            .map(|url| DemoRedis {
                url,
                prefix: demo_prefix.clone(),
            });
        let demo_pubsub = self.pubsub.or(file.pubsub);
        let threads = match self.threads.or(file.threads) {
            Some(0) => anyhow::bail!("--threads must be at least 1"),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let mut limits = quilt_server::Limits::default();
        let mut streaming = quilt_server::Streaming::default();
        let mut subscriptions = quilt_stitch::SubscriptionOptions::default();
        file.limits.apply(&mut limits);
        file.limits.apply_streaming(&mut streaming);
        file.timeouts.apply(&mut limits, &mut streaming)?;
        file.subscriptions
            .apply(&mut subscriptions, &mut streaming)?;
        let flag_limits = [
            (self.max_depth, &mut limits.max_depth),
            (self.max_aliases, &mut limits.max_aliases),
            (self.max_tokens, &mut limits.max_tokens),
        ];
        for (flag, limit) in flag_limits {
            if let Some(value) = flag {
                *limit = Some(value);
            }
        }
        let stitch_limits = file.limits.stitch_limits(&limits)?;
        let shutdown_delay = match self.shutdown_delay.or(file.shutdown_delay) {
            Some(secs) if secs.is_finite() && secs >= 0.0 => Duration::from_secs_f64(secs),
            Some(secs) => anyhow::bail!("the shutdown delay must be 0 or more seconds, not {secs}"),
            None => streaming.shutdown_delay,
        };
        streaming.shutdown_delay = shutdown_delay;
        let upstream_timeout = file.timeouts.upstream()?;
        if let Some(timeout) = upstream_timeout {
            for spec in subschemas.iter_mut().filter(|spec| spec.timeout.is_none()) {
                spec.timeout = Some(timeout.as_secs_f64());
            }
        }
        let mut cors = file.cors;
        if !self.cors_origins.is_empty() {
            let origins = cors.origins.get_or_insert_with(Vec::new);
            for origin in self.cors_origins {
                if !origins.contains(&origin) {
                    origins.push(origin);
                }
            }
        }
        // Refused here, so that a bad value stops the gateway before it serves.
        cors.to_server()?;
        file.csrf.to_server()?;
        let telemetry = file.telemetry.with_flags(&self.telemetry)?;
        Ok(Settings {
            telemetry,
            threads,
            shutdown_delay,
            listen,
            poll_interval,
            graphiql_assets: self.graphiql_assets.or(file.graphiql_assets),
            subschemas,
            dedup: !self.no_dedup && file.dedup.unwrap_or(true),
            demo_redis,
            demo_pubsub,
            demo_prefix,
            callback_url: self.callback_url.or(file.callback_url),
            limits,
            streaming,
            subscriptions,
            stitch_limits,
            graphiql: !self.no_graphiql && file.graphiql.unwrap_or(true),
            upstream_timeout,
            expose_upstream_details: self.expose_upstream_details
                || file.errors.expose_upstream_details.unwrap_or(false),
            expose_query_plan: self.expose_query_plan,
            introspection: !self.no_introspection && file.introspection.enabled.unwrap_or(true),
            cors,
            csrf: file.csrf,
            persisted_queries: file.persisted_queries,
        })
    }
}

#[cfg(test)]
mod tests;
