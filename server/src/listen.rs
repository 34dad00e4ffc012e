//! The accept loop: connections taken from the listener up to a cap, each served by hyper with
//! a header read timeout (which also bounds how long a keep-alive connection may stay idle),
//! accept errors met with a back-off instead of a busy loop, and graceful shutdown.
//!
//! `axum::serve` has none of these bounds: a client that opens a socket and sends nothing, or
//! half a request head, holds it for ever, and enough of them exhaust the process's file
//! descriptors.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use crate::config::Limits;

/// The shortest and longest pause after an accept error that is not about one connection
/// (out of file descriptors, out of memory).
const BACKOFF_MIN: Duration = Duration::from_millis(5);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// How often an HTTP/2 connection is pinged, and how long the answer may take.
const H2_PING: Duration = Duration::from_secs(20);

/// What a refused connection is told before it is closed.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\nretry-after: 1\r\n\
content-type: application/json\r\ncontent-length: 94\r\n\r\n\
{\"errors\":[{\"message\":\"too many open connections\",\"extensions\":{\"code\":\"CAPACITY_EXCEEDED\"}}]}";

/// Where a server's connections come from: its own listener, or a [`Balancer`]'s lane.
pub(crate) enum Source {
    /// Accepted here, up to [`Limits::max_connections`].
    Listener(TcpListener),
    /// Accepted by a [`Balancer`] (which holds the cap) and handed over.
    Lane(Lane),
}

/// Accepts and serves connections from `source` until `stop` is cancelled, then stops
/// accepting and lets the connections finish their requests (hyper's graceful shutdown) for
/// at most `drain`.
pub(crate) async fn serve(
    source: Source,
    router: Router,
    limits: &Limits,
    stop: CancellationToken,
    drain: Duration,
) {
    let builder = Arc::new(builder(limits));
    let graceful = GracefulShutdown::new();
    let serving = Serving {
        router: &router,
        builder: &builder,
        graceful: &graceful,
        first_bytes: limits.header_read_timeout,
    };
    match source {
        Source::Listener(listener) => {
            let connections = Arc::new(Semaphore::new(limits.max_connections));
            let mut backoff = BACKOFF_MIN;
            while let Some((stream, peer)) = accept(&listener, &stop, &mut backoff).await {
                let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
                    refuse(stream);
                    continue;
                };
                serving.spawn(stream, peer, ConnectionSlot::new(permit, None));
            }
        }
        Source::Lane(mut lane) => loop {
            let handed = tokio::select! {
                handed = lane.receiver.recv() => handed,
                () = stop.cancelled() => break,
            };
            let Some(Handed {
                stream,
                peer,
                permit,
            }) = handed
            else {
                // The balancer stopped: serve what is open until the shutdown.
                stop.cancelled().await;
                break;
            };
            let slot = ConnectionSlot::new(permit, Some(Arc::clone(&lane.open)));
            match TcpStream::from_std(stream) {
                Ok(stream) => serving.spawn(stream, peer, slot),
                Err(error) => {
                    tracing::warn!(%error, %peer, "a handed-over connection could not be served")
                }
            }
        },
    }
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(?drain, "graceful shutdown timed out; dropping connections");
    }
}

/// The next connection on `listener`, or `None` once `stop` is cancelled. Errors about one
/// connection are skipped; others (out of file descriptors, out of memory) are met with a
/// pause that doubles from [`BACKOFF_MIN`] to [`BACKOFF_MAX`], during which the connections
/// already open keep being served.
async fn accept(
    listener: &TcpListener,
    stop: &CancellationToken,
    backoff: &mut Duration,
) -> Option<(TcpStream, SocketAddr)> {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => return None,
        };
        match accepted {
            Ok(accepted) => {
                *backoff = BACKOFF_MIN;
                return Some(accepted);
            }
            Err(error) if is_connection_error(&error) => {}
            Err(error) => {
                tracing::warn!(%error, pause = ?*backoff, "accepting a connection failed");
                tokio::select! {
                    () = tokio::time::sleep(*backoff) => {}
                    () = stop.cancelled() => return None,
                }
                *backoff = (*backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

/// What serving one accepted connection needs.
struct Serving<'a> {
    router: &'a Router,
    builder: &'a Arc<Builder<TokioExecutor>>,
    graceful: &'a GracefulShutdown,
    first_bytes: Option<Duration>,
}

impl Serving<'_> {
    /// Serves `stream` on a task of its own, holding `slot` until it ends.
    fn spawn(&self, stream: TcpStream, peer: SocketAddr, slot: ConnectionSlot) {
        // Streamed answers (incremental delivery, SSE, multipart, WebSocket) are written as
        // several small segments: with Nagle's algorithm on, each one after the first waited
        // for the client's delayed ACK (about 40 ms on Linux), which the incremental delivery
        // benchmark measured as a 40 ms initial payload.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, %peer, "TCP_NODELAY could not be set");
        }
        // Each request carries the connection's slot: a WebSocket upgrade keeps it for as long
        // as the socket lives (hyper's connection ends at the upgrade).
        let service = hyper::service::service_fn({
            let router = self.router.clone();
            let slot = slot.clone();
            move |mut request: http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.extensions_mut().insert(slot.clone());
                router.clone().oneshot(request.map(axum::body::Body::new))
            }
        });
        let builder = Arc::clone(self.builder);
        let watcher = self.graceful.watcher();
        let first_bytes = self.first_bytes;
        tokio::spawn(async move {
            // hyper's header read timeout starts once it knows the protocol, which takes the
            // first bytes: a socket that sends none is closed here.
            if let Some(limit) = first_bytes
                && !first_bytes_within(&stream, limit).await
            {
                return;
            }
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .into_owned();
            if let Err(error) = watcher.watch(connection).await {
                tracing::trace!(%error, %peer, "connection ended with an error");
            }
            drop(slot);
        });
    }
}

/// Accepts connections on one listener and hands each to one of several servers, the one
/// with the fewest connections open, so that servers running on their own threads (each a
/// single-threaded event loop) share the work evenly.
///
/// Each [`Balancer::lane`] is served by one server
/// ([`GraphQLServer::serve_lane`](crate::GraphQLServer::serve_lane)), usually on a thread of
/// its own; [`Balancer::run`] accepts until its token is cancelled. The cap on open
/// connections is the balancer's, for all lanes together (503 `CAPACITY_EXCEEDED` and close
/// over it, as [`Limits::max_connections`] does for a server's own listener); the servers'
/// other limits and timeouts apply to the connections they are handed.
///
/// Why not `SO_REUSEPORT` (a listener per thread on one port): the kernel spreads the
/// connections by a hash of their addresses, not by load, so a few long-lived connections
/// often land unevenly — one thread serving three of four while the other idles — and the
/// busy thread's queue becomes the tail latency of the whole process.
///
/// ```no_run
/// use quilt_executor::{from_fn, ExecutionResult, Request, Response};
/// use quilt_server::{Balancer, GraphQLServer};
///
/// # async fn run() -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:4000").await?;
/// let mut balancer = Balancer::new(listener, 10_000);
/// for _ in 0..2 {
///     let lane = balancer.lane();
///     std::thread::spawn(move || {
///         let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
///         runtime.block_on(async move {
///             let executor = from_fn(|_request: Request| async {
///                 Ok(Response::Single(ExecutionResult::from_data(serde_json::json!({ "hello": "world" }))))
///             });
///             GraphQLServer::builder(executor).build().serve_lane(lane).await
///         })
///     });
/// }
/// balancer.run(tokio_util::sync::CancellationToken::new()).await;
/// # Ok(())
/// # }
/// ```
pub struct Balancer {
    listener: TcpListener,
    connections: Arc<Semaphore>,
    lanes: Vec<LaneEnd>,
    /// Where the search for the least-loaded lane starts (it moves on each time, so that ties
    /// do not all go to the first lane).
    next: usize,
}

/// The balancer's end of a lane.
struct LaneEnd {
    sender: mpsc::UnboundedSender<Handed>,
    open: Arc<AtomicUsize>,
}

/// Connections handed over by a [`Balancer`], for one server to serve
/// ([`GraphQLServer::serve_lane`](crate::GraphQLServer::serve_lane)).
pub struct Lane {
    receiver: mpsc::UnboundedReceiver<Handed>,
    /// The connections open on this lane: one more from when the balancer hands one over,
    /// one less when its slot is freed.
    open: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lane").finish_non_exhaustive()
    }
}

/// One accepted connection on its way to a lane (outside any event loop while it travels).
struct Handed {
    stream: std::net::TcpStream,
    peer: SocketAddr,
    permit: tokio::sync::OwnedSemaphorePermit,
}

impl Balancer {
    /// A balancer over `listener` that keeps at most `max_connections` open in all its lanes.
    pub fn new(listener: TcpListener, max_connections: usize) -> Self {
        Self {
            listener,
            connections: Arc::new(Semaphore::new(max_connections)),
            lanes: Vec::new(),
            next: 0,
        }
    }

    /// The address the balancer accepts on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// A new lane: connections accepted from now on may be handed to it.
    pub fn lane(&mut self) -> Lane {
        let (sender, receiver) = mpsc::unbounded_channel();
        let open = Arc::new(AtomicUsize::new(0));
        self.lanes.push(LaneEnd {
            sender,
            open: Arc::clone(&open),
        });
        Lane { receiver, open }
    }

    /// Accepts until `stop` is cancelled (or every lane's server has stopped), handing each
    /// connection to the lane with the fewest open. Connections over the cap are answered
    /// 503 and closed; a connection that no lane takes any more is closed.
    pub async fn run(mut self, stop: CancellationToken) {
        let mut backoff = BACKOFF_MIN;
        while let Some((stream, peer)) = accept(&self.listener, &stop, &mut backoff).await {
            let Ok(permit) = Arc::clone(&self.connections).try_acquire_owned() else {
                refuse(stream);
                continue;
            };
            // Out of the accepting event loop, into the serving one (`TcpStream::from_std`).
            let stream = match stream.into_std() {
                Ok(stream) => stream,
                Err(error) => {
                    tracing::warn!(%error, %peer, "an accepted connection could not be handed over");
                    continue;
                }
            };
            let mut handed = Handed {
                stream,
                peer,
                permit,
            };
            loop {
                let Some(lane) = self.least_loaded() else {
                    tracing::debug!("every lane has stopped: the balancer stops");
                    return;
                };
                let end = &self.lanes[lane];
                end.open.fetch_add(1, Ordering::Relaxed);
                match end.sender.send(handed) {
                    Ok(()) => break,
                    Err(mpsc::error::SendError(back)) => {
                        // Its server has stopped (the lane counts as closed from now on).
                        end.open.fetch_sub(1, Ordering::Relaxed);
                        handed = back;
                    }
                }
            }
        }
    }

    /// The open lane with the fewest connections open, searched from a place that moves on
    /// each time.
    fn least_loaded(&mut self) -> Option<usize> {
        let count = self.lanes.len();
        let start = self.next;
        self.next = if count == 0 { 0 } else { (start + 1) % count };
        (0..count)
            .map(|k| (start + k) % count)
            .filter(|&lane| !self.lanes[lane].sender.is_closed())
            .min_by_key(|&lane| self.lanes[lane].open.load(Ordering::Relaxed))
    }
}

/// The HTTP/2 connection preface, which hyper reads whole before it chooses a protocol.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Whether `stream` brings enough bytes for hyper to choose HTTP/1 or HTTP/2 within `limit`.
async fn first_bytes_within(stream: &TcpStream, limit: Duration) -> bool {
    let arrived = async {
        let mut buffer = [0u8; 24];
        loop {
            let n = match stream.peek(&mut buffer).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => n,
            };
            if n >= H2_PREFACE.len() || buffer[..n] != H2_PREFACE[..n] {
                return true;
            }
            // Part of the HTTP/2 preface: peeking again returns at once, so wait a little for
            // the rest (rare: clients send the preface in one segment).
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(limit, arrived).await.unwrap_or(false)
}

/// hyper's connection settings from `limits`.
fn builder(limits: &Limits) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .enable_connect_protocol()
        // Pings find peers that vanished without closing (HTTP/2 has no idle read to time out).
        .keep_alive_interval(H2_PING)
        .keep_alive_timeout(H2_PING);
    builder
}

/// Tells a connection over the cap so, without waiting for it (a write that would block is
/// skipped), and closes it.
fn refuse(stream: TcpStream) {
    tracing::debug!("refusing a connection: the connection limit is reached");
    let _ = stream.try_write(REFUSAL);
}

/// Errors about one connection (it was reset before it was accepted): nothing to wait for.
fn is_connection_error(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// One connection's slot of [`Limits::max_connections`] (or of a [`Balancer`]'s cap), freed
/// when the last clone is dropped; for a connection handed over by a balancer, also its count
/// in its lane's open connections.
#[derive(Clone)]
pub(crate) struct ConnectionSlot {
    _inner: Arc<SlotInner>,
}

struct SlotInner {
    _permit: tokio::sync::OwnedSemaphorePermit,
    open: Option<Arc<AtomicUsize>>,
}

impl Drop for SlotInner {
    fn drop(&mut self) {
        if let Some(open) = &self.open {
            open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl ConnectionSlot {
    /// The slot of `permit`; with `open`, a count that is already one more for this
    /// connection and comes down when the slot is freed.
    fn new(permit: tokio::sync::OwnedSemaphorePermit, open: Option<Arc<AtomicUsize>>) -> Self {
        Self {
            _inner: Arc::new(SlotInner {
                _permit: permit,
                open,
            }),
        }
    }
}

/// The connection slot of a request served by [`serve`].
pub(crate) fn slot(extensions: &http::Extensions) -> Option<ConnectionSlot> {
    extensions.get::<ConnectionSlot>().cloned()
}

/// The peer address of a request served by [`serve`] (absent when the router is served some
/// other way).
pub(crate) fn peer(extensions: &http::Extensions) -> Option<std::net::IpAddr> {
    extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_a_complete_response() {
        let text = std::str::from_utf8(REFUSAL).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let _: serde_json::Value = serde_json::from_str(body).unwrap();
    }
}
