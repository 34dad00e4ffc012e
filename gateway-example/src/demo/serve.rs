//! Serving one demo service (an async-graphql schema) on `127.0.0.1:0`: queries and mutations
//! over `POST /graphql`, subscriptions over WebSocket on the same path (both subprotocols), as a
//! separate service would, so the gateway reaches it over the network like any remote.

use std::net::SocketAddr;

use async_graphql::{ObjectType, Schema, SubscriptionType};
use async_graphql_axum::{GraphQL, GraphQLSubscription};
use axum::Router;
use axum::routing::post_service;
use tokio::net::TcpListener;
use tokio_util::task::AbortOnDropHandle;

/// A demo service listening on loopback; dropping it stops it.
pub struct ServiceHandle {
    name: &'static str,
    addr: SocketAddr,
    _task: AbortOnDropHandle<()>,
}

impl ServiceHandle {
    /// The service's name (the subschema name in the gateway).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// `http://127.0.0.1:PORT/graphql`.
    pub fn http_url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    /// `ws://127.0.0.1:PORT/graphql`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/graphql", self.addr)
    }
}

/// Serves `schema` on `addr` (use port 0 for a free port).
pub async fn serve<Q, M, S>(
    name: &'static str,
    schema: Schema<Q, M, S>,
    addr: SocketAddr,
) -> std::io::Result<ServiceHandle>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let router = Router::new().route(
        "/graphql",
        post_service(GraphQL::new(schema.clone())).get_service(GraphQLSubscription::new(schema)),
    );
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(service = name, %error, "demo service stopped");
        }
    });
    Ok(ServiceHandle {
        name,
        addr,
        _task: AbortOnDropHandle::new(task),
    })
}
