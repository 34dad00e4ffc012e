//! [`GraphQLServer`]: one line to serve an executor, a builder to tune it.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::routing::{any, get};
use quilt_executor::{CallbackRegistry, Executor};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::cors::CorsLayer;

use crate::builder::GraphQLServerBuilder;
use crate::state::SharedState;

/// A GraphQL server for any [`Executor`]: GraphQL over HTTP (GET, POST, uploads), WebSocket
/// (`graphql-transport-ws` and legacy `graphql-ws`), SSE (distinct and single connection
/// modes), `multipart/mixed` (incremental delivery and Apollo subscriptions), GraphiQL and
/// `/health`.
///
/// ```no_run
/// use quilt_executor::{from_fn, ExecutionResult, Request, Response};
/// use quilt_server::GraphQLServer;
///
/// # async fn run() -> std::io::Result<()> {
/// let executor = from_fn(|_request: Request| async {
///     Ok(Response::Single(ExecutionResult::from_data(serde_json::json!({ "hello": "world" }))))
/// });
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:4000").await?;
/// GraphQLServer::new(executor).serve(listener).await
/// # }
/// ```
pub struct GraphQLServer {
    pub(crate) state: SharedState,
    pub(crate) path: String,
    pub(crate) health_path: Option<String>,
    pub(crate) cors: Option<CorsLayer>,
    pub(crate) callback: Option<(String, CallbackRegistry)>,
    pub(crate) map_router: Option<MapRouter>,
}

/// A function applied to the finished router (see [`GraphQLServerBuilder::map_router`]).
pub(crate) type MapRouter = Arc<dyn Fn(Router) -> Router + Send + Sync>;

impl GraphQLServer {
    /// A server with the default settings, GraphQL on `/graphql`.
    pub fn new(executor: impl Executor) -> Self {
        Self::builder(executor).build()
    }

    /// A builder to tune the server.
    pub fn builder(executor: impl Executor) -> GraphQLServerBuilder {
        GraphQLServerBuilder::new(executor)
    }

    /// The axum router: the GraphQL path (every protocol), the health path, and the callback
    /// route when there is one. Embed it in a larger application with [`Router::merge`] or
    /// [`Router::nest`].
    pub fn router(&self) -> Router {
        let mut router = Router::new().route(&self.path, any(crate::pipeline::graphql_endpoint));
        if let Some(health) = &self.health_path {
            let base = health.trim_end_matches('/');
            router = router
                .route(health, get(crate::health::health))
                .route(&format!("{base}/ready"), get(crate::health::health))
                .route(&format!("{base}/live"), get(crate::health::live));
        }
        let mut router = router.with_state(self.state.clone());
        if let Some((path, registry)) = &self.callback {
            router = router.merge(crate::callback::routes(
                path,
                registry.clone(),
                self.state.limits.max_body_bytes,
            ));
        }
        let router = match &self.cors {
            Some(cors) => router.layer(cors.clone()),
            None => router,
        };
        match &self.map_router {
            Some(map) => map(router),
            None => router,
        }
    }

    /// What the server holds open now: WebSocket connections and their tasks, subscriptions
    /// over every transport, SSE single-connection reservations. All return to zero once every
    /// client has left. With [`SharedLimits`](crate::SharedLimits), the connections,
    /// subscriptions and reservations are those of every server sharing them (the tasks are
    /// this server's).
    pub fn stats(&self) -> ServerStats {
        let state = &self.state;
        ServerStats {
            websocket_connections: state
                .limits
                .max_ws_connections
                .saturating_sub(state.ws_connections.available_permits()),
            websocket_tasks: state.tasks.len(),
            subscriptions: state
                .limits
                .max_subscriptions
                .saturating_sub(state.subscriptions.available_permits()),
            sse_reservations: state.reservations.len(),
        }
    }

    /// A token that starts graceful shutdown when cancelled (the same as the signal given to
    /// [`GraphQLServer::serve_with_shutdown`]); useful when the router is embedded.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.state.shutdown.clone()
    }

    /// Serves on `listener` until SIGTERM or SIGINT (Ctrl-C), then shuts down gracefully
    /// ([`serve_with_shutdown`](Self::serve_with_shutdown)); a second signal during the drain
    /// exits the process at once ([`shutdown_signal`]).
    pub async fn serve(self, listener: TcpListener) -> std::io::Result<()> {
        self.serve_with_shutdown(listener, shutdown_signal()).await
    }

    /// Serves on `listener` until `signal` completes (or [`GraphQLServer::shutdown_token`] is
    /// cancelled), then shuts down gracefully: no new connections are accepted; queries and
    /// mutations in flight finish; every subscription is completed (SSE `complete`, multipart
    /// end marker, WebSocket `complete` then close 1001); at most
    /// [`Streaming::shutdown_timeout`](crate::Streaming::shutdown_timeout) is waited.
    pub async fn serve_with_shutdown<F>(
        self,
        listener: TcpListener,
        signal: F,
    ) -> std::io::Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let state = self.state.clone();
        let router = self.router();
        let token = state.shutdown.clone();
        let draining = state.draining.clone();
        let delay = state.streaming.shutdown_delay;
        let stop = token.clone();
        let shutdown_signal = async move {
            tokio::select! {
                _ = signal => {}
                _ = token.cancelled() => {}
            }
            // Readiness fails first; requests are still taken during the delay.
            draining.cancel();
            if !delay.is_zero() && !token.is_cancelled() {
                tracing::info!(
                    ?delay,
                    "shutdown signal: readiness failing, draining after the delay"
                );
                tokio::time::sleep(delay).await;
            }
            tracing::info!("graceful shutdown started");
            token.cancel();
        };
        let drain_limit = state.streaming.shutdown_timeout;
        tokio::join!(
            crate::listen::serve(
                listener,
                router,
                &state.limits,
                Arc::clone(&state.connections),
                stop,
                drain_limit
            ),
            shutdown_signal
        );
        state.tasks.close();
        if tokio::time::timeout(drain_limit, state.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("WebSocket connections did not close in time");
        }
        Ok(())
    }
}

/// What a [`GraphQLServer`] holds open at one moment ([`GraphQLServer::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// WebSocket connections open (each holds one permit of
    /// [`Limits::max_ws_connections`](crate::Limits::max_ws_connections)).
    pub websocket_connections: usize,
    /// WebSocket connection tasks still running (graceful shutdown awaits them).
    pub websocket_tasks: usize,
    /// Subscriptions open over every transport (each holds one permit of
    /// [`Limits::max_subscriptions`](crate::Limits::max_subscriptions) until its stream is dropped).
    pub subscriptions: usize,
    /// SSE single-connection reservations held.
    pub sse_reservations: usize,
}

/// Resolves at the first SIGTERM (what systemd, Docker and Kubernetes send) or SIGINT
/// (Ctrl-C): the signal to drain. A second one while draining exits the process at once
/// (status 130), for an operator who cannot wait. [`GraphQLServer::serve`] waits for it; pass
/// it to [`GraphQLServer::serve_with_shutdown`] with other conditions.
///
/// ```no_run
/// # async fn demo(server: quilt_server::GraphQLServer, listener: tokio::net::TcpListener) {
/// server
///     .serve_with_shutdown(listener, quilt_server::shutdown_signal())
///     .await
///     .unwrap();
/// # }
/// ```
pub async fn shutdown_signal() {
    termination().await;
    tracing::info!("signal received: draining (a second signal exits at once)");
    tokio::spawn(async {
        termination().await;
        tracing::warn!("second signal: exiting without draining");
        std::process::exit(130);
    });
}

/// The next SIGTERM or SIGINT.
async fn termination() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C drains");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
