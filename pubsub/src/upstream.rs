//! The subscriber side shared by the broker engines (PostgreSQL, AMQP, NATS): one connection
//! subscribed to every topic with local subscribers, owned by a task that reconnects with
//! backoff, re-subscribes, and reports an outage to every subscriber as
//! [`Missed::Interrupted`](crate::Missed::Interrupted). Events go from the connection straight
//! into the [`Registry`]'s bounded queues.
//!
//! An engine supplies a [`Connect`] (how to open a [`Link`]) and its publisher. The MQTT
//! engine, which owns its one connection itself, uses only the delivery helpers.
#![cfg_attr(
    not(any(feature = "amqp", feature = "nats", feature = "postgres")),
    allow(dead_code)
)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use crate::registry::{OnEmpty, Registry};
use crate::{EventStream, PubSubError};

/// Timeouts and reconnection delays of an engine.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The broker's address, for errors and logs.
    pub(crate) url: String,
    /// The engine's name, for logs.
    pub(crate) engine: &'static str,
    /// The time allowed to connect or (un)subscribe.
    pub(crate) timeout: Duration,
    /// The first wait before reconnecting; doubled up to `max_reconnect_delay`.
    pub(crate) min_reconnect_delay: Duration,
    /// The longest wait between reconnection attempts.
    pub(crate) max_reconnect_delay: Duration,
}

/// One subscriber connection to the broker. It delivers the events it receives into the
/// registry it was opened with.
pub(crate) trait Link: Send + 'static {
    /// Subscribes to `topics` (local names; the link maps them to the broker's).
    fn subscribe(&mut self, topics: &[Arc<str>])
    -> impl Future<Output = Result<(), String>> + Send;
    /// Unsubscribes from `topic`.
    fn unsubscribe(&mut self, topic: &Arc<str>) -> impl Future<Output = ()> + Send;
    /// Resolves when the connection is lost. Cancel-safe.
    fn closed(&mut self) -> impl Future<Output = ()> + Send;
}

/// Opens subscriber connections.
pub(crate) trait Connect: Send + Sync + 'static {
    /// The connection.
    type Link: Link;
    /// Opens a connection that delivers into `registry`.
    fn connect(
        &self,
        registry: Arc<Registry>,
    ) -> impl Future<Output = Result<Self::Link, String>> + Send;

    /// Whether a new connection replays what the lost one missed (then the outage is not
    /// reported; the link reports what it cannot replay).
    fn replays(&self) -> bool {
        false
    }
}

enum Control {
    Subscribe(Vec<Arc<str>>, oneshot::Sender<Result<(), String>>),
    Unsubscribe(Arc<str>),
}

/// The local registry and the task that keeps it subscribed upstream. Dropping it stops the
/// task (and closes its connection).
pub(crate) struct Upstream {
    settings: Settings,
    registry: Arc<Registry>,
    control: mpsc::Sender<Control>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Upstream {
    /// Starts the subscriber task; fails when the first connection cannot be made in time.
    pub(crate) async fn start<C: Connect>(
        connect: C,
        settings: Settings,
        capacity: usize,
    ) -> Result<Self, PubSubError> {
        let registry = Arc::new(Registry::new(capacity));
        let (control, control_rx) = mpsc::channel(1024);
        let (ready_tx, ready_rx) = oneshot::channel();
        let task = tokio::spawn(run(
            connect,
            settings.clone(),
            registry.clone(),
            control_rx,
            ready_tx,
        ));
        match tokio::time::timeout(settings.timeout, ready_rx).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(message))) => {
                task.abort();
                return Err(PubSubError::Unavailable {
                    url: settings.url.clone(),
                    message,
                });
            }
            _ => {
                task.abort();
                return Err(PubSubError::Unavailable {
                    url: settings.url.clone(),
                    message: "the subscriber connection could not be made in time".into(),
                });
            }
        }
        Ok(Self {
            settings,
            registry,
            control,
            task,
        })
    }

    /// Subscribes to `topics`: locally at once, upstream for the topics that had no local
    /// subscriber. Resolves when the broker confirmed the subscription.
    pub(crate) fn subscribe(
        &self,
        topics: &[&str],
    ) -> BoxFuture<'static, Result<EventStream, PubSubError>> {
        let control = self.control.clone();
        let on_empty: OnEmpty = Arc::new(move |topic: Arc<str>| {
            // If the queue is full the topic stays subscribed upstream; its events then find no
            // local subscriber and are dropped.
            let _ = control.try_send(Control::Unsubscribe(topic));
        });
        let (stream, fresh) = self.registry.join(topics, Some(on_empty));
        let control = self.control.clone();
        let (url, timeout) = (self.settings.url.clone(), self.settings.timeout);
        Box::pin(async move {
            if fresh.is_empty() {
                return Ok(stream);
            }
            let unavailable = |message: String| PubSubError::Unavailable { url, message };
            let (ack, acked) = oneshot::channel();
            control
                .send(Control::Subscribe(fresh, ack))
                .await
                .map_err(|_| PubSubError::Closed)?;
            // On failure the stream is dropped, which leaves the topics again.
            match tokio::time::timeout(timeout, acked).await {
                Ok(Ok(Ok(()))) => Ok(stream),
                Ok(Ok(Err(message))) => Err(unavailable(message)),
                Ok(Err(_)) => Err(PubSubError::Closed),
                Err(_) => Err(unavailable(format!(
                    "subscribing did not complete within {timeout:?}"
                ))),
            }
        })
    }
}

/// Owns the subscriber connection: subscribes, reconnects and re-subscribes.
async fn run<C: Connect>(
    connect: C,
    settings: Settings,
    registry: Arc<Registry>,
    mut control: mpsc::Receiver<Control>,
    ready: oneshot::Sender<Result<(), String>>,
) {
    let mut ready = Some(ready);
    let mut delay = settings.min_reconnect_delay;
    loop {
        let link = tokio::time::timeout(settings.timeout, connect.connect(registry.clone())).await;
        let mut link = match link {
            Ok(Ok(link)) => link,
            failed => {
                let message = match failed {
                    Ok(Err(message)) => message,
                    _ => format!("connecting timed out after {:?}", settings.timeout),
                };
                tracing::warn!(url = %settings.url, engine = settings.engine, error = %message, "subscriber connection failed");
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Err(message));
                    return;
                }
                if !wait_while_down(&mut control, delay).await {
                    return;
                }
                delay = (delay * 2).min(settings.max_reconnect_delay);
                continue;
            }
        };
        let topics = registry.topics();
        if !topics.is_empty() {
            match tokio::time::timeout(settings.timeout, link.subscribe(&topics)).await {
                Ok(Ok(())) => {
                    tracing::info!(url = %settings.url, engine = settings.engine, topics = topics.len(), "re-subscribed")
                }
                _ => {
                    if !wait_while_down(&mut control, delay).await {
                        return;
                    }
                    delay = (delay * 2).min(settings.max_reconnect_delay);
                    continue;
                }
            }
        }
        delay = settings.min_reconnect_delay;
        if let Some(ready) = ready.take() {
            let _ = ready.send(Ok(()));
        }
        loop {
            tokio::select! {
                command = control.recv() => match command {
                    None => return,
                    Some(Control::Subscribe(topics, ack)) => {
                        let result = tokio::time::timeout(settings.timeout, link.subscribe(&topics)).await;
                        let _ = ack.send(match result {
                            Ok(result) => result,
                            Err(_) => Err(format!("subscribing timed out after {:?}", settings.timeout)),
                        });
                    }
                    Some(Control::Unsubscribe(topic)) => {
                        // Someone may have subscribed again since the unsubscription was queued.
                        if !registry.has(&topic) {
                            let _ = tokio::time::timeout(settings.timeout, link.unsubscribe(&topic)).await;
                        }
                    }
                },
                () = link.closed() => break,
            }
        }
        drop(link);
        tracing::warn!(url = %settings.url, engine = settings.engine, "subscriber connection lost; reconnecting");
        if !connect.replays() {
            registry.interrupted();
        }
        if !wait_while_down(&mut control, delay).await {
            return;
        }
    }
}

/// Waits `delay` before the next connection attempt (backoff, not synchronisation), refusing
/// subscriptions meanwhile: they are registered locally and subscribed upstream on reconnect,
/// but the caller learns that the broker is down. Returns `false` when the engine was dropped.
async fn wait_while_down(control: &mut mpsc::Receiver<Control>, delay: Duration) -> bool {
    let sleep = tokio::time::sleep(delay);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            _ = &mut sleep => return true,
            command = control.recv() => match command {
                None => return false,
                Some(Control::Subscribe(_, ack)) => {
                    let _ = ack.send(Err("the broker is unavailable; reconnecting".into()));
                }
                Some(Control::Unsubscribe(_)) => {}
            },
        }
    }
}

/// Strips the engine's prefix from a broker-side name; `None` when it is not one of ours.
/// (Unused when only NATS is built: it delivers per subscription, by topic.)
#[cfg_attr(
    not(any(feature = "amqp", feature = "mqtt", feature = "postgres")),
    allow(dead_code)
)]
pub(crate) fn local_topic<'a>(prefix: &str, name: &'a str) -> Option<&'a str> {
    name.strip_prefix(prefix)
}

/// Delivers a JSON body received on `topic` to its local subscribers; a body that is not JSON
/// is dropped with a warning (a peer's mistake must not end the subscription).
pub(crate) fn deliver_json(registry: &Registry, engine: &'static str, topic: &str, body: &[u8]) {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(payload) => {
            registry.deliver(crate::Event {
                topic: Arc::from(topic),
                payload: Arc::new(payload),
            });
        }
        Err(e) => {
            tracing::warn!(engine, topic, error = %e, "dropped an event whose payload is not JSON")
        }
    }
}
