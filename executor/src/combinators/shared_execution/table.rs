//! The public face of the in-flight table: keys computed from requests, and the counters, for
//! whoever shares something per request — [`DedupInflight`](super::DedupInflight) shares
//! results; a server can share its serialized answers, so that fifty waiting clients cost one
//! serialization instead of fifty.

use std::future::Future;
use std::sync::Arc;

use http::HeaderName;

use super::DedupOptions;
use super::inflight::{DedupStats, InFlight, Waiter};
use super::key::RequestKey;
use crate::request::Request;

/// The identity of a request for deduplication, made by [`DedupTable::key`].
#[derive(Debug)]
pub struct DedupKey(RequestKey);

/// Executions in flight by request identity, each shared by the concurrent requests that are
/// the same; `T` is what every waiter gets a clone of (make it an `Arc`).
///
/// Clones share the table and its counters.
///
/// ```
/// use std::sync::Arc;
/// use quilt_executor::{DedupOptions, DedupTable, Request};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let table: DedupTable<Arc<String>> = DedupTable::new(DedupOptions::default());
/// let request = Request::new("{ hello }").unwrap();
/// assert!(DedupTable::<Arc<String>>::is_shareable(&request));
/// let waiter = table.join(table.key(&request), || async { Arc::new("answer".to_owned()) });
/// assert_eq!(waiter.value().await.as_deref().map(String::as_str), Some("answer"));
/// assert_eq!(table.stats().executions, 1);
/// # });
/// ```
pub struct DedupTable<T> {
    headers: Arc<[HeaderName]>,
    table: InFlight<RequestKey, T>,
}

impl<T> Clone for DedupTable<T> {
    fn clone(&self) -> Self {
        Self {
            headers: Arc::clone(&self.headers),
            table: self.table.clone(),
        }
    }
}

impl<T> std::fmt::Debug for DedupTable<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DedupTable")
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

/// One request's wait for a shared execution; dropping it gives up its share (the execution is
/// cancelled when no waiter is left).
pub struct DedupWaiter<T>(Waiter<T>);

impl<T> DedupWaiter<T> {
    /// Whether this request joined an execution another request started.
    pub fn is_shared(&self) -> bool {
        self.0.shared
    }

    /// The shared value, or `None` if the execution's task ended without one (it panicked).
    pub async fn value(self) -> Option<T> {
        self.0.value().await
    }
}

impl<T: Clone + Send + 'static> DedupTable<T> {
    /// An empty table keyed with `options`' headers.
    pub fn new(options: DedupOptions) -> Self {
        Self {
            headers: options.headers.into(),
            table: InFlight::default(),
        }
    }

    /// Whether `request` may share an execution: a plain query, without uploads or incremental
    /// delivery, inside a tokio runtime (the shared execution runs on a task of its own).
    /// Mutations, subscriptions, `@defer`/`@stream` and uploads are never shared.
    pub fn is_shareable(request: &Request) -> bool {
        request.operation_type() == crate::OperationType::Query
            && request.uploads.is_empty()
            && !request.document.uses_incremental_delivery()
            && tokio::runtime::Handle::try_current().is_ok()
    }

    /// The identity of `request`: document, operation name, variables, extensions,
    /// connection params and the values of the table's headers.
    pub fn key(&self, request: &Request) -> DedupKey {
        DedupKey(RequestKey::new(request, &self.headers))
    }

    /// Joins the execution in flight for `key`, or starts `work` on a new task. `work` runs
    /// on that task and outlives any single waiter. Call it within a tokio runtime (see
    /// [`is_shareable`](Self::is_shareable)).
    pub fn join<F, Fut>(&self, key: DedupKey, work: F) -> DedupWaiter<T>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = T> + Send + 'static,
    {
        DedupWaiter(self.table.join(key.0, work))
    }

    /// Executions started and requests that shared one, so far.
    pub fn stats(&self) -> DedupStats {
        self.table.stats()
    }
}
