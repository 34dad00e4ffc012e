//! Streamed responses over HTTP: GraphQL over SSE (distinct connections and single connection
//! mode) and `multipart/mixed` (incremental delivery and Apollo multipart subscriptions).

pub mod multipart;
pub mod pump;
pub mod sse;
pub mod sse_single;
