//! The `Executor` trait: a GraphQL request in, one result or a stream of results out.

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};

use crate::error::ExecutorError;
use crate::request::Request;
use crate::result::ExecutionResult;

/// A stream of results: subscription events or incremental-delivery payloads.
///
/// An `Err` item is a transport failure after the stream started (the connection dropped, a
/// malformed event); it is the last item. Dropping the stream cancels the operation upstream.
pub type ResultStream = BoxStream<'static, Result<ExecutionResult, ExecutorError>>;

/// What an executor answers: one result, or a stream of them.
// `Single` is the hot, common case: boxing it to shrink the enum would cost an allocation per
// response, while a `Response` is moved a few times at most.
#[allow(clippy::large_enum_variant)]
pub enum Response {
    /// A query's or mutation's single result.
    Single(ExecutionResult),
    /// A subscription's events, or a @defer/@stream operation's payloads.
    Stream(ResultStream),
}

/// The first result of a stream (the rest is dropped). A separate future from
/// [`Response::into_single`]'s, so that waiting on a stream does not keep room for a whole
/// result besides.
pub(crate) async fn first_result(
    mut stream: ResultStream,
) -> Result<ExecutionResult, ExecutorError> {
    match stream.next().await {
        Some(item) => item,
        None => Err(ExecutorError::Closed {
            endpoint: "stream".into(),
            code: None,
            reason: "the stream ended without a result".into(),
        }),
    }
}

impl Response {
    /// The single result; for a stream, its first item (the rest is dropped, which cancels the
    /// operation upstream). A stream that ends at once is a [`ExecutorError::Closed`].
    pub async fn into_single(self) -> Result<ExecutionResult, ExecutorError> {
        match self {
            Response::Single(result) => Ok(result),
            Response::Stream(stream) => first_result(stream).await,
        }
    }

    /// The results as a stream; a single result is a stream of one.
    pub fn into_stream(self) -> ResultStream {
        match self {
            Response::Single(result) => stream::once(async move { Ok(result) }).boxed(),
            Response::Stream(stream) => stream,
        }
    }

    /// Whether this is a stream.
    pub fn is_stream(&self) -> bool {
        matches!(self, Response::Stream(_))
    }
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Response::Single(result) => f.debug_tuple("Single").field(result).finish(),
            Response::Stream(_) => f.write_str("Stream(..)"),
        }
    }
}

impl From<ExecutionResult> for Response {
    fn from(result: ExecutionResult) -> Self {
        Response::Single(result)
    }
}

/// The future an executor returns.
pub type ExecuteFuture = BoxFuture<'static, Result<Response, ExecutorError>>;

/// Anything that executes GraphQL requests: a remote service over HTTP or WebSocket, a batching
/// or transforming wrapper, a stitched schema.
///
/// The trait is object safe; `Arc<dyn Executor>` ([`SharedExecutor`]) is the common currency.
/// The returned future is `'static`, so it must not borrow `self`: clone what it needs (an
/// `Arc` of the executor's state) before the `async move` block.
///
/// Transport failures are [`ExecutorError`]s; GraphQL errors travel inside the result.
///
/// Everything a wrapper must pass on travels in the [`Request`], so a wrapper that hands the
/// request to what it wraps passes it all on by construction: the form in which the caller
/// wants the data ([`Request::data_form`]) and variables given as JSON text
/// ([`Request::raw_variables`]). A wrapper that reads or changes the result's data asks what
/// it wraps for a value (and may answer in the form its caller asked for with
/// [`ExecutionResult::into_form`]); one that reads or changes variables materializes those
/// given as JSON text first.
///
/// A custom executor is one line with [`from_fn`]:
///
/// ```
/// use quilt_executor::{from_fn, Executor, ExecutionResult, Request, Response};
/// use serde_json::json;
///
/// let echo = from_fn(|request: Request| async move {
///     Ok(Response::Single(ExecutionResult::from_data(json!({ "query": request.query() }))))
/// });
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let result = echo.execute(Request::new("{ hello }").unwrap()).await.unwrap();
/// let result = result.into_single().await.unwrap();
/// assert_eq!(result.data_value(), Some(json!({ "query": "{ hello }" })));
/// # });
/// ```
pub trait Executor: Send + Sync + 'static {
    /// Executes one request.
    fn execute(&self, request: Request) -> ExecuteFuture;
}

/// A shared, type-erased executor.
pub type SharedExecutor = Arc<dyn Executor>;

impl<E: Executor + ?Sized> Executor for Arc<E> {
    fn execute(&self, request: Request) -> ExecuteFuture {
        (**self).execute(request)
    }
}

impl<E: Executor + ?Sized> Executor for Box<E> {
    fn execute(&self, request: Request) -> ExecuteFuture {
        (**self).execute(request)
    }
}

/// An executor made from an async function; see [`from_fn`].
#[derive(Clone)]
pub struct FnExecutor<F>(F);

/// Makes an executor from an async function or closure taking a [`Request`].
///
/// Variables given as JSON text ([`Request::raw_variables`]) are moved into
/// [`Request::variables`] before the function is called, so that it reads every variable by
/// value; a request whose JSON text does not parse is answered with a request error.
pub fn from_fn<F, Fut>(f: F) -> FnExecutor<F>
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response, ExecutorError>> + Send + 'static,
{
    FnExecutor(f)
}

impl<F, Fut> Executor for FnExecutor<F>
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response, ExecutorError>> + Send + 'static,
{
    fn execute(&self, mut request: Request) -> ExecuteFuture {
        if let Err(error) = request.materialize_raw_variables() {
            return Box::pin(std::future::ready(Ok(Response::Single(
                raw_variable_error(&error),
            ))));
        }
        Box::pin((self.0)(request))
    }
}

/// The answer to a request whose variables given as JSON text do not parse.
pub(crate) fn raw_variable_error(error: &serde_json::Error) -> ExecutionResult {
    ExecutionResult::from_error(crate::GraphQLError::new(format!(
        "a variable given as JSON text could not be read: {error}"
    )))
}

impl<F> std::fmt::Debug for FnExecutor<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnExecutor")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn arc_dyn_and_box_are_executors() {
        let e: SharedExecutor = Arc::new(from_fn(|_r: Request| async {
            Ok(Response::Single(ExecutionResult::from_data(json!(1))))
        }));
        let boxed: Box<dyn Executor> = Box::new(e.clone());
        let r = boxed
            .execute(Request::new("{a}").unwrap())
            .await
            .unwrap()
            .into_single()
            .await
            .unwrap();
        assert_eq!(r.data_value(), Some(json!(1)));
    }

    #[tokio::test]
    async fn into_single_of_empty_stream_is_closed_error() {
        let r = Response::Stream(stream::empty().boxed())
            .into_single()
            .await;
        assert!(matches!(r, Err(ExecutorError::Closed { .. })));
    }
}
