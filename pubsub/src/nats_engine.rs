//! The NATS engine (core NATS): topics are subjects, so every instance connected to one NATS
//! server (or cluster) sees every event.
//!
//! One client publishes (async-nats reconnects it by itself; a publish while it is disconnected
//! fails instead of being buffered, and each publish is flushed so an error is not swallowed).
//! One client subscribes, owned by the shared subscriber task: when it loses the server the
//! task drops it, reports the outage to every subscriber, and subscribes again on a new client.
//!
//! With [`NatsPubSubOptions::jetstream`] the events are also kept in a JetStream stream over
//! the prefix's subjects: a publish returns once the stream stored it, and each topic is read
//! by an ordered consumer that, after a reconnect, starts again after the last event it
//! delivered, so the events published meanwhile are replayed instead of missed. Only when the
//! stream no longer holds them (its retention dropped them, or it was recreated) is the topic's
//! subscriber told with [`Missed::Interrupted`](crate::Missed::Interrupted).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::connection::State;
use futures::StreamExt;
use futures::future::BoxFuture;
use serde_json::Value;
use tokio::sync::watch;

use crate::registry::Registry;
use crate::upstream::{self, Connect, Link, Settings, Upstream};
use crate::{EventStream, PubSub, PubSubError};

/// The longest subject the engine accepts, in bytes.
const MAX_SUBJECT: usize = 1024;

/// Settings of a [`NatsPubSub`].
#[derive(Debug, Clone)]
pub struct NatsPubSubOptions {
    /// The server URL, e.g. `nats://127.0.0.1:4222`.
    pub url: String,
    /// A prefix for the subjects (e.g. `app.`), so several applications share one server.
    pub subject_prefix: String,
    /// The events a local subscriber's queue holds before the oldest are dropped.
    pub capacity: usize,
    /// The time allowed to connect, publish (to the server's acknowledgement of a flush) or
    /// subscribe.
    pub timeout: Duration,
    /// The first wait before reconnecting the subscribing client; doubled up to
    /// `max_reconnect_delay`.
    pub min_reconnect_delay: Duration,
    /// The longest wait between reconnection attempts.
    pub max_reconnect_delay: Duration,
    /// Keep the events in a JetStream stream for replay after a reconnect; `None`: core NATS.
    pub jetstream: Option<JetStreamOptions>,
}

/// The JetStream stream of a [`NatsPubSub`]: created if missing, over the subjects
/// `{subject_prefix}>` (so the prefix must be tokens ending with `.`).
#[derive(Debug, Clone)]
pub struct JetStreamOptions {
    /// The stream's name (no spaces, `.`, `*` or `>`).
    pub stream: String,
    /// How long the stream keeps an event: the longest outage a subscriber recovers from.
    pub max_age: Duration,
}

impl NatsPubSubOptions {
    /// Defaults for `url`: no prefix, queues of 1,024 events, 2 s timeouts, reconnecting after
    /// 50 ms up to 2 s.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            subject_prefix: String::new(),
            capacity: 1024,
            timeout: Duration::from_secs(2),
            min_reconnect_delay: Duration::from_millis(50),
            max_reconnect_delay: Duration::from_secs(2),
            jetstream: None,
        }
    }

    /// Keeps the events in the JetStream stream `stream` (created if missing, keeping events
    /// for an hour), so subscribers replay what they missed while disconnected.
    pub fn jetstream(mut self, stream: impl Into<String>) -> Self {
        self.jetstream = Some(JetStreamOptions {
            stream: stream.into(),
            max_age: Duration::from_secs(3600),
        });
        self
    }

    /// Sets the subject prefix.
    pub fn subject_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.subject_prefix = prefix.into();
        self
    }

    /// Sets the per-subscriber queue capacity.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }
}

/// A [`PubSub`] over NATS subjects.
///
/// ```no_run
/// use quilt_pubsub::{NatsPubSub, PubSub};
/// # async fn run() -> Result<(), quilt_pubsub::PubSubError> {
/// let pubsub = NatsPubSub::connect("nats://127.0.0.1:4222").await?;
/// pubsub.publish("SEAT_SOLD", serde_json::json!({ "seat": 7 })).await?;
/// # Ok(()) }
/// ```
///
/// An outage is reported to subscribers as [`Missed::Interrupted`](crate::Missed::Interrupted),
/// and so is a slow-consumer notice from the client (the server dropped events for us).
#[derive(Clone)]
pub struct NatsPubSub {
    inner: Arc<Inner>,
}

struct Inner {
    options: NatsPubSubOptions,
    publisher: async_nats::Client,
    /// The publisher's JetStream context, with JetStream.
    jetstream: Option<async_nats::jetstream::Context>,
    upstream: Upstream,
}

impl NatsPubSub {
    /// Connects with default options.
    pub async fn connect(url: &str) -> Result<Self, PubSubError> {
        Self::connect_with(NatsPubSubOptions::new(url)).await
    }

    /// Connects: fails when the server cannot be reached now.
    pub async fn connect_with(options: NatsPubSubOptions) -> Result<Self, PubSubError> {
        let settings = Settings {
            url: options.url.clone(),
            engine: "nats",
            timeout: options.timeout,
            min_reconnect_delay: options.min_reconnect_delay,
            max_reconnect_delay: options.max_reconnect_delay,
        };
        let unavailable = |message: String| PubSubError::Unavailable {
            url: options.url.clone(),
            message,
        };
        if options.jetstream.is_some()
            && (!options.subject_prefix.ends_with('.')
                || subject_name(&options.subject_prefix, "x").is_err())
        {
            return Err(unavailable(
                "JetStream needs a subject prefix of tokens ending with `.` (its stream's subjects are `{prefix}>`)".into(),
            ));
        }
        let publisher = tokio::time::timeout(
            options.timeout,
            async_nats::ConnectOptions::new()
                .connection_timeout(options.timeout)
                .connect(options.url.as_str()),
        )
        .await
        .map_err(|_| "connecting timed out".to_owned())
        .and_then(|connected| connected.map_err(|e| e.to_string()))
        .map_err(unavailable)?;
        let jetstream = match &options.jetstream {
            Some(jetstream) => {
                let context = async_nats::jetstream::new(publisher.clone());
                let config = async_nats::jetstream::stream::Config {
                    name: jetstream.stream.clone(),
                    subjects: vec![format!("{}>", options.subject_prefix)],
                    max_age: jetstream.max_age,
                    ..Default::default()
                };
                tokio::time::timeout(options.timeout, context.get_or_create_stream(config))
                    .await
                    .map_err(|_| unavailable("creating the JetStream stream timed out".into()))?
                    .map_err(|e| unavailable(format!("the JetStream stream: {e}")))?;
                Some(context)
            }
            None => None,
        };
        let connect = Subscriber {
            url: options.url.clone(),
            prefix: options.subject_prefix.clone(),
            timeout: options.timeout,
            jetstream: options.jetstream.as_ref().map(|j| j.stream.clone()),
            delivered: Arc::default(),
        };
        let upstream = Upstream::start(connect, settings, options.capacity).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                options,
                publisher,
                jetstream,
                upstream,
            }),
        })
    }

    fn subject(&self, topic: &str) -> Result<String, PubSubError> {
        subject_name(&self.inner.options.subject_prefix, topic)
    }
}

fn subject_name(prefix: &str, topic: &str) -> Result<String, PubSubError> {
    let subject = format!("{prefix}{topic}");
    let invalid = |message: &str| PubSubError::InvalidTopic {
        topic: topic.to_owned(),
        message: message.to_owned(),
    };
    if subject.len() > MAX_SUBJECT {
        return Err(invalid("the subject is longer than 1,024 bytes"));
    }
    if subject.split('.').any(str::is_empty) {
        return Err(invalid(
            "a NATS subject is dot-separated tokens, none of them empty",
        ));
    }
    if subject
        .chars()
        .any(|c| c.is_whitespace() || c == '*' || c == '>')
    {
        return Err(invalid(
            "a NATS subject cannot contain whitespace or the wildcards `*` and `>`",
        ));
    }
    Ok(subject)
}

impl std::fmt::Debug for NatsPubSub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsPubSub")
            .field("url", &self.inner.options.url)
            .finish()
    }
}

impl PubSub for NatsPubSub {
    fn publish(&self, topic: &str, payload: Value) -> BoxFuture<'static, Result<(), PubSubError>> {
        let inner = self.inner.clone();
        let subject = self.subject(topic);
        let topic = topic.to_owned();
        Box::pin(async move {
            let subject = subject?;
            let body = serde_json::to_vec(&payload).map_err(|e| PubSubError::Payload {
                topic: topic.clone(),
                message: e.to_string(),
            })?;
            let (url, timeout) = (&inner.options.url, inner.options.timeout);
            let unavailable = |message: String| PubSubError::Unavailable {
                url: url.clone(),
                message,
            };
            let max = inner.publisher.server_info().max_payload;
            if max > 0 && body.len() > max {
                return Err(PubSubError::Payload {
                    topic,
                    message: format!(
                        "the payload is {} bytes; the NATS server accepts at most {max}",
                        body.len()
                    ),
                });
            }
            // async-nats buffers publishes while it reconnects; refuse instead, so an error
            // means the event was not sent.
            if inner.publisher.connection_state() != State::Connected {
                return Err(unavailable("disconnected from the NATS server".into()));
            }
            let publish = async {
                if let Some(jetstream) = &inner.jetstream {
                    // Stored in the stream once the ack arrives.
                    let ack = jetstream
                        .publish(subject, body.into())
                        .await
                        .map_err(|e| e.to_string())?;
                    return ack.await.map(|_| ()).map_err(|e| e.to_string());
                }
                inner
                    .publisher
                    .publish(subject, body.into())
                    .await
                    .map_err(|e| e.to_string())?;
                round_trip(&inner.publisher).await
            };
            match tokio::time::timeout(timeout, publish).await {
                Ok(result) => result.map_err(unavailable),
                Err(_) => Err(unavailable(format!(
                    "the NATS server did not acknowledge within {timeout:?}"
                ))),
            }
        })
    }

    fn subscribe(&self, topics: &[&str]) -> BoxFuture<'static, Result<EventStream, PubSubError>> {
        if let Some(Err(e)) = topics.iter().map(|t| self.subject(t)).find(Result::is_err) {
            return Box::pin(async move { Err(e) });
        }
        self.inner.upstream.subscribe(topics)
    }
}

/// The subject of the round trips; no one answers it, so the server does ("no responders").
const ROUND_TRIP: &str = "_QUILT.round-trip";

/// Waits until the server has processed everything this client sent before: the server
/// handles a connection's messages in order, so its answer to a request sent after them (here
/// "no responders") means they were routed. `flush` alone only writes them to the socket.
async fn round_trip(client: &async_nats::Client) -> Result<(), String> {
    match client.request(ROUND_TRIP, Default::default()).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders => Ok(()),
        Err(e) => Err(format!("the NATS server did not answer: {e}")),
    }
}

/// The stream sequence of the last event delivered per topic (JetStream): where a topic's
/// consumer starts again after a reconnect. Kept across connections.
type Delivered = Arc<Mutex<HashMap<Arc<str>, u64>>>;

/// Opens subscribing clients.
struct Subscriber {
    url: String,
    prefix: String,
    timeout: Duration,
    /// The JetStream stream, if any.
    jetstream: Option<String>,
    delivered: Delivered,
}

struct SubscriberLink {
    client: async_nats::Client,
    registry: Arc<Registry>,
    prefix: String,
    forwarders: HashMap<Arc<str>, tokio::task::JoinHandle<()>>,
    closed: watch::Receiver<bool>,
    closed_tx: Arc<watch::Sender<bool>>,
    jetstream: Option<String>,
    delivered: Delivered,
}

fn lock(
    delivered: &Mutex<HashMap<Arc<str>, u64>>,
) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, u64>> {
    // One insert, remove or lookup at a time: consistent even after a panic.
    delivered.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Drop for SubscriberLink {
    fn drop(&mut self) {
        for forwarder in self.forwarders.values() {
            forwarder.abort();
        }
    }
}

impl Connect for Subscriber {
    type Link = SubscriberLink;

    async fn connect(&self, registry: Arc<Registry>) -> Result<SubscriberLink, String> {
        let (closed_tx, closed) = watch::channel(false);
        let closed_tx = Arc::new(closed_tx);
        let link_closed = closed_tx.clone();
        let events = registry.clone();
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(self.timeout)
            .event_callback(move |event| {
                let closed = closed_tx.clone();
                let registry = events.clone();
                async move {
                    match event {
                        async_nats::Event::Disconnected | async_nats::Event::Closed => {
                            let _ = closed.send(true);
                        }
                        async_nats::Event::SlowConsumer(_) => {
                            tracing::warn!("nats: slow consumer; the server dropped events");
                            registry.interrupted();
                        }
                        _ => {}
                    }
                }
            })
            .connect(self.url.as_str())
            .await
            .map_err(|e| e.to_string())?;
        Ok(SubscriberLink {
            client,
            registry,
            prefix: self.prefix.clone(),
            forwarders: HashMap::new(),
            closed,
            closed_tx: link_closed,
            jetstream: self.jetstream.clone(),
            delivered: self.delivered.clone(),
        })
    }

    fn replays(&self) -> bool {
        self.jetstream.is_some()
    }
}

impl SubscriberLink {
    /// Reads `topic` from the JetStream stream with an ordered consumer: after the last event
    /// delivered if there was one (a resubscription after a reconnect), else from now.
    async fn consume(&mut self, stream: &str, topic: &Arc<str>) -> Result<(), String> {
        use async_nats::jetstream::consumer::DeliverPolicy;
        use async_nats::jetstream::consumer::pull::OrderedConfig;

        if let Some(old) = self.forwarders.remove(topic) {
            old.abort();
        }
        let context = async_nats::jetstream::new(self.client.clone());
        let mut stream = context
            .get_stream(stream)
            .await
            .map_err(|e| format!("the JetStream stream: {e}"))?;
        let state = stream
            .info()
            .await
            .map_err(|e| format!("the JetStream stream: {e}"))?
            .state
            .clone();
        let last = lock(&self.delivered).get(topic).copied();
        let deliver_policy = match last {
            // The stream still holds everything after the last event delivered: replay it.
            Some(last) if last + 1 >= state.first_sequence && last <= state.last_sequence => {
                DeliverPolicy::ByStartSequence {
                    start_sequence: last + 1,
                }
            }
            Some(_) => {
                // Dropped by retention, or the stream was recreated: say so, start from now.
                tracing::warn!(topic = %topic, "nats: the JetStream stream no longer holds the events missed");
                self.registry.interrupted_topic(topic);
                lock(&self.delivered).remove(topic);
                DeliverPolicy::New
            }
            None => DeliverPolicy::New,
        };
        let consumer = stream
            .create_consumer(OrderedConfig {
                filter_subject: format!("{}{topic}", self.prefix),
                deliver_policy,
                ..Default::default()
            })
            .await
            .map_err(|e| format!("the JetStream consumer: {e}"))?;
        let mut messages = consumer
            .messages()
            .await
            .map_err(|e| format!("the JetStream consumer: {e}"))?;
        let (registry, delivered) = (self.registry.clone(), self.delivered.clone());
        let (local, closed) = (topic.clone(), self.closed_tx.clone());
        let forwarder = tokio::spawn(async move {
            while let Some(message) = messages.next().await {
                match message {
                    Ok(message) => {
                        if let Ok(info) = message.info() {
                            lock(&delivered).insert(local.clone(), info.stream_sequence);
                        }
                        upstream::deliver_json(&registry, "nats", &local, &message.payload);
                    }
                    Err(e) => {
                        tracing::warn!(topic = %local, error = %e, "nats: the JetStream consumer failed");
                        break;
                    }
                }
            }
            // Reconnect, and resume after the last event delivered.
            let _ = closed.send(true);
        });
        self.forwarders.insert(topic.clone(), forwarder);
        Ok(())
    }
}

impl Link for SubscriberLink {
    async fn subscribe(&mut self, topics: &[Arc<str>]) -> Result<(), String> {
        if let Some(stream) = self.jetstream.clone() {
            for topic in topics {
                self.consume(&stream, topic).await?;
            }
            return Ok(());
        }
        for topic in topics {
            if let Some(old) = self.forwarders.remove(topic) {
                old.abort();
            }
            let subject = format!("{}{topic}", self.prefix);
            let mut subscriber = self
                .client
                .subscribe(subject)
                .await
                .map_err(|e| e.to_string())?;
            let registry = self.registry.clone();
            let local = topic.clone();
            let forwarder = tokio::spawn(async move {
                while let Some(message) = subscriber.next().await {
                    upstream::deliver_json(&registry, "nats", &local, &message.payload);
                }
            });
            self.forwarders.insert(topic.clone(), forwarder);
        }
        round_trip(&self.client).await
    }

    async fn unsubscribe(&mut self, topic: &Arc<str>) {
        lock(&self.delivered).remove(topic);
        // Dropping the subscriber (in the aborted forwarder) sends UNSUB.
        if let Some(forwarder) = self.forwarders.remove(topic) {
            forwarder.abort();
            let _ = forwarder.await;
        }
        let _ = round_trip(&self.client).await;
    }

    async fn closed(&mut self) {
        let _ = self.closed.wait_for(|closed| *closed).await;
    }
}
