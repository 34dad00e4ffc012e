//! # quilt-server
//!
//! Serves any [`quilt_executor::Executor`] — a stitched gateway, a wrapped schema, a single
//! remote service — over every protocol GraphQL clients use:
//!
//! - GraphQL over HTTP (GET and POST, `application/graphql-response+json` and
//!   `application/json` with the spec's status codes, multipart uploads);
//! - WebSocket on the same path: `graphql-transport-ws` and the legacy `graphql-ws`;
//! - GraphQL over SSE, distinct connections and single connection mode;
//! - `multipart/mixed`: incremental delivery (@defer/@stream) and Apollo multipart
//!   subscriptions;
//! - GraphiQL (GET with `Accept: text/html`) and `/health`;
//! - optionally, the callback route of HTTP callback subscriptions to the services
//!   ([`GraphQLServerBuilder::callback`]).
//!
//! Incoming headers (HTTP) and connection params (WebSocket) reach the executor in the
//! request's [`quilt_executor::Context`]. Limits (body size, tokens, depth, aliases, root
//! fields, connections, subscriptions, request timeout) answer with errors that name them.
//!
//! Secure by default for browsers: CSRF prevention ([`Csrf`]: a POST a browser could send
//! from another origin without a preflight needs `apollo-require-preflight` or
//! `x-apollo-operation-name`), WebSocket upgrades only from the server's own origin or the
//! [`Cors`] origins, and no CORS unless configured. [`GraphQLServerBuilder::introspection`]
//! switches introspection off; [`PersistedQueries`] serves Apollo's automatic persisted queries
//! (in memory, or in Redis for a fleet) and can restrict the server to the operations of a
//! manifest.
//!
//! ```no_run
//! use std::time::Duration;
//! use quilt_executor::{from_fn, ExecutionResult, Request, Response};
//! use quilt_server::GraphQLServer;
//!
//! # async fn run() -> std::io::Result<()> {
//! let executor = from_fn(|_request: Request| async {
//!     Ok(Response::Single(ExecutionResult::from_data(serde_json::json!({ "hello": "world" }))))
//! });
//! let server = GraphQLServer::builder(executor)
//!     .path("/graphql")
//!     .max_depth(Some(16))
//!     .request_timeout(Some(Duration::from_secs(10)))
//!     .build();
//! let app: axum::Router = server.router(); // embed it, or:
//! # drop(app);
//! server.serve(tokio::net::TcpListener::bind("127.0.0.1:4000").await?).await
//! # }
//! ```
//!
//! The HTTP pipeline lives in `pipeline/`, one stage per file in the order data flows; every
//! transport executes through one gate (`gate.rs`). See `docs/ARCHITECTURE.md`.

mod builder;
mod callback;
mod config;
mod cors;
mod error;
mod fair;
mod gate;
mod graphiql;
mod health;
mod listen;
pub mod metrics;
pub(crate) mod operation;
pub mod persisted;
pub(crate) mod pipeline;
mod server;
mod shared;
mod state;
pub(crate) mod transport;
pub(crate) mod ws;

pub use builder::GraphQLServerBuilder;
pub use config::{Limits, Streaming};
pub use cors::{Cors, CorsError};
pub use error::RequestError;
pub use operation::documents::parsed_document_weight;
pub use operation::limits::check_limits;
pub use persisted::{
    Manifest, ManifestError, MemoryStore, PersistedQueries, PersistedQueryStore, RedisStore,
    RedisStoreOptions, StoreError,
};
pub use pipeline::csrf::Csrf;
pub use pipeline::inbound_dedup::InboundDedup;
pub use server::{GraphQLServer, ServerStats, shutdown_signal};
pub use shared::SharedLimits;
pub use ws::hooks::{ConnectionInit, Disconnect, OnConnect, OnDisconnect};
