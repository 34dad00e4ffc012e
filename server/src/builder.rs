//! [`GraphQLServerBuilder`]: every setting of a [`GraphQLServer`], with its default.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use quilt_executor::{CallbackRegistry, Context, Executor, SharedExecutor};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::cors::CorsLayer;

use crate::config::{Limits, Streaming};
use crate::cors::Cors;
use crate::persisted::PersistedQueries;
use crate::pipeline::csrf::Csrf;
use crate::server::{GraphQLServer, MapRouter};
use crate::state::ServerState;
use crate::ws::hooks::{ConnectionInit, Disconnect, Hooks};

/// Tunes a [`GraphQLServer`]; every setting has a default.
pub struct GraphQLServerBuilder {
    executor: SharedExecutor,
    path: String,
    health_path: Option<String>,
    limits: Limits,
    streaming: Streaming,
    graphiql: bool,
    graphiql_assets: String,
    hooks: Hooks,
    cors: Option<Cors>,
    cors_layer: Option<CorsLayer>,
    csrf: Csrf,
    introspection: bool,
    persisted: PersistedQueries,
    dedup: Option<crate::InboundDedup>,
    expose_upstream_details: bool,
    callback: Option<(String, CallbackRegistry)>,
    operation_names: Option<usize>,
    map_router: Option<MapRouter>,
    shared_limits: Option<crate::SharedLimits>,
}

impl GraphQLServerBuilder {
    /// The default settings for `executor` ([`GraphQLServer::builder`]).
    pub(crate) fn new(executor: impl Executor) -> Self {
        Self {
            executor: Arc::new(executor),
            path: "/graphql".into(),
            health_path: Some("/health".into()),
            limits: Limits::default(),
            streaming: Streaming::default(),
            graphiql: true,
            graphiql_assets: crate::graphiql::DEFAULT_ASSETS.into(),
            hooks: Hooks::default(),
            cors: None,
            cors_layer: None,
            csrf: Csrf::default(),
            introspection: true,
            persisted: PersistedQueries::default(),
            dedup: None,
            expose_upstream_details: false,
            callback: None,
            operation_names: None,
            map_router: None,
            shared_limits: None,
        }
    }

    /// Adds the operation name as the `graphql_operation_name` label of the request duration
    /// histogram (see [`crate::metrics`]): the first `cap` distinct names keep their own label,
    /// later ones are counted as `other` (operation names are chosen by clients; each one is a
    /// new time series). Default: off.
    pub fn operation_name_labels(mut self, cap: usize) -> Self {
        self.operation_names = Some(cap);
        self
    }

    /// Applies `map` to the finished router (every route, CORS included), for example to add
    /// routes (a metrics endpoint) or middleware (an access log) to what
    /// [`GraphQLServer::serve`] serves.
    pub fn map_router(mut self, map: impl Fn(Router) -> Router + Send + Sync + 'static) -> Self {
        self.map_router = Some(Arc::new(map));
        self
    }

    /// The GraphQL path (default `/graphql`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The health path (default `/health`); `None` removes it.
    pub fn health_path(mut self, path: Option<String>) -> Self {
        self.health_path = path;
        self
    }

    /// Whether clients see executor failures whole: the failing endpoint's URL and what the
    /// transport or upstream said (an HTTP error body). Off by default: a client gets a fixed
    /// message per kind of failure with its `extensions.code` (and HTTP status), and the log
    /// line with the request id (`x-request-id`) holds the detail. For development only.
    pub fn expose_upstream_details(mut self, expose: bool) -> Self {
        self.expose_upstream_details = expose;
        self
    }

    /// Replaces every limit.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Replaces the streaming settings.
    pub fn streaming(mut self, streaming: Streaming) -> Self {
        self.streaming = streaming;
        self
    }

    /// See [`Limits::max_body_bytes`].
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_body_bytes = bytes;
        self
    }

    /// See [`Limits::max_depth`].
    pub fn max_depth(mut self, depth: Option<usize>) -> Self {
        self.limits.max_depth = depth;
        self
    }

    /// See [`Limits::max_aliases`].
    pub fn max_aliases(mut self, aliases: Option<usize>) -> Self {
        self.limits.max_aliases = aliases;
        self
    }

    /// See [`Limits::max_selections`].
    pub fn max_selections(mut self, selections: Option<usize>) -> Self {
        self.limits.max_selections = selections;
        self
    }

    /// See [`Limits::max_root_fields`].
    pub fn max_root_fields(mut self, fields: Option<usize>) -> Self {
        self.limits.max_root_fields = fields;
        self
    }

    /// See [`Limits::max_tokens`].
    pub fn max_tokens(mut self, tokens: Option<usize>) -> Self {
        self.limits.max_tokens = tokens;
        self
    }

    /// See [`Limits::max_connections`].
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.limits.max_connections = connections;
        self
    }

    /// See [`Limits::header_read_timeout`].
    pub fn header_read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// See [`Limits::body_read_timeout`].
    pub fn body_read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.limits.body_read_timeout = timeout;
        self
    }

    /// See [`Limits::max_ws_connections`].
    pub fn max_ws_connections(mut self, connections: usize) -> Self {
        self.limits.max_ws_connections = connections;
        self
    }

    /// See [`Limits::max_subscriptions_per_client`].
    pub fn max_subscriptions_per_client(mut self, subscriptions: usize) -> Self {
        self.limits.max_subscriptions_per_client = subscriptions;
        self
    }

    /// See [`Limits::max_ws_connections_per_client`].
    pub fn max_ws_connections_per_client(mut self, connections: usize) -> Self {
        self.limits.max_ws_connections_per_client = connections;
        self
    }

    /// See [`Streaming::max_sse_reservations_per_client`].
    pub fn max_sse_reservations_per_client(mut self, reservations: usize) -> Self {
        self.streaming.max_sse_reservations_per_client = reservations;
        self
    }

    /// See [`Limits::max_subscriptions`].
    pub fn max_subscriptions(mut self, subscriptions: usize) -> Self {
        self.limits.max_subscriptions = subscriptions;
        self
    }

    /// See [`Limits::request_timeout`].
    pub fn request_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.limits.request_timeout = timeout;
        self
    }

    /// See [`Streaming::connection_init_timeout`].
    pub fn connection_init_timeout(mut self, timeout: Duration) -> Self {
        self.streaming.connection_init_timeout = timeout;
        self
    }

    /// See [`Streaming::keep_alive_interval`].
    pub fn keep_alive_interval(mut self, interval: Duration) -> Self {
        self.streaming.keep_alive_interval = interval;
        self
    }

    /// See [`Streaming::multipart_heartbeat`].
    pub fn multipart_heartbeat(mut self, interval: Duration) -> Self {
        self.streaming.multipart_heartbeat = interval;
        self
    }

    /// See [`Streaming::ws_idle_timeout`].
    pub fn ws_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.streaming.ws_idle_timeout = timeout;
        self
    }

    /// See [`Streaming::ws_ping`].
    pub fn ws_ping(mut self, enabled: bool) -> Self {
        self.streaming.ws_ping = enabled;
        self
    }

    /// See [`Streaming::sse_keep_alive`].
    pub fn sse_keep_alive(mut self, interval: Duration) -> Self {
        self.streaming.sse_keep_alive = interval;
        self
    }

    /// See [`Streaming::incremental_heartbeat`].
    pub fn incremental_heartbeat(mut self, interval: Option<Duration>) -> Self {
        self.streaming.incremental_heartbeat = interval;
        self
    }

    /// Serve GraphiQL at GET with `Accept: text/html` (default true).
    pub fn graphiql(mut self, enabled: bool) -> Self {
        self.graphiql = enabled;
        self
    }

    /// The base URL GraphiQL's page loads its scripts and styles from, laid out as the npm
    /// CDNs are (`{base}/graphiql@3.8.3/graphiql.min.js`, `{base}/react@18.3.1/umd/...`);
    /// default `https://unpkg.com`. Point it at a mirror, or at a static route serving the npm
    /// packages, where browsers cannot reach the CDN.
    pub fn graphiql_assets(mut self, base_url: impl Into<String>) -> Self {
        self.graphiql_assets = base_url.into();
        self
    }

    /// CORS for every route, and the origins WebSocket upgrades may come from (default: none,
    /// so browsers only reach the server from its own origin). [`Cors::any`] allows every
    /// origin.
    pub fn cors(mut self, cors: Cors) -> Self {
        self.cors = Some(cors);
        self
    }

    /// A CORS layer of your own for every route, in place of the one [`cors`](Self::cors)
    /// builds (whose origins still decide which WebSocket upgrades are taken; without it, only
    /// same-origin and origin-less ones are).
    pub fn cors_layer(mut self, layer: CorsLayer) -> Self {
        self.cors_layer = Some(layer);
        self
    }

    /// CSRF prevention (default on: see [`Csrf`]); [`Csrf::disabled`] turns it off.
    pub fn csrf(mut self, csrf: Csrf) -> Self {
        self.csrf = csrf;
        self
    }

    /// Whether operations may select `__schema` and `__type` (default true). When false they
    /// are refused with `INTROSPECTION_DISABLED` over every transport; `__typename` still
    /// works. GraphiQL then has no schema to show.
    pub fn introspection(mut self, enabled: bool) -> Self {
        self.introspection = enabled;
        self
    }

    /// Persisted operations: automatic persisted queries (on by default, in memory) and an
    /// allow-list from a manifest (see [`PersistedQueries`]); [`PersistedQueries::disabled`]
    /// turns them off.
    pub fn persisted_queries(mut self, persisted: PersistedQueries) -> Self {
        self.persisted = persisted;
        self
    }

    /// Called on every WebSocket `connection_init`: `Ok(context)` acknowledges the connection
    /// and every operation of it carries that context; `Err(reason)` closes it with 4403.
    pub fn on_connect<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(ConnectionInit) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Context, String>> + Send + 'static,
    {
        self.hooks.on_connect = Some(Arc::new(move |init| Box::pin(hook(init))));
        self
    }

    /// Inbound in-flight deduplication (default: off): concurrent identical queries over HTTP
    /// that take a JSON answer share one execution and one serialized body (see
    /// [`InboundDedup`](crate::InboundDedup)). Keep a clone of `dedup` to read its counters.
    pub fn dedup(mut self, dedup: crate::InboundDedup) -> Self {
        self.dedup = Some(dedup);
        self
    }

    /// Receives the messages of HTTP callback subscriptions at `path` (POST `{path}/{id}`, and
    /// `{path}` with the id in the body only) and hands them to `registry` (see
    /// [`quilt_executor::callback`]): the gateway's [`CallbackExecutor`](quilt_executor::CallbackExecutor)s
    /// register their subscriptions in the same registry, whose public URL must lead here.
    /// Bodies are limited by [`Limits::max_body_bytes`] (413 above it).
    ///
    /// ```
    /// use quilt_executor::{from_fn, CallbackRegistry, ExecutionResult, Request, Response};
    /// use quilt_server::GraphQLServer;
    /// let registry = CallbackRegistry::new("http://127.0.0.1:4000/callback")?;
    /// let executor = from_fn(|_request: Request| async {
    ///     Ok(Response::Single(ExecutionResult::default()))
    /// });
    /// let server = GraphQLServer::builder(executor).callback("/callback", registry).build();
    /// # drop(server);
    /// # Ok::<(), quilt_executor::ExecutorError>(())
    /// ```
    pub fn callback(mut self, path: impl Into<String>, registry: CallbackRegistry) -> Self {
        self.callback = Some((path.into(), registry));
        self
    }

    /// Called when a WebSocket connection ends.
    pub fn on_disconnect<F>(mut self, hook: F) -> Self
    where
        F: Fn(Disconnect) + Send + Sync + 'static,
    {
        self.hooks.on_disconnect = Some(Arc::new(hook));
        self
    }

    /// Draws connections, WebSocket connections, subscriptions, each client's shares, the
    /// upload budget and the SSE single-connection reservations from pools other servers of
    /// the process share ([`SharedLimits`](crate::SharedLimits)), instead of pools of its own.
    pub fn shared_limits(mut self, shared: crate::SharedLimits) -> Self {
        self.shared_limits = Some(shared);
        self
    }

    /// Builds the server.
    pub fn build(self) -> GraphQLServer {
        let shared = self
            .shared_limits
            .unwrap_or_else(|| crate::SharedLimits::new(&self.limits, &self.streaming));
        let state = ServerState {
            executor: self.executor,
            connections: shared.connections,
            ws_connections: shared.ws_connections,
            subscriptions: shared.subscriptions,
            graphiql: self.graphiql,
            graphiql_assets: self.graphiql_assets,
            hooks: self.hooks,
            shutdown: CancellationToken::new(),
            draining: CancellationToken::new(),
            tasks: TaskTracker::new(),
            reservations: shared.reservations,
            dedup: self.dedup,
            expose_upstream_details: self.expose_upstream_details,
            documents: crate::operation::documents::DocumentCache::new(
                if self.limits.document_cache_bytes == 0 {
                    0
                } else {
                    crate::operation::documents::DEFAULT_CAPACITY
                },
                self.limits.document_cache_bytes,
            ),
            peer_subscriptions: shared.peer_subscriptions,
            peer_ws_connections: shared.peer_ws_connections,
            peer_reservations: shared.peer_reservations,
            upload_budget: shared.upload_budget,
            limits: self.limits,
            streaming: self.streaming,
            operation_names: self
                .operation_names
                .map(|cap| Arc::new(crate::metrics::OperationNames::new(cap))),
            csrf: self.csrf,
            introspection: self.introspection,
            persisted: (self.persisted.apq
                || self.persisted.manifest.is_some()
                || self.persisted.only_persisted)
                .then_some(self.persisted),
            cors: self.cors.clone(),
        };
        GraphQLServer {
            state: Arc::new(state),
            path: self.path,
            health_path: self.health_path,
            cors: self
                .cors_layer
                .or_else(|| self.cors.map(|cors| cors.layer())),
            callback: self.callback,
            map_router: self.map_router,
        }
    }
}
