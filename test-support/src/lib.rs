//! Test support for Quilt: real GraphQL services on `127.0.0.1:0` (async-graphql over axum:
//! POST, GET, uploads, SSE, multipart, WebSocket in both subprotocols), counters a test waits
//! on, a hard stop and restart on the same port, the emitter side of HTTP callback subscriptions
//! (every served schema is an emitter, see `callback.rs`), launchers for the JavaScript
//! reference peers and clients ([`js`]), incremental delivery read off the wire and put back
//! together ([`incremental`]), and the clients and waits every crate's tests share:
//! [`wait`] (bounded waits), [`ws_client`] (a raw WebSocket client) and [`process`] (the
//! `gateway-example` binary as a process, for the end-to-end tests).

mod callback;
pub mod federation;
pub mod gated;
pub mod incremental;
pub mod js;
pub mod local;
pub mod process;
pub mod server;
pub mod stats;
pub mod subgraph;
pub mod wait;
pub mod ws_client;

pub use js::JsPeer;
pub use local::LocalExecutor;
pub use server::{TestServer, graphql_router, subgraph_router};
pub use stats::{Counters, Stats};
pub use wait::{wait_for, wait_until, within};

/// The default time a test waits for an event before failing.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(10);
