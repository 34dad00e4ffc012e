//! The accept loop: connections taken from the listener up to a cap, each served by hyper with
//! a header read timeout (which also bounds how long a keep-alive connection may stay idle),
//! accept errors met with a back-off instead of a busy loop, and graceful shutdown.
//!
//! `axum::serve` has none of these bounds: a client that opens a socket and sends nothing, or
//! half a request head, holds it for ever, and enough of them exhaust the process's file
//! descriptors.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
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

/// Accepts and serves connections on `listener` until `stop` is cancelled, then stops
/// accepting and lets the connections finish their requests (hyper's graceful shutdown) for
/// at most `drain`.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &Limits,
    connections: Arc<Semaphore>,
    stop: CancellationToken,
    drain: Duration,
) {
    let builder = Arc::new(builder(limits));
    let graceful = GracefulShutdown::new();
    let mut backoff = BACKOFF_MIN;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                backoff = BACKOFF_MIN;
                accepted
            }
            Err(error) if is_connection_error(&error) => continue,
            Err(error) => {
                // Out of descriptors (EMFILE, ENFILE) or memory: the connections we have keep
                // being served; accepting resumes as soon as the pause is over.
                tracing::warn!(%error, pause = ?backoff, "accepting a connection failed");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = stop.cancelled() => break,
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            refuse(stream);
            continue;
        };
        // Streamed answers (incremental delivery, SSE, multipart, WebSocket) are written as
        // several small segments: with Nagle's algorithm on, each one after the first waited
        // for the client's delayed ACK (about 40 ms on Linux), which the incremental delivery
        // benchmark measured as a 40 ms initial payload.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, %peer, "TCP_NODELAY could not be set");
        }
        // Each request carries the connection's slot: a WebSocket upgrade keeps it for as long
        // as the socket lives (hyper's connection ends at the upgrade).
        let permit = ConnectionSlot {
            _permit: Arc::new(permit),
        };
        let service = hyper::service::service_fn({
            let router = router.clone();
            let permit = permit.clone();
            move |mut request: http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.extensions_mut().insert(permit.clone());
                router.clone().oneshot(request.map(axum::body::Body::new))
            }
        });
        let builder = Arc::clone(&builder);
        let watcher = graceful.watcher();
        let first_bytes = limits.header_read_timeout;
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
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(?drain, "graceful shutdown timed out; dropping connections");
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

/// One connection's slot of [`Limits::max_connections`], freed when the last clone is dropped.
#[derive(Clone)]
pub(crate) struct ConnectionSlot {
    _permit: Arc<tokio::sync::OwnedSemaphorePermit>,
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
