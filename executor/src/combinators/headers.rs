//! Adding HTTP headers to every request (`extensions.headers`).

use std::sync::Arc;

use http::HeaderMap;
use serde_json::Value;

use crate::executor::{ExecuteFuture, Executor};
use crate::request::Request;
use crate::result::JsonMap;

/// Adds headers to each request's `extensions.headers`, which HTTP executors send with the
/// request and do not forward as extensions (as graphql-tools does); see
/// [`ExecutorExt::with_headers`](crate::ExecutorExt::with_headers).
///
/// The headers come from a function of the request, so a gateway can forward the client's
/// `Authorization` from the [`Context`](crate::Context). A header the request already carries in
/// `extensions.headers` is replaced by the one this adds; headers whose value is not visible
/// ASCII are skipped.
pub struct WithHeaders<E, F> {
    inner: Arc<E>,
    headers: F,
}

impl<E, F> WithHeaders<E, F>
where
    E: Executor,
    F: Fn(&Request) -> HeaderMap + Send + Sync + 'static,
{
    /// Wraps `inner`.
    pub fn new(inner: E, headers: F) -> Self {
        Self {
            inner: Arc::new(inner),
            headers,
        }
    }
}

impl<E, F> Executor for WithHeaders<E, F>
where
    E: Executor,
    F: Fn(&Request) -> HeaderMap + Send + Sync + 'static,
{
    fn execute(&self, request: Request) -> ExecuteFuture {
        self.inner.execute(self.add(request))
    }
}

impl<E, F> WithHeaders<E, F>
where
    F: Fn(&Request) -> HeaderMap,
{
    /// The request with the headers added.
    fn add(&self, mut request: Request) -> Request {
        let added = (self.headers)(&request);
        if !added.is_empty() {
            let entry = request
                .extensions
                .entry("headers")
                .or_insert_with(|| Value::Object(JsonMap::new()));
            if !entry.is_object() {
                *entry = Value::Object(JsonMap::new());
            }
            if let Value::Object(map) = entry {
                for (name, value) in &added {
                    if let Ok(value) = value.to_str() {
                        map.insert(name.as_str().to_owned(), Value::String(value.to_owned()));
                    }
                }
            }
        }
        request
    }
}

impl<E, F> std::fmt::Debug for WithHeaders<E, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WithHeaders")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::{Response, from_fn};
    use crate::result::ExecutionResult;
    use http::HeaderValue;

    #[tokio::test]
    async fn adds_headers_from_the_context() {
        let echo = from_fn(|r: Request| async move {
            Ok(Response::Single(ExecutionResult::from_data(
                r.extensions.get("headers").cloned().unwrap_or(Value::Null),
            )))
        });
        let forward = WithHeaders::new(echo, |r: &Request| {
            let mut h = HeaderMap::new();
            if let Some(auth) = r.context.headers().get("authorization") {
                h.insert("authorization", auth.clone());
            }
            h.insert("x-static", HeaderValue::from_static("1"));
            h
        });
        let mut incoming = HeaderMap::new();
        incoming.insert("authorization", HeaderValue::from_static("Bearer t"));
        let request = Request::new("{a}")
            .unwrap()
            .extension(
                "headers",
                serde_json::json!({"x-static": "0", "x-keep": "k"}),
            )
            .context(crate::Context::from_headers(incoming));
        let data = forward
            .execute(request)
            .await
            .unwrap()
            .into_single()
            .await
            .unwrap()
            .data_value();
        assert_eq!(
            data,
            Some(serde_json::json!({"x-static": "1", "x-keep": "k", "authorization": "Bearer t"}))
        );
    }
}
