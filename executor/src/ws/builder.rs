//! The options of a [`WsExecutor`] and the builder that sets them.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use http::{HeaderMap, HeaderName, HeaderValue};

use super::WsExecutor;
use super::protocol::Subprotocol;
use super::reconnect::ReconnectPolicy;
use crate::error::ExecutorError;
use crate::result::JsonMap;

/// A function computing the connection params of each new connection.
pub type ConnectionParamsFn =
    Arc<dyn Fn() -> BoxFuture<'static, Result<JsonMap, ExecutorError>> + Send + Sync>;

/// Where the `connection_init` payload comes from.
#[derive(Clone, Default)]
pub(crate) enum ConnectionParams {
    /// No payload.
    #[default]
    None,
    /// The same params for every connection.
    Static(JsonMap),
    /// Computed for every connection (a fresh token after a reconnect).
    Computed(ConnectionParamsFn),
}

/// Everything a [`WsExecutor`] is configured with.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) url: String,
    pub(crate) subprotocol: Subprotocol,
    pub(crate) headers: HeaderMap,
    pub(crate) connection_params: ConnectionParams,
    pub(crate) lazy: bool,
    pub(crate) lazy_close_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) ack_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) keepalive: Option<Duration>,
    pub(crate) pong_timeout: Duration,
    pub(crate) reconnect: ReconnectPolicy,
    pub(crate) operation_buffer: usize,
    pub(crate) slow_consumer_timeout: Duration,
    pub(crate) max_message_size: usize,
    /// Whether a request's `Authorization` header picks the socket and becomes its
    /// `connectionParams.token`.
    pub(crate) forward_authorization: bool,
    /// The `token` put into the connection params (set on the per-credential executors).
    pub(crate) token: Option<String>,
}

/// Builds a [`WsExecutor`]; every option has a default, so `WsExecutor::new(url)` is
/// `WsExecutor::builder(url).build()`.
///
/// ```
/// use std::time::Duration;
/// use quilt_executor::ws::{ReconnectPolicy, Subprotocol, WsExecutor};
/// use serde_json::json;
///
/// let params = json!({ "token": "secret" }).as_object().cloned().unwrap();
/// let executor = WsExecutor::builder("ws://127.0.0.1:4000/graphql")
///     .subprotocol(Subprotocol::LegacyGraphqlWs)
///     .connection_params(params)
///     .header("x-client", "quilt")
///     .lazy_close_timeout(Duration::from_secs(5))
///     .keepalive(Duration::from_secs(10))
///     .reconnect(ReconnectPolicy::new(10))
///     .build();
/// # drop(executor);
/// ```
#[must_use]
pub struct WsExecutorBuilder {
    config: Config,
    invalid_header: Option<String>,
}

impl WsExecutorBuilder {
    pub(crate) fn new(url: impl Into<String>) -> Self {
        Self {
            config: Config {
                url: url.into(),
                subprotocol: Subprotocol::default(),
                headers: HeaderMap::new(),
                connection_params: ConnectionParams::None,
                lazy: true,
                lazy_close_timeout: Duration::ZERO,
                connect_timeout: Duration::from_secs(10),
                ack_timeout: Duration::from_secs(10),
                request_timeout: Duration::from_secs(30),
                write_timeout: Duration::from_secs(10),
                keepalive: None,
                pong_timeout: Duration::from_secs(5),
                reconnect: ReconnectPolicy::default(),
                operation_buffer: 64,
                slow_consumer_timeout: Duration::from_secs(30),
                max_message_size: 16 << 20,
                forward_authorization: false,
                token: None,
            },
            invalid_header: None,
        }
    }

    /// The subprotocol: `graphql-transport-ws` (default) or the legacy `graphql-ws`.
    pub fn subprotocol(mut self, subprotocol: Subprotocol) -> Self {
        self.config.subprotocol = subprotocol;
        self
    }

    /// The same `connection_init` payload for every connection.
    ///
    /// The payload actually sent is these params with the `extensions.connectionParams` of the
    /// operation that opened the connection merged over them (its keys win; see
    /// [`WsExecutor`](super::WsExecutor#connection-params)).
    pub fn connection_params(mut self, params: crate::JsonMap) -> Self {
        self.config.connection_params = ConnectionParams::Static(params);
        self
    }

    /// Computes the `connection_init` payload for each new connection, reconnections included
    /// (a token refreshed before each). An error fails the connection attempt with that error.
    /// The function gets at most the connect timeout.
    pub fn connection_params_fn<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<JsonMap, ExecutorError>> + Send + 'static,
    {
        self.config.connection_params = ConnectionParams::Computed(Arc::new(move || Box::pin(f())));
        self
    }

    /// Adds a header to the HTTP upgrade request (sent once per connection, never with the
    /// operations). An invalid name or value makes every operation fail with
    /// [`ExecutorError::InvalidRequest`].
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(name), Ok(value)) => {
                self.config.headers.append(name, value);
            }
            _ => self.invalid_header = Some(format!("invalid upgrade header `{name}`")),
        }
        self
    }

    /// Adds headers to the HTTP upgrade request.
    pub fn headers(mut self, headers: HeaderMap) -> Self {
        self.config.headers.extend(headers);
        self
    }

    /// Whether to connect only when the first operation comes (default `true`). With `false`, the
    /// socket is opened as soon as the executor is built (inside a tokio runtime) and kept open
    /// when no operation is active; `lazy_close_timeout` does not apply.
    pub fn lazy(mut self, lazy: bool) -> Self {
        self.config.lazy = lazy;
        self
    }

    /// How long the socket stays open after its last operation ended (default 0: closed at
    /// once). A new operation within that time reuses the socket.
    pub fn lazy_close_timeout(mut self, timeout: Duration) -> Self {
        self.config.lazy_close_timeout = timeout;
        self
    }

    /// The time allowed to open the socket: TCP, TLS and the HTTP upgrade (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// The time the server has to answer `connection_init` with `connection_ack` (default 10 s).
    /// Past it, the socket is closed with 4504 and the waiting operations fail with
    /// `ExecutorError::Closed { code: Some(CloseCode::ConnectionAckTimeout), .. }`.
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.config.ack_timeout = timeout;
        self
    }

    /// The time a query or mutation has for its result once sent (default 30 s); past it the
    /// operation is completed on the server and fails with [`ExecutorError::Timeout`].
    /// Subscriptions have no such limit.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = timeout;
        self
    }

    /// The time one write to the socket may take (default 10 s); past it the socket counts as
    /// lost.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.config.write_timeout = timeout;
        self
    }

    /// Sends a keep-alive every `interval` (default: never): a `ping` message in
    /// graphql-transport-ws, a WebSocket ping frame in the legacy protocol (which has no ping
    /// message). If nothing at all comes back within the pong timeout, the socket counts as lost
    /// (and is reconnected by the reconnect policy).
    pub fn keepalive(mut self, interval: Duration) -> Self {
        self.config.keepalive = Some(interval);
        self
    }

    /// How long to wait for a sign of life after a keep-alive ping (default 5 s).
    pub fn pong_timeout(mut self, timeout: Duration) -> Self {
        self.config.pong_timeout = timeout;
        self
    }

    /// The reconnect policy (default: [`ReconnectPolicy::default`]).
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.config.reconnect = policy;
        self
    }

    /// The number of events buffered for each subscription (default 64, at least 1). A consumer
    /// that lets its buffer fill holds back the whole socket (no event is dropped) for at most
    /// the slow consumer timeout.
    pub fn operation_buffer(mut self, events: usize) -> Self {
        self.config.operation_buffer = events.max(1);
        self
    }

    /// How long a full subscription buffer may hold back the socket (default 30 s); past it that
    /// subscription is completed on the server and its stream ends with
    /// [`ExecutorError::Timeout`].
    pub fn slow_consumer_timeout(mut self, timeout: Duration) -> Self {
        self.config.slow_consumer_timeout = timeout;
        self
    }

    /// The largest message accepted from the server (default 16 MiB); a larger one fails the
    /// operations of the socket with [`ExecutorError::ResponseTooLarge`].
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config.max_message_size = bytes;
        self
    }

    /// Sends the `Authorization` header of each request's [`Context`](crate::Context) (a
    /// gateway puts the client's headers there) as `connectionParams.token`, as Apollo Router
    /// does (default off). Operations with different credentials never share a socket: each
    /// distinct value gets its own, opened and closed like the executor's (the most recent 256
    /// credentials are remembered); operations without the header use the executor's own
    /// socket. The token is merged over the configured params; a request's
    /// `extensions.connectionParams` still wins over both.
    pub fn forward_authorization(mut self, enabled: bool) -> Self {
        self.config.forward_authorization = enabled;
        self
    }

    /// Builds the executor.
    pub fn build(self) -> WsExecutor {
        WsExecutor::from_config(self.config, self.invalid_header)
    }
}

impl std::fmt::Debug for WsExecutorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsExecutorBuilder")
            .field("url", &self.config.url)
            .field("subprotocol", &self.config.subprotocol)
            .finish_non_exhaustive()
    }
}
