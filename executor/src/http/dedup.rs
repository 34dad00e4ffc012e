//! In-flight deduplication: while a query is on the wire, identical ones wait for its result.
//!
//! The key is what crosses the wire (method, URL, body, headers), so two requests share a
//! result only when the service could not tell them apart. Each waiter gets its own clone of
//! the result. The first request's future is shared: it runs while any waiter still waits, and
//! its map entry is removed as soon as it finishes or every waiter has gone.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared, WeakShared};
use http::{HeaderMap, HeaderName, HeaderValue, Method};

use crate::error::ExecutorError;
use crate::result::ExecutionResult;

type Outcome = Result<ExecutionResult, ExecutorError>;
type SharedFuture = Shared<BoxFuture<'static, Outcome>>;
/// An in-flight request: its id (so a late guard never removes a newer entry) and a weak
/// handle on its shared future (so the map alone does not keep an abandoned request alive).
type Entry = (u64, WeakShared<BoxFuture<'static, Outcome>>);

/// What makes two requests identical.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct DedupKey {
    method: Method,
    url: String,
    body: Bytes,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl DedupKey {
    /// The key of a request as it will be sent (headers in a canonical order).
    pub(super) fn new(method: Method, url: &str, body: Bytes, headers: &HeaderMap) -> Self {
        let mut headers: Vec<(HeaderName, HeaderValue)> = headers
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        headers.sort_by(|a, b| (a.0.as_str(), a.1.as_bytes()).cmp(&(b.0.as_str(), b.1.as_bytes())));
        Self {
            method,
            url: url.to_owned(),
            body,
            headers,
        }
    }
}

/// The in-flight requests of one executor.
#[derive(Debug, Default)]
pub(super) struct Dedup {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    in_flight: Mutex<HashMap<DedupKey, Entry>>,
    next_id: AtomicU64,
    deduplicated: AtomicU64,
}

/// Removes its entry when the shared future finishes or is dropped (every waiter gone).
struct EntryGuard {
    inner: Arc<Inner>,
    key: Option<DedupKey>,
    id: u64,
}

impl Drop for EntryGuard {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut map = match self.inner.in_flight.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        if map.get(&key).is_some_and(|(id, _)| *id == self.id) {
            map.remove(&key);
        }
    }
}

impl Dedup {
    /// How many requests were answered by another request's result instead of being sent.
    pub(super) fn deduplicated(&self) -> u64 {
        self.inner.deduplicated.load(Ordering::Relaxed)
    }

    /// Runs `send` unless an identical request is in flight, in which case its result is
    /// awaited instead.
    pub(super) async fn run(
        &self,
        key: DedupKey,
        send: impl FnOnce() -> BoxFuture<'static, Outcome>,
    ) -> Outcome {
        let future = self.join_or_start(key, send);
        future.await
    }

    fn join_or_start(
        &self,
        key: DedupKey,
        send: impl FnOnce() -> BoxFuture<'static, Outcome>,
    ) -> SharedFuture {
        let mut map = match self.inner.in_flight.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(future) = map.get(&key).and_then(|(_, weak)| weak.upgrade()) {
            self.inner.deduplicated.fetch_add(1, Ordering::Relaxed);
            return future;
        }
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let guard = EntryGuard {
            inner: self.inner.clone(),
            key: Some(key.clone()),
            id,
        };
        let request = send();
        let future: SharedFuture = async move {
            let outcome = request.await;
            drop(guard);
            outcome
        }
        .boxed()
        .shared();
        if let Some(weak) = future.downgrade() {
            map.insert(key, (id, weak));
        }
        future
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::atomic::AtomicU32;

    fn key(body: &'static str) -> DedupKey {
        DedupKey::new(
            Method::POST,
            "http://x",
            Bytes::from(body),
            &HeaderMap::new(),
        )
    }

    #[tokio::test]
    async fn identical_requests_share_one_send() {
        let dedup = Dedup::default();
        let sends = Arc::new(AtomicU32::new(0));
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        let wait = wait.shared();
        let make = || {
            let sends = sends.clone();
            let wait = wait.clone();
            move || {
                async move {
                    sends.fetch_add(1, Ordering::SeqCst);
                    let _ = wait.await;
                    Ok(ExecutionResult::from_data(json!(1)))
                }
                .boxed()
            }
        };
        let a = dedup.run(key("q"), make());
        let b = dedup.run(key("q"), make());
        let c = dedup.run(key("other"), make());
        let mut all = Box::pin(async { futures::join!(a, b, c) });
        assert!(futures::poll!(&mut all).is_pending());
        let _ = release.send(());
        let (a, b, c) = all.await;
        assert_eq!(a.unwrap(), b.unwrap());
        assert!(c.is_ok());
        assert_eq!(sends.load(Ordering::SeqCst), 2);
        assert_eq!(dedup.deduplicated(), 1);
        assert!(dedup.inner.in_flight.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_abandoned_request_leaves_no_entry() {
        let dedup = Dedup::default();
        let pending = dedup.run(key("q"), || futures::future::pending().boxed());
        let polled = futures::poll!(Box::pin(pending));
        assert!(polled.is_pending());
        assert!(dedup.inner.in_flight.lock().unwrap().is_empty());
    }
}
