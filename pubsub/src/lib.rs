//! # quilt-pubsub
//!
//! Publish and subscribe for GraphQL subscriptions, with the contract a GraphQL-Modules or
//! Apollo Server user knows from `PubSub`, `asyncIterator` and `withFilter`:
//! [`PubSub::publish`] a JSON payload to a topic, [`PubSub::subscribe`] to topics as a stream
//! (dropping the stream unsubscribes), and [`with_filter`] / [`with_filter_async`] to keep the
//! events a subscription wants.
//!
//! Engines: [`InMemoryPubSub`] (one process, tests) and, for every instance of a gateway or
//! service to see every event, one per broker teams already run, each behind a cargo feature:
//! [`RedisPubSub`] (always built), `MqttPubSub` (feature `mqtt`, MQTT v5 at QoS 1),
//! `AmqpPubSub` (feature `amqp`, a RabbitMQ topic exchange with publisher confirms),
//! `PostgresPubSub` (feature `postgres`, `LISTEN`/`NOTIFY`) and `NatsPubSub` (feature `nats`).
//! Each reconnects and re-subscribes by itself after the broker comes back.
//!
//! Queues are bounded: a subscriber that falls behind loses the oldest events and is told how
//! many with a [`Missed::Lagged`] item; a broker outage is reported with
//! [`Missed::Interrupted`], and publishing while the broker is down fails with
//! [`PubSubError::Unavailable`]. Nothing is lost silently.
//!
//! ```
//! use futures::StreamExt;
//! use quilt_pubsub::{InMemoryPubSub, PubSub, with_filter};
//! use serde_json::json;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let pubsub = InMemoryPubSub::new();
//! let events = pubsub.subscribe(&["SEAT_RESERVED"]).await.unwrap();
//! let mut mine = with_filter(events, |event| event.payload["venue"] == json!("hall-1"));
//! pubsub.publish("SEAT_RESERVED", json!({ "venue": "hall-2", "seat": 1 })).await.unwrap();
//! pubsub.publish("SEAT_RESERVED", json!({ "venue": "hall-1", "seat": 7 })).await.unwrap();
//! let event = mine.next().await.unwrap().unwrap();
//! assert_eq!(event.payload["seat"], json!(7));
//! # });
//! ```

#[cfg(feature = "amqp")]
mod amqp_engine;
mod error;
mod filter;
mod memory;
#[cfg(feature = "mqtt")]
mod mqtt_engine;
#[cfg(feature = "nats")]
mod nats_engine;
#[cfg(feature = "postgres")]
mod postgres_engine;
mod redis_engine;
mod registry;
#[cfg(any(
    feature = "amqp",
    feature = "mqtt",
    feature = "nats",
    feature = "postgres"
))]
mod upstream;

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use serde_json::Value;

pub use error::PubSubError;
pub use filter::{with_filter, with_filter_async};
pub use memory::InMemoryPubSub;
pub use redis_engine::{RedisPubSub, RedisPubSubOptions};

#[cfg(feature = "amqp")]
pub use amqp_engine::{AmqpPubSub, AmqpPubSubOptions};
#[cfg(feature = "mqtt")]
pub use mqtt_engine::{MqttPubSub, MqttPubSubOptions};
#[cfg(feature = "nats")]
pub use nats_engine::{JetStreamOptions, NatsPubSub, NatsPubSubOptions};
#[cfg(feature = "postgres")]
pub use postgres_engine::{MAX_NOTIFY_PAYLOAD, PostgresPubSub, PostgresPubSubOptions};

/// One published event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The topic it was published to.
    pub topic: Arc<str>,
    /// The payload (shared: fan-out to many subscribers copies nothing).
    pub payload: Arc<Value>,
}

/// A notice that events may be missing from a subscription's stream. The stream goes on after
/// it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Missed {
    /// The subscriber fell behind its bounded queue; the `count` oldest events were dropped.
    #[error("the subscriber fell behind on {topic}: {count} events were dropped")]
    Lagged {
        /// The topic.
        topic: Arc<str>,
        /// How many events were dropped.
        count: u64,
    },
    /// The connection to the broker was lost; events published until it is back are lost. The
    /// engine reconnects and re-subscribes by itself; events published after that arrive again.
    #[error("the connection to the broker was lost; events on {topic} may have been missed")]
    Interrupted {
        /// The topic.
        topic: Arc<str>,
    },
}

/// A subscription: events in publication order per topic, and [`Missed`] notices where events
/// may be missing. Dropping it unsubscribes.
pub type EventStream = BoxStream<'static, Result<Event, Missed>>;

/// A publish/subscribe engine.
pub trait PubSub: Send + Sync + 'static {
    /// Publishes `payload` to `topic`. An error means the event was not published (the broker
    /// is unreachable), never that it was silently dropped.
    fn publish(&self, topic: &str, payload: Value) -> BoxFuture<'static, Result<(), PubSubError>>;

    /// Subscribes to `topics`. When the future resolves, the subscription is active: every event
    /// published afterwards is delivered.
    fn subscribe(&self, topics: &[&str]) -> BoxFuture<'static, Result<EventStream, PubSubError>>;
}

impl<P: PubSub + ?Sized> PubSub for Arc<P> {
    fn publish(&self, topic: &str, payload: Value) -> BoxFuture<'static, Result<(), PubSubError>> {
        (**self).publish(topic, payload)
    }

    fn subscribe(&self, topics: &[&str]) -> BoxFuture<'static, Result<EventStream, PubSubError>> {
        (**self).subscribe(topics)
    }
}
