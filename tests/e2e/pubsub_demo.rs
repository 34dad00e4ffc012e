//! The Seat-Saver demo over every PubSub engine, with real processes and the machine's brokers:
//! two `gateway-example` processes started with the same `--pubsub URL` (Redis, MQTT,
//! RabbitMQ, PostgreSQL, NATS) and prefix share the venue's events; two clients racing for one
//! seat through the two gateways: exactly one reservation succeeds, and each client's
//! subscription shows a "Reserving Seat" event before the reservation completed.
//!
//! The seats are shared through a store with compare-and-set: the broker itself for Redis and
//! PostgreSQL, the machine's Redis (`--redis-url`) for MQTT, AMQP and NATS. Without a broker
//! the test skips itself, except under `CI=true`, where that is a failure.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

use std::time::Duration;

use crate::common::{GatewayProcess, within};
use futures::StreamExt;
use quilt_executor::{Executor, HttpExecutor, Request, ResultStream, WsExecutor};
use quilt_test_support::WAIT;
use serde_json::{Value, json};

const REDIS: &str = "redis://127.0.0.1:6379";

/// Whether the broker at `port` accepts connections; outside CI a missing one skips the test.
async fn broker_up(name: &str, port: u16) -> bool {
    let up = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(("127.0.0.1", port)),
    )
    .await
    .is_ok_and(|connected| connected.is_ok());
    if !up {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "{name} must run at 127.0.0.1:{port} under CI"
        );
        eprintln!("skipped: no {name} at 127.0.0.1:{port}");
    }
    up
}

/// A prefix no other test run uses, short enough for PostgreSQL's 63-byte channel names.
fn unique_prefix(scheme: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() % 1_000_000_000_000);
    format!("qd_{scheme}_{}_{nanos}_", std::process::id())
}

async fn next_event(stream: &mut ResultStream) -> Value {
    let item = tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("no event in time")
        .expect("the subscription ended");
    serde_json::to_value(item.unwrap()).unwrap()["data"]["onSeatReserved"].take()
}

/// `reserveSeat` through `gateway` as `holder`: the whole result.
async fn reserve(gateway: &GatewayProcess, venue: &str, number: &str, holder: &str) -> Value {
    let client = HttpExecutor::builder(gateway.url.as_str())
        .timeout(WAIT)
        .build()
        .unwrap();
    let mutation = format!(
        r#"mutation {{ reserveSeat(venueId: "{venue}", number: "{number}", holder: "{holder}") {{ number holder }} }}"#
    );
    let request = Request::new(mutation.as_str()).unwrap();
    let result = within(async { client.execute(request).await?.into_single().await })
        .await
        .unwrap();
    serde_json::to_value(result).unwrap()
}

/// Two demo gateway processes on one broker; the whole scenario.
async fn two_gateways_share_the_venue(scheme: &str, pubsub: &str, port: u16, seats_in_redis: bool) {
    if !broker_up(scheme, port).await || (seats_in_redis && !broker_up("redis", 6379).await) {
        return;
    }
    let prefix = unique_prefix(scheme);
    let mut args = vec![
        "--pubsub".to_owned(),
        pubsub.to_owned(),
        "--pubsub-prefix".to_owned(),
        prefix.clone(),
    ];
    if seats_in_redis {
        args.extend(["--redis-url".to_owned(), REDIS.to_owned()]);
    }
    let one = GatewayProcess::start(&args).await;
    let two = GatewayProcess::start(&args).await;
    let ws = |gateway: &GatewayProcess| WsExecutor::new(gateway.url.replacen("http", "ws", 1));
    let (client_one, client_two) = (ws(&one), ws(&two));
    let subscription = "subscription { onSeatReserved { message venueId number status holder } }";
    let subscribe = |client: &WsExecutor| {
        let response = client.execute(Request::new(subscription).unwrap());
        async move { within(response).await.unwrap().into_stream() }
    };
    let mut streams = [subscribe(&client_one).await, subscribe(&client_two).await];

    // Both subscriptions are live once a probe published through the first gateway reaches
    // both: a reservation of a sold seat of hall-2 fails, but publishes twice.
    let sold = reserve(&one, "hall-2", "C4", "probe").await;
    assert!(sold.get("errors").is_none(), "{sold}");
    let bought = one
        .query(
            r#"mutation { buySeat(venueId: "hall-2", number: "C4", holder: "probe") { status } }"#,
        )
        .await;
    assert_eq!(bought, json!({"data": {"buySeat": {"status": "SOLD"}}}));
    let live = async {
        let mut seen = [false, false];
        while seen != [true, true] {
            let _ = reserve(&one, "hall-2", "C4", "probe").await;
            for (stream, seen) in streams.iter_mut().zip(&mut seen) {
                // A round's events, or none within the round: the probe is published again.
                while let Ok(Some(_)) =
                    tokio::time::timeout(Duration::from_millis(300), stream.next()).await
                {
                    *seen = true;
                }
            }
        }
    };
    within(live).await;

    // Events published through either gateway reach the subscribers of both.
    for (gateway, number, holder) in [(&one, "A1", "ada"), (&two, "A2", "grace")] {
        let result = reserve(gateway, "hall-1", number, holder).await;
        assert_eq!(
            result,
            json!({"data": {"reserveSeat": {"number": number, "holder": holder}}})
        );
        for stream in &mut streams {
            for (message, status) in [
                ("Reserving Seat", "RESERVING"),
                ("Reserved Seat", "RESERVED"),
            ] {
                assert_eq!(
                    next_hall_1(stream).await,
                    json!({"message": message, "venueId": "hall-1", "number": number, "status": status, "holder": holder})
                );
            }
        }
    }

    // Two clients race for one seat, each through its own gateway.
    let (x, y) = tokio::join!(
        reserve(&one, "hall-1", "B1", "x"),
        reserve(&two, "hall-1", "B1", "y")
    );
    let won: Vec<&Value> = [&x, &y]
        .into_iter()
        .filter(|result| result.get("errors").is_none())
        .collect();
    assert_eq!(won.len(), 1, "exactly one reservation wins: {x} {y}");
    let winner = won[0]["data"]["reserveSeat"]["holder"]
        .as_str()
        .unwrap()
        .to_owned();
    let loser = if winner == "x" { &y } else { &x };
    assert_eq!(
        loser["errors"][0]["message"],
        json!("seat B1 of hall-1 is not open"),
        "the second client is told clearly"
    );
    // Each client sees both attempts and both outcomes; the winner's "Reserving Seat" comes
    // before its "Reserved Seat", and a "Reserving Seat" before the loser's failure.
    for stream in &mut streams {
        let mut events = Vec::new();
        for _ in 0..4 {
            events.push(next_hall_1(stream).await);
        }
        let messages: Vec<&str> = events
            .iter()
            .map(|event| event["message"].as_str().unwrap())
            .collect();
        let position = |wanted: &dyn Fn(&Value) -> bool| {
            events
                .iter()
                .position(wanted)
                .unwrap_or_else(|| panic!("{events:?}"))
        };
        let reserving =
            position(&|e| e["message"] == "Reserving Seat" && e["holder"] == winner.as_str());
        let reserved = position(&|e| e["message"] == "Reserved Seat");
        let refused = position(&|e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Seat Not Reserved"))
        });
        assert!(reserving < reserved, "{messages:?}");
        assert_eq!(messages[0], "Reserving Seat", "{messages:?}");
        assert!(refused > 0, "{messages:?}");
        assert_eq!(events[reserved]["holder"], json!(winner));
    }
    // Both gateways read the one venue.
    for gateway in [&one, &two] {
        let seats = gateway
            .query(r#"{ reservedSeats(venueId: "hall-1") { number holder } }"#)
            .await;
        assert_eq!(
            seats,
            json!({"data": {"reservedSeats": [
                {"number": "A1", "holder": "ada"},
                {"number": "A2", "holder": "grace"},
                {"number": "B1", "holder": winner}
            ]}})
        );
    }
    forget_seats(pubsub, &prefix, seats_in_redis).await;
}

/// The next event of hall-1 (the probes of hall-2 may still be arriving).
async fn next_hall_1(stream: &mut ResultStream) -> Value {
    loop {
        let event = next_event(stream).await;
        if event["venueId"] == "hall-1" {
            return event;
        }
    }
}

/// Deletes the test's seats from the store.
async fn forget_seats(pubsub: &str, prefix: &str, seats_in_redis: bool) {
    if seats_in_redis || pubsub.starts_with("redis://") {
        let client = redis::Client::open(REDIS).unwrap();
        let mut connection = within(client.get_multiplexed_async_connection())
            .await
            .unwrap();
        let _: i64 = within(
            redis::cmd("DEL")
                .arg(format!("{prefix}seats"))
                .query_async(&mut connection),
        )
        .await
        .unwrap();
    }
    if pubsub.starts_with("postgres://") {
        let (client, connection) = tokio_postgres::connect(pubsub, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .execute("DELETE FROM quilt_demo_seats WHERE prefix = $1", &[&prefix])
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn two_demo_gateways_on_redis_share_events_and_one_racing_reservation_wins() {
    two_gateways_share_the_venue("redis", REDIS, 6379, false).await;
}

#[tokio::test]
async fn two_demo_gateways_on_mqtt_share_events_and_one_racing_reservation_wins() {
    two_gateways_share_the_venue("mqtt", "mqtt://127.0.0.1:1883", 1883, true).await;
}

#[tokio::test]
async fn two_demo_gateways_on_rabbitmq_share_events_and_one_racing_reservation_wins() {
    let url = "amqp://guest:guest@127.0.0.1:5672/%2f";
    two_gateways_share_the_venue("amqp", url, 5672, true).await;
}

#[tokio::test]
async fn two_demo_gateways_on_postgresql_share_events_and_one_racing_reservation_wins() {
    let url = "postgres://postgres@127.0.0.1:5432/test";
    two_gateways_share_the_venue("postgres", url, 5432, false).await;
}

#[tokio::test]
async fn two_demo_gateways_on_nats_share_events_and_one_racing_reservation_wins() {
    two_gateways_share_the_venue("nats", "nats://127.0.0.1:4222", 4222, true).await;
}
