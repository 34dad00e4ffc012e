//! The callback route of the HTTP callback subscription protocol: emitters POST `check`, `next`
//! and `complete` messages to `{path}/{id}` (or `{path}` with the id in the body only), and
//! [`CallbackRegistry::handle`] answers them. Mounted by
//! [`GraphQLServerBuilder::callback`](crate::GraphQLServerBuilder::callback).

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::{HeaderValue, StatusCode};
use quilt_executor::callback::{
    CallbackRegistry, SUBSCRIPTION_PROTOCOL, SUBSCRIPTION_PROTOCOL_HEADER,
};

#[derive(Clone)]
struct CallbackState {
    registry: CallbackRegistry,
    max_body_bytes: usize,
}

/// The routes `{path}` and `{path}/{id}` (POST only; other methods get 405).
pub(crate) fn routes(path: &str, registry: CallbackRegistry, max_body_bytes: usize) -> Router {
    let path = path.trim_end_matches('/');
    Router::new()
        .route(path, post(without_id))
        .route(&format!("{path}/{{id}}"), post(with_id))
        .with_state(CallbackState {
            registry,
            max_body_bytes,
        })
}

async fn with_id(
    State(state): State<CallbackState>,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    handle(state, Some(&id), body).await
}

async fn without_id(State(state): State<CallbackState>, body: Body) -> Response {
    handle(state, None, body).await
}

async fn handle(state: CallbackState, id: Option<&str>, body: Body) -> Response {
    let body = match axum::body::to_bytes(body, state.max_body_bytes).await {
        Ok(body) => body,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                "the callback message is larger than the body limit, or broke off",
            )
                .into_response();
        }
    };
    let reply = state.registry.handle(id, &body).await;
    let mut response = (reply.status, reply.message).into_response();
    response.headers_mut().insert(
        SUBSCRIPTION_PROTOCOL_HEADER,
        HeaderValue::from_static(SUBSCRIPTION_PROTOCOL),
    );
    response
}
