//! Mapping requests before and results after an executor.

use std::sync::Arc;

use futures::StreamExt;

use crate::executor::{ExecuteFuture, Executor, Response};
use crate::request::Request;
use crate::result::ExecutionResult;

/// Applies a function to each request before the inner executor sees it; see
/// [`ExecutorExt::map_request`](crate::ExecutorExt::map_request).
pub struct MapRequest<E, F> {
    inner: Arc<E>,
    map: F,
}

impl<E, F> MapRequest<E, F>
where
    E: Executor,
    F: Fn(Request) -> Request + Send + Sync + 'static,
{
    /// Wraps `inner`.
    pub fn new(inner: E, map: F) -> Self {
        Self {
            inner: Arc::new(inner),
            map,
        }
    }
}

impl<E, F> Executor for MapRequest<E, F>
where
    E: Executor,
    F: Fn(Request) -> Request + Send + Sync + 'static,
{
    /// Variables given as JSON text are moved into `variables` before the function sees the
    /// request, so that it reads (and may change) every variable by value.
    fn execute(&self, mut request: Request) -> ExecuteFuture {
        if let Err(error) = request.materialize_raw_variables() {
            return Box::pin(std::future::ready(Ok(Response::Single(
                crate::executor::raw_variable_error(&error),
            ))));
        }
        self.inner.execute((self.map)(request))
    }
}

/// Applies a function to every result: the single result, or each item of a stream; see
/// [`ExecutorExt::map_result`](crate::ExecutorExt::map_result). Transport errors pass through.
pub struct MapResult<E, F> {
    inner: Arc<E>,
    map: Arc<F>,
}

impl<E, F> MapResult<E, F>
where
    E: Executor,
    F: Fn(ExecutionResult) -> ExecutionResult + Send + Sync + 'static,
{
    /// Wraps `inner`.
    pub fn new(inner: E, map: F) -> Self {
        Self {
            inner: Arc::new(inner),
            map: Arc::new(map),
        }
    }
}

impl<E, F> Executor for MapResult<E, F>
where
    E: Executor,
    F: Fn(ExecutionResult) -> ExecutionResult + Send + Sync + 'static,
{
    /// The function reads the data as a value: the inner executor is asked for that form, and
    /// the mapped result is answered in the form the caller asked for.
    fn execute(&self, mut request: Request) -> ExecuteFuture {
        let form = std::mem::take(&mut request.data_form);
        let future = self.inner.execute(request);
        let map = self.map.clone();
        Box::pin(async move {
            Ok(match future.await? {
                Response::Single(result) => Response::Single(map(result).into_form(form)),
                Response::Stream(stream) => {
                    Response::Stream(stream.map(move |item| item.map(|r| map(r))).boxed())
                }
            })
        })
    }
}

impl<E, F> std::fmt::Debug for MapRequest<E, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MapRequest")
    }
}

impl<E, F> std::fmt::Debug for MapResult<E, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MapResult")
    }
}
