//! The Redis engine against real Redis servers: the machine's (127.0.0.1:6379) for fan-out across
//! instances, and a private `redis-server` that the restart test stops and starts again.
#![allow(clippy::unwrap_used)]

use std::process::Stdio;
use std::time::Duration;

use futures::StreamExt;
use quilt_pubsub::{EventStream, Missed, PubSub, PubSubError, RedisPubSub, RedisPubSubOptions};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

fn unique(prefix: &str) -> String {
    format!(
        "quilt-test:{prefix}:{}:{}:",
        std::process::id(),
        fastrand_suffix()
    )
}

fn fastrand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

async fn engine(url: &str, prefix: &str) -> RedisPubSub {
    RedisPubSub::connect_with(RedisPubSubOptions::new(url).channel_prefix(prefix))
        .await
        .unwrap_or_else(|e| panic!("Redis must be running for these tests: {e}"))
}

async fn next_event(stream: &mut EventStream) -> Result<Value, Missed> {
    let item = tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("no event within the wait")
        .expect("stream ended");
    item.map(|e| (*e.payload).clone())
}

#[tokio::test]
async fn every_subscriber_on_every_instance_gets_every_event_in_order() {
    let prefix = unique("fanout");
    let one = engine("redis://127.0.0.1:6379", &prefix).await;
    let two = engine("redis://127.0.0.1:6379", &prefix).await;
    let mut subscribers = vec![
        one.subscribe(&["seat"]).await.unwrap(),
        one.subscribe(&["seat"]).await.unwrap(),
        two.subscribe(&["seat"]).await.unwrap(),
        two.subscribe(&["seat", "other"]).await.unwrap(),
    ];
    for i in 0..20 {
        let publisher = if i % 2 == 0 { &one } else { &two };
        publisher.publish("seat", json!({ "n": i })).await.unwrap();
    }
    for subscriber in &mut subscribers {
        for i in 0..20 {
            assert_eq!(next_event(subscriber).await, Ok(json!({ "n": i })));
        }
    }
}

#[tokio::test]
async fn topics_do_not_leak_into_each_other_and_unsubscribe_on_drop() {
    let prefix = unique("topics");
    let engine = engine("redis://127.0.0.1:6379", &prefix).await;
    let mut a = engine.subscribe(&["a"]).await.unwrap();
    let b = engine.subscribe(&["b"]).await.unwrap();
    drop(b);
    let observer = redis::Client::open("redis://127.0.0.1:6379").unwrap();
    let mut conn = observer.get_multiplexed_async_connection().await.unwrap();
    let channel_b = format!("{prefix}b");
    let unsubscribed = async {
        loop {
            let (_, count): (String, i64) = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(&channel_b)
                .query_async(&mut conn)
                .await
                .unwrap();
            if count == 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(WAIT, unsubscribed)
        .await
        .expect("b was never unsubscribed upstream");
    engine.publish("b", json!("for b")).await.unwrap();
    engine.publish("a", json!("for a")).await.unwrap();
    assert_eq!(next_event(&mut a).await, Ok(json!("for a")));
}

/// A private redis-server on its own port, stopped and restarted by the test.
struct PrivateRedis {
    port: u16,
    child: tokio::process::Child,
}

impl PrivateRedis {
    async fn start(port: u16) -> Self {
        let child = tokio::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server must be installed (it is on this kind of machine)");
        let ready = async {
            while tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
            {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(WAIT, ready)
            .await
            .expect("redis-server did not start");
        Self { port, child }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn stop(mut self) -> u16 {
        self.child.kill().await.unwrap();
        self.port
    }

    async fn wait_for_subscribers(&self, channel: &str, count: i64) {
        let client = redis::Client::open(self.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let wait = async {
            loop {
                let (_, n): (String, i64) = redis::cmd("PUBSUB")
                    .arg("NUMSUB")
                    .arg(channel)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                if n == count {
                    break;
                }
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(WAIT, wait)
            .await
            .expect("the subscriber never (re)subscribed");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn a_redis_restart_is_reported_and_subscriptions_resume() {
    let redis = PrivateRedis::start(free_port()).await;
    let url = redis.url();
    let subscriber = engine(&url, "").await;
    let publisher = engine(&url, "").await;
    let mut events = subscriber.subscribe(&["seat"]).await.unwrap();
    publisher.publish("seat", json!(1)).await.unwrap();
    assert_eq!(next_event(&mut events).await, Ok(json!(1)));

    let port = redis.stop().await;
    assert_eq!(
        next_event(&mut events).await,
        Err(Missed::Interrupted {
            topic: "seat".into()
        }),
        "the outage must be reported to the subscriber"
    );
    let failed = publisher.publish("seat", json!("lost")).await;
    assert!(
        matches!(failed, Err(PubSubError::Unavailable { .. })),
        "publishing while Redis is down fails loudly: {failed:?}"
    );

    let redis = PrivateRedis::start(port).await;
    redis.wait_for_subscribers("seat", 1).await;
    let republished = async {
        // The publisher's connection manager reconnects on its first use after the outage.
        while publisher.publish("seat", json!(2)).await.is_err() {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(WAIT, republished)
        .await
        .expect("publisher never reconnected");
    assert_eq!(next_event(&mut events).await, Ok(json!(2)));
}

#[tokio::test]
async fn connecting_to_a_missing_redis_is_a_clear_error() {
    let error = RedisPubSub::connect(&format!("redis://127.0.0.1:{}", free_port()))
        .await
        .unwrap_err();
    assert!(matches!(error, PubSubError::Unavailable { .. }), "{error}");
}
