//! Hooks of the WebSocket transports: `on_connect` (accept, reject with 4403, or extend the
//! [`Context`]) and `on_disconnect`.

use std::sync::Arc;

use futures::future::BoxFuture;
use http::HeaderMap;
use quilt_executor::{Context, JsonMap};

/// What `on_connect` sees: the upgrade request's headers, the `connection_init` payload, and the
/// context the server built from them (headers and connection params).
#[derive(Debug, Clone)]
pub struct ConnectionInit {
    /// The HTTP headers of the upgrade request.
    pub headers: HeaderMap,
    /// The `connection_init` payload (`connectionParams`), empty when none was sent.
    pub params: JsonMap,
    /// The context every operation of this connection will carry, unless the hook replaces it.
    pub context: Context,
}

/// What `on_disconnect` sees.
#[derive(Debug, Clone)]
pub struct Disconnect {
    /// The connection's context (after `on_connect`).
    pub context: Context,
    /// The close code the server sent, if the server closed the connection.
    pub close_code: Option<u16>,
    /// Whether `connection_ack` had been sent.
    pub acknowledged: bool,
}

/// The `on_connect` hook: `Ok(context)` acknowledges the connection with that context;
/// `Err(reason)` closes it with 4403 Forbidden and the reason.
pub type OnConnect =
    Arc<dyn Fn(ConnectionInit) -> BoxFuture<'static, Result<Context, String>> + Send + Sync>;

/// The `on_disconnect` hook.
pub type OnDisconnect = Arc<dyn Fn(Disconnect) + Send + Sync>;

/// The hooks of a server.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub on_connect: Option<OnConnect>,
    pub on_disconnect: Option<OnDisconnect>,
}
