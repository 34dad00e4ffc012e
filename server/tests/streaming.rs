//! Streams over HTTP: GraphQL over SSE (both modes, with the graphql-sse client), Apollo
//! multipart subscriptions and incremental delivery (read with multer).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::{StreamExt, stream};
use quilt_executor::{CloseCode, ExecutionResult, ExecutorError, Request, Response, from_fn};
use quilt_test_support::Stats;
use serde_json::{Value, json};

use common::{WAIT, client, node, serve, start, start_with};

#[tokio::test]
async fn graphql_sse_client_receives_events_in_distinct_connections_mode() {
    let server = start().await;
    let lines = node(
        "sse-subscribe.mjs",
        &[&server.url(), "subscription { count(to: 3) }"],
    )
    .await;
    assert_eq!(
        lines,
        vec![
            json!({"next": {"data": {"count": 1}}}),
            json!({"next": {"data": {"count": 2}}}),
            json!({"next": {"data": {"count": 3}}}),
            json!({"complete": true}),
        ]
    );
}

#[tokio::test]
async fn graphql_sse_client_receives_events_in_single_connection_mode() {
    let server = start().await;
    let lines = node(
        "sse-subscribe.mjs",
        &[&server.url(), "subscription { count(to: 3) }", "single"],
    )
    .await;
    assert_eq!(
        lines,
        vec![
            json!({"next": {"data": {"count": 1}}}),
            json!({"next": {"data": {"count": 2}}}),
            json!({"next": {"data": {"count": 3}}}),
            json!({"complete": true}),
        ]
    );
}

/// The next SSE event of `events` as (event name, data).
async fn next_event<S>(events: &mut S) -> (String, String)
where
    S: futures::Stream<
            Item = Result<
                eventsource_stream::Event,
                eventsource_stream::EventStreamError<reqwest::Error>,
            >,
        > + Unpin,
{
    let event = tokio::time::timeout(WAIT, events.next())
        .await
        .expect("an event in time")
        .expect("the stream is open")
        .unwrap();
    (event.event, event.data)
}

#[tokio::test]
async fn single_connection_mode_reserves_streams_accepts_operations_and_stops_them() {
    let server = start().await;
    let token = common::reserve_stream(&server.url()).await;
    let stream = common::open_reserved_stream(&server.url(), &token).await;
    assert_eq!(stream.status(), 200);
    let mut events = stream.bytes_stream().eventsource();
    // A second stream for the same token is refused.
    let again = client()
        .get(format!("{}?token={token}", server.url()))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    let start = client()
        .post(server.url())
        .header("x-graphql-event-stream-token", &token)
        .json(&json!({
            "query": "subscription { ticks(intervalMs: 20) }",
            "extensions": {"operationId": "op1"}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 202);
    let (name, data) = next_event(&mut events).await;
    assert_eq!(name, "next");
    let data: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(
        data,
        json!({"id": "op1", "payload": {"data": {"ticks": 1}}})
    );
    let stop = client()
        .delete(format!("{}?operationId=op1", server.url()))
        .header("x-graphql-event-stream-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(stop.status(), 200);
    server
        .stats
        .wait_for(WAIT, |c| c.subscriptions_cancelled == 1)
        .await
        .unwrap();
    // A query on the same stream: one result, then complete.
    let start = client()
        .post(server.url())
        .header("x-graphql-event-stream-token", &token)
        .json(&json!({"query": "{ hello }", "extensions": {"operationId": "q"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 202);
    let mut seen = Vec::new();
    loop {
        let (name, data) = next_event(&mut events).await;
        let data: Value = serde_json::from_str(&data).unwrap();
        if data["id"] != "q" {
            continue; // ticks still in the queue when op1 stopped
        }
        seen.push((name.clone(), data));
        if name == "complete" {
            break;
        }
    }
    assert_eq!(seen, common::hello_events("q"));
    // A parse error is answered on the stream under its operation id.
    let start = client()
        .post(server.url())
        .header("x-graphql-event-stream-token", &token)
        .json(&json!({"query": "{", "extensions": {"operationId": "bad"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 202);
    let (name, data) = next_event(&mut events).await;
    let data: Value = serde_json::from_str(&data).unwrap();
    assert_eq!((name.as_str(), &data["id"]), ("next", &json!("bad")));
    assert_eq!(
        data["payload"]["errors"][0]["extensions"]["code"],
        "GRAPHQL_PARSE_FAILED"
    );
    assert_eq!(next_event(&mut events).await.0, "complete");
    // Without an operation id the operation is refused; an unknown token is 404.
    let missing = client()
        .post(server.url())
        .header("x-graphql-event-stream-token", &token)
        .json(&json!({"query": "{ hello }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 409);
    let unknown = client()
        .post(server.url())
        .header("x-graphql-event-stream-token", "nope")
        .json(&json!({"query": "{ hello }", "extensions": {"operationId": "x"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn sse_client_leaving_cancels_the_upstream() {
    let server = start().await;
    let response = client()
        .post(server.url())
        .header("accept", "text/event-stream")
        .json(&json!({"query": "subscription { ticks(intervalMs: 20) }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut events = response.bytes_stream().eventsource();
    let (name, data) = next_event(&mut events).await;
    assert_eq!(
        (name.as_str(), data.as_str()),
        ("next", r#"{"data":{"ticks":1}}"#)
    );
    drop(events);
    server
        .stats
        .wait_for(WAIT, |c| c.subscriptions_cancelled == 1)
        .await
        .unwrap();
}

/// Reads a multipart/mixed response with multer: the parts as JSON, in order.
async fn multipart_parts(response: reqwest::Response) -> Vec<Value> {
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    // multer's parse_boundary only takes form-data; read the parameter ourselves.
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_owned())
        .next()
        .unwrap();
    let mut multipart = multer::Multipart::new(response.bytes_stream(), boundary);
    let mut parts = Vec::new();
    tokio::time::timeout(WAIT, async {
        while let Some(field) = multipart.next_field().await.unwrap() {
            assert_eq!(
                field.headers()["content-type"],
                "application/json; charset=utf-8"
            );
            parts.push(serde_json::from_slice(&field.bytes().await.unwrap()).unwrap());
        }
    })
    .await
    .expect("the multipart response ended in time");
    parts
}

const APOLLO_ACCEPT: &str = "multipart/mixed;subscriptionSpec=\"1.0\", application/json";

#[tokio::test]
async fn apollo_multipart_subscription_sends_payload_parts_and_heartbeats() {
    let server = start_with(|b| b.multipart_heartbeat(Duration::from_millis(40))).await;
    let response = client()
        .post(server.url())
        .header("accept", APOLLO_ACCEPT)
        .json(&json!({"query": "subscription { count(to: 3, intervalMs: 250) }"}))
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
    assert!(
        content_type.contains("subscriptionSpec=\"1.0\""),
        "{content_type}"
    );
    let parts = multipart_parts(response).await;
    let payloads: Vec<&Value> = parts.iter().filter(|p| **p != json!({})).collect();
    assert_eq!(
        payloads,
        vec![
            &json!({"payload": {"data": {"count": 1}}}),
            &json!({"payload": {"data": {"count": 2}}}),
            &json!({"payload": {"data": {"count": 3}}}),
        ]
    );
    let heartbeats = parts.iter().filter(|p| **p == json!({})).count();
    assert!(heartbeats >= 2, "heartbeats between events: {parts:?}");
}

fn failing_stream_executor() -> impl quilt_executor::Executor {
    from_fn(|_r: Request| async {
        let items = vec![
            Ok(ExecutionResult::from_data(json!({"n": 1}))),
            Err(ExecutorError::Closed {
                endpoint: "ws://upstream/graphql".into(),
                code: Some(CloseCode::GoingAway),
                reason: "upstream restarted".into(),
            }),
        ];
        Ok(Response::Stream(stream::iter(items).boxed()))
    })
}

#[tokio::test]
async fn a_failing_stream_ends_with_a_transport_error_part_or_event() {
    let server = serve(failing_stream_executor(), Stats::default(), |b| b).await;
    let response = client()
        .post(server.url())
        .header("accept", APOLLO_ACCEPT)
        .json(&json!({"query": "subscription { n }"}))
        .send()
        .await
        .unwrap();
    let parts = multipart_parts(response).await;
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert_eq!(parts[0], json!({"payload": {"data": {"n": 1}}}));
    assert_eq!(parts[1]["payload"], Value::Null);
    assert_eq!(
        parts[1]["errors"][0]["extensions"]["code"],
        "CONNECTION_CLOSED"
    );
    assert_eq!(parts[1]["errors"][0]["extensions"]["closeCode"], 1001);
    // Over SSE: the error is a `next` event, then `complete`.
    let response = client()
        .post(server.url())
        .header("accept", "text/event-stream")
        .json(&json!({"query": "subscription { n }"}))
        .send()
        .await
        .unwrap();
    // (Read as text: EventSource parsers do not dispatch the empty-data `complete` event.)
    let text = response.text().await.unwrap();
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.len(), 3, "{text}");
    assert_eq!(events[0], "event: next\ndata: {\"data\":{\"n\":1}}");
    assert!(
        events[1].starts_with("event: next\ndata: {\"errors\"")
            && events[1].contains("CONNECTION_CLOSED"),
        "{text}"
    );
    assert!(
        !events[1].contains("upstream restarted") && !events[1].contains("ws://upstream"),
        "the transport's text and endpoint stay in the log: {text}"
    );
    assert!(events[2].starts_with("event: complete"), "{text}");
}

#[tokio::test]
async fn incremental_delivery_streams_defer_payloads_as_multipart_mixed() {
    let payloads = vec![
        json!({"data": {"a": 1}, "hasNext": true}),
        json!({"incremental": [{"data": {"b": 2}, "path": ["x"], "label": "later"}], "hasNext": false}),
    ];
    let expected = payloads.clone();
    let executor = from_fn(move |request: Request| {
        let payloads = payloads.clone();
        async move {
            assert!(request.document.uses_incremental_delivery());
            let items = payloads
                .into_iter()
                .map(|p| Ok(serde_json::from_value(p).unwrap()));
            Ok(Response::Stream(stream::iter(items).boxed()))
        }
    });
    let server = serve(executor, Stats::default(), |b| b).await;
    let query = json!({"query": "{ a ... @defer(label: \"later\") { b } }"});
    let response = client()
        .post(server.url())
        .header(
            "accept",
            "multipart/mixed;deferSpec=20220824, application/json",
        )
        .json(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(multipart_parts(response).await, expected);
    // A client that takes only JSON cannot receive a stream.
    let response = client()
        .post(server.url())
        .header("accept", "application/json")
        .json(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 406);
}

#[tokio::test]
async fn get_subscriptions_stream_over_sse() {
    let server = start().await;
    let response = client()
        .get(server.url())
        .query(&[("query", "subscription { count(to: 2) }")])
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = tokio::time::timeout(WAIT, response.text())
        .await
        .unwrap()
        .unwrap();
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(
        events,
        vec![
            "event: next\ndata: {\"data\":{\"count\":1}}",
            "event: next\ndata: {\"data\":{\"count\":2}}",
            "event: complete\ndata:",
        ]
    );
}
