//! The local side of every engine: one bounded broadcast channel per topic with subscribers,
//! and the subscription streams that leave their topics when dropped.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use futures::Stream;
use futures::stream::SelectAll;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::{Event, EventStream, Missed};

type Delivery = Result<Event, Missed>;

/// Called with a topic that lost its last local subscriber (the Redis engine unsubscribes).
pub(crate) type OnEmpty = Arc<dyn Fn(Arc<str>) + Send + Sync>;

/// Topics with local subscribers.
pub(crate) struct Registry {
    capacity: usize,
    topics: Mutex<HashMap<Arc<str>, broadcast::Sender<Delivery>>>,
}

impl Registry {
    /// A registry whose per-subscriber queues hold `capacity` events.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            topics: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, broadcast::Sender<Delivery>>> {
        // The map stays consistent even if a holder panicked: every operation is one insert,
        // remove or lookup.
        self.topics.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Subscribes to `topics`; returns the stream and the topics that had no subscriber before
    /// (which the engine must subscribe to upstream).
    pub(crate) fn join(
        self: &Arc<Self>,
        topics: &[&str],
        on_empty: Option<OnEmpty>,
    ) -> (EventStream, Vec<Arc<str>>) {
        let mut fresh = Vec::new();
        let mut streams = SelectAll::new();
        let mut joined = Vec::new();
        {
            let mut map = self.lock();
            for topic in topics {
                let topic: Arc<str> = Arc::from(*topic);
                if joined.contains(&topic) {
                    continue;
                }
                let sender = map.entry(topic.clone()).or_insert_with(|| {
                    fresh.push(topic.clone());
                    broadcast::channel(self.capacity).0
                });
                streams.push(TopicStream {
                    topic: topic.clone(),
                    inner: BroadcastStream::new(sender.subscribe()),
                });
                joined.push(topic);
            }
        }
        let subscription = Subscription {
            streams,
            _leave: LeaveGuard {
                registry: self.clone(),
                topics: joined,
                on_empty,
            },
        };
        (Box::pin(subscription), fresh)
    }

    /// Delivers an event to the topic's subscribers; `false` when the topic has none.
    pub(crate) fn deliver(&self, event: Event) -> bool {
        let map = self.lock();
        match map.get(&event.topic) {
            Some(sender) => {
                let _ = sender.send(Ok(event));
                true
            }
            None => false,
        }
    }

    /// Tells every subscriber that events may have been missed.
    pub(crate) fn interrupted(&self) {
        let map = self.lock();
        for (topic, sender) in map.iter() {
            let _ = sender.send(Err(Missed::Interrupted {
                topic: topic.clone(),
            }));
        }
    }

    /// Tells the subscribers of `topic` that events may have been missed.
    #[cfg_attr(not(feature = "nats"), allow(dead_code))]
    pub(crate) fn interrupted_topic(&self, topic: &Arc<str>) {
        if let Some(sender) = self.lock().get(topic) {
            let _ = sender.send(Err(Missed::Interrupted {
                topic: topic.clone(),
            }));
        }
    }

    /// The topics with subscribers.
    pub(crate) fn topics(&self) -> Vec<Arc<str>> {
        self.lock().keys().cloned().collect()
    }

    /// Whether `topic` has subscribers.
    pub(crate) fn has(&self, topic: &str) -> bool {
        self.lock().contains_key(topic)
    }

    /// Removes `topic` if it has no subscriber left; `true` when removed.
    fn leave(&self, topic: &Arc<str>) -> bool {
        let mut map = self.lock();
        match map.get(topic) {
            Some(sender) if sender.receiver_count() == 0 => {
                map.remove(topic);
                true
            }
            _ => false,
        }
    }
}

struct TopicStream {
    topic: Arc<str>,
    inner: BroadcastStream<Delivery>,
}

impl Stream for TopicStream {
    type Item = Delivery;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(delivery))) => Poll::Ready(Some(delivery)),
            Poll::Ready(Some(Err(BroadcastStreamRecvError::Lagged(count)))) => {
                Poll::Ready(Some(Err(Missed::Lagged {
                    topic: self.topic.clone(),
                    count,
                })))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The stream handed to a subscriber. Its fields drop in order: first the receivers, then the
/// guard, which then sees the receiver counts without them.
struct Subscription {
    streams: SelectAll<TopicStream>,
    _leave: LeaveGuard,
}

impl Stream for Subscription {
    type Item = Delivery;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.streams).poll_next(cx)
    }
}

struct LeaveGuard {
    registry: Arc<Registry>,
    topics: Vec<Arc<str>>,
    on_empty: Option<OnEmpty>,
}

impl Drop for LeaveGuard {
    fn drop(&mut self) {
        for topic in &self.topics {
            if self.registry.leave(topic)
                && let Some(on_empty) = &self.on_empty
            {
                on_empty(topic.clone());
            }
        }
    }
}
