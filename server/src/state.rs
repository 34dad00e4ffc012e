//! What every handler shares: the executor, the settings, and the server-wide counters.

use std::sync::Arc;

use quilt_executor::SharedExecutor;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Limits, Streaming};
use crate::transport::sse_single::Reservations;
use crate::ws::hooks::Hooks;

/// The state behind every route of one server.
pub(crate) struct ServerState {
    pub executor: SharedExecutor,
    pub limits: Limits,
    pub streaming: Streaming,
    pub graphiql: bool,
    /// The base URL GraphiQL's page loads its assets from.
    pub graphiql_assets: String,
    pub hooks: Hooks,
    /// Cancelled when graceful shutdown starts: streams complete, sockets close.
    pub shutdown: CancellationToken,
    /// Cancelled at the shutdown signal, [`Streaming::shutdown_delay`] before `shutdown`:
    /// readiness fails from then on while requests are still taken.
    pub draining: CancellationToken,
    /// WebSocket connection tasks, awaited by graceful shutdown.
    pub tasks: TaskTracker,
    /// One permit per open TCP connection (the server's own accept loop).
    pub connections: Arc<Semaphore>,
    /// One permit per open WebSocket connection.
    pub ws_connections: Arc<Semaphore>,
    /// One permit per open subscription, over every transport.
    pub subscriptions: Arc<Semaphore>,
    /// Each client's share of subscriptions.
    pub peer_subscriptions: Arc<crate::fair::PeerCounter>,
    /// Each client's share of WebSocket connections.
    pub peer_ws_connections: Arc<crate::fair::PeerCounter>,
    /// Each client's share of SSE reservations.
    pub peer_reservations: Arc<crate::fair::PeerCounter>,
    /// SSE single-connection-mode reservations.
    pub reservations: Arc<Reservations>,
    /// The upload budget, one permit per KiB of upload requests in flight.
    pub upload_budget: Arc<Semaphore>,
    /// Parsed documents by their text.
    pub documents: crate::operation::documents::DocumentCache,
    /// Inbound in-flight deduplication of JSON answers, when on.
    pub dedup: Option<crate::pipeline::inbound_dedup::InboundDedup>,
    /// The operation names used as metric labels, when they are.
    pub operation_names: Option<Arc<crate::metrics::OperationNames>>,
    /// CSRF prevention.
    pub csrf: crate::Csrf,
    /// The CORS settings, when given as data (the WebSocket origin check reads them).
    pub cors: Option<crate::Cors>,
    /// Whether operations may select `__schema` and `__type`.
    pub introspection: bool,
    /// Persisted operations, when on.
    pub persisted: Option<crate::PersistedQueries>,
    /// Whether clients see executor failures whole (endpoint, upstream text); else masked.
    pub expose_upstream_details: bool,
}

pub(crate) type SharedState = Arc<ServerState>;
