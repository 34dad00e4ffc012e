//! The GraphiQL page, served at GET with `Accept: text/html`. Queries and mutations go over
//! HTTP, subscriptions over WebSocket (graphql-transport-ws) on the same path.
//!
//! The page loads GraphiQL, React and graphql-ws from an asset base URL laid out as the npm
//! registry's CDNs are (`{base}/graphiql@3.8.3/graphiql.min.js`): unpkg by default, any mirror
//! or a local static route when browsers cannot reach it.

use axum::response::{Html, IntoResponse, Response};

const PAGE: &str = include_str!("graphiql.html");

/// Where the page loads its scripts and styles from by default.
pub const DEFAULT_ASSETS: &str = "https://unpkg.com";

/// The page for the GraphQL endpoint at `path`, loading its assets from `assets`.
pub fn page(path: &str, assets: &str) -> Response {
    let path = serde_json::to_string(path).unwrap_or_else(|_| "\"/graphql\"".into());
    let path = path.trim_matches('"');
    let assets = escape_attribute(assets.trim_end_matches('/'));
    Html(
        PAGE.replace("__QUILT_GRAPHQL_PATH__", path)
            .replace("__QUILT_ASSETS__", &assets),
    )
    .into_response()
}

/// The base URL as it may stand inside a double-quoted HTML attribute.
fn escape_attribute(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '"' => escaped.push_str("&quot;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_asset_base_is_used_for_every_script_and_escaped() {
        let html = PAGE.replace("__QUILT_ASSETS__", &escape_attribute("http://h/a\"b"));
        assert!(!html.contains("__QUILT_ASSETS__"));
        assert_eq!(html.matches("http://h/a&quot;b/").count(), 5);
        assert!(!PAGE.contains("unpkg"), "no asset URL is hard-coded");
    }
}
