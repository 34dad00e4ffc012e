#![allow(clippy::unwrap_used)]
//! A subscription root field is planned like a query root: its step yields a stream and every
//! event is shaped on its own (aliases, `__typename`, only requested fields).

use std::time::Duration;

use futures::StreamExt;
use quilt_executor::{Executor, Request};
use quilt_stitch::{Stitcher, SubschemaConfig};
use quilt_test_support::{LocalExecutor, Stats, subgraph};
use serde_json::json;

#[tokio::test]
async fn subscription_events_are_shaped_one_by_one() {
    let stats = Stats::default();
    let schema = subgraph::schema(stats.clone());
    let sdl = schema.sdl();
    let stitched = Stitcher::new()
        .subschema(SubschemaConfig::from_sdl("events", &sdl, LocalExecutor::new(schema)).unwrap())
        .build()
        .unwrap();
    let request = Request::new("subscription S($to: Int!) { n: count(from: 1, to: $to) }")
        .unwrap()
        .variable("to", json!(3));
    let response = stitched.execute(request).await.unwrap();
    assert!(response.is_stream());
    let events: Vec<_> = tokio::time::timeout(
        Duration::from_secs(5),
        response
            .into_stream()
            .map(|event| serde_json::to_value(event.unwrap()).unwrap())
            .collect::<Vec<_>>(),
    )
    .await
    .unwrap();
    assert_eq!(
        events,
        vec![
            json!({"data": {"n": 1}}),
            json!({"data": {"n": 2}}),
            json!({"data": {"n": 3}})
        ]
    );
    stats
        .wait_for(Duration::from_secs(5), |c| c.subscriptions_finished == 1)
        .await
        .unwrap();
}
