//! Routing: send each request to one of two executors by a predicate.

use std::sync::Arc;

use crate::executor::{ExecuteFuture, Executor};
use crate::request::Request;

/// Sends a request to `matched` when the predicate holds, else to `other`; see
/// [`route`] and [`ExecutorExt::route_subscriptions`](crate::ExecutorExt::route_subscriptions).
pub struct Route<P, A, B> {
    predicate: P,
    matched: Arc<A>,
    other: Arc<B>,
}

/// Routes by `predicate`: requests for which it returns `true` go to `matched`, the rest to
/// `other`.
///
/// The hybrid executor of graphql-tools (queries over HTTP, subscriptions over a WebSocket) is
/// `route(Request::is_subscription, ws, http)`, or `http.route_subscriptions(ws)`.
///
/// ```
/// use quilt_executor::{from_fn, route, ExecutionResult, Executor, Request, Response};
/// use serde_json::json;
///
/// let answer = |name: &'static str| from_fn(move |_r: Request| async move {
///     Ok(Response::Single(ExecutionResult::from_data(json!(name))))
/// });
/// let hybrid = route(Request::is_subscription, answer("ws"), answer("http"));
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let r = hybrid.execute(Request::new("{ a }").unwrap()).await.unwrap();
/// assert_eq!(r.into_single().await.unwrap().data_value(), Some(json!("http")));
/// # });
/// ```
pub fn route<P, A, B>(predicate: P, matched: A, other: B) -> Route<P, A, B>
where
    P: Fn(&Request) -> bool + Send + Sync + 'static,
    A: Executor,
    B: Executor,
{
    Route {
        predicate,
        matched: Arc::new(matched),
        other: Arc::new(other),
    }
}

impl<P, A, B> Executor for Route<P, A, B>
where
    P: Fn(&Request) -> bool + Send + Sync + 'static,
    A: Executor,
    B: Executor,
{
    fn execute(&self, request: Request) -> ExecuteFuture {
        if (self.predicate)(&request) {
            self.matched.execute(request)
        } else {
            self.other.execute(request)
        }
    }
}

impl<P, A, B> std::fmt::Debug for Route<P, A, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Route")
    }
}
