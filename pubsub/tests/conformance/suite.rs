//! The conformance suite: one body of tests every engine passes, with its broker real.

use std::time::Duration;

use futures::StreamExt;
use quilt_pubsub::{EventStream, Missed, PubSub, PubSubError};
use serde_json::{Value, json};

use super::daemons::Private;

/// How long a test waits for an event before it fails.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// A broker an engine runs against, and what the suite may ask of it.
pub(crate) trait Broker {
    /// The engine.
    type Engine: PubSub + Clone;

    /// The URL of the machine's broker.
    fn url(&self) -> String;

    /// A namespace (topic prefix) no other test uses.
    fn namespace(&self, test: &str) -> String;

    /// A new engine instance at `url` using `namespace`, with subscriber queues of `capacity`.
    async fn engine(
        &self,
        url: &str,
        namespace: &str,
        capacity: usize,
    ) -> Result<Self::Engine, PubSubError>;

    /// Whether the broker routes `topic` of `namespace` to any subscriber; `None` when the
    /// broker does not say.
    async fn routed(&self, namespace: &str, topic: &str) -> Option<bool>;

    /// A private broker on `port` that the test may stop and start; `Err` names what is
    /// missing to start one.
    async fn private(&self, port: u16) -> Result<Private, String>;
}

/// The next item of a subscription, within [`WAIT`].
pub(crate) async fn next_event(stream: &mut EventStream) -> Result<Value, Missed> {
    let item = tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("no event within the wait")
        .expect("stream ended");
    item.map(|e| (*e.payload).clone())
}

/// Per-topic order and fan-out: every subscriber on both instances gets every event, in the
/// order they were published, whichever instance published them; a subscriber of two topics
/// gets both, each in order.
pub(crate) async fn fan_out_in_order<B: Broker>(broker: &B) {
    let ns = broker.namespace("fanout");
    let one = broker.engine(&broker.url(), &ns, 1024).await.unwrap();
    let two = broker.engine(&broker.url(), &ns, 1024).await.unwrap();
    let mut seat_only = vec![
        one.subscribe(&["seat"]).await.unwrap(),
        one.subscribe(&["seat"]).await.unwrap(),
        two.subscribe(&["seat"]).await.unwrap(),
    ];
    let mut both = two.subscribe(&["seat", "other"]).await.unwrap();
    for i in 0..20 {
        let publisher = if i % 2 == 0 { &one } else { &two };
        publisher.publish("seat", json!({ "n": i })).await.unwrap();
        if i % 4 == 0 {
            publisher
                .publish("other", json!({ "o": i / 4 }))
                .await
                .unwrap();
        }
    }
    for subscriber in &mut seat_only {
        for i in 0..20 {
            assert_eq!(next_event(subscriber).await, Ok(json!({ "n": i })));
        }
    }
    let (mut seats, mut others) = (Vec::new(), Vec::new());
    while seats.len() < 20 || others.len() < 5 {
        let event = next_event(&mut both).await.unwrap();
        if event.get("n").is_some() {
            seats.push(event["n"].clone());
        } else {
            others.push(event["o"].clone());
        }
    }
    assert_eq!(seats, (0..20).map(|i| json!(i)).collect::<Vec<_>>());
    assert_eq!(others, (0..5).map(|i| json!(i)).collect::<Vec<_>>());
}

/// Topics stay apart; dropping the last subscription of a topic unsubscribes from it (on the
/// broker, where the broker says), and subscribing again works.
pub(crate) async fn unsubscribe_on_drop<B: Broker>(broker: &B) {
    let ns = broker.namespace("drop");
    let engine = broker.engine(&broker.url(), &ns, 1024).await.unwrap();
    let mut a = engine.subscribe(&["a"]).await.unwrap();
    let b = engine.subscribe(&["b"]).await.unwrap();
    if let Some(routed) = broker.routed(&ns, "b").await {
        assert!(routed, "the broker must route b while it has a subscriber");
    }
    drop(b);
    if broker.routed(&ns, "b").await.is_some() {
        let unsubscribed = async {
            while broker.routed(&ns, "b").await != Some(false) {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(WAIT, unsubscribed)
            .await
            .expect("b was never unsubscribed on the broker");
    }
    engine.publish("b", json!("for b")).await.unwrap();
    engine.publish("a", json!("for a")).await.unwrap();
    assert_eq!(next_event(&mut a).await, Ok(json!("for a")));

    let mut again = engine.subscribe(&["b"]).await.unwrap();
    engine.publish("b", json!("b again")).await.unwrap();
    assert_eq!(next_event(&mut again).await, Ok(json!("b again")));
}

/// A subscriber that falls behind its bounded queue is told how many events it lost, then gets
/// the newest ones.
pub(crate) async fn lag_is_reported<B: Broker>(broker: &B) {
    let ns = broker.namespace("lag");
    let engine = broker.engine(&broker.url(), &ns, 4).await.unwrap();
    let mut slow = engine.subscribe(&["t"]).await.unwrap();
    let mut fast = engine.subscribe(&["t"]).await.unwrap();
    for i in 0..10 {
        engine.publish("t", json!(i)).await.unwrap();
        // Each event has reached this instance's queue before the next is published.
        assert_eq!(next_event(&mut fast).await, Ok(json!(i)));
    }
    assert_eq!(
        next_event(&mut slow).await,
        Err(Missed::Lagged {
            topic: "t".into(),
            count: 6
        })
    );
    for i in 6..10 {
        assert_eq!(next_event(&mut slow).await, Ok(json!(i)));
    }
}

/// Connecting to a broker that is not there fails with [`PubSubError::Unavailable`].
pub(crate) async fn missing_broker_is_a_clear_error<B: Broker>(broker: &B, url: &str) {
    let error = broker
        .engine(url, &broker.namespace("missing"), 16)
        .await
        .err()
        .expect("connecting to nothing must fail");
    assert!(matches!(error, PubSubError::Unavailable { .. }), "{error}");
}

/// Skips a test outside CI with a message; fails it under `CI=true`.
pub(crate) fn skip(reason: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("under CI this test must run: {reason}");
    }
    eprintln!("SKIPPED: {reason}");
}

/// A broker restart: subscribers are told of the outage, publishing fails while the broker is
/// down, and once it is back the engines reconnect and re-subscribe on the same streams.
pub(crate) async fn restart<B: Broker>(broker: &B, port: u16) {
    let mut daemon = match broker.private(port).await {
        Ok(daemon) => daemon,
        Err(reason) => return skip(&reason),
    };
    let url = daemon.url().to_owned();
    let ns = broker.namespace("restart");
    let subscriber = eventually(|| broker.engine(&url, &ns, 1024)).await;
    let publisher = broker.engine(&url, &ns, 1024).await.unwrap();
    let mut events = subscriber.subscribe(&["seat"]).await.unwrap();
    publisher.publish("seat", json!(1)).await.unwrap();
    assert_eq!(next_event(&mut events).await, Ok(json!(1)));

    daemon.stop().await;
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
        "publishing while the broker is down fails loudly: {failed:?}"
    );

    daemon.start().await;
    // Publish probes until one arrives: then the subscriber has re-subscribed.
    let resumed = async {
        for probe in 0u64.. {
            if publisher
                .publish("seat", json!({ "probe": probe }))
                .await
                .is_err()
            {
                tokio::task::yield_now().await;
                continue;
            }
            match tokio::time::timeout(Duration::from_millis(500), events.next()).await {
                Ok(Some(Ok(_))) => return,
                Ok(Some(Err(_))) | Err(_) => {}
                Ok(None) => panic!("the stream ended"),
            }
        }
    };
    tokio::time::timeout(WAIT, resumed)
        .await
        .expect("the engines never resumed after the restart");
    publisher.publish("seat", json!("after")).await.unwrap();
    loop {
        match next_event(&mut events).await {
            Ok(value) if value == json!("after") => break,
            Ok(value) => assert!(value.get("probe").is_some(), "unexpected {value}"),
            Err(missed) => panic!("unexpected {missed:?} after the restart"),
        }
    }
}

/// Calls `make` until it succeeds (a freshly started broker may refuse for a moment).
async fn eventually<T, F, Fut>(make: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, PubSubError>>,
{
    let attempt = async {
        loop {
            match make().await {
                Ok(value) => return value,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    };
    tokio::time::timeout(WAIT, attempt)
        .await
        .expect("the broker never accepted a connection")
}

/// Generates the suite's tests for one broker.
macro_rules! conformance {
    ($broker:expr) => {
        #[tokio::test]
        async fn every_subscriber_on_every_instance_gets_every_event_in_order() {
            crate::suite::fan_out_in_order(&$broker).await
        }

        #[tokio::test]
        async fn topics_stay_apart_and_dropping_a_stream_unsubscribes() {
            crate::suite::unsubscribe_on_drop(&$broker).await
        }

        #[tokio::test]
        async fn a_slow_subscriber_is_told_how_many_events_it_lost() {
            crate::suite::lag_is_reported(&$broker).await
        }
    };
    ($broker:expr, restart: $url_at:expr) => {
        conformance!($broker);

        #[tokio::test]
        async fn a_broker_restart_is_reported_and_subscriptions_resume() {
            crate::suite::restart(&$broker, crate::daemons::free_port()).await
        }

        #[tokio::test]
        async fn connecting_to_a_missing_broker_is_a_clear_error() {
            let url = ($url_at)(crate::daemons::free_port());
            crate::suite::missing_broker_is_a_clear_error(&$broker, &url).await
        }
    };
}
pub(crate) use conformance;
