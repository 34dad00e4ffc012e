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
                seat(id: "C4") { id row number status holder }
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
            "seat": {"id": "C4", "row": "C", "number": 4, "status": "AVAILABLE", "holder": null}
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
        "seats",
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
    let reserved =
        mutate(r#"mutation { reserveSeat(id: "A1", holder: "ada") { status holder } }"#).await;
    assert_eq!(
        reserved["data"]["reserveSeat"],
        json!({"status": "RESERVED", "holder": "ada"})
    );
    let taken = mutate(r#"mutation { reserveSeat(id: "A1", holder: "grace") { status } }"#).await;
    assert_eq!(
        taken["errors"][0]["message"],
        json!("seat A1 is not available")
    );
    let not_hers = mutate(r#"mutation { buySeat(id: "A1", holder: "grace") { status } }"#).await;
    assert_eq!(
        not_hers["errors"][0]["message"],
        json!("seat A1 cannot be bought by grace")
    );
    let released = mutate(r#"mutation { releaseSeat(id: "A1") { status holder } }"#).await;
    assert_eq!(
        released["data"]["releaseSeat"],
        json!({"status": "AVAILABLE", "holder": null})
    );
    let sold = mutate(r#"mutation { buySeat(id: "A1", holder: "grace") { status holder } }"#).await;
    assert_eq!(
        sold["data"]["buySeat"],
        json!({"status": "SOLD", "holder": "grace"})
    );
    let final_ = mutate(r#"mutation { releaseSeat(id: "A1") { status } }"#).await;
    assert_eq!(
        final_["errors"][0]["message"],
        json!("seat A1 is not reserved")
    );
    let left = gateway.query("{ seats(status: SOLD) { id } }").await;
    assert_eq!(left["data"]["seats"], json!([{"id": "A1"}]));
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
    item.unwrap().unwrap().data.unwrap()
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
            let query = format!("subscription {{ {field} {{ id status holder }} }}");
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
        r#"mutation { reserveSeat(id: "B1", holder: "ada") { id } }"#,
        r#"mutation { buySeat(id: "B1", holder: "ada") { id } }"#,
        r#"mutation { reserveSeat(id: "B2", holder: "alan") { id } }"#,
        r#"mutation { releaseSeat(id: "B2") { id } }"#,
    ] {
        let result = gateway.query(mutation).await;
        assert!(result.get("errors").is_none(), "{result}");
    }
    for (name, field, stream) in &mut streams {
        let expected = match *field {
            "onSeatReserved" => json!({"id": "B1", "status": "RESERVED", "holder": "ada"}),
            "onSeatSold" => json!({"id": "B1", "status": "SOLD", "holder": "ada"}),
            _ => json!({"id": "B2", "status": "AVAILABLE", "holder": null}),
        };
        assert_eq!(next_data(stream).await[*field], expected, "{name} {field}");
    }
    // The second reservation reaches every onSeatReserved subscriber too.
    for (name, field, stream) in &mut streams {
        if *field == "onSeatReserved" {
            let data = next_data(stream).await;
            assert_eq!(data[*field]["id"], json!("B2"), "{name}");
        }
    }
    drop(streams);
    wait_for(venue.subscribers(), |n| *n == 0).await;
}
