//! The AMQP 0-9-1 engine (RabbitMQ): events are published to a topic exchange with the topic
//! as routing key; each engine instance consumes from its own exclusive, auto-delete queue,
//! bound to the exchange once per topic with local subscribers, so every instance sees every
//! event. Publishing waits for the broker's publisher confirm.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions,
    QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
};
use serde_json::Value;
use tokio::sync::watch;

use crate::registry::Registry;
use crate::upstream::{self, Connect, Link, Settings, Upstream};
use crate::{EventStream, PubSub, PubSubError};

/// The longest routing key AMQP carries, in bytes.
const MAX_ROUTING_KEY: usize = 255;

/// Settings of an [`AmqpPubSub`].
#[derive(Debug, Clone)]
pub struct AmqpPubSubOptions {
    /// The broker URL, e.g. `amqp://guest:guest@127.0.0.1:5672/%2f`.
    pub url: String,
    /// The topic exchange (declared durable if missing), `quilt.pubsub` by default.
    pub exchange: String,
    /// A prefix for the routing keys, so several applications share one exchange.
    pub routing_key_prefix: String,
    /// The events a local subscriber's queue holds before the oldest are dropped.
    pub capacity: usize,
    /// The time allowed to connect, publish (to the broker's confirm) or (un)bind.
    pub timeout: Duration,
    /// The first wait before reconnecting the consuming connection; doubled up to
    /// `max_reconnect_delay`.
    pub min_reconnect_delay: Duration,
    /// The longest wait between reconnection attempts.
    pub max_reconnect_delay: Duration,
}

impl AmqpPubSubOptions {
    /// Defaults for `url`: the exchange `quilt.pubsub`, no prefix, queues of 1,024 events, 2 s
    /// timeouts, reconnecting after 50 ms up to 2 s.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            exchange: "quilt.pubsub".into(),
            routing_key_prefix: String::new(),
            capacity: 1024,
            timeout: Duration::from_secs(2),
            min_reconnect_delay: Duration::from_millis(50),
            max_reconnect_delay: Duration::from_secs(2),
        }
    }

    /// Sets the exchange.
    pub fn exchange(mut self, exchange: impl Into<String>) -> Self {
        self.exchange = exchange.into();
        self
    }

    /// Sets the routing key prefix.
    pub fn routing_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.routing_key_prefix = prefix.into();
        self
    }

    /// Sets the per-subscriber queue capacity.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }
}

/// A [`PubSub`] over an AMQP 0-9-1 broker such as RabbitMQ.
///
/// ```no_run
/// use quilt_pubsub::{AmqpPubSub, PubSub};
/// # async fn run() -> Result<(), quilt_pubsub::PubSubError> {
/// let pubsub = AmqpPubSub::connect("amqp://guest:guest@127.0.0.1:5672/%2f").await?;
/// pubsub.publish("SEAT_SOLD", serde_json::json!({ "seat": 7 })).await?;
/// # Ok(()) }
/// ```
///
/// The consuming connection reconnects with backoff, declares a new queue and binds it again
/// after an outage, which subscribers see as [`Missed::Interrupted`](crate::Missed::Interrupted);
/// the publishing connection is opened again on the next publish after an error.
#[derive(Clone)]
pub struct AmqpPubSub {
    inner: Arc<Inner>,
}

struct Inner {
    options: AmqpPubSubOptions,
    publisher: tokio::sync::Mutex<Option<Open>>,
    upstream: Upstream,
}

/// A connection and its channel; lapin closes the connection when it is dropped.
struct Open {
    connection: Connection,
    channel: Channel,
}

/// Connects and opens a channel, declaring the exchange.
async fn open(options: &AmqpPubSubOptions) -> Result<Open, String> {
    let connection = Connection::connect(&options.url, ConnectionProperties::default())
        .await
        .map_err(|e| e.to_string())?;
    let channel = connection
        .create_channel()
        .await
        .map_err(|e| e.to_string())?;
    let open = Open {
        connection,
        channel,
    };
    open.channel
        .exchange_declare(
            options.exchange.as_str().into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(open)
}

impl AmqpPubSub {
    /// Connects with default options.
    pub async fn connect(url: &str) -> Result<Self, PubSubError> {
        Self::connect_with(AmqpPubSubOptions::new(url)).await
    }

    /// Connects: fails when the broker cannot be reached now.
    pub async fn connect_with(options: AmqpPubSubOptions) -> Result<Self, PubSubError> {
        let settings = Settings {
            url: options.url.clone(),
            engine: "amqp",
            timeout: options.timeout,
            min_reconnect_delay: options.min_reconnect_delay,
            max_reconnect_delay: options.max_reconnect_delay,
        };
        let upstream = Upstream::start(
            Consumer {
                options: options.clone(),
            },
            settings,
            options.capacity,
        )
        .await?;
        let publisher = publisher(&options)
            .await
            .map_err(|message| PubSubError::Unavailable {
                url: options.url.clone(),
                message,
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                options,
                publisher: tokio::sync::Mutex::new(Some(publisher)),
                upstream,
            }),
        })
    }

    fn routing_key(&self, topic: &str) -> Result<String, PubSubError> {
        routing_key(&self.inner.options.routing_key_prefix, topic)
    }
}

/// A publishing connection: its channel in confirm mode.
async fn publisher(options: &AmqpPubSubOptions) -> Result<Open, String> {
    let open = tokio::time::timeout(options.timeout, async {
        let open = open(options).await?;
        open.channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(open)
    })
    .await
    .map_err(|_| format!("connecting timed out after {:?}", options.timeout))??;
    Ok(open)
}

fn routing_key(prefix: &str, topic: &str) -> Result<String, PubSubError> {
    let key = format!("{prefix}{topic}");
    let invalid = |message: &str| PubSubError::InvalidTopic {
        topic: topic.to_owned(),
        message: message.to_owned(),
    };
    if key.len() > MAX_ROUTING_KEY {
        return Err(invalid("an AMQP routing key is at most 255 bytes"));
    }
    if key.contains(['*', '#']) {
        return Err(invalid(
            "`*` and `#` are wildcards in a topic exchange's bindings",
        ));
    }
    Ok(key)
}

impl std::fmt::Debug for AmqpPubSub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpPubSub")
            .field("url", &self.inner.options.url)
            .field("exchange", &self.inner.options.exchange)
            .finish()
    }
}

impl PubSub for AmqpPubSub {
    fn publish(&self, topic: &str, payload: Value) -> BoxFuture<'static, Result<(), PubSubError>> {
        let inner = self.inner.clone();
        let key = self.routing_key(topic);
        let topic = topic.to_owned();
        Box::pin(async move {
            let key = key?;
            let body = serde_json::to_vec(&payload).map_err(|e| PubSubError::Payload {
                topic,
                message: e.to_string(),
            })?;
            let options = &inner.options;
            let unavailable = |message: String| PubSubError::Unavailable {
                url: options.url.clone(),
                message,
            };
            let mut publisher = inner.publisher.lock().await;
            if publisher
                .as_ref()
                .is_none_or(|open| !open.channel.status().connected())
            {
                *publisher = None;
                *publisher = Some(self::publisher(options).await.map_err(unavailable)?);
            }
            let Some(open) = publisher.as_ref() else {
                return Err(PubSubError::Closed);
            };
            let confirmed = async {
                let confirm = open
                    .channel
                    .basic_publish(
                        options.exchange.as_str().into(),
                        key.as_str().into(),
                        BasicPublishOptions::default(),
                        &body,
                        BasicProperties::default().with_content_type("application/json".into()),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                match confirm.await.map_err(|e| e.to_string())? {
                    Confirmation::Nack(_) => Err("the broker refused the event (nack)".to_owned()),
                    _ => Ok(()),
                }
            };
            match tokio::time::timeout(options.timeout, confirmed).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(message)) => {
                    *publisher = None;
                    Err(unavailable(message))
                }
                Err(_) => {
                    *publisher = None;
                    Err(unavailable(format!(
                        "the broker did not confirm within {:?}",
                        options.timeout
                    )))
                }
            }
        })
    }

    fn subscribe(&self, topics: &[&str]) -> BoxFuture<'static, Result<EventStream, PubSubError>> {
        if let Some(Err(e)) = topics
            .iter()
            .map(|t| self.routing_key(t))
            .find(Result::is_err)
        {
            return Box::pin(async move { Err(e) });
        }
        self.inner.upstream.subscribe(topics)
    }
}

/// Opens consuming connections.
struct Consumer {
    options: AmqpPubSubOptions,
}

struct ConsumerLink {
    open: Open,
    queue: String,
    options: AmqpPubSubOptions,
    forwarder: tokio::task::JoinHandle<()>,
    closed: watch::Receiver<bool>,
}

impl Drop for ConsumerLink {
    fn drop(&mut self) {
        self.forwarder.abort();
    }
}

impl Connect for Consumer {
    type Link = ConsumerLink;

    async fn connect(&self, registry: Arc<Registry>) -> Result<ConsumerLink, String> {
        let open = open(&self.options).await?;
        let queue = open
            .channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| e.to_string())?;
        let queue = queue.name().to_string();
        let mut consumer = open
            .channel
            .basic_consume(
                queue.as_str().into(),
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| e.to_string())?;
        let mut events = open.connection.events_listener();
        let (closed_tx, closed) = watch::channel(false);
        let prefix = self.options.routing_key_prefix.clone();
        let forwarder = tokio::spawn(async move {
            loop {
                tokio::select! {
                    delivery = consumer.next() => match delivery {
                        Some(Ok(delivery)) => {
                            if let Some(topic) = upstream::local_topic(&prefix, delivery.routing_key.as_str()) {
                                upstream::deliver_json(&registry, "amqp", topic, &delivery.data);
                            }
                        }
                        Some(Err(e)) => {
                            tracing::warn!(error = %e, "amqp: the consumer failed");
                            break;
                        }
                        None => break,
                    },
                    event = events.next() => match event {
                        Some(lapin::Event::Error(e)) => {
                            tracing::warn!(error = %e, "amqp: the connection failed");
                            break;
                        }
                        Some(_) => {}
                        None => break,
                    },
                }
            }
            let _ = closed_tx.send(true);
        });
        Ok(ConsumerLink {
            open,
            queue,
            options: self.options.clone(),
            forwarder,
            closed,
        })
    }
}

impl Link for ConsumerLink {
    async fn subscribe(&mut self, topics: &[Arc<str>]) -> Result<(), String> {
        for topic in topics {
            let key = format!("{}{topic}", self.options.routing_key_prefix);
            self.open
                .channel
                .queue_bind(
                    self.queue.as_str().into(),
                    self.options.exchange.as_str().into(),
                    key.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    async fn unsubscribe(&mut self, topic: &Arc<str>) {
        let key = format!("{}{topic}", self.options.routing_key_prefix);
        let unbound = self
            .open
            .channel
            .queue_unbind(
                self.queue.as_str().into(),
                self.options.exchange.as_str().into(),
                key.as_str().into(),
                FieldTable::default(),
            )
            .await;
        if let Err(e) = unbound {
            tracing::warn!(error = %e, "amqp: unbinding failed");
        }
    }

    async fn closed(&mut self) {
        let _ = self.closed.wait_for(|closed| *closed).await;
    }
}
