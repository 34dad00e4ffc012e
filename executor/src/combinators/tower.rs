//! The bridge to tower: every executor is a `tower::Service<Request>`, and every such service
//! (with any tower middleware around it) is an executor.

use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use tower::{Service, ServiceExt as _};

use crate::error::ExecutorError;
use crate::executor::{ExecuteFuture, Executor, Response};
use crate::request::Request;

/// An executor seen as a [`tower::Service`]: always ready, errors are [`ExecutorError`]s.
///
/// ```
/// use quilt_executor::{from_fn, ExecutionResult, ExecutorService, Request, Response};
/// use tower::ServiceExt;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let executor = from_fn(|_r: Request| async {
///     Ok(Response::Single(ExecutionResult::from_data(serde_json::json!(1))))
/// });
/// let response = ExecutorService::new(executor)
///     .oneshot(Request::new("{ a }").unwrap())
///     .await
///     .unwrap();
/// assert!(!response.is_stream());
/// # });
/// ```
pub struct ExecutorService<E>(Arc<E>);

impl<E: Executor> ExecutorService<E> {
    /// Wraps an executor.
    pub fn new(executor: E) -> Self {
        Self(Arc::new(executor))
    }
}

impl<E> Clone for ExecutorService<E> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<E: Executor> Service<Request> for ExecutorService<E> {
    type Response = Response;
    type Error = ExecutorError;
    type Future = ExecuteFuture;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        self.0.execute(request)
    }
}

/// A [`tower::Service<Request>`] seen as an executor; see
/// [`ExecutorExt::layer`](crate::ExecutorExt::layer).
///
/// One service instance is shared by all callers (its readiness is awaited under an async lock,
/// then the call's future runs without it), so stateful middleware such as a rate limit or a
/// concurrency limit sees every request, like a `tower::buffer::Buffer` without a worker task.
///
/// Errors of the service become [`ExecutorError`]s: an `ExecutorError` is kept as it is, tower's
/// `timeout::error::Elapsed` becomes [`ExecutorError::Timeout`], anything else (such as
/// `load_shed::error::Overloaded`) [`ExecutorError::Other`] with the error as its source.
pub struct ServiceExecutor<S> {
    service: Arc<tokio::sync::Mutex<S>>,
}

impl<S> ServiceExecutor<S> {
    /// Wraps a service.
    pub fn new(service: S) -> Self {
        Self {
            service: Arc::new(tokio::sync::Mutex::new(service)),
        }
    }
}

impl<S> Executor for ServiceExecutor<S>
where
    S: Service<Request, Response = Response> + Send + 'static,
    S::Error: Into<tower::BoxError>,
    S::Future: Send + 'static,
{
    /// Variables given as JSON text are moved into `variables` before the service sees the
    /// request, so that it reads every variable by value.
    fn execute(&self, mut request: Request) -> ExecuteFuture {
        if let Err(error) = request.materialize_raw_variables() {
            return Box::pin(std::future::ready(Ok(Response::Single(
                crate::executor::raw_variable_error(&error),
            ))));
        }
        let service = self.service.clone();
        Box::pin(async move {
            let future = {
                let mut service = service.lock().await;
                let ready = service.ready().await.map_err(into_executor_error)?;
                ready.call(request)
            };
            future.await.map_err(into_executor_error)
        })
    }
}

impl<S> std::fmt::Debug for ServiceExecutor<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceExecutor")
    }
}

fn into_executor_error(error: impl Into<tower::BoxError>) -> ExecutorError {
    let error = error.into();
    match error.downcast::<ExecutorError>() {
        Ok(error) => *error,
        Err(error) => {
            if error.is::<tower::timeout::error::Elapsed>() {
                ExecutorError::Timeout {
                    endpoint: "tower timeout layer".into(),
                    after: std::time::Duration::ZERO,
                }
            } else {
                ExecutorError::Other {
                    message: error.to_string(),
                    source: Some(Arc::from(error)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::combinators::ExecutorExt;
    use crate::executor::from_fn;
    use crate::result::ExecutionResult;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;
    use tokio::sync::{Semaphore, mpsc};

    const WAIT: Duration = Duration::from_secs(5);

    /// An executor that reports each call's start, records the peak of calls running at once,
    /// and finishes a call only when `release` gets a permit.
    fn gated(
        started: mpsc::Sender<()>,
        peak: Arc<AtomicUsize>,
        release: Arc<Semaphore>,
    ) -> impl Executor {
        let running = Arc::new(AtomicUsize::new(0));
        from_fn(move |_r: Request| {
            let (started, running, peak, release) = (
                started.clone(),
                running.clone(),
                peak.clone(),
                release.clone(),
            );
            async move {
                peak.fetch_max(running.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                let _ = started.send(()).await;
                release.acquire().await.expect("open").forget();
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(Response::Single(ExecutionResult::from_data(
                    serde_json::json!(1),
                )))
            }
        })
    }

    async fn recv(rx: &mut mpsc::Receiver<()>) {
        tokio::time::timeout(WAIT, rx.recv())
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn concurrency_limit_layer_bounds_calls_in_flight() {
        let (tx, mut started) = mpsc::channel(16);
        let (peak, release) = (Arc::new(AtomicUsize::new(0)), Arc::new(Semaphore::new(0)));
        let executor = Arc::new(
            gated(tx, peak.clone(), release.clone())
                .layer(tower::limit::ConcurrencyLimitLayer::new(2)),
        );
        let calls: Vec<_> = (0..6)
            .map(|_| {
                let e = executor.clone();
                tokio::spawn(async move { e.execute(Request::new("{a}").unwrap()).await })
            })
            .collect();
        recv(&mut started).await;
        recv(&mut started).await;
        for _ in 0..4 {
            release.add_permits(1);
            recv(&mut started).await;
        }
        release.add_permits(2);
        for call in calls {
            assert!(
                tokio::time::timeout(WAIT, call)
                    .await
                    .unwrap()
                    .unwrap()
                    .is_ok()
            );
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn load_shed_rejects_when_the_limit_is_reached() {
        let (tx, mut started) = mpsc::channel(16);
        let release = Arc::new(Semaphore::new(0));
        let executor = Arc::new(
            gated(tx, Arc::default(), release.clone()).layer(
                tower::ServiceBuilder::new()
                    .load_shed()
                    .concurrency_limit(1)
                    .into_inner(),
            ),
        );
        let first = {
            let e = executor.clone();
            tokio::spawn(async move { e.execute(Request::new("{a}").unwrap()).await })
        };
        recv(&mut started).await;
        let shed = executor.execute(Request::new("{a}").unwrap()).await;
        release.add_permits(1);
        assert!(first.await.unwrap().is_ok());
        let error = shed.unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Other);
        assert!(error.to_string().contains("overloaded"), "{error}");
    }

    #[tokio::test]
    async fn tower_timeout_becomes_executor_timeout() {
        let slow = from_fn(|_r: Request| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(Response::Single(ExecutionResult::default()))
        })
        .layer(tower::timeout::TimeoutLayer::new(Duration::from_millis(10)));
        let error = slow
            .execute(Request::new("{a}").unwrap())
            .await
            .unwrap_err();
        assert!(matches!(error, ExecutorError::Timeout { .. }), "{error:?}");
    }

    #[tokio::test]
    async fn errors_of_the_inner_executor_keep_their_kind() {
        let failing = from_fn(|_r: Request| async {
            Err::<Response, _>(ExecutorError::HttpStatus {
                endpoint: "e".into(),
                status: 503,
                body_excerpt: String::new(),
            })
        })
        .layer(tower::layer::util::Identity::new());
        let error = failing
            .execute(Request::new("{a}").unwrap())
            .await
            .unwrap_err();
        assert_eq!(error.status(), Some(503));
    }
}
