//! Inbound in-flight deduplication: concurrent identical queries share one execution.
//!
//! Fifty clients asking the same query at the same moment need one answer, not fifty: the
//! first request starts the execution on its own task, the others join it, and each gets its
//! own copy of the result. Identical means the same [`RequestKey`](key::RequestKey): document,
//! operation name, variables, extensions, connection params and the values of the headers named
//! in [`DedupOptions`] (by default `authorization` and `cookie`), so two users never share an
//! answer meant for one of them.
//!
//! Only queries are shared. Mutations have effects, subscriptions and `@defer`/`@stream`
//! queries answer with streams (subscriptions have their own fan-out), and uploads carry bodies
//! that are not part of the key: all of them pass straight through.

mod inflight;
mod key;
mod table;

use std::sync::Arc;

use http::HeaderName;
use http::header::{AUTHORIZATION, COOKIE};

use crate::error::ExecutorError;
use crate::executor::{ExecuteFuture, Executor, Response};
use crate::request::Request;
use crate::result::ExecutionResult;

pub use self::inflight::DedupStats;
pub use self::table::{DedupKey, DedupTable, DedupWaiter};

/// What a shared execution gives each of its waiters: one `Arc`, cloned out only when a waiter
/// needs its own (the last one to read it takes it without a copy).
type Outcome = Arc<Result<ExecutionResult, ExecutorError>>;

/// Which requests may share an execution; see [`ExecutorExt::dedup_inflight`](crate::ExecutorExt::dedup_inflight).
///
/// ```
/// use quilt_executor::DedupOptions;
/// let options = DedupOptions::default().header(http::HeaderName::from_static("x-tenant"));
/// assert_eq!(options.headers().len(), 3); // authorization, cookie, x-tenant
/// ```
#[derive(Debug, Clone)]
pub struct DedupOptions {
    headers: Vec<HeaderName>,
}

impl Default for DedupOptions {
    /// `authorization` and `cookie`: the headers that say who the client is.
    fn default() -> Self {
        Self {
            headers: vec![AUTHORIZATION, COOKIE],
        }
    }
}

impl DedupOptions {
    /// Adds a header whose value must be equal for two requests to share an execution: one
    /// forwarded upstream, or read by an authorizer.
    pub fn header(mut self, name: impl Into<HeaderName>) -> Self {
        let name = name.into();
        if !self.headers.contains(&name) {
            self.headers.push(name);
        }
        self
    }

    /// The headers that must be equal (the default: `authorization` and `cookie`).
    pub fn headers(&self) -> &[HeaderName] {
        &self.headers
    }

    /// Replaces the list of headers that must be equal.
    pub fn with_headers(mut self, headers: impl IntoIterator<Item = HeaderName>) -> Self {
        self.headers = Vec::new();
        for name in headers {
            self = self.header(name);
        }
        self
    }
}

/// Shares one execution among concurrent identical queries; see
/// [`ExecutorExt::dedup_inflight`](crate::ExecutorExt::dedup_inflight).
///
/// The execution runs on a task of its own, so a client that times out or disconnects (its
/// future dropped) leaves it running for the others; it is cancelled only when every client
/// waiting on it is gone. Values of the request's [`Context`](crate::Context) added with
/// `insert` are not part of the identity: if authorization depends on one, name a header in
/// [`DedupOptions`] that carries it, or do not deduplicate.
pub struct DedupInflight<E> {
    inner: Arc<E>,
    table: DedupTable<Outcome>,
}

impl<E: Executor> DedupInflight<E> {
    /// Wraps `inner`.
    pub fn new(inner: E, options: DedupOptions) -> Self {
        Self {
            inner: Arc::new(inner),
            table: DedupTable::new(options),
        }
    }

    /// Executions started and requests that shared one, so far.
    pub fn stats(&self) -> DedupStats {
        self.table.stats()
    }
}

impl<E: Executor> Executor for DedupInflight<E> {
    fn execute(&self, request: Request) -> ExecuteFuture {
        if !DedupTable::<Outcome>::is_shareable(&request) {
            return self.inner.execute(request);
        }
        let key = self.table.key(&request);
        let inner = Arc::clone(&self.inner);
        let waiter = self.table.join(key, move || async move {
            let outcome = match inner.execute(request).await {
                Ok(response) => response.into_single().await,
                Err(error) => Err(error),
            };
            Arc::new(outcome)
        });
        Box::pin(async move {
            let Some(outcome) = waiter.value().await else {
                return Err(ExecutorError::Other {
                    message:
                        "the shared execution of this query ended without a result (it panicked)"
                            .into(),
                    source: None,
                });
            };
            // The last waiter to get here takes the result; the others copy it.
            let outcome = Arc::try_unwrap(outcome).unwrap_or_else(|shared| (*shared).clone());
            outcome.map(Response::Single)
        })
    }
}

impl<E> std::fmt::Debug for DedupInflight<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DedupInflight")
            .field("table", &self.table)
            .field("stats", &self.table.stats())
            .finish()
    }
}
