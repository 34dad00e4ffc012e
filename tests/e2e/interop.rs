#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing
//! The JavaScript reference clients against the running gateway (the embedded demo): the
//! graphql-http audit passes (every MUST, SHOULD and MAY), and the npm graphql-ws,
//! subscriptions-transport-ws and graphql-sse clients subscribe to the Seat-Saver's
//! `onSeatReserved` through the gateway and receive the event a mutation publishes; an Apollo
//! multipart subscription through the gateway is read with multer (an independent parser).

use std::process::Stdio;

use crate::common::{settings, start, wait_for, wait_for_subscribers, within};
use quilt_test_support::js::js_dir;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn graphql_http_audit_passes_against_the_gateway() {
    let gateway = start(settings(Vec::new())).await;
    let output = within(
        tokio::process::Command::new("node")
            .arg("audit.mjs")
            .arg(&gateway.url)
            .current_dir(js_dir())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    let results: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(results.len() > 40, "the audit ran: {results:?}");
    let failing: Vec<String> = results
        .iter()
        .filter(|r| r["status"] != "ok")
        .map(|r| format!("{} {} ({})", r["id"], r["name"], r["reason"]))
        .collect();
    assert!(
        failing.is_empty(),
        "failing audits:\n{}",
        failing.join("\n")
    );
}

/// A reference client subscribed through the gateway; killed on drop.
struct Subscriber {
    name: &'static str,
    child: tokio::process::Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

fn subscriber(name: &'static str, script: &str, url: &str, query: &str) -> Subscriber {
    let mut child = tokio::process::Command::new("node")
        .arg(script)
        .arg(url)
        .arg(query)
        .current_dir(js_dir())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    Subscriber {
        name,
        child,
        lines: BufReader::new(stdout).lines(),
    }
}

#[tokio::test]
async fn npm_clients_receive_seat_events_through_the_gateway() {
    let gateway = start(settings(Vec::new())).await;
    let query = "subscription { onSeatReserved { message seatId status holder } }";
    let mut subscribers = vec![
        subscriber("graphql-ws", "ws-subscribe.mjs", &gateway.ws_url(), query),
        subscriber(
            "subscriptions-transport-ws",
            "legacy-subscribe.mjs",
            &gateway.ws_url(),
            query,
        ),
        subscriber("graphql-sse", "sse-subscribe.mjs", &gateway.url, query),
    ];
    // All three are attached before the seat changes; identical ones share a subscription
    // at the Seat-Saver service.
    let venue = gateway.prepared.demo.as_ref().unwrap().venue();
    wait_for_subscribers(&gateway.prepared, 3).await;
    let upstreams = gateway
        .prepared
        .gateway
        .executor()
        .current()
        .subscription_stats()
        .upstreams;
    wait_for(venue.subscribers(), |n| *n as u64 == upstreams).await;
    let result = gateway
        .query(
            r#"mutation { reserveSeat(venueId: "hall-1", number: "C3", holder: "grace") { id } }"#,
        )
        .await;
    assert!(result.get("errors").is_none(), "{result}");
    for subscriber in &mut subscribers {
        for (message, status) in [
            ("Reserving Seat", "RESERVING"),
            ("Reserved Seat", "RESERVED"),
        ] {
            let line = within(subscriber.lines.next_line()).await.unwrap().unwrap();
            let event: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(
                event,
                json!({"next": {"data": {"onSeatReserved": {
                    "message": message, "seatId": "hall-1:C3", "status": status, "holder": "grace"
                }}}}),
                "{}",
                subscriber.name
            );
        }
    }
    for subscriber in &mut subscribers {
        subscriber.child.kill().await.unwrap();
    }
    // The gateway ends the upstream subscriptions when the clients go.
    wait_for(venue.subscribers(), |n| *n == 0).await;
}

#[tokio::test]
async fn apollo_multipart_subscription_through_the_gateway_parses_with_multer() {
    let gateway = start(settings(Vec::new())).await;
    let venue = gateway.prepared.demo.as_ref().unwrap().venue();
    let response = reqwest::Client::new()
        .post(&gateway.url)
        .header(
            "accept",
            "multipart/mixed;subscriptionSpec=1.0, application/json",
        )
        .json(&json!({"query": "subscription { onSeatSold { message seatId status holder } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("multipart/mixed"),
        "{content_type}"
    );
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_owned())
        .next()
        .unwrap();
    let mut multipart = multer::Multipart::new(response.bytes_stream(), boundary);
    wait_for(venue.subscribers(), |n| *n == 1).await;
    for mutation in [
        r#"mutation { reserveSeat(venueId: "hall-1", number: "A2", holder: "edsger") { id } }"#,
        r#"mutation { buySeat(venueId: "hall-1", number: "A2", holder: "edsger") { id } }"#,
    ] {
        let result = gateway.query(mutation).await;
        assert!(result.get("errors").is_none(), "{result}");
    }
    // Heartbeats (`{}`) may come first; then the event as `{payload}`.
    let event = within(async {
        loop {
            let field = multipart.next_field().await.unwrap().unwrap();
            let part: Value = serde_json::from_slice(&field.bytes().await.unwrap()).unwrap();
            if part != json!({}) {
                return part;
            }
        }
    })
    .await;
    assert_eq!(
        event,
        json!({"payload": {"data": {"onSeatSold": {
            "message": "Buying Seat", "seatId": "hall-1:A2", "status": "SELLING", "holder": "edsger"
        }}}})
    );
}
