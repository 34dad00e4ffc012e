//! The Seat-Saver venue shared through Redis (the machine's, at 127.0.0.1:6379): two demo
//! gateways, each with its own embedded demo services, both started with the same Redis and
//! prefix. A mutation through either gateway changes the one shared venue, and its event
//! reaches the WebSocket subscribers of both gateways, exactly once each.
//!
//! Without Redis the tests skip themselves, except under `CI=true`, where that is a failure.
//! Every test uses a prefix of its own (so parallel runs never share a hash or a channel) and
//! deletes its hash at the end.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

use crate::common::{
    GatewayProcess, TestGateway, redis_or_skip, settings, start, unique_redis_prefix, wait_for,
    wait_for_subscribers, within,
};
use futures::StreamExt;
use gateway_example::config::DemoRedis;
use quilt_executor::{Executor, Request, ResultStream, Subprotocol, WsExecutor};
use quilt_test_support::WAIT;
use serde_json::{Value, json};

const RESERVED: &str = "subscription { onSeatReserved { message number status holder } }";

async fn shared_demo(url: &str, prefix: &str) -> TestGateway {
    let mut settings = settings(Vec::new());
    settings.demo_redis = Some(DemoRedis {
        url: url.to_owned(),
        prefix: prefix.to_owned(),
    });
    start(settings).await
}

async fn subscribe(client: &WsExecutor, query: &str) -> ResultStream {
    within(client.execute(Request::new(query).unwrap()))
        .await
        .unwrap()
        .into_stream()
}

async fn next(stream: &mut ResultStream) -> Value {
    let item = tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("no event in time")
        .expect("the subscription ended");
    serde_json::to_value(item.unwrap()).unwrap()
}

/// The number of Redis connections subscribed to `channel`.
async fn redis_subscribers(url: &str, channel: &str) -> i64 {
    let client = redis::Client::open(url).unwrap();
    let mut connection = within(client.get_multiplexed_async_connection())
        .await
        .unwrap();
    let (_, count): (String, i64) = within(
        redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(channel)
            .query_async(&mut connection),
    )
    .await
    .unwrap();
    count
}

async fn delete_venue(url: &str, prefix: &str) {
    let client = redis::Client::open(url).unwrap();
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

#[tokio::test]
async fn two_demo_gateways_on_one_redis_share_the_venue_and_every_subscriber_gets_each_event_once()
{
    let Some(url) = redis_or_skip().await else {
        return;
    };
    let prefix = unique_redis_prefix("seats-two-gateways");
    let one = shared_demo(&url, &prefix).await;
    let two = shared_demo(&url, &prefix).await;

    // Two WebSocket subscribers through each gateway, one per subprotocol.
    let clients = [&one, &two].map(|gateway| {
        [
            WsExecutor::new(gateway.ws_url()),
            WsExecutor::builder(gateway.ws_url())
                .subprotocol(Subprotocol::LegacyGraphqlWs)
                .build(),
        ]
    });
    let mut streams = Vec::new();
    for (gateway, pair) in clients.iter().enumerate() {
        for (n, client) in pair.iter().enumerate() {
            streams.push((gateway, n, subscribe(client, RESERVED).await));
        }
    }
    for gateway in [&one, &two] {
        wait_for_subscribers(&gateway.prepared, 2).await;
        let venue = gateway.prepared.demo.as_ref().unwrap().venue();
        assert!(venue.is_shared());
        wait_for(venue.subscribers(), |n| *n >= 1).await;
    }
    // On the wire: each instance holds one Redis subscriber connection on the channel.
    assert_eq!(
        redis_subscribers(&url, &format!("{prefix}SEAT_RESERVED")).await,
        2
    );

    let reserve = |gateway: &TestGateway, seat: &str, holder: &str| {
        let mutation = format!(
            r#"mutation {{ reserveSeat(venueId: "hall-1", number: "{seat}", holder: "{holder}") {{ number }} }}"#
        );
        let gateway_url = gateway.url.clone();
        async move {
            let client = quilt_executor::HttpExecutor::builder(gateway_url.as_str())
                .timeout(WAIT)
                .build()
                .unwrap();
            let request = Request::new(mutation.as_str()).unwrap();
            let result = within(async { client.execute(request).await?.into_single().await })
                .await
                .unwrap();
            serde_json::to_value(result).unwrap()
        }
    };
    let first = reserve(&one, "A1", "ada").await;
    assert_eq!(first, json!({"data": {"reserveSeat": {"number": "A1"}}}));
    // The venue is one: the other gateway sees the seat taken.
    let taken = reserve(&two, "A1", "grace").await;
    assert_eq!(
        taken["errors"][0]["message"],
        json!("seat A1 of hall-1 is not open"),
        "{taken}"
    );
    let seen = two
        .query(r#"{ reservedSeats(venueId: "hall-1") { number status holder } }"#)
        .await;
    assert_eq!(
        seen,
        json!({"data": {"reservedSeats": [{"number": "A1", "status": "RESERVED", "holder": "ada"}]}})
    );
    let second = reserve(&two, "A2", "grace").await;
    assert!(second.get("errors").is_none(), "{second}");
    let third = reserve(&one, "A3", "alan").await;
    assert!(third.get("errors").is_none(), "{third}");

    // Every subscriber of both gateways: each reservation's two events, in order, each once
    // (a duplicate would come before the next event: events of one channel keep their order).
    let not_open = "Seat Not Reserved: seat A1 of hall-1 is not open";
    let expected = [
        ("Reserving Seat", "A1", "RESERVING", "ada"),
        ("Reserved Seat", "A1", "RESERVED", "ada"),
        ("Reserving Seat", "A1", "RESERVING", "grace"),
        (not_open, "A1", "RESERVED", "ada"),
        ("Reserving Seat", "A2", "RESERVING", "grace"),
        ("Reserved Seat", "A2", "RESERVED", "grace"),
        ("Reserving Seat", "A3", "RESERVING", "alan"),
        ("Reserved Seat", "A3", "RESERVED", "alan"),
    ];
    for (gateway, n, stream) in &mut streams {
        for (message, seat, status, holder) in expected {
            assert_eq!(
                next(stream).await,
                json!({"data": {"onSeatReserved": {"message": message, "number": seat, "status": status, "holder": holder}}}),
                "gateway {gateway}, client {n}"
            );
        }
    }

    drop(streams);
    for gateway in [&one, &two] {
        let venue = gateway.prepared.demo.as_ref().unwrap().venue();
        wait_for(venue.subscribers(), |n| *n == 0).await;
        let schema = gateway.prepared.gateway.executor().current();
        within(async {
            while schema.subscription_stats().clients > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        })
        .await;
    }
    delete_venue(&url, &prefix).await;
}

#[tokio::test]
async fn the_binary_takes_redis_url_from_the_environment_and_two_processes_share_the_venue() {
    let Some(url) = redis_or_skip().await else {
        return;
    };
    let prefix = unique_redis_prefix("seats-processes");
    let args = ["--redis-prefix".to_owned(), prefix.clone()];
    let env = [("REDIS_URL", url.as_str())];
    let one = GatewayProcess::start_with_env(&args, &env).await;
    let two = GatewayProcess::start_with_env(&args, &env).await;
    let reserved = one
        .query(r#"mutation { reserveSeat(venueId: "hall-2", number: "C2", holder: "ada") { id status } }"#)
        .await;
    assert_eq!(
        reserved,
        json!({"data": {"reserveSeat": {"id": "hall-2:C2", "status": "RESERVED"}}})
    );
    let sold = two
        .query(r#"mutation { buySeat(venueId: "hall-2", number: "C2", holder: "ada") { status holder } }"#)
        .await;
    assert_eq!(
        sold,
        json!({"data": {"buySeat": {"status": "SOLD", "holder": "ada"}}})
    );
    let seen = one
        .query(r#"{ soldSeats(venueId: "hall-2") { id } }"#)
        .await;
    assert_eq!(seen, json!({"data": {"soldSeats": [{"id": "hall-2:C2"}]}}));
    delete_venue(&url, &prefix).await;
}

#[tokio::test]
async fn two_instances_racing_for_each_seat_let_exactly_one_reservation_win() {
    use gateway_example::demo::seats::{Venue, schema};
    let Some(url) = redis_or_skip().await else {
        return;
    };
    let prefix = unique_redis_prefix("seats-race");
    let one = schema(Venue::redis(&url, &prefix).await.unwrap());
    let two = schema(Venue::redis(&url, &prefix).await.unwrap());
    let reserve = |seat: String, holder: &'static str| {
        async_graphql::Request::new(format!(
            r#"mutation {{ reserveSeat(venueId: "hall-1", number: "{seat}", holder: "{holder}") {{ holder }} }}"#
        ))
    };
    let mut winners = Vec::new();
    for row in ["A", "B", "C"] {
        for number in 1..=4 {
            let seat = format!("{row}{number}");
            let (a, b) = tokio::join!(
                one.execute(reserve(seat.clone(), "ada")),
                two.execute(reserve(seat.clone(), "grace"))
            );
            let outcomes = [a, b].map(|response| response.errors.is_empty());
            assert_eq!(
                outcomes.iter().filter(|ok| **ok).count(),
                1,
                "seat {seat}: {outcomes:?}"
            );
            winners.push(if outcomes[0] { "ada" } else { "grace" });
        }
    }
    // Both instances read the winners back.
    for instance in [&one, &two] {
        let seats = instance
            .execute(r#"{ venue(id: "hall-1") { seats { holder } } }"#)
            .await
            .data
            .into_json()
            .unwrap();
        let holders: Vec<&str> = seats["venue"]["seats"]
            .as_array()
            .unwrap()
            .iter()
            .map(|seat| seat["holder"].as_str().unwrap())
            .collect();
        assert_eq!(holders, winners);
    }
    delete_venue(&url, &prefix).await;
}
