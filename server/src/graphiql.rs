//! The GraphiQL page, served at GET with `Accept: text/html`. Queries and mutations go over
//! HTTP, subscriptions over WebSocket (graphql-transport-ws) on the same path.

use axum::response::{Html, IntoResponse, Response};

const PAGE: &str = include_str!("graphiql.html");

/// The page for the GraphQL endpoint at `path`.
pub fn page(path: &str) -> Response {
    let path = serde_json::to_string(path).unwrap_or_else(|_| "\"/graphql\"".into());
    let path = path.trim_matches('"');
    Html(PAGE.replace("__QUILT_GRAPHQL_PATH__", path)).into_response()
}
