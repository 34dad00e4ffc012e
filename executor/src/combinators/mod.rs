//! Combinators: small executors that wrap another, each in its own file, all reachable through
//! [`ExecutorExt`].

mod headers;
mod map;
mod route;
mod shared_execution;
mod timeout;
mod tower;

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;

pub use self::headers::WithHeaders;
pub use self::map::{MapRequest, MapResult};
pub use self::route::{Route, route};
pub use self::shared_execution::{
    DedupInflight, DedupKey, DedupOptions, DedupStats, DedupTable, DedupWaiter,
};
pub use self::timeout::Timeout;
pub use self::tower::{ExecutorService, ServiceExecutor};

use crate::executor::{Executor, Response, SharedExecutor};
use crate::request::Request;
use crate::result::ExecutionResult;
use crate::retry::{Retry, RetryPolicy};

/// Combinators on every [`Executor`].
///
/// ```
/// use std::time::Duration;
/// use quilt_executor::{from_fn, ExecutionResult, Executor, ExecutorExt, Request, Response,
///                      RetryPolicy, SharedExecutor};
///
/// let service = from_fn(|_r: Request| async {
///     Ok(Response::Single(ExecutionResult::from_data(serde_json::json!({ "a": 1 }))))
/// });
/// let executor: SharedExecutor = service
///     .timeout(Duration::from_secs(5))
///     .retry(RetryPolicy::new(3))
///     .map_result(|mut r| { r.extensions = None; r })
///     .boxed();
/// # let _ = executor;
/// ```
pub trait ExecutorExt: Executor + Sized {
    /// Sends subscriptions to `subscriptions` and everything else to `self`: the hybrid
    /// executor (`http.route_subscriptions(ws)`).
    fn route_subscriptions<S: Executor>(
        self,
        subscriptions: S,
    ) -> Route<fn(&Request) -> bool, S, Self> {
        route(
            Request::is_subscription as fn(&Request) -> bool,
            subscriptions,
            self,
        )
    }

    /// Adds headers computed per request to `extensions.headers` (see [`WithHeaders`]).
    fn with_headers<F>(self, headers: F) -> WithHeaders<Self, F>
    where
        F: Fn(&Request) -> HeaderMap + Send + Sync + 'static,
    {
        WithHeaders::new(self, headers)
    }

    /// Maps each request before it reaches `self`.
    fn map_request<F>(self, map: F) -> MapRequest<Self, F>
    where
        F: Fn(Request) -> Request + Send + Sync + 'static,
    {
        MapRequest::new(self, map)
    }

    /// Maps each result (and each item of a stream).
    fn map_result<F>(self, map: F) -> MapResult<Self, F>
    where
        F: Fn(ExecutionResult) -> ExecutionResult + Send + Sync + 'static,
    {
        MapResult::new(self, map)
    }

    /// Fails with [`ExecutorError::Timeout`](crate::ExecutorError::Timeout) when no response
    /// comes within `after` (see [`Timeout`]).
    fn timeout(self, after: Duration) -> Timeout<Self> {
        Timeout::new(self, after, "executor")
    }

    /// Retries by `policy` (see [`Retry`]).
    fn retry(self, policy: RetryPolicy) -> Retry<Self> {
        Retry::new(self, policy)
    }

    /// Lets concurrent identical queries share one execution (see [`DedupInflight`]): the
    /// same document, operation name, variables, extensions and values of the headers in
    /// `options` (by default `authorization` and `cookie`). Mutations, subscriptions,
    /// `@defer`/`@stream` queries and uploads are never shared.
    ///
    /// ```
    /// use quilt_executor::{from_fn, DedupOptions, ExecutionResult, ExecutorExt, Request, Response};
    /// let gateway = from_fn(|_r: Request| async {
    ///     Ok(Response::Single(ExecutionResult::from_data(serde_json::json!({ "a": 1 }))))
    /// })
    /// .dedup_inflight(DedupOptions::default().header(http::HeaderName::from_static("x-api-key")));
    /// assert_eq!(gateway.stats().shared, 0);
    /// ```
    fn dedup_inflight(self, options: DedupOptions) -> DedupInflight<Self> {
        DedupInflight::new(self, options)
    }

    /// Erases the type: `Arc<dyn Executor>`.
    fn boxed(self) -> SharedExecutor {
        Arc::new(self)
    }

    /// Wraps `self` in a tower layer (concurrency limit, rate limit, load shed, timeout, or
    /// your own) and returns the layered service as an executor.
    ///
    /// ```
    /// use quilt_executor::{from_fn, ExecutionResult, ExecutorExt, Request, Response};
    /// let limited = from_fn(|_r: Request| async {
    ///     Ok(Response::Single(ExecutionResult::default()))
    /// })
    /// .layer(tower::limit::ConcurrencyLimitLayer::new(64));
    /// # let _ = limited;
    /// ```
    fn layer<L>(self, layer: L) -> ServiceExecutor<L::Service>
    where
        L: ::tower::Layer<ExecutorService<Self>>,
        L::Service: ::tower::Service<Request, Response = Response> + Send + 'static,
        <L::Service as ::tower::Service<Request>>::Error: Into<::tower::BoxError>,
        <L::Service as ::tower::Service<Request>>::Future: Send + 'static,
    {
        ServiceExecutor::new(layer.layer(ExecutorService::new(self)))
    }

    /// This executor as a [`tower::Service`](::tower::Service).
    fn into_service(self) -> ExecutorService<Self> {
        ExecutorService::new(self)
    }
}

impl<E: Executor> ExecutorExt for E {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::from_fn;
    use serde_json::json;

    fn named(name: &'static str) -> impl Executor {
        from_fn(move |_r: Request| async move {
            Ok(Response::Single(ExecutionResult::from_data(json!(name))))
        })
    }

    async fn data(e: &impl Executor, query: &str) -> serde_json::Value {
        e.execute(Request::new(query).unwrap())
            .await
            .unwrap()
            .into_single()
            .await
            .unwrap()
            .data_value()
            .unwrap()
    }

    #[tokio::test]
    async fn route_subscriptions_splits_by_operation_type() {
        let hybrid = named("http").route_subscriptions(named("ws"));
        assert_eq!(data(&hybrid, "{ a }").await, json!("http"));
        assert_eq!(data(&hybrid, "mutation { a }").await, json!("http"));
        assert_eq!(data(&hybrid, "subscription { a }").await, json!("ws"));
        assert_eq!(
            data(&hybrid, "query A { a } subscription B { b }").await,
            json!("http"),
            "ambiguous documents go to the default executor, which reports the error"
        );
    }

    #[tokio::test]
    async fn map_request_and_map_result_apply_in_order() {
        let echo = from_fn(|r: Request| async move {
            Ok(Response::Single(ExecutionResult::from_data(json!(
                r.operation_name
            ))))
        });
        let e = echo
            .map_request(|r| r.operation_name("Renamed"))
            .map_result(|mut r| {
                r.data = Some(json!([r.data_value()]).into());
                r
            });
        assert_eq!(data(&e, "{ a }").await, json!(["Renamed"]));
    }

    #[tokio::test]
    async fn map_result_maps_every_stream_item() {
        use futures::StreamExt;
        let stream = from_fn(|_r: Request| async {
            Ok(Response::Stream(
                futures::stream::iter((1..=3).map(|i| Ok(ExecutionResult::from_data(json!(i)))))
                    .boxed(),
            ))
        })
        .map_result(|mut r| {
            r.data = r
                .data_value()
                .map(|d| json!(d.as_i64().unwrap_or(0) * 10).into());
            r
        });
        let items: Vec<_> = stream
            .execute(Request::new("subscription { a }").unwrap())
            .await
            .unwrap()
            .into_stream()
            .map(|i| i.unwrap().data_value().unwrap())
            .collect()
            .await;
        assert_eq!(items, vec![json!(10), json!(20), json!(30)]);
    }

    #[tokio::test]
    async fn timeout_fails_slow_answers_only() {
        let slow = from_fn(|r: Request| async move {
            if r.query().contains("slow") {
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
            Ok(Response::Single(ExecutionResult::from_data(json!(1))))
        })
        .timeout(Duration::from_millis(20));
        assert_eq!(data(&slow, "{ fast }").await, json!(1));
        let error = slow
            .execute(Request::new("{ slow }").unwrap())
            .await
            .unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Timeout);
    }

    #[tokio::test]
    async fn combinators_compose_through_shared_executors() {
        let shared: SharedExecutor = named("x").boxed();
        let again = shared.clone().timeout(Duration::from_secs(1)).boxed();
        assert_eq!(data(&again, "{ a }").await, json!("x"));
    }
}
