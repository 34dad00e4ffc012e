//! In-flight deduplication: while a query is on the wire, identical ones wait for its result.
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
pub(super) struct DedupKey {
    hash: u64,
    method: Method,
    url: String,
    body: Bytes,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl std::hash::Hash for DedupKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
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
            // Set by `Dedup::run` with the executor's random hash keys.
            hash: 0,
            method,
            url: url.to_owned(),
            body,
            headers,
        }
    }
}

/// A hasher that passes on the one `u64` a [`DedupKey`] writes.
#[derive(Default)]
struct PrehashedHasher(u64);

impl Hasher for PrehashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is called by `DedupKey`; anything else is folded in anyway.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

type InFlight =
    HashMap<Arc<DedupKey>, Vec<oneshot::Sender<Outcome>>, BuildHasherDefault<PrehashedHasher>>;

/// The in-flight requests of one executor.
#[derive(Debug, Default)]
pub(super) struct Dedup {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// For each request on the wire, the waiters for its outcome.
    in_flight: Mutex<InFlight>,
    /// The random keys every [`DedupKey`]'s hash is computed with.
    hash_keys: RandomState,
    deduplicated: AtomicU64,
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
    key: Option<Arc<DedupKey>>,
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

impl Dedup {
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
    pub(super) async fn run<F>(&self, mut key: DedupKey, send: impl FnOnce() -> F) -> Outcome
    where
        F: Future<Output = Outcome>,
    {
        key.hash = self
            .inner
            .hash_keys
            .hash_one((&key.method, &key.url, &key.body, &key.headers));
        let key = Arc::new(key);
        let waiting = match self.inner.lock().entry(key.clone()) {
            Entry::Occupied(mut waiters) => {
                let (tx, rx) = oneshot::channel();
                waiters.get_mut().push(tx);
                Some(rx)
            }
            Entry::Vacant(vacant) => {
                vacant.insert(Vec::new());
                None
            }
        };
        if let Some(rx) = waiting {
            // Counted on joining, so that the count shows who is waiting; taken back if the
            // leader goes away.
            self.inner.deduplicated.fetch_add(1, Ordering::Relaxed);
            return match rx.await {
                Ok(outcome) => outcome,
                // The leader was dropped before it finished: send on our own.
                Err(_) => {
                    self.inner.deduplicated.fetch_sub(1, Ordering::Relaxed);
                    self.inner.sent.fetch_add(1, Ordering::Relaxed);
                    send().await
                }
            };
        }
        let guard = LeaderGuard {
            inner: &self.inner,
            key: Some(key),
        };
        self.inner.sent.fetch_add(1, Ordering::Relaxed);
        let outcome = send().await;
        for waiter in guard.finish() {
            let _ = waiter.send(outcome.clone());
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;
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
        let dedup = Dedup::default();
        let pending = dedup.run(key("q"), futures::future::pending);
        let polled = futures::poll!(Box::pin(pending));
        assert!(polled.is_pending());
        assert!(dedup.inner.in_flight.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn waiters_of_a_dropped_leader_send_on_their_own() {
        let dedup = Dedup::default();
        let mut leader = Box::pin(dedup.run(key("q"), futures::future::pending));
        assert!(futures::poll!(&mut leader).is_pending());
        let mut waiter = Box::pin(dedup.run(key("q"), || async {
            Ok(ExecutionResult::from_data(json!("own")))
        }));
        assert!(futures::poll!(&mut waiter).is_pending());
        drop(leader);
        let outcome = waiter.await.unwrap();
        assert_eq!(outcome.data, Some(json!("own")));
        assert_eq!(dedup.deduplicated(), 0);
    }
}
