//! Fan-out load per engine: two engine instances on one broker, 1,000 subscribers (500 on each),
//! events published alternately through both instances. Prints, per engine, the events
//! published per second, the deliveries per second (events × subscribers), and the
//! publish-to-deliver latency at p50 and p99, with any lag notices counted.
//!
//! `cargo bench -p quilt-pubsub --all-features --bench fanout` (the brokers of the machine:
//! Redis 6379, Mosquitto 1883, RabbitMQ 5672, PostgreSQL 5432, NATS 4222; an engine whose broker
//! is not reachable is reported and skipped). `FANOUT_EVENTS` sets the events per engine
//! (default 2,000), `FANOUT_ENGINES` a comma-separated subset (`memory,redis,...`),
//! `FANOUT_MQTT_URL` another MQTT broker.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use quilt_pubsub::{EventStream, InMemoryPubSub, PubSub, PubSubError};
use serde_json::json;

const SUBSCRIBERS: usize = 1_000;

type Engine = Arc<dyn PubSub>;

async fn engines(name: &str, ns: &str) -> Result<(Engine, Engine), PubSubError> {
    let capacity = 4096;
    Ok(match name {
        "memory" => {
            let one = InMemoryPubSub::with_capacity(capacity);
            (Arc::new(one.clone()), Arc::new(one))
        }
        "redis" => {
            use quilt_pubsub::{RedisPubSub, RedisPubSubOptions};
            let options = RedisPubSubOptions::new("redis://127.0.0.1:6379")
                .channel_prefix(format!("{ns}:"))
                .capacity(capacity);
            (
                Arc::new(RedisPubSub::connect_with(options.clone()).await?),
                Arc::new(RedisPubSub::connect_with(options).await?),
            )
        }
        #[cfg(feature = "mqtt")]
        "mqtt" => {
            use quilt_pubsub::{MqttPubSub, MqttPubSubOptions};
            let url = std::env::var("FANOUT_MQTT_URL");
            let options = MqttPubSubOptions::new(url.as_deref().unwrap_or("mqtt://127.0.0.1:1883"))
                .topic_prefix(format!("{ns}/"))
                .capacity(capacity);
            (
                Arc::new(MqttPubSub::connect_with(options.clone()).await?),
                Arc::new(MqttPubSub::connect_with(options).await?),
            )
        }
        #[cfg(feature = "amqp")]
        "amqp" => {
            use quilt_pubsub::{AmqpPubSub, AmqpPubSubOptions};
            let options = AmqpPubSubOptions::new("amqp://guest:guest@127.0.0.1:5672/%2f")
                .routing_key_prefix(format!("{ns}."))
                .capacity(capacity);
            (
                Arc::new(AmqpPubSub::connect_with(options.clone()).await?),
                Arc::new(AmqpPubSub::connect_with(options).await?),
            )
        }
        #[cfg(feature = "postgres")]
        "postgres" => {
            use quilt_pubsub::{PostgresPubSub, PostgresPubSubOptions};
            let options = PostgresPubSubOptions::new("postgres://postgres@127.0.0.1:5432/test")
                .channel_prefix(format!("{ns}_"))
                .capacity(capacity);
            (
                Arc::new(PostgresPubSub::connect_with(options.clone()).await?),
                Arc::new(PostgresPubSub::connect_with(options).await?),
            )
        }
        #[cfg(feature = "nats")]
        "nats" => {
            use quilt_pubsub::{NatsPubSub, NatsPubSubOptions};
            let options = NatsPubSubOptions::new("nats://127.0.0.1:4222")
                .subject_prefix(format!("{ns}."))
                .capacity(capacity);
            (
                Arc::new(NatsPubSub::connect_with(options.clone()).await?),
                Arc::new(NatsPubSub::connect_with(options).await?),
            )
        }
        other => {
            return Err(PubSubError::Unavailable {
                url: other.to_owned(),
                message: "unknown engine or its feature is off".into(),
            });
        }
    })
}

/// Nanoseconds since `epoch` (one process, one clock).
fn since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

struct Outcome {
    latencies: Vec<u64>,
    lagged: u64,
}

async fn subscriber(mut stream: EventStream, events: usize, epoch: Instant) -> Outcome {
    let mut outcome = Outcome {
        latencies: Vec::with_capacity(events),
        lagged: 0,
    };
    let mut seen = 0;
    while seen < events {
        match tokio::time::timeout(Duration::from_secs(30), stream.next()).await {
            Ok(Some(Ok(event))) => {
                let sent = event.payload["t"].as_u64().unwrap_or_default();
                outcome.latencies.push(since(epoch).saturating_sub(sent));
                seen += 1;
            }
            Ok(Some(Err(quilt_pubsub::Missed::Lagged { count, .. }))) => {
                outcome.lagged += count;
                seen += usize::try_from(count).unwrap_or(usize::MAX);
            }
            Ok(Some(Err(missed))) => panic!("{missed}"),
            Ok(None) | Err(_) => break,
        }
    }
    outcome
}

fn percentile(sorted: &[u64], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    Duration::from_nanos(sorted[index])
}

async fn run(name: &str, events: usize) -> Result<(), PubSubError> {
    let ns = format!("quilt-bench-{}-{name}", std::process::id());
    let (one, two) = engines(name, &ns).await?;
    let epoch = Instant::now();
    let mut readers = Vec::with_capacity(SUBSCRIBERS);
    for i in 0..SUBSCRIBERS {
        let engine = if i % 2 == 0 { &one } else { &two };
        let stream = engine.subscribe(&["bench"]).await?;
        readers.push(tokio::spawn(subscriber(stream, events, epoch)));
    }
    let started = Instant::now();
    for i in 0..events {
        let engine = if i % 2 == 0 { &one } else { &two };
        engine
            .publish("bench", json!({ "t": since(epoch), "i": i }))
            .await?;
    }
    let published = started.elapsed();
    let mut latencies = Vec::with_capacity(events * SUBSCRIBERS);
    let mut lagged = 0;
    for reader in readers {
        let outcome = reader.await.expect("a subscriber panicked");
        latencies.extend(outcome.latencies);
        lagged += outcome.lagged;
    }
    let delivered = started.elapsed();
    latencies.sort_unstable();
    println!(
        "{name:>8}: {events} events, {SUBSCRIBERS} subscribers on 2 instances: \
         {:>8.0} events/s published, {:>10.0} deliveries/s, \
         publish-to-deliver p50 {:>9.3} ms, p99 {:>9.3} ms, {} deliveries, {lagged} lost to lag",
        events as f64 / published.as_secs_f64(),
        latencies.len() as f64 / delivered.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.len(),
    );
    Ok(())
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass nothing else either.
    let events = std::env::var("FANOUT_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    let all = "memory,redis,mqtt,amqp,postgres,nats".to_owned();
    let selected = std::env::var("FANOUT_ENGINES").unwrap_or(all);
    for name in selected.split(',') {
        if let Err(e) = run(name, events).await {
            println!("{name:>8}: skipped: {e}");
        }
    }
}
