//! The embedded demo through the gateway: root fields of every service, the Seat-Saver rules,
//! and seat events reaching clients over WebSocket (both subprotocols), SSE and multipart.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

mod common;

use common::{TestGateway, settings, start, wait_for, wait_for_subscribers, within};
use futures::StreamExt;
use quilt_executor::http::SubscriptionProtocol;
use quilt_executor::{Executor, HttpExecutor, Request, ResultStream, Subprotocol, WsExecutor};
use quilt_test_support::WAIT;
use serde_json::{Value, json};

async fn demo() -> TestGateway {
    start(settings(Vec::new())).await
}

#[tokio::test]
async fn root_fields_of_every_demo_service_answer_through_the_gateway() {
    let gateway = demo().await;
    let result = gateway
        .query(
            r#"{
                me { id name username }
                topProducts(first: 2) { upc name price }
                latestReviews(first: 1) { body rating author { id } product { upc } }
                venue(id: "hall-1") { name seats { number } }
            }"#,
        )
        .await;
    assert_eq!(
        result,
        json!({"data": {
            "me": {"id": "1", "name": "Ada", "username": "@ada"},
            "topProducts": [
                {"upc": "1", "name": "Table", "price": 899},
                {"upc": "2", "name": "Couch", "price": 1299}
            ],
            "latestReviews": [
                {"body": "Bright enough.", "rating": 4, "author": {"id": "4"}, "product": {"upc": "4"}}
            ],
            "venue": {"name": "Quilt Hall", "seats": [
                {"number": "A1"}, {"number": "A2"}, {"number": "A3"}, {"number": "A4"},
                {"number": "B1"}, {"number": "B2"}, {"number": "B3"}, {"number": "B4"},
                {"number": "C1"}, {"number": "C2"}, {"number": "C3"}, {"number": "C4"}
            ]}
        }})
    );
}

#[tokio::test]
async fn the_stitched_schema_holds_the_merge_entry_points_and_seat_operations() {
    let gateway = demo().await;
    let result = gateway
        .query("{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }")
        .await;
    let names = |kind: &str| -> Vec<String> {
        result["data"]["__schema"][kind]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_owned())
            .collect()
    };
    for field in [
        "me",
        "users",
        "products",
        "_users",
        "_products",
        "venues",
        "venue",
        "soldSeats",
        "reservedSeats",
        "openSeats",
        "latestReviews",
    ] {
        assert!(names("queryType").contains(&field.to_owned()), "{field}");
    }
    assert_eq!(
        names("mutationType"),
        ["reserveSeat", "buySeat", "releaseSeat"]
    );
    assert_eq!(
        names("subscriptionType"),
        ["onSeatReserved", "onSeatSold", "onSeatReleased"]
    );
}

#[tokio::test]
async fn seats_are_reserved_bought_and_released_by_the_rules() {
    let gateway = demo().await;
    let mutate = |query: &'static str| gateway.query(query);
    let reserved = mutate(
        r#"mutation { reserveSeat(venueId: "hall-1", number: "A1", holder: "ada") { id section status holder } }"#,
    )
    .await;
    assert_eq!(
        reserved["data"]["reserveSeat"],
        json!({"id": "hall-1:A1", "section": "Orchestra", "status": "RESERVED", "holder": "ada"})
    );
    let taken = mutate(
        r#"mutation { reserveSeat(venueId: "hall-1", number: "A1", holder: "grace") { status } }"#,
    )
    .await;
    assert_eq!(
        taken["errors"][0]["message"],
        json!("seat A1 of hall-1 is not open")
    );
    // The other venue's A1 is another seat.
    let elsewhere = mutate(
        r#"mutation { reserveSeat(venueId: "hall-2", number: "A1", holder: "grace") { status } }"#,
    )
    .await;
    assert_eq!(
        elsewhere["data"]["reserveSeat"]["status"],
        json!("RESERVED")
    );
    let not_hers = mutate(
        r#"mutation { buySeat(venueId: "hall-1", number: "A1", holder: "grace") { status } }"#,
    )
    .await;
    assert_eq!(
        not_hers["errors"][0]["message"],
        json!("seat A1 of hall-1 cannot be bought by grace")
    );
    let released =
        mutate(r#"mutation { releaseSeat(venueId: "hall-1", number: "A1") { status holder } }"#)
            .await;
    assert_eq!(
        released["data"]["releaseSeat"],
        json!({"status": "OPEN", "holder": null})
    );
    let sold = mutate(
        r#"mutation { buySeat(venueId: "hall-1", number: "A1", holder: "grace") { status holder } }"#,
    )
    .await;
    assert_eq!(
        sold["data"]["buySeat"],
        json!({"status": "SOLD", "holder": "grace"})
    );
    let final_ =
        mutate(r#"mutation { releaseSeat(venueId: "hall-1", number: "A1") { status } }"#).await;
    assert_eq!(
        final_["errors"][0]["message"],
        json!("seat A1 of hall-1 is not reserved")
    );
    let missing =
        mutate(r#"mutation { releaseSeat(venueId: "hall-1", number: "Z9") { status } }"#).await;
    assert_eq!(
        missing["errors"][0]["message"],
        json!("there is no seat Z9 in venue hall-1")
    );
    let left = gateway
        .query(
            r#"{
                soldSeats(venueId: "hall-1") { id }
                reservedSeats(venueId: "hall-2") { id holder }
                openSeats(venueId: "hall-1") { number }
                venues { id name city }
            }"#,
        )
        .await;
    assert_eq!(left["data"]["soldSeats"], json!([{"id": "hall-1:A1"}]));
    assert_eq!(
        left["data"]["reservedSeats"],
        json!([{"id": "hall-2:A1", "holder": "grace"}])
    );
    assert_eq!(left["data"]["openSeats"].as_array().unwrap().len(), 11);
    assert_eq!(
        left["data"]["venues"],
        json!([
            {"id": "hall-1", "name": "Quilt Hall", "city": "Lisbon"},
            {"id": "hall-2", "name": "Patchwork Theater", "city": "Porto"}
        ])
    );
}

/// A client of the gateway for one transport.
enum Client {
    Ws(WsExecutor),
    Http(HttpExecutor),
}

impl Client {
    async fn subscribe(&self, query: &str) -> ResultStream {
        let request = Request::new(query).unwrap();
        let response = match self {
            Client::Ws(ws) => within(ws.execute(request)).await,
            Client::Http(http) => within(http.execute(request)).await,
        };
        response.unwrap().into_stream()
    }
}

async fn next_data(stream: &mut ResultStream) -> Value {
    let item = tokio::time::timeout(WAIT, stream.next()).await.unwrap();
    item.unwrap().unwrap().data_value().unwrap()
}

#[tokio::test]
async fn seat_events_reach_clients_over_websocket_sse_and_multipart() {
    let gateway = demo().await;
    let http = |protocol| {
        HttpExecutor::builder(gateway.url.as_str())
            .subscription_protocol(protocol)
            .build()
            .unwrap()
    };
    let clients = [
        (
            "graphql-transport-ws",
            Client::Ws(WsExecutor::new(gateway.ws_url())),
        ),
        (
            "graphql-ws (legacy)",
            Client::Ws(
                WsExecutor::builder(gateway.ws_url())
                    .subprotocol(Subprotocol::LegacyGraphqlWs)
                    .build(),
            ),
        ),
        ("sse", Client::Http(http(SubscriptionProtocol::Sse))),
        (
            "multipart",
            Client::Http(http(SubscriptionProtocol::ApolloMultipart)),
        ),
    ];
    let mut streams = Vec::new();
    for (name, client) in &clients {
        for field in ["onSeatReserved", "onSeatSold", "onSeatReleased"] {
            let query = format!(
                "subscription {{ {field}(venueId: \"hall-1\") {{ message seatId number section status changeDate }} }}"
            );
            streams.push((*name, field, client.subscribe(&query).await));
        }
    }
    // Every subscription is attached before a seat changes; identical ones (the same field
    // over different transports) share one subscription at the Seat-Saver service.
    let venue = gateway.prepared.demo.as_ref().unwrap().venue();
    wait_for_subscribers(&gateway.prepared, streams.len() as u64).await;
    let upstreams = gateway
        .prepared
        .gateway
        .executor()
        .current()
        .subscription_stats()
        .upstreams;
    assert!(
        upstreams < streams.len() as u64,
        "identical subscriptions share"
    );
    wait_for(venue.subscribers(), |n| *n as u64 == upstreams).await;

    for mutation in [
        r#"mutation { reserveSeat(venueId: "hall-2", number: "B1", holder: "ada") { id } }"#,
        r#"mutation { reserveSeat(venueId: "hall-1", number: "B1", holder: "ada") { id } }"#,
        r#"mutation { buySeat(venueId: "hall-1", number: "B1", holder: "ada") { id } }"#,
        r#"mutation { reserveSeat(venueId: "hall-1", number: "C2", holder: "alan") { id } }"#,
        r#"mutation { releaseSeat(venueId: "hall-1", number: "C2") { id } }"#,
    ] {
        let result = gateway.query(mutation).await;
        assert!(result.get("errors").is_none(), "{result}");
    }
    // Each mutation publishes twice: before it acts, and after. The hall-2 reservation is
    // filtered out by the subscriptions' venueId.
    let event = |message: &str, number: &str, section: &str, status: &str| {
        json!({"message": message, "seatId": format!("hall-1:{number}"), "number": number,
               "section": section, "status": status})
    };
    for (name, field, stream) in &mut streams {
        let expected = match *field {
            "onSeatReserved" => [
                event("Reserving Seat", "B1", "Orchestra", "RESERVING"),
                event("Reserved Seat", "B1", "Orchestra", "RESERVED"),
            ],
            "onSeatSold" => [
                event("Buying Seat", "B1", "Orchestra", "SELLING"),
                event("Bought Seat", "B1", "Orchestra", "SOLD"),
            ],
            _ => [
                event("Releasing Seat", "C2", "Balcony", "RELEASING"),
                event("Released Seat", "C2", "Balcony", "OPEN"),
            ],
        };
        for expected in expected {
            let mut data = next_data(stream).await[*field].take();
            let date = data["changeDate"].take();
            assert!(
                date.as_str()
                    .is_some_and(|d| d.len() == 24 && d.ends_with('Z')),
                "{name} {field}: {date}"
            );
            data.as_object_mut().unwrap().remove("changeDate");
            assert_eq!(data, expected, "{name} {field}");
        }
    }
    // The second reservation reaches every onSeatReserved subscriber too.
    for (name, field, stream) in &mut streams {
        if *field == "onSeatReserved" {
            for message in ["Reserving Seat", "Reserved Seat"] {
                let data = next_data(stream).await;
                assert_eq!(data[*field]["number"], json!("C2"), "{name}");
                assert_eq!(data[*field]["message"], json!(message), "{name}");
            }
        }
    }
    drop(streams);
    wait_for(venue.subscribers(), |n| *n == 0).await;
}

/// `--expose-query-plan`: a request with `Apollo-Expose-Query-Plan: true` gets its plan in
/// `extensions.apolloQueryPlan.text`; without the flag the header is ignored.
#[tokio::test]
async fn the_query_plan_header_is_answered_only_with_expose_query_plan() {
    let ask = |url: String| async move {
        let response = reqwest::Client::new()
            .post(url)
            .header("Apollo-Expose-Query-Plan", "true")
            .json(&serde_json::json!({ "query": "{ venues { __typename } }" }))
            .send()
            .await
            .unwrap();
        response.json::<serde_json::Value>().await.unwrap()
    };
    let mut exposing = settings(Vec::new());
    exposing.expose_query_plan = true;
    let gateway = start(exposing).await;
    let answer = within(ask(gateway.url.clone())).await;
    let plan = answer["extensions"]["apolloQueryPlan"]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no plan in {answer}"));
    assert!(plan.starts_with("query\n  fetch "), "{plan}");
    assert!(plan.contains("venues"), "{plan}");
    let gateway = start(settings(Vec::new())).await;
    let answer = within(ask(gateway.url.clone())).await;
    assert!(answer["data"]["venues"].is_array(), "{answer}");
    assert!(
        answer["extensions"]["apolloQueryPlan"].is_null(),
        "{answer}"
    );
}
