//! The MQTT engine (MQTT v5, QoS 1): topics are MQTT topics under a prefix, so every instance
//! connected to one broker sees every event.
//!
//! One connection per engine both publishes and subscribes (an MQTT client receives what it
//! publishes to a topic it subscribed to). A task owns rumqttc's event loop: it matches each
//! publish and subscribe with the broker's acknowledgement (PUBACK, SUBACK), delivers incoming
//! events into the registry, and after an outage reports it to every subscriber, connects a new
//! clean session and subscribes again.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::future::BoxFuture;
use rumqttc::Outgoing;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Packet, PubAckReason, SubscribeReasonCode};
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::registry::{OnEmpty, Registry};
use crate::upstream;
use crate::{EventStream, PubSub, PubSubError};

/// The longest topic MQTT carries, in bytes.
const MAX_TOPIC: usize = 65_535;

/// Settings of an [`MqttPubSub`].
#[derive(Debug, Clone)]
pub struct MqttPubSubOptions {
    /// The broker URL, `mqtt://host:port` (port 1883 when left out).
    pub url: String,
    /// A prefix for the MQTT topics (e.g. `app/`), so several applications share one broker.
    pub topic_prefix: String,
    /// The events a local subscriber's queue holds before the oldest are dropped.
    pub capacity: usize,
    /// The largest MQTT packet accepted from the broker (told to it on connect), in bytes.
    pub max_packet_size: u32,
    /// The time allowed to connect, publish (to the PUBACK) or subscribe (to the SUBACK).
    pub timeout: Duration,
    /// The first wait before reconnecting; doubled up to `max_reconnect_delay`.
    pub min_reconnect_delay: Duration,
    /// The longest wait between reconnection attempts.
    pub max_reconnect_delay: Duration,
}

impl MqttPubSubOptions {
    /// Defaults for `url`: no prefix, queues of 1,024 events, packets up to 1 MiB, 2 s timeouts,
    /// reconnecting after 50 ms up to 2 s.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            topic_prefix: String::new(),
            capacity: 1024,
            max_packet_size: 1024 * 1024,
            timeout: Duration::from_secs(2),
            min_reconnect_delay: Duration::from_millis(50),
            max_reconnect_delay: Duration::from_secs(2),
        }
    }

    /// Sets the topic prefix.
    pub fn topic_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.topic_prefix = prefix.into();
        self
    }

    /// Sets the per-subscriber queue capacity.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }
}

/// A [`PubSub`] over an MQTT v5 broker such as Mosquitto.
///
/// ```no_run
/// use quilt_pubsub::{MqttPubSub, PubSub};
/// # async fn run() -> Result<(), quilt_pubsub::PubSubError> {
/// let pubsub = MqttPubSub::connect("mqtt://127.0.0.1:1883").await?;
/// pubsub.publish("SEAT_SOLD", serde_json::json!({ "seat": 7 })).await?;
/// # Ok(()) }
/// ```
///
/// Publishing waits for the broker's PUBACK and fails with [`PubSubError::Unavailable`] while
/// the broker is unreachable; an outage reaches subscribers as
/// [`Missed::Interrupted`](crate::Missed::Interrupted).
#[derive(Clone)]
pub struct MqttPubSub {
    inner: Arc<Inner>,
}

type Waiter = oneshot::Sender<Result<(), String>>;

struct Inner {
    options: MqttPubSubOptions,
    registry: Arc<Registry>,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The connection as the engine's callers see it, and the acknowledgements they wait for.
#[derive(Default)]
struct State {
    /// The client of the live connection; `None` while disconnected.
    client: Option<AsyncClient>,
    /// Publishes handed to the event loop, not yet given a packet id (in order).
    queued_publishes: VecDeque<Waiter>,
    /// Subscribes handed to the event loop, not yet given a packet id (in order).
    queued_subscribes: VecDeque<Waiter>,
    /// Publishes sent, by packet id, waiting for PUBACK.
    publishes: HashMap<u16, Waiter>,
    /// Subscribes sent, by packet id, waiting for SUBACK.
    subscribes: HashMap<u16, Waiter>,
}

impl State {
    /// The connection was lost: every waiter fails.
    fn fail_all(&mut self, message: &str) {
        self.client = None;
        let waiters = self
            .queued_publishes
            .drain(..)
            .chain(self.queued_subscribes.drain(..))
            .chain(self.publishes.drain().map(|(_, w)| w))
            .chain(self.subscribes.drain().map(|(_, w)| w));
        for waiter in waiters {
            let _ = waiter.send(Err(message.to_owned()));
        }
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    // Every operation leaves the state consistent (a push, a pop, a take).
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Host and port of an `mqtt://` URL.
fn parse_url(url: &str) -> Result<(String, u16), String> {
    let rest = url
        .strip_prefix("mqtt://")
        .or_else(|| url.strip_prefix("tcp://"))
        .ok_or_else(|| format!("{url:?} is not an mqtt:// URL"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    match authority.rsplit_once(':') {
        Some((host, port)) => {
            let port = port
                .parse::<u16>()
                .map_err(|_| format!("{url:?} has an invalid port"))?;
            Ok((host.to_owned(), port))
        }
        None if !authority.is_empty() => Ok((authority.to_owned(), 1883)),
        None => Err(format!("{url:?} has no host")),
    }
}

/// A client id no other engine uses.
fn client_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "quilt-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl MqttPubSub {
    /// Connects with default options.
    pub async fn connect(url: &str) -> Result<Self, PubSubError> {
        Self::connect_with(MqttPubSubOptions::new(url)).await
    }

    /// Connects: fails when the broker cannot be reached now.
    pub async fn connect_with(options: MqttPubSubOptions) -> Result<Self, PubSubError> {
        let unavailable = |message: String| PubSubError::Unavailable {
            url: options.url.clone(),
            message,
        };
        let (host, port) = parse_url(&options.url).map_err(unavailable)?;
        let registry = Arc::new(Registry::new(options.capacity));
        let state = Arc::new(Mutex::new(State::default()));
        let (ready_tx, ready_rx) = oneshot::channel();
        let task = tokio::spawn(run(
            options.clone(),
            host,
            port,
            registry.clone(),
            state.clone(),
            ready_tx,
        ));
        match tokio::time::timeout(options.timeout, ready_rx).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(message))) => {
                task.abort();
                return Err(unavailable(message));
            }
            _ => {
                task.abort();
                return Err(unavailable("connecting timed out".into()));
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                options,
                registry,
                state,
                task,
            }),
        })
    }

    fn topic(&self, topic: &str) -> Result<String, PubSubError> {
        mqtt_topic(&self.inner.options.topic_prefix, topic)
    }

    /// Hands a request to the event loop with its waiter queued in `queue`, both under the lock
    /// so the waiters are in the order the event loop sends the packets.
    fn request(
        &self,
        queue: fn(&mut State) -> &mut VecDeque<Waiter>,
        send: impl FnOnce(&AsyncClient) -> Result<(), String>,
    ) -> Result<oneshot::Receiver<Result<(), String>>, PubSubError> {
        let mut state = lock(&self.inner.state);
        let Some(client) = state.client.clone() else {
            return Err(PubSubError::Unavailable {
                url: self.inner.options.url.clone(),
                message: "disconnected from the MQTT broker; reconnecting".into(),
            });
        };
        let (waiter, acked) = oneshot::channel();
        queue(&mut state).push_back(waiter);
        if let Err(e) = send(&client) {
            queue(&mut state).pop_back();
            return Err(PubSubError::Unavailable {
                url: self.inner.options.url.clone(),
                message: e,
            });
        }
        Ok(acked)
    }

    async fn acknowledged(
        url: String,
        timeout: Duration,
        acked: oneshot::Receiver<Result<(), String>>,
        what: &str,
    ) -> Result<(), PubSubError> {
        let unavailable = |message: String| PubSubError::Unavailable { url, message };
        match tokio::time::timeout(timeout, acked).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(message))) => Err(unavailable(message)),
            Ok(Err(_)) => Err(PubSubError::Closed),
            Err(_) => Err(unavailable(format!(
                "the broker did not acknowledge the {what} within {timeout:?}"
            ))),
        }
    }
}

fn mqtt_topic(prefix: &str, topic: &str) -> Result<String, PubSubError> {
    let name = format!("{prefix}{topic}");
    let invalid = |message: &str| PubSubError::InvalidTopic {
        topic: topic.to_owned(),
        message: message.to_owned(),
    };
    if name.is_empty() || name.len() > MAX_TOPIC {
        return Err(invalid("an MQTT topic is 1 to 65,535 bytes"));
    }
    if name.contains(['+', '#', '\0']) {
        return Err(invalid(
            "`+` and `#` are MQTT wildcards, and NUL is not allowed",
        ));
    }
    if name.starts_with('$') {
        return Err(invalid("topics starting with `$` are the broker's"));
    }
    Ok(name)
}

impl std::fmt::Debug for MqttPubSub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttPubSub")
            .field("url", &self.inner.options.url)
            .finish()
    }
}

impl PubSub for MqttPubSub {
    fn publish(&self, topic: &str, payload: Value) -> BoxFuture<'static, Result<(), PubSubError>> {
        let name = match self.topic(topic) {
            Ok(name) => name,
            Err(e) => return Box::pin(async move { Err(e) }),
        };
        let body = match serde_json::to_vec(&payload) {
            Ok(body) => body,
            Err(e) => {
                let error = PubSubError::Payload {
                    topic: topic.to_owned(),
                    message: e.to_string(),
                };
                return Box::pin(async move { Err(error) });
            }
        };
        let acked = self.request(
            |state| &mut state.queued_publishes,
            |client| {
                client
                    .try_publish(name, QoS::AtLeastOnce, false, body)
                    .map_err(|e| e.to_string())
            },
        );
        let (url, timeout) = (self.inner.options.url.clone(), self.inner.options.timeout);
        Box::pin(async move { Self::acknowledged(url, timeout, acked?, "publish").await })
    }

    fn subscribe(&self, topics: &[&str]) -> BoxFuture<'static, Result<EventStream, PubSubError>> {
        if let Some(Err(e)) = topics.iter().map(|t| self.topic(t)).find(Result::is_err) {
            return Box::pin(async move { Err(e) });
        }
        let state = Arc::downgrade(&self.inner.state);
        let prefix = self.inner.options.topic_prefix.clone();
        let on_empty: OnEmpty = Arc::new(move |topic: Arc<str>| {
            if let Some(state) = state.upgrade()
                && let Some(client) = &lock(&state).client
            {
                // No waiter: an UNSUBACK needs no answer, and a failure ends with the
                // connection, whose successor does not subscribe to the topic again.
                let _ = client.try_unsubscribe(format!("{prefix}{topic}"));
            }
        });
        let (stream, fresh) = self.inner.registry.join(topics, Some(on_empty));
        let mut acks = Vec::new();
        for topic in &fresh {
            let name = format!("{}{topic}", self.inner.options.topic_prefix);
            match self.request(
                |state| &mut state.queued_subscribes,
                |client| {
                    client
                        .try_subscribe(name, QoS::AtLeastOnce)
                        .map_err(|e| e.to_string())
                },
            ) {
                Ok(acked) => acks.push(acked),
                // The stream is dropped, which leaves the topics again.
                Err(e) => return Box::pin(async move { Err(e) }),
            }
        }
        let (url, timeout) = (self.inner.options.url.clone(), self.inner.options.timeout);
        Box::pin(async move {
            for acked in acks {
                Self::acknowledged(url.clone(), timeout, acked, "subscription").await?;
            }
            Ok(stream)
        })
    }
}

/// Owns the event loop: connects, re-subscribes, matches acknowledgements, delivers events,
/// and reconnects after an outage.
async fn run(
    options: MqttPubSubOptions,
    host: String,
    port: u16,
    registry: Arc<Registry>,
    state: Arc<Mutex<State>>,
    ready: oneshot::Sender<Result<(), String>>,
) {
    let mut ready = Some(ready);
    let mut delay = options.min_reconnect_delay;
    loop {
        let mut mqtt = MqttOptions::new(client_id(), host.clone(), port);
        mqtt.set_clean_start(true)
            .set_keep_alive(Duration::from_secs(5))
            .set_max_packet_size(Some(options.max_packet_size))
            .set_connection_timeout(options.timeout.as_secs().max(1));
        // Without TCP_NODELAY each publish waits out Nagle's algorithm against the peer's
        // delayed ACK: about 40 publishes/s on one connection instead of thousands.
        let mut network = mqtt.network_options();
        network.set_tcp_nodelay(true);
        mqtt.set_network_options(network);
        let (client, mut eventloop) = AsyncClient::new(mqtt, 1024);
        let connected = tokio::time::timeout(options.timeout, async {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
                    Ok(_) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
        })
        .await
        .unwrap_or_else(|_| Err("connecting timed out".into()));
        if let Err(message) = connected {
            tracing::warn!(url = %options.url, error = %message, "mqtt connection failed");
            if let Some(ready) = ready.take() {
                let _ = ready.send(Err(message));
                return;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(options.max_reconnect_delay);
            continue;
        }
        {
            let mut state = lock(&state);
            for topic in registry.topics() {
                let (waiter, _) = oneshot::channel();
                state.queued_subscribes.push_back(waiter);
                let name = format!("{}{topic}", options.topic_prefix);
                if client.try_subscribe(name, QoS::AtLeastOnce).is_err() {
                    state.queued_subscribes.pop_back();
                }
            }
            state.client = Some(client);
        }
        delay = options.min_reconnect_delay;
        if let Some(ready) = ready.take() {
            let _ = ready.send(Ok(()));
        }
        let error = loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    if let Ok(name) = std::str::from_utf8(&publish.topic)
                        && let Some(topic) = upstream::local_topic(&options.topic_prefix, name)
                    {
                        upstream::deliver_json(&registry, "mqtt", topic, &publish.payload);
                    }
                }
                Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                    let mut state = lock(&state);
                    if let Some(waiter) = state.queued_publishes.pop_front() {
                        state.publishes.insert(pkid, waiter);
                    }
                }
                Ok(Event::Incoming(Packet::PubAck(ack))) => {
                    if let Some(waiter) = lock(&state).publishes.remove(&ack.pkid) {
                        let _ = waiter.send(match ack.reason {
                            PubAckReason::Success | PubAckReason::NoMatchingSubscribers => Ok(()),
                            reason => Err(format!("the broker refused the event: {reason:?}")),
                        });
                    }
                }
                Ok(Event::Outgoing(Outgoing::Subscribe(pkid))) => {
                    let mut state = lock(&state);
                    if let Some(waiter) = state.queued_subscribes.pop_front() {
                        state.subscribes.insert(pkid, waiter);
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(ack))) => {
                    if let Some(waiter) = lock(&state).subscribes.remove(&ack.pkid) {
                        let refused = ack
                            .return_codes
                            .iter()
                            .find(|code| !matches!(code, SubscribeReasonCode::Success(_)));
                        let _ = waiter.send(match refused {
                            None => Ok(()),
                            Some(code) => {
                                Err(format!("the broker refused the subscription: {code:?}"))
                            }
                        });
                    }
                }
                Ok(_) => {}
                Err(e) => break e.to_string(),
            }
        };
        tracing::warn!(url = %options.url, error = %error, "mqtt connection lost; reconnecting");
        lock(&state).fail_all(&format!(
            "the connection to the MQTT broker was lost: {error}"
        ));
        drop(eventloop);
        registry.interrupted();
        tokio::time::sleep(delay).await;
    }
}
