//! What several servers of one process share: the counters behind their limits and the SSE
//! single-connection reservations.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::config::{Limits, Streaming};
use crate::fair::PeerCounter;
use crate::transport::sse_single::Reservations;

/// The pools several servers of one process draw from together, given to each with
/// [`GraphQLServerBuilder::shared_limits`](crate::GraphQLServerBuilder::shared_limits): open
/// connections ([`Limits::max_connections`]), WebSocket connections, subscriptions, each
/// client's shares of them, the upload budget, and the SSE single-connection reservations.
///
/// Without it each server counts only its own clients. That is wrong where several servers
/// answer one address, as the serving threads of a gateway do (each a single-threaded event
/// loop with its own server, on one port): a cap of 10 000 connections would let each thread
/// take 10 000, and an SSE stream reserved through one thread would be unknown to the thread
/// that takes the client's next connection. Make it from the same [`Limits`] and
/// [`Streaming`] the servers are built with (their error messages quote those).
///
/// ```
/// use quilt_executor::{from_fn, ExecutionResult, Request, Response};
/// use quilt_server::{GraphQLServer, Limits, SharedLimits, Streaming};
///
/// let (limits, streaming) = (Limits::default(), Streaming::default());
/// let shared = SharedLimits::new(&limits, &streaming);
/// let servers: Vec<GraphQLServer> = (0..2)
///     .map(|_| {
///         let executor = from_fn(|_request: Request| async {
///             Ok(Response::Single(ExecutionResult::from_data(serde_json::json!({ "ok": true }))))
///         });
///         GraphQLServer::builder(executor)
///             .limits(limits.clone())
///             .streaming(streaming.clone())
///             .shared_limits(shared.clone())
///             .build()
///     })
///     .collect();
/// # drop(servers);
/// ```
#[derive(Clone)]
pub struct SharedLimits {
    pub(crate) connections: Arc<Semaphore>,
    pub(crate) ws_connections: Arc<Semaphore>,
    pub(crate) subscriptions: Arc<Semaphore>,
    pub(crate) peer_subscriptions: Arc<PeerCounter>,
    pub(crate) peer_ws_connections: Arc<PeerCounter>,
    pub(crate) peer_reservations: Arc<PeerCounter>,
    pub(crate) upload_budget: Arc<Semaphore>,
    pub(crate) reservations: Arc<Reservations>,
}

impl SharedLimits {
    /// Empty pools of the sizes `limits` and `streaming` give.
    pub fn new(limits: &Limits, streaming: &Streaming) -> Self {
        Self {
            connections: Arc::new(Semaphore::new(
                limits.max_connections.min(Semaphore::MAX_PERMITS),
            )),
            ws_connections: Arc::new(Semaphore::new(
                limits.max_ws_connections.min(Semaphore::MAX_PERMITS),
            )),
            subscriptions: Arc::new(Semaphore::new(
                limits.max_subscriptions.min(Semaphore::MAX_PERMITS),
            )),
            peer_subscriptions: PeerCounter::new(limits.max_subscriptions_per_client),
            peer_ws_connections: PeerCounter::new(limits.max_ws_connections_per_client),
            peer_reservations: PeerCounter::new(streaming.max_sse_reservations_per_client),
            upload_budget: Arc::new(Semaphore::new(
                (limits.max_upload_bytes_in_flight / 1024).min(Semaphore::MAX_PERMITS),
            )),
            reservations: Arc::default(),
        }
    }
}

impl std::fmt::Debug for SharedLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLimits")
            .field("connections_free", &self.connections.available_permits())
            .field(
                "ws_connections_free",
                &self.ws_connections.available_permits(),
            )
            .field(
                "subscriptions_free",
                &self.subscriptions.available_permits(),
            )
            .finish_non_exhaustive()
    }
}
