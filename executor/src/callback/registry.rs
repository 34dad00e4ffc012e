//! The gateway's side of the callback URL: the table of open callback subscriptions and the
//! handling of every message an emitter POSTs, independent of the HTTP server that receives it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use http::StatusCode;
use rand::Rng;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::SendTimeoutError;
use url::Url;

use super::message::{self, Action};
use crate::error::ExecutorError;
use crate::result::{ExecutionResult, GraphQLError};

/// The table of open callback subscriptions, shared by the
/// [`CallbackExecutor`](super::CallbackExecutor)s that register subscriptions in it and the
/// HTTP route that receives the emitters' messages ([`CallbackRegistry::handle`]).
///
/// Cloning is cheap (an [`Arc`]); clones share the table.
///
/// ```
/// use quilt_executor::callback::CallbackRegistry;
/// let registry = CallbackRegistry::new("http://gateway.internal:4000/callback")?;
/// assert_eq!(registry.public_url(), "http://gateway.internal:4000/callback");
/// assert!(registry.is_empty());
/// # Ok::<(), quilt_executor::ExecutorError>(())
/// ```
#[derive(Clone)]
pub struct CallbackRegistry {
    inner: Arc<Inner>,
}

struct Inner {
    public_url: String,
    epoch: Instant,
    table: Mutex<HashMap<String, Entry>>,
    counters: Counters,
}

/// One open subscription.
struct Entry {
    verifier: String,
    sender: mpsc::Sender<Delivery>,
    /// Milliseconds since the registry's epoch of the last verified message.
    last_seen: Arc<AtomicU64>,
    /// How long a `next` may wait for room in the subscription's queue.
    delivery_timeout: Duration,
}

/// What reaches a subscription's consumer.
// Events are the common item; boxing them would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Delivery {
    Next(ExecutionResult),
    Complete(Vec<GraphQLError>),
}

#[derive(Default)]
struct Counters {
    registered: AtomicU64,
    accepted: AtomicU64,
    delivered: AtomicU64,
    not_found: AtomicU64,
    unauthorized: AtomicU64,
    malformed: AtomicU64,
    heartbeat_timeouts: AtomicU64,
    slow_consumers: AtomicU64,
}

/// Counters of a [`CallbackRegistry`] (shared by its clones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallbackStats {
    /// Subscriptions open now (registered, not yet completed, failed or dropped).
    pub open: usize,
    /// Subscriptions registered so far.
    pub registered: u64,
    /// Messages accepted (known id, right verifier): checks, events and completions.
    pub accepted: u64,
    /// Events handed to a consumer.
    pub delivered: u64,
    /// Messages answered 404: unknown or ended subscription (the emitter must stop).
    pub not_found: u64,
    /// Messages answered 401: a known id with the wrong verifier (nothing delivered).
    pub unauthorized: u64,
    /// Messages answered 400: not a callback message, or the URL's id differs from the body's.
    pub malformed: u64,
    /// Subscriptions ended because no message came within the heartbeat window.
    pub heartbeat_timeouts: u64,
    /// Subscriptions ended because their consumer fell behind by a whole queue for longer
    /// than the delivery timeout.
    pub slow_consumers: u64,
}

/// The answer to one callback message: the status to send, with the
/// `subscription-protocol: callback/1.0` header ([`SUBSCRIPTION_PROTOCOL_HEADER`](super::SUBSCRIPTION_PROTOCOL_HEADER)),
/// and a short body for humans.
///
/// - `204` a `check` of an open subscription; `200` an event handed to the consumer; `202` a
///   `complete` (as the Apollo Router answers);
/// - `404` an unknown or ended subscription: the emitter stops it (the client went away, or it
///   completed, failed or timed out);
/// - `401` a known subscription with the wrong verifier: nothing is delivered;
/// - `400` a body that is not a callback message, or whose id differs from the URL's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallbackReply {
    /// The HTTP status.
    pub status: StatusCode,
    /// A short explanation (the response body).
    pub message: &'static str,
}

impl CallbackReply {
    const fn new(status: StatusCode, message: &'static str) -> Self {
        Self { status, message }
    }
}

/// What a subscription's executor holds while it runs: the id and verifier it sent, the
/// receiving end of its queue, and the guard that removes it from the table when dropped.
pub(crate) struct Registration {
    pub id: Arc<str>,
    pub verifier: String,
    pub receiver: mpsc::Receiver<Delivery>,
    pub last_seen: Arc<AtomicU64>,
    pub guard: EntryGuard,
}

/// Removes a subscription from the table when dropped (so the emitter's next message gets
/// 404 and it stops).
pub(crate) struct EntryGuard {
    registry: CallbackRegistry,
    id: Arc<str>,
}

impl Drop for EntryGuard {
    fn drop(&mut self) {
        self.registry.remove(&self.id);
    }
}

impl EntryGuard {
    /// The registry the subscription is in.
    pub fn registry(&self) -> &CallbackRegistry {
        &self.registry
    }
}

impl CallbackRegistry {
    /// A registry whose callback route is reachable by the emitters at `public_url` (an
    /// `http` or `https` URL; each subscription's callback URL is `{public_url}/{id}`). Fails
    /// on an invalid URL.
    pub fn new(public_url: impl Into<String>) -> Result<Self, ExecutorError> {
        let public_url = public_url.into();
        let invalid = |message: String| ExecutorError::InvalidRequest {
            endpoint: public_url.clone(),
            message,
        };
        let url =
            Url::parse(&public_url).map_err(|e| invalid(format!("invalid callback URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "the callback URL must be http or https, not `{}`",
                url.scheme()
            )));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                public_url: public_url.trim_end_matches('/').to_owned(),
                epoch: Instant::now(),
                table: Mutex::new(HashMap::new()),
                counters: Counters::default(),
            }),
        })
    }

    /// The public URL the emitters reach the callback route at.
    pub fn public_url(&self) -> &str {
        &self.inner.public_url
    }

    /// The callback URL of subscription `id`.
    pub fn callback_url(&self, id: &str) -> String {
        format!("{}/{id}", self.inner.public_url)
    }

    /// How many subscriptions are open.
    pub fn len(&self) -> usize {
        self.table().len()
    }

    /// Whether no subscription is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The counters.
    pub fn stats(&self) -> CallbackStats {
        let c = &self.inner.counters;
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CallbackStats {
            open: self.len(),
            registered: get(&c.registered),
            accepted: get(&c.accepted),
            delivered: get(&c.delivered),
            not_found: get(&c.not_found),
            unauthorized: get(&c.unauthorized),
            malformed: get(&c.malformed),
            heartbeat_timeouts: get(&c.heartbeat_timeouts),
            slow_consumers: get(&c.slow_consumers),
        }
    }

    /// Handles one message POSTed to the callback route, by any HTTP server: `id_from_path` is
    /// the id in the URL (`{public_url}/{id}`), when the route has one; `body` the request body
    /// (the caller bounds its size). See [`CallbackReply`] for the answers.
    ///
    /// An event waits for room in its subscription's queue for at most the executor's delivery
    /// timeout (so a slow consumer slows its emitter down); past it, the subscription ends and
    /// the emitter gets 404.
    pub async fn handle(&self, id_from_path: Option<&str>, body: &[u8]) -> CallbackReply {
        let counters = &self.inner.counters;
        let message = match message::parse(body) {
            Ok(message) => message,
            Err(reason) => {
                tracing::debug!(%reason, "malformed callback message");
                counters.malformed.fetch_add(1, Ordering::Relaxed);
                return CallbackReply::new(StatusCode::BAD_REQUEST, "not a callback message");
            }
        };
        if id_from_path.is_some_and(|id| id != message.id) {
            counters.malformed.fetch_add(1, Ordering::Relaxed);
            return CallbackReply::new(
                StatusCode::BAD_REQUEST,
                "the id in the URL differs from the id in the body",
            );
        }
        let (sender, delivery_timeout) = {
            let table = self.table();
            let Some(entry) = table.get(&message.id) else {
                counters.not_found.fetch_add(1, Ordering::Relaxed);
                return CallbackReply::new(StatusCode::NOT_FOUND, "no such subscription");
            };
            if !constant_time_eq(entry.verifier.as_bytes(), message.verifier.as_bytes()) {
                counters.unauthorized.fetch_add(1, Ordering::Relaxed);
                return CallbackReply::new(StatusCode::UNAUTHORIZED, "the verifier does not match");
            }
            entry.last_seen.fetch_max(self.now_ms(), Ordering::Relaxed);
            (entry.sender.clone(), entry.delivery_timeout)
        };
        counters.accepted.fetch_add(1, Ordering::Relaxed);
        match message.action {
            Action::Check => CallbackReply::new(StatusCode::NO_CONTENT, ""),
            Action::Next(payload) => {
                match sender
                    .send_timeout(Delivery::Next(payload), delivery_timeout)
                    .await
                {
                    Ok(()) => {
                        counters.delivered.fetch_add(1, Ordering::Relaxed);
                        CallbackReply::new(StatusCode::OK, "")
                    }
                    Err(SendTimeoutError::Closed(_)) => {
                        self.remove(&message.id);
                        counters.not_found.fetch_add(1, Ordering::Relaxed);
                        CallbackReply::new(StatusCode::NOT_FOUND, "no such subscription")
                    }
                    Err(SendTimeoutError::Timeout(_)) => {
                        // Out of the table; once this sender is dropped the consumer sees the
                        // queue close without a `complete` and ends with an error.
                        self.remove(&message.id);
                        counters.slow_consumers.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(
                            id = %message.id, ?delivery_timeout,
                            "callback subscription ended: its consumer fell behind"
                        );
                        CallbackReply::new(
                            StatusCode::NOT_FOUND,
                            "the subscription ended: its consumer fell behind",
                        )
                    }
                }
            }
            Action::Complete(errors) => {
                self.remove(&message.id);
                // A consumer gone or stuck loses only the end marker; the queue closes anyway.
                let _ = sender
                    .send_timeout(Delivery::Complete(errors), delivery_timeout)
                    .await;
                CallbackReply::new(StatusCode::ACCEPTED, "")
            }
        }
    }

    /// Registers a new subscription with a random id and verifier and a queue of `capacity`
    /// events.
    pub(crate) fn register(&self, capacity: usize, delivery_timeout: Duration) -> Registration {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let last_seen = Arc::new(AtomicU64::new(self.now_ms()));
        let verifier = random_hex::<32>();
        let mut table = self.table();
        let id = loop {
            let id = random_uuid();
            if !table.contains_key(&id) {
                break id;
            }
        };
        table.insert(
            id.clone(),
            Entry {
                verifier: verifier.clone(),
                sender,
                last_seen: last_seen.clone(),
                delivery_timeout,
            },
        );
        drop(table);
        self.inner
            .counters
            .registered
            .fetch_add(1, Ordering::Relaxed);
        let id: Arc<str> = id.into();
        Registration {
            guard: EntryGuard {
                registry: self.clone(),
                id: id.clone(),
            },
            id,
            verifier,
            receiver,
            last_seen,
        }
    }

    /// Milliseconds since the registry was made.
    pub(crate) fn now_ms(&self) -> u64 {
        u64::try_from(self.inner.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The instant `ms` milliseconds after the registry was made.
    pub(crate) fn instant_at(&self, ms: u64) -> Instant {
        self.inner.epoch + Duration::from_millis(ms)
    }

    pub(crate) fn count_heartbeat_timeout(&self) {
        self.inner
            .counters
            .heartbeat_timeouts
            .fetch_add(1, Ordering::Relaxed);
    }

    fn remove(&self, id: &str) {
        self.table().remove(id);
    }

    fn table(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // Nothing panics while holding the lock; a poisoned table is still consistent.
        self.inner
            .table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for CallbackRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackRegistry")
            .field("public_url", &self.inner.public_url)
            .field("open", &self.len())
            .finish()
    }
}

/// Compares without an early exit, so the time taken does not tell how much of a guessed
/// verifier was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `N` random bytes (from the OS-seeded CSPRNG) as lowercase hex.
fn random_hex<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    rand::rng().fill(&mut bytes[..]);
    hex::encode(bytes)
}

/// A random (version 4) UUID in its usual text form, as the Apollo Router uses for ids.
fn random_uuid() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill(&mut bytes[..]);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn body(action: &str, id: &str, verifier: &str) -> Vec<u8> {
        serde_json::json!({
            "kind": "subscription", "action": action, "id": id, "verifier": verifier,
            "payload": {"data": {"n": 1}},
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn ids_are_uuids_and_verifiers_differ() {
        let id = random_uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(random_hex::<32>(), random_hex::<32>());
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn only_http_urls_are_callback_urls() {
        assert!(CallbackRegistry::new("ws://h/callback").is_err());
        assert!(CallbackRegistry::new("not a url").is_err());
        let registry = CallbackRegistry::new("http://h:1/callback/").unwrap();
        assert_eq!(registry.callback_url("x"), "http://h:1/callback/x");
    }

    #[tokio::test]
    async fn every_message_gets_the_status_of_the_protocol() {
        let registry = CallbackRegistry::new("http://h/callback").unwrap();
        let mut r = registry.register(1, Duration::from_millis(50));
        let (id, verifier) = (r.id.to_string(), r.verifier.clone());
        let status = |reply: CallbackReply| reply.status.as_u16();
        assert_eq!(
            status(
                registry
                    .handle(Some(&id), &body("check", &id, &verifier))
                    .await
            ),
            204
        );
        assert_eq!(
            status(registry.handle(None, &body("next", &id, &verifier)).await),
            200
        );
        assert!(matches!(r.receiver.recv().await, Some(Delivery::Next(_))));
        assert_eq!(
            status(registry.handle(None, &body("next", &id, "wrong")).await),
            401
        );
        assert_eq!(
            status(
                registry
                    .handle(None, &body("next", "nope", &verifier))
                    .await
            ),
            404
        );
        assert_eq!(
            status(
                registry
                    .handle(Some("other"), &body("check", &id, &verifier))
                    .await
            ),
            400
        );
        assert_eq!(status(registry.handle(None, b"{}").await), 400);
        // The queue holds one event; the second waits 50 ms, then the subscription ends.
        assert_eq!(
            status(registry.handle(None, &body("next", &id, &verifier)).await),
            200
        );
        assert_eq!(
            status(registry.handle(None, &body("next", &id, &verifier)).await),
            404
        );
        assert!(registry.is_empty());
        let stats = registry.stats();
        assert_eq!(
            (
                stats.delivered,
                stats.unauthorized,
                stats.not_found,
                stats.malformed,
                stats.slow_consumers
            ),
            (2, 1, 1, 2, 1)
        );
        drop(r);
    }

    #[tokio::test]
    async fn a_dropped_registration_leaves_the_table() {
        let registry = CallbackRegistry::new("http://h/callback").unwrap();
        let r = registry.register(4, Duration::from_secs(1));
        let (id, verifier) = (r.id.to_string(), r.verifier.clone());
        assert_eq!(registry.len(), 1);
        drop(r);
        assert!(registry.is_empty());
        let reply = registry
            .handle(Some(&id), &body("next", &id, &verifier))
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn complete_ends_the_subscription_after_its_events() {
        let registry = CallbackRegistry::new("http://h/callback").unwrap();
        let mut r = registry.register(4, Duration::from_secs(1));
        let (id, verifier) = (r.id.to_string(), r.verifier.clone());
        registry.handle(None, &body("next", &id, &verifier)).await;
        let reply = registry
            .handle(None, &body("complete", &id, &verifier))
            .await;
        assert_eq!(reply.status, StatusCode::ACCEPTED);
        assert!(
            registry.is_empty(),
            "a completed subscription is out of the table"
        );
        assert!(matches!(r.receiver.recv().await, Some(Delivery::Next(_))));
        assert!(matches!(r.receiver.recv().await, Some(Delivery::Complete(e)) if e.is_empty()));
        let reply = registry.handle(None, &body("check", &id, &verifier)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
    }
}
