//! A deadline for an executor's answer.

use std::sync::Arc;
use std::time::Duration;

use crate::error::ExecutorError;
use crate::executor::{ExecuteFuture, Executor};
use crate::request::Request;

/// Fails a request with [`ExecutorError::Timeout`] when the inner executor has not answered
/// within the duration; see [`ExecutorExt::timeout`](crate::ExecutorExt::timeout).
///
/// The deadline covers producing the [`Response`](crate::Response): the whole of a query or
/// mutation, and the start of a stream (a subscription's events may take as long as they take).
/// Dropping the inner future on timeout cancels the request upstream.
pub struct Timeout<E> {
    inner: Arc<E>,
    after: Duration,
    label: Arc<str>,
}

impl<E: Executor> Timeout<E> {
    /// Wraps `inner`; `label` names it in the error (a URL or a subschema name).
    pub fn new(inner: E, after: Duration, label: impl Into<Arc<str>>) -> Self {
        Self {
            inner: Arc::new(inner),
            after,
            label: label.into(),
        }
    }
}

impl<E: Executor> Executor for Timeout<E> {
    fn execute(&self, request: Request) -> ExecuteFuture {
        self.within(self.inner.execute(request))
    }
}

impl<E> Timeout<E> {
    /// `future` failing with a timeout error after the duration.
    fn within(&self, future: ExecuteFuture) -> ExecuteFuture {
        let (after, label) = (self.after, self.label.clone());
        Box::pin(async move {
            match tokio::time::timeout(after, future).await {
                Ok(result) => result,
                Err(_) => Err(ExecutorError::Timeout {
                    endpoint: label.to_string(),
                    after,
                }),
            }
        })
    }
}

impl<E> std::fmt::Debug for Timeout<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timeout")
            .field("after", &self.after)
            .finish()
    }
}
