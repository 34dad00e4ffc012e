//! The PostgreSQL engine: `NOTIFY` publishes, `LISTEN` subscribes, so every instance connected
//! to one database sees every event.
//!
//! Payloads are limited to what `NOTIFY` carries (under 8,000 bytes of JSON in a default
//! build): a larger one is refused with [`PubSubError::Payload`]. Storing large payloads in a
//! table and notifying a reference would need a second query per event on every instance and a
//! policy for deleting rows no one will read again; a GraphQL event this large is better sent
//! as a key the subscriber resolves, so the engine refuses it loudly instead.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;
use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::registry::Registry;
use crate::upstream::{self, Connect, Link, Settings, Upstream};
use crate::{EventStream, PubSub, PubSubError};

/// The longest payload `NOTIFY` accepts, in bytes, minus one (it must be shorter than 8,000).
pub const MAX_NOTIFY_PAYLOAD: usize = 7999;

/// The longest channel name PostgreSQL keeps (`NAMEDATALEN - 1`); longer ones are truncated by
/// `LISTEN`, so they are refused.
const MAX_CHANNEL: usize = 63;

/// Settings of a [`PostgresPubSub`].
#[derive(Debug, Clone)]
pub struct PostgresPubSubOptions {
    /// The connection string, e.g. `postgres://postgres@127.0.0.1:5432/test`.
    pub url: String,
    /// A prefix for the channel names, so several applications share one database.
    pub channel_prefix: String,
    /// The events a local subscriber's queue holds before the oldest are dropped.
    pub capacity: usize,
    /// The time allowed to connect, publish or (un)subscribe.
    pub timeout: Duration,
    /// The first wait before reconnecting the listening connection; doubled up to
    /// `max_reconnect_delay`.
    pub min_reconnect_delay: Duration,
    /// The longest wait between reconnection attempts.
    pub max_reconnect_delay: Duration,
}

impl PostgresPubSubOptions {
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

/// A [`PubSub`] over PostgreSQL `LISTEN`/`NOTIFY`.
///
/// ```no_run
/// use quilt_pubsub::{PostgresPubSub, PubSub};
/// # async fn run() -> Result<(), quilt_pubsub::PubSubError> {
/// let pubsub = PostgresPubSub::connect("postgres://postgres@127.0.0.1:5432/test").await?;
/// pubsub.publish("SEAT_SOLD", serde_json::json!({ "seat": 7 })).await?;
/// # Ok(()) }
/// ```
///
/// One connection publishes (reconnected on the next publish after an error); one connection
/// listens on every topic with local subscribers, reconnecting with backoff and listening again
/// after an outage, which subscribers see as [`Missed::Interrupted`](crate::Missed::Interrupted).
#[derive(Clone)]
pub struct PostgresPubSub {
    inner: Arc<Inner>,
}

struct Inner {
    options: PostgresPubSubOptions,
    publisher: tokio::sync::Mutex<Option<Connection>>,
    upstream: Upstream,
}

/// A client and the task driving its connection (stopped on drop).
struct Connection {
    client: tokio_postgres::Client,
    driver: tokio::task::JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl PostgresPubSub {
    /// Connects with default options.
    pub async fn connect(url: &str) -> Result<Self, PubSubError> {
        Self::connect_with(PostgresPubSubOptions::new(url)).await
    }

    /// Connects: fails when PostgreSQL cannot be reached now.
    pub async fn connect_with(options: PostgresPubSubOptions) -> Result<Self, PubSubError> {
        let settings = Settings {
            url: options.url.clone(),
            engine: "postgres",
            timeout: options.timeout,
            min_reconnect_delay: options.min_reconnect_delay,
            max_reconnect_delay: options.max_reconnect_delay,
        };
        let connect = Listener {
            url: options.url.clone(),
            prefix: options.channel_prefix.clone(),
            timeout: options.timeout,
        };
        let upstream = Upstream::start(connect, settings, options.capacity).await?;
        let publisher = open(&options.url, options.timeout, None)
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

    fn channel(&self, topic: &str) -> Result<String, PubSubError> {
        channel_name(&self.inner.options.channel_prefix, topic)
    }
}

fn channel_name(prefix: &str, topic: &str) -> Result<String, PubSubError> {
    let channel = format!("{prefix}{topic}");
    let invalid = |message: String| PubSubError::InvalidTopic {
        topic: topic.to_owned(),
        message,
    };
    if channel.is_empty() {
        return Err(invalid("a channel name cannot be empty".into()));
    }
    if channel.len() > MAX_CHANNEL {
        return Err(invalid(format!(
            "the channel name {channel:?} is {} bytes; PostgreSQL keeps at most {MAX_CHANNEL}",
            channel.len()
        )));
    }
    if channel.contains('\0') {
        return Err(invalid("a channel name cannot contain NUL".into()));
    }
    Ok(channel)
}

/// Opens a connection; notifications it receives go to `notify` (channel, payload).
async fn open(
    url: &str,
    timeout: Duration,
    notify: Option<(Arc<Registry>, String, watch::Sender<bool>)>,
) -> Result<Connection, String> {
    let (client, mut connection) =
        tokio::time::timeout(timeout, tokio_postgres::connect(url, NoTls))
            .await
            .map_err(|_| format!("connecting timed out after {timeout:?}"))?
            .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(async move {
        loop {
            match futures::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(notification))) => {
                    if let Some((registry, prefix, _)) = &notify
                        && let Some(topic) = upstream::local_topic(prefix, notification.channel())
                    {
                        upstream::deliver_json(
                            registry,
                            "postgres",
                            topic,
                            notification.payload().as_bytes(),
                        );
                    }
                }
                Some(Ok(_notice)) => {}
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "postgres connection failed");
                    break;
                }
                None => break,
            }
        }
        if let Some((_, _, closed)) = &notify {
            let _ = closed.send(true);
        }
    });
    Ok(Connection { client, driver })
}

impl std::fmt::Debug for PostgresPubSub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresPubSub")
            .field("url", &self.inner.options.url)
            .finish()
    }
}

impl PubSub for PostgresPubSub {
    fn publish(&self, topic: &str, payload: Value) -> BoxFuture<'static, Result<(), PubSubError>> {
        let inner = self.inner.clone();
        let channel = self.channel(topic);
        let topic = topic.to_owned();
        Box::pin(async move {
            let channel = channel?;
            let body = serde_json::to_string(&payload).map_err(|e| PubSubError::Payload {
                topic: topic.clone(),
                message: e.to_string(),
            })?;
            if body.len() > MAX_NOTIFY_PAYLOAD {
                return Err(PubSubError::Payload {
                    topic,
                    message: format!(
                        "the payload is {} bytes of JSON; PostgreSQL NOTIFY carries at most \
                         {MAX_NOTIFY_PAYLOAD} (publish a reference to the data instead)",
                        body.len()
                    ),
                });
            }
            let (url, timeout) = (&inner.options.url, inner.options.timeout);
            let unavailable = |message: String| PubSubError::Unavailable {
                url: url.clone(),
                message,
            };
            let mut publisher = inner.publisher.lock().await;
            if publisher.as_ref().is_none_or(|c| c.client.is_closed()) {
                *publisher = None;
                *publisher = Some(open(url, timeout, None).await.map_err(unavailable)?);
            }
            let Some(connection) = publisher.as_ref() else {
                return Err(PubSubError::Closed);
            };
            let parameters: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&channel, &body];
            let notify = connection
                .client
                .execute("SELECT pg_notify($1, $2)", &parameters);
            match tokio::time::timeout(timeout, notify).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => {
                    *publisher = None;
                    Err(unavailable(e.to_string()))
                }
                Err(_) => {
                    *publisher = None;
                    Err(unavailable(format!(
                        "NOTIFY did not answer within {timeout:?}"
                    )))
                }
            }
        })
    }

    fn subscribe(&self, topics: &[&str]) -> BoxFuture<'static, Result<EventStream, PubSubError>> {
        if let Some(Err(e)) = topics.iter().map(|t| self.channel(t)).find(Result::is_err) {
            return Box::pin(async move { Err(e) });
        }
        self.inner.upstream.subscribe(topics)
    }
}

/// Opens listening connections.
struct Listener {
    url: String,
    prefix: String,
    timeout: Duration,
}

struct ListenLink {
    connection: Connection,
    prefix: String,
    closed: watch::Receiver<bool>,
}

/// `LISTEN "name"`: the channel as a quoted identifier.
fn quoted(channel: &str) -> String {
    format!("\"{}\"", channel.replace('"', "\"\""))
}

impl Connect for Listener {
    type Link = ListenLink;

    async fn connect(&self, registry: Arc<Registry>) -> Result<ListenLink, String> {
        let (closed_tx, closed) = watch::channel(false);
        let connection = open(
            &self.url,
            self.timeout,
            Some((registry, self.prefix.clone(), closed_tx)),
        )
        .await?;
        Ok(ListenLink {
            connection,
            prefix: self.prefix.clone(),
            closed,
        })
    }
}

impl Link for ListenLink {
    async fn subscribe(&mut self, topics: &[Arc<str>]) -> Result<(), String> {
        let statements: String = topics
            .iter()
            .map(|topic| format!("LISTEN {};", quoted(&format!("{}{topic}", self.prefix))))
            .collect();
        self.connection
            .client
            .batch_execute(&statements)
            .await
            .map_err(|e| e.to_string())
    }

    async fn unsubscribe(&mut self, topic: &Arc<str>) {
        let statement = format!("UNLISTEN {}", quoted(&format!("{}{topic}", self.prefix)));
        if let Err(e) = self.connection.client.batch_execute(&statement).await {
            tracing::warn!(error = %e, "postgres: UNLISTEN failed");
        }
    }

    async fn closed(&mut self) {
        let _ = self.closed.wait_for(|closed| *closed).await;
    }
}
