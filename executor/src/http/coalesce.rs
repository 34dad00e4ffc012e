//! Request coalescing: while a query is on the wire, identical ones wait for its result.
//!
//! The key is what crosses the wire (method, URL, body, headers), so two requests share a
//! result only when the service could not tell them apart. The first request (the leader) runs
//! in its caller's task, with no extra allocation or indirection; later identical requests
//! register a one-shot channel and get a clone of its outcome. If the leader is dropped before
//! it finishes, its waiters send their own requests.

use std::collections::HashMap;
use std::collections::hash_map::{Entry, RandomState};
use std::future::Future;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use tokio::sync::oneshot;

use crate::error::ExecutorError;
use crate::result::ExecutionResult;

type Outcome = Result<ExecutionResult, ExecutorError>;

/// What makes two requests identical, with its hash computed once (the map hashes only that),
/// with the executor's randomly keyed hasher so that peers cannot aim requests at one bucket.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct WireKey {
    hash: u64,
    method: Method,
    url: Arc<str>,
    body: Bytes,
    /// The headers in a canonical order, or `None` for the executor's own headers (its static
    /// headers and the defaults), which every request of one method carries when neither a
    /// header function nor `extensions.headers` adds any: keys of one executor only meet keys
    /// of the same executor.
    headers: Option<Box<[(HeaderName, HeaderValue)]>>,
    /// Whether the result's data is wanted as a tree: the two forms are not shared.
    tree: bool,
}

impl std::hash::Hash for WireKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl WireKey {
    /// The key of a request as it will be sent; `headers` is `None` when they are the
    /// executor's own (see [`WireKey::headers`]).
    pub(super) fn new(
        method: Method,
        url: Arc<str>,
        body: Bytes,
        headers: Option<&HeaderMap>,
        tree: bool,
    ) -> Self {
        let headers = headers.map(|headers| {
            let mut headers: Box<[(HeaderName, HeaderValue)]> = headers
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            headers.sort_unstable_by(|a, b| {
                (a.0.as_str(), a.1.as_bytes()).cmp(&(b.0.as_str(), b.1.as_bytes()))
            });
            headers
        });
        Self {
            // Set by `Coalescer::run` with the executor's random hash keys.
            hash: 0,
            method,
            url,
            body,
            headers,
            tree,
        }
    }

    /// The key's hash under `keys`: every part, each behind its length so that parts cannot
    /// slide into each other.
    fn hash_with(&self, keys: &RandomState) -> u64 {
        let mut hasher = keys.build_hasher();
        let mut part = |bytes: &[u8]| {
            hasher.write_usize(bytes.len());
            hasher.write(bytes);
        };
        part(&[u8::from(self.tree)]);
        part(self.method.as_str().as_bytes());
        part(self.url.as_bytes());
        part(&self.body);
        if let Some(headers) = &self.headers {
            for (name, value) in headers.iter() {
                part(name.as_str().as_bytes());
                part(value.as_bytes());
            }
        }
        hasher.finish()
    }
}

/// A hasher that passes on the one `u64` a [`WireKey`] writes.
#[derive(Default)]
struct PrehashedHasher(u64);

impl Hasher for PrehashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is called by `WireKey`; anything else is folded in anyway.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

type InFlight =
    HashMap<Arc<WireKey>, Vec<oneshot::Sender<Outcome>>, BuildHasherDefault<PrehashedHasher>>;

/// Requests that joined an identical one in flight (Prometheus name).
const SHARED: &str = "quilt_upstream_dedup_shared_total";

/// The in-flight requests of one executor.
#[derive(Debug, Default)]
pub(super) struct Coalescer {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// For each request on the wire, the waiters for its outcome.
    in_flight: Mutex<InFlight>,
    /// The random keys every [`WireKey`]'s hash is computed with.
    hash_keys: RandomState,
    deduplicated: AtomicU64,
    /// `quilt_upstream_dedup_shared_total` (through the `metrics` facade): requests that joined
    /// one in flight.
    shared_metric: Option<metrics::Counter>,
    /// Requests that went on the wire as leaders (or after their leader was dropped).
    sent: AtomicU64,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, InFlight> {
        match self.in_flight.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// Removes the leader's entry when it finishes or is dropped (dropping the senders tells the
/// waiters to send on their own).
struct LeaderGuard<'a> {
    inner: &'a Inner,
    key: Option<Arc<WireKey>>,
}

impl LeaderGuard<'_> {
    fn finish(mut self) -> Vec<oneshot::Sender<Outcome>> {
        let key = self.key.take();
        key.and_then(|key| self.inner.lock().remove(&key))
            .unwrap_or_default()
    }
}

impl Drop for LeaderGuard<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.inner.lock().remove(&key);
        }
    }
}

impl Coalescer {
    /// The table of one executor; `label` is the `subschema` label of its metric.
    pub(super) fn new(label: Option<&Arc<str>>) -> Self {
        let counter = match label {
            Some(label) => {
                metrics::counter!(SHARED, "subschema" => metrics::SharedString::from(label.clone()))
            }
            None => metrics::counter!(SHARED),
        };
        Self {
            inner: Arc::new(Inner {
                shared_metric: Some(counter),
                ..Inner::default()
            }),
        }
    }

    /// How many requests were answered by another request's result instead of being sent.
    pub(super) fn deduplicated(&self) -> u64 {
        self.inner.deduplicated.load(Ordering::Relaxed)
    }

    /// How many deduplicable requests were sent.
    pub(super) fn sent(&self) -> u64 {
        self.inner.sent.load(Ordering::Relaxed)
    }

    /// Runs `send` unless an identical request is in flight, in which case its outcome is
    /// awaited instead.
    pub(super) async fn run<F>(&self, key: WireKey, send: impl FnOnce() -> F) -> Outcome
    where
        F: Future<Output = Outcome>,
    {
        let (leader, waiting) = self.join(key);
        if let Some(rx) = waiting {
            // Counted on joining, so that the count shows who is waiting; taken back if the
            // leader goes away.
            self.inner.deduplicated.fetch_add(1, Ordering::Relaxed);
            if let Some(counter) = &self.inner.shared_metric {
                counter.increment(1);
            }
            match rx.await {
                Ok(outcome) => return outcome,
                // The leader was dropped before it finished: send on our own.
                Err(_) => {
                    self.inner.deduplicated.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }
        self.inner.sent.fetch_add(1, Ordering::Relaxed);
        // One call of `send` for the leader and an orphaned waiter alike, so that the future
        // holds one `F`.
        let outcome = send().await;
        if let Some(leader) = leader {
            for waiter in leader.finish() {
                let _ = waiter.send(outcome.clone());
            }
        }
        outcome
    }

    /// Enters `key` in the table: as the leader (who sends, and whose guard removes the entry)
    /// or as a waiter for the leader's outcome.
    fn join(
        &self,
        mut key: WireKey,
    ) -> (Option<LeaderGuard<'_>>, Option<oneshot::Receiver<Outcome>>) {
        key.hash = key.hash_with(&self.inner.hash_keys);
        let key = Arc::new(key);
        match self.inner.lock().entry(key.clone()) {
            Entry::Occupied(mut waiters) => {
                let (tx, rx) = oneshot::channel();
                waiters.get_mut().push(tx);
                return (None, Some(rx));
            }
            Entry::Vacant(vacant) => {
                vacant.insert(Vec::new());
            }
        }
        let leader = LeaderGuard {
            inner: &self.inner,
            key: Some(key),
        };
        (Some(leader), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;
    use serde_json::json;
    use std::sync::atomic::AtomicU32;

    fn key(body: &'static str) -> WireKey {
        WireKey::new(
            Method::POST,
            Arc::from("http://x"),
            Bytes::from(body),
            None,
            false,
        )
    }

    #[tokio::test]
    async fn identical_requests_share_one_send() {
        let dedup = Coalescer::default();
        let sends = Arc::new(AtomicU32::new(0));
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        let wait = wait.shared();
        let make = || {
            let sends = sends.clone();
            let wait = wait.clone();
            move || async move {
                sends.fetch_add(1, Ordering::SeqCst);
                let _ = wait.await;
                Ok(ExecutionResult::from_data(json!(1)))
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
        assert_eq!((dedup.sent(), dedup.deduplicated()), (2, 1));
        assert_eq!(dedup.deduplicated(), 1);
        assert!(dedup.inner.in_flight.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_abandoned_request_leaves_no_entry() {
        let dedup = Coalescer::default();
        let pending = dedup.run(key("q"), futures::future::pending);
        let polled = futures::poll!(Box::pin(pending));
        assert!(polled.is_pending());
        assert!(dedup.inner.in_flight.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn waiters_of_a_dropped_leader_send_on_their_own() {
        let dedup = Coalescer::default();
        let mut leader = Box::pin(dedup.run(key("q"), futures::future::pending));
        assert!(futures::poll!(&mut leader).is_pending());
        let mut waiter = Box::pin(dedup.run(key("q"), || async {
            Ok(ExecutionResult::from_data(json!("own")))
        }));
        assert!(futures::poll!(&mut waiter).is_pending());
        drop(leader);
        let outcome = waiter.await.unwrap();
        assert_eq!(outcome.data_value(), Some(json!("own")));
        assert_eq!(dedup.deduplicated(), 0);
    }
}
