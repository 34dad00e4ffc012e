//! The Redis engine: events published by any instance reach subscribers on every instance.
//!
//! One connection publishes (redis' `ConnectionManager`, which reconnects by itself); one
//! connection subscribes to every topic that has local subscribers, owned by a background task
//! that reconnects with backoff and re-subscribes after an outage. Local fan-out goes through
//! the bounded per-topic queues of the registry.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::registry::{OnEmpty, Registry};
use crate::{Event, EventStream, PubSub, PubSubError};

/// Settings of a [`RedisPubSub`].
#[derive(Debug, Clone)]
pub struct RedisPubSubOptions {
    /// The Redis URL, e.g. `redis://127.0.0.1:6379`.
    pub url: String,
    /// A prefix for the Redis channel names, so several applications share one Redis.
    pub channel_prefix: String,
    /// The events a local subscriber's queue holds before the oldest are dropped.
    pub capacity: usize,
    /// The time allowed to connect, publish or (un)subscribe.
    pub timeout: Duration,
    /// The first wait before reconnecting the subscriber connection; doubled up to
    /// `max_reconnect_delay`.
    pub min_reconnect_delay: Duration,
    /// The longest wait between reconnection attempts.
    pub max_reconnect_delay: Duration,
}

impl RedisPubSubOptions {
    /// Defaults for `url`: no prefix, queues of 1,024 events, 2 s timeouts, reconnecting after
    /// 50 ms up to 2 s.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            channel_prefix: String::new(),
            capacity: 1024,
            timeout: Duration::from_secs(2),
            min_reconnect_delay: Duration::from_millis(50),
            max_reconnect_delay: Duration::from_secs(2),
        }
    }

    /// Sets the channel prefix.
    pub fn channel_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.channel_prefix = prefix.into();
        self
    }

    /// Sets the per-subscriber queue capacity.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }
}

enum Control {
    Subscribe(Vec<String>, oneshot::Sender<Result<(), String>>),
    Unsubscribe(String),
}

/// A [`PubSub`] over Redis.
///
/// ```no_run
/// use quilt_pubsub::{PubSub, RedisPubSub};
/// # async fn run() -> Result<(), quilt_pubsub::PubSubError> {
/// let pubsub = RedisPubSub::connect("redis://127.0.0.1:6379").await?;
/// pubsub.publish("SEAT_SOLD", serde_json::json!({ "seat": 7 })).await?;
/// # Ok(()) }
/// ```
///
/// A Redis outage is never silent: publishing fails with [`PubSubError::Unavailable`], and every
/// subscriber receives a [`Missed::Interrupted`](crate::Missed::Interrupted) notice; once Redis
/// is back, the engine re-subscribes and events flow again on the same streams.
#[derive(Clone)]
pub struct RedisPubSub {
    inner: Arc<Inner>,
}

struct Inner {
    options: RedisPubSubOptions,
    publisher: ConnectionManager,
    registry: Arc<Registry>,
    control: mpsc::Sender<Control>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RedisPubSub {
    /// Connects with default options.
    pub async fn connect(url: &str) -> Result<Self, PubSubError> {
        Self::connect_with(RedisPubSubOptions::new(url)).await
    }

    /// Connects: fails when Redis cannot be reached now.
    pub async fn connect_with(options: RedisPubSubOptions) -> Result<Self, PubSubError> {
        let unavailable = |message: String| PubSubError::Unavailable {
            url: options.url.clone(),
            message,
        };
        let client =
            redis::Client::open(options.url.as_str()).map_err(|e| unavailable(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.timeout))
            .set_response_timeout(Some(options.timeout))
            .set_number_of_retries(1)
            .set_max_delay(options.max_reconnect_delay);
        let publisher = tokio::time::timeout(
            options.timeout,
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| unavailable("connecting timed out".into()))?
        .map_err(|e| unavailable(e.to_string()))?;
        let registry = Arc::new(Registry::new(options.capacity));
        let (control, control_rx) = mpsc::channel(1024);
        let (ready_tx, ready_rx) = oneshot::channel();
        let task = tokio::spawn(subscriber_task(
            client,
            options.clone(),
            registry.clone(),
            control_rx,
            ready_tx,
        ));
        match tokio::time::timeout(options.timeout, ready_rx).await {
            Ok(Ok(())) => {}
            _ => {
                task.abort();
                return Err(unavailable(
                    "the subscriber connection could not be made".into(),
                ));
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                options,
                publisher,
                registry,
                control,
                task,
            }),
        })
    }

    fn channel(&self, topic: &str) -> String {
        format!("{}{topic}", self.inner.options.channel_prefix)
    }
}

impl std::fmt::Debug for RedisPubSub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPubSub")
            .field("url", &self.inner.options.url)
            .finish()
    }
}

impl PubSub for RedisPubSub {
    fn publish(&self, topic: &str, payload: Value) -> BoxFuture<'static, Result<(), PubSubError>> {
        let mut connection = self.inner.publisher.clone();
        let channel = self.channel(topic);
        let (url, timeout) = (self.inner.options.url.clone(), self.inner.options.timeout);
        let topic = topic.to_owned();
        Box::pin(async move {
            let body = serde_json::to_string(&payload).map_err(|e| PubSubError::Payload {
                topic,
                message: e.to_string(),
            })?;
            let mut command = redis::cmd("PUBLISH");
            command.arg(&channel).arg(body);
            let publish = command.query_async::<i64>(&mut connection);
            match tokio::time::timeout(timeout, publish).await {
                Ok(Ok(_receivers)) => Ok(()),
                Ok(Err(e)) => Err(PubSubError::Unavailable {
                    url,
                    message: e.to_string(),
                }),
                Err(_) => Err(PubSubError::Unavailable {
                    url,
                    message: format!("PUBLISH did not answer within {timeout:?}"),
                }),
            }
        })
    }

    fn subscribe(&self, topics: &[&str]) -> BoxFuture<'static, Result<EventStream, PubSubError>> {
        let control = self.inner.control.clone();
        let prefix = self.inner.options.channel_prefix.clone();
        let on_empty: OnEmpty = Arc::new(move |topic: Arc<str>| {
            // If the queue is full the subscriber task drops the channel anyway when the next
            // message for it finds no local subscriber.
            let _ = control.try_send(Control::Unsubscribe(format!("{prefix}{topic}")));
        });
        let (stream, fresh) = self.inner.registry.join(topics, Some(on_empty));
        let channels: Vec<String> = fresh.iter().map(|t| self.channel(t)).collect();
        let control = self.inner.control.clone();
        let (url, timeout) = (self.inner.options.url.clone(), self.inner.options.timeout);
        Box::pin(async move {
            if channels.is_empty() {
                return Ok(stream);
            }
            let unavailable = |message: String| PubSubError::Unavailable { url, message };
            let (ack, acked) = oneshot::channel();
            control
                .send(Control::Subscribe(channels, ack))
                .await
                .map_err(|_| PubSubError::Closed)?;
            // On failure the stream is dropped, which leaves the topics again.
            match tokio::time::timeout(timeout, acked).await {
                Ok(Ok(Ok(()))) => Ok(stream),
                Ok(Ok(Err(message))) => Err(unavailable(message)),
                Ok(Err(_)) => Err(PubSubError::Closed),
                Err(_) => Err(unavailable(format!(
                    "SUBSCRIBE did not answer within {timeout:?}"
                ))),
            }
        })
    }
}

/// Owns the subscriber connection: subscribes, delivers, reconnects and re-subscribes.
async fn subscriber_task(
    client: redis::Client,
    options: RedisPubSubOptions,
    registry: Arc<Registry>,
    mut control: mpsc::Receiver<Control>,
    ready: oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    let mut delay = options.min_reconnect_delay;
    loop {
        let connection = tokio::time::timeout(options.timeout, client.get_async_pubsub()).await;
        let (mut sink, mut messages) = match connection {
            Ok(Ok(connection)) => connection.split(),
            Ok(Err(e)) => {
                tracing::warn!(url = %options.url, error = %e, "redis subscriber connection failed");
                if !wait_while_down(&mut control, delay).await {
                    return;
                }
                delay = (delay * 2).min(options.max_reconnect_delay);
                continue;
            }
            Err(_) => {
                tracing::warn!(url = %options.url, "redis subscriber connection timed out");
                if !wait_while_down(&mut control, delay).await {
                    return;
                }
                delay = (delay * 2).min(options.max_reconnect_delay);
                continue;
            }
        };
        let channels: Vec<String> = registry
            .topics()
            .iter()
            .map(|t| format!("{}{t}", options.channel_prefix))
            .collect();
        if !channels.is_empty() {
            match tokio::time::timeout(options.timeout, sink.subscribe(&channels)).await {
                Ok(Ok(())) => {
                    tracing::info!(url = %options.url, topics = channels.len(), "redis: re-subscribed")
                }
                _ => {
                    if !wait_while_down(&mut control, delay).await {
                        return;
                    }
                    continue;
                }
            }
        }
        delay = options.min_reconnect_delay;
        if let Some(ready) = ready.take() {
            let _ = ready.send(());
        }
        loop {
            tokio::select! {
                command = control.recv() => match command {
                    None => return,
                    Some(Control::Subscribe(channels, ack)) => {
                        let result = tokio::time::timeout(options.timeout, sink.subscribe(&channels)).await;
                        let _ = ack.send(match result {
                            Ok(Ok(())) => Ok(()),
                            Ok(Err(e)) => Err(e.to_string()),
                            Err(_) => Err("SUBSCRIBE timed out".into()),
                        });
                    }
                    Some(Control::Unsubscribe(channel)) => {
                        let topic = channel.strip_prefix(options.channel_prefix.as_str()).unwrap_or(&channel);
                        if !registry.has(topic) {
                            let _ = tokio::time::timeout(options.timeout, sink.unsubscribe(&channel)).await;
                        }
                    }
                },
                message = messages.next() => match message {
                    Some(message) => deliver(&registry, &options, &mut sink, &message).await,
                    None => break,
                },
            }
        }
        tracing::warn!(url = %options.url, "redis subscriber connection lost; reconnecting");
        registry.interrupted();
        if !wait_while_down(&mut control, delay).await {
            return;
        }
    }
}

async fn deliver(
    registry: &Registry,
    options: &RedisPubSubOptions,
    sink: &mut redis::aio::PubSubSink,
    message: &redis::Msg,
) {
    let channel = message.get_channel_name();
    let Some(topic) = channel.strip_prefix(options.channel_prefix.as_str()) else {
        return;
    };
    let payload = match serde_json::from_slice::<Value>(message.get_payload_bytes()) {
        Ok(payload) => payload,
        Err(e) => {
            tracing::warn!(topic, error = %e, "redis: dropped an event whose payload is not JSON");
            return;
        }
    };
    let delivered = registry.deliver(Event {
        topic: Arc::from(topic),
        payload: Arc::new(payload),
    });
    if !delivered {
        let _ = tokio::time::timeout(options.timeout, sink.unsubscribe(channel)).await;
    }
}

/// Waits `delay` before the next connection attempt, refusing subscriptions meanwhile (they are
/// registered locally and subscribed upstream on reconnect, but the caller learns that Redis is
/// down). Returns `false` when the engine was dropped.
async fn wait_while_down(control: &mut mpsc::Receiver<Control>, delay: Duration) -> bool {
    let sleep = tokio::time::sleep(delay);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            _ = &mut sleep => return true,
            command = control.recv() => match command {
                None => return false,
                Some(Control::Subscribe(_, ack)) => {
                    let _ = ack.send(Err("redis is unavailable; reconnecting".into()));
                }
                Some(Control::Unsubscribe(_)) => {}
            },
        }
    }
}
