//! The server's settings: limits and intervals, with defaults that suit a public gateway.

use std::time::Duration;

/// Limits that protect the server from oversized or abusive requests. Each one, when crossed,
/// gives the client a GraphQL error (HTTP) or a close code / `error` message (WebSocket) that
/// names the limit; `None` switches a limit off.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest JSON or GET request accepted, in bytes (413 above it). Default 2 MiB.
    pub max_body_bytes: usize,
    /// The largest `multipart/form-data` upload request, in bytes (413 above it). Default 32 MiB.
    pub max_upload_bytes: usize,
    /// The most files one upload request may carry. Default 16.
    pub max_upload_files: usize,
    /// The most lexical tokens in a document, counted before it is parsed. Default 15 000.
    pub max_tokens: Option<usize>,
    /// The deepest field nesting (root fields are depth 1), fragments expanded. Default 32.
    pub max_depth: Option<usize>,
    /// The most aliased fields in the selected operation, fragments expanded (a fragment
    /// spread three times counts its aliases three times). Default 100.
    pub max_aliases: Option<usize>,
    /// The most field selections in the selected operation once its fragments are expanded,
    /// each spread counting its fragment's whole (computed once per fragment, so checking it
    /// costs time linear in the document's size). Bounds what one request may make the
    /// gateway and its subschemas walk: a kilobyte of nested fragments each spreading the
    /// next one twice expands to millions of fields. The benchmark's heavy query has 55, the full
    /// introspection query 212. Default 5 000.
    pub max_selections: Option<usize>,
    /// The most root fields in the selected operation, fragments expanded. Default 100.
    pub max_root_fields: Option<usize>,
    /// How many bytes of memory the cache of parsed documents may take (up to 1 024
    /// documents, each weighed by
    /// [`parsed_document_weight`](crate::parsed_document_weight)). Only documents that
    /// passed the limits are kept, each at most a sixteenth of this; once full, only documents
    /// sent before are admitted. `0`: no cache. Default 4 MiB.
    pub document_cache_bytes: usize,
    /// How many bytes of upload requests (`multipart/form-data`) may be in flight at once,
    /// over every client: each upload reserves its announced length (or
    /// [`Limits::max_upload_bytes`] when it announces none) before its body is read, and is
    /// refused with `503` when the budget cannot cover it. Default 128 MiB.
    pub max_upload_bytes_in_flight: usize,
    /// The most TCP connections open at once (every protocol). A connection over the cap is
    /// answered `503` with a `CAPACITY_EXCEEDED` error and closed at once, so one client
    /// cannot take every file descriptor of the process; keep it below the process's
    /// descriptor limit (`ulimit -n`), with room for upstream connections. Only applies when
    /// the server runs its own accept loop ([`GraphQLServer::serve`](crate::GraphQLServer::serve)).
    /// Default 10 000.
    pub max_connections: usize,
    /// How long an HTTP/1 client may take to send a request's head (request line and
    /// headers), counted from when the connection opens or its last response was sent: it
    /// is also how long a keep-alive connection may stay idle. The connection is closed after
    /// it. Only applies to [`GraphQLServer::serve`](crate::GraphQLServer::serve). Default
    /// 10 s.
    pub header_read_timeout: Option<Duration>,
    /// How long a client may take to send a whole request body (JSON or upload), from when
    /// its head arrived; `408` with `BODY_READ_TIMEOUT` after it. Default 30 s.
    pub body_read_timeout: Option<Duration>,
    /// The most WebSocket connections open at once (close 1013 above it). Default 10 000.
    pub max_ws_connections: usize,
    /// The most subscriptions open at once over every transport. Default 10 000.
    pub max_subscriptions: usize,
    /// The most subscriptions one client (one IP address; IPv6 by its /64 prefix) holds at
    /// once over every transport, so that one client cannot take the whole pool of
    /// [`Limits::max_subscriptions`]. Clients behind one proxy share an address: raise it
    /// there. Only applies under [`GraphQLServer::serve`](crate::GraphQLServer::serve), which
    /// knows the peer. Default 1 000.
    pub max_subscriptions_per_client: usize,
    /// The most WebSocket connections one client (as above) holds at once (close 1013 above
    /// it). Default 100.
    pub max_ws_connections_per_client: usize,
    /// The most operations running at once on one WebSocket connection or one SSE
    /// single-connection stream. Default 100.
    pub max_operations_per_connection: usize,
    /// The time a query or mutation may take (a stream: the time to its start). Default 30 s.
    pub request_timeout: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 2 * 1024 * 1024,
            max_upload_bytes: 32 * 1024 * 1024,
            max_upload_files: 16,
            max_tokens: Some(15_000),
            max_depth: Some(32),
            max_aliases: Some(100),
            max_selections: Some(5_000),
            max_root_fields: Some(100),
            document_cache_bytes: crate::operation::documents::DEFAULT_BYTES,
            max_upload_bytes_in_flight: 128 * 1024 * 1024,
            max_connections: 10_000,
            header_read_timeout: Some(Duration::from_secs(10)),
            body_read_timeout: Some(Duration::from_secs(30)),
            max_ws_connections: 10_000,
            max_subscriptions: 10_000,
            max_operations_per_connection: 100,
            max_subscriptions_per_client: 1_000,
            max_ws_connections_per_client: 100,
            request_timeout: Some(Duration::from_secs(30)),
        }
    }
}

/// Intervals and queue sizes of the streaming transports.
#[derive(Debug, Clone)]
pub struct Streaming {
    /// How long a WebSocket client may take to send `connection_init` (close 4408 after).
    /// Default 3 s, as graphql-ws.
    pub connection_init_timeout: Duration,
    /// The WebSocket heartbeat interval: the legacy `graphql-ws` protocol's `ka` message, and
    /// the server's `ping` message on `graphql-transport-ws` (when [`Streaming::ws_ping`] is
    /// set), so that an idle connection always carries traffic. Default 12 s.
    pub keep_alive_interval: Duration,
    /// Whether the server sends `graphql-transport-ws` clients a `ping` message every
    /// keep-alive interval (they answer `pong`; graphql-ws clients do so by themselves).
    /// Default true: proxies close WebSocket connections that stay silent (nginx after 60 s),
    /// and graphql-ws clients do not ping unless told to.
    pub ws_ping: bool,
    /// How long a WebSocket connection may stay silent (no message, no pong to the ping frames
    /// the server sends every keep-alive interval) before it is closed with 1001. A live
    /// client answers the pings by itself, so only a vanished or stalling peer (or one
    /// trickling an unfinished frame) is closed. `None`: never. Default 30 s.
    pub ws_idle_timeout: Option<Duration>,
    /// The interval of `{}` heartbeat parts in Apollo multipart subscriptions. Default 5 s.
    pub multipart_heartbeat: Duration,
    /// The interval of `{}` heartbeat parts in incremental-delivery `multipart/mixed` responses
    /// (@defer/@stream, and subscriptions asked for without `subscriptionSpec`). Default `None`:
    /// the incremental-delivery RFC defines no heartbeat, and a client that merges every part
    /// (graphql-tools' executor-http) would see an empty part as one more result. Quilt's
    /// `HttpExecutor` and Apollo Client skip `{}` parts.
    pub incremental_heartbeat: Option<Duration>,
    /// The interval of SSE comment lines (`:`) that keep proxies from closing idle streams,
    /// in both GraphQL over SSE modes. Default 12 s.
    pub sse_keep_alive: Duration,
    /// The capacity of each connection's outgoing queue, in messages. A client that reads
    /// slower than its operations produce holds back the producers (the upstream waits), so
    /// memory never grows without bound. Default 32.
    pub queue_capacity: usize,
    /// How long an SSE single-connection reservation (PUT) waits for its event stream to be
    /// opened before it is dropped. Default 30 s.
    pub sse_reservation_timeout: Duration,
    /// The most SSE single-connection reservations at once. Default 10 000.
    pub max_sse_reservations: usize,
    /// The most SSE single-connection reservations one client (one IP address; IPv6 by its
    /// /64 prefix) holds at once. Only applies under
    /// [`GraphQLServer::serve`](crate::GraphQLServer::serve). Default 100.
    pub max_sse_reservations_per_client: usize,
    /// How long graceful shutdown waits for in-flight requests before it gives up. Default 30 s.
    pub shutdown_timeout: Duration,
    /// How long after the shutdown signal the server keeps taking new connections and
    /// requests while its readiness check fails, before it stops accepting and drains: time
    /// for a load balancer to notice. Default 0 (drain at once).
    pub shutdown_delay: Duration,
}

impl Default for Streaming {
    fn default() -> Self {
        Self {
            connection_init_timeout: Duration::from_secs(3),
            keep_alive_interval: Duration::from_secs(12),
            ws_ping: true,
            ws_idle_timeout: Some(Duration::from_secs(30)),
            multipart_heartbeat: Duration::from_secs(5),
            incremental_heartbeat: None,
            sse_keep_alive: Duration::from_secs(12),
            queue_capacity: 32,
            sse_reservation_timeout: Duration::from_secs(30),
            max_sse_reservations: 10_000,
            max_sse_reservations_per_client: 100,
            shutdown_timeout: Duration::from_secs(30),
            shutdown_delay: Duration::ZERO,
        }
    }
}
