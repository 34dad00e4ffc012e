//! The in-memory engine: one process.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::Value;

use crate::registry::Registry;
use crate::{Event, EventStream, PubSub, PubSubError};

/// Publish/subscribe within one process. Each subscriber's queue holds `capacity` events
/// (default 1,024); one that falls behind loses the oldest and gets a
/// [`Missed::Lagged`](crate::Missed::Lagged) notice.
#[derive(Clone)]
pub struct InMemoryPubSub {
    registry: Arc<Registry>,
}

impl InMemoryPubSub {
    /// An engine with queues of 1,024 events.
    pub fn new() -> Self {
        Self::with_capacity(1024)
    }

    /// An engine whose subscribers' queues hold `capacity` events.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            registry: Arc::new(Registry::new(capacity)),
        }
    }

    /// How many topics have subscribers now.
    pub fn active_topics(&self) -> usize {
        self.registry.topics().len()
    }
}

impl Default for InMemoryPubSub {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for InMemoryPubSub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryPubSub")
            .field("active_topics", &self.active_topics())
            .finish()
    }
}

impl PubSub for InMemoryPubSub {
    fn publish(&self, topic: &str, payload: Value) -> BoxFuture<'static, Result<(), PubSubError>> {
        self.registry.deliver(Event {
            topic: Arc::from(topic),
            payload: Arc::new(payload),
        });
        Box::pin(async { Ok(()) })
    }

    fn subscribe(&self, topics: &[&str]) -> BoxFuture<'static, Result<EventStream, PubSubError>> {
        let (stream, _) = self.registry.join(topics, None);
        Box::pin(async move { Ok(stream) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Missed;
    use futures::StreamExt;
    use serde_json::json;

    #[tokio::test]
    async fn delivers_in_order_per_topic_across_topics() {
        let pubsub = InMemoryPubSub::new();
        let mut s = pubsub.subscribe(&["a", "b"]).await.unwrap();
        for i in 0..3 {
            pubsub.publish("a", json!(i)).await.unwrap();
        }
        pubsub.publish("c", json!("nobody listens")).await.unwrap();
        pubsub.publish("b", json!("b")).await.unwrap();
        let mut a = Vec::new();
        let mut b = Vec::new();
        for _ in 0..4 {
            let e = s.next().await.unwrap().unwrap();
            match &*e.topic {
                "a" => a.push((*e.payload).clone()),
                _ => b.push((*e.payload).clone()),
            }
        }
        assert_eq!(a, vec![json!(0), json!(1), json!(2)]);
        assert_eq!(b, vec![json!("b")]);
    }

    #[tokio::test]
    async fn dropping_the_stream_unsubscribes() {
        let pubsub = InMemoryPubSub::new();
        let first = pubsub.subscribe(&["t"]).await.unwrap();
        let second = pubsub.subscribe(&["t", "u"]).await.unwrap();
        assert_eq!(pubsub.active_topics(), 2);
        drop(first);
        assert_eq!(pubsub.active_topics(), 2, "t still has a subscriber");
        drop(second);
        assert_eq!(pubsub.active_topics(), 0);
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_told_how_many_events_it_lost() {
        let pubsub = InMemoryPubSub::with_capacity(4);
        let mut slow = pubsub.subscribe(&["t"]).await.unwrap();
        for i in 0..10 {
            pubsub.publish("t", json!(i)).await.unwrap();
        }
        let first = slow.next().await.unwrap();
        assert_eq!(
            first,
            Err(Missed::Lagged {
                topic: Arc::from("t"),
                count: 6
            })
        );
        let rest: Vec<_> = slow
            .take(4)
            .map(|e| (*e.unwrap().payload).clone())
            .collect()
            .await;
        assert_eq!(rest, vec![json!(6), json!(7), json!(8), json!(9)]);
    }
}
