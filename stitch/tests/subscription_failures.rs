#![allow(clippy::unwrap_used)]
//! Stitched subscriptions when things end or break: the upstream ends or fails (the client
//! ends with the upstream's errors), the upstream service restarts mid-subscription (the
//! WebSocket executor or the gateway subscribes again; the client keeps its subscription), the
//! service stays down (a clear terminal error after bounded retries), and the schema closes its
//! subscriptions (a reload), and an upstream that sends garbage (a clear error, nothing left
//! open).

mod subs;

use std::time::Duration;

use futures::StreamExt;
use quilt_executor::{
    Executor, ExecutorExt, HttpExecutor, ReconnectPolicy, Request, ResultStream, RetryPolicy,
    WsExecutor,
};
use quilt_stitch::{CloseReason, StitchedSchema, Stitcher, SubschemaConfig, SubscriptionOptions};
use quilt_test_support::{JsPeer, WAIT};
use serde_json::{Value, json};
use subs::{REVIEW_ADDED, Shop, expected};

async fn subscribe(gateway: &StitchedSchema, query: &str) -> ResultStream {
    subs::subscribe(gateway, Request::new(query).unwrap()).await
}

async fn next(stream: &mut ResultStream) -> Option<Value> {
    let event = tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("no event in time")?;
    Some(serde_json::to_value(event.unwrap()).unwrap())
}

fn fast_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy::new(attempts)
        .initial_backoff(Duration::from_millis(20))
        .jitter(false)
}

#[tokio::test]
async fn an_upstream_that_ends_ends_the_subscription_and_one_that_fails_passes_its_errors() {
    let shop = Shop::start().await;
    let gateway = shop.stitch(SubscriptionOptions::default(), ReconnectPolicy::default());
    let mut stream = subscribe(
        &gateway,
        "subscription { reviewBurst(count: 3, failAt: 2) { id author { name } } }",
    )
    .await;
    assert_eq!(
        next(&mut stream).await,
        Some(json!({"data": {"reviewBurst": {"id": "1", "author": {"name": "Grace"}}}}))
    );
    let failed = next(&mut stream).await.unwrap();
    assert_eq!(failed["errors"][0]["message"], json!("review 2 failed"));
    assert_eq!(failed["errors"][0]["path"], json!(["reviewBurst"]));
    assert_eq!(
        next(&mut stream).await,
        Some(json!({"data": {"reviewBurst": {"id": "3", "author": {"name": "Ada"}}}}))
    );
    assert_eq!(next(&mut stream).await, None);
    assert_eq!(gateway.subscription_stats().upstreams, 0);
}

#[tokio::test]
async fn a_subscription_to_an_unknown_field_is_refused_before_any_upstream_call() {
    let shop = Shop::start().await;
    let gateway = shop.stitch(SubscriptionOptions::default(), ReconnectPolicy::default());
    let response = gateway
        .execute(Request::new("subscription { nope }").unwrap())
        .await
        .unwrap();
    let result = serde_json::to_value(response.into_single().await.unwrap()).unwrap();
    assert!(
        result["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nope"),
        "{result}"
    );
    assert_eq!(shop.reviews_stats.snapshot().ws_connections, 0);
    assert_eq!(gateway.subscription_stats().clients, 0);
}

#[tokio::test]
async fn the_websocket_executor_resubscribes_after_a_restart_and_the_client_keeps_its_subscription()
{
    let mut shop = Shop::start().await;
    let reconnect = ReconnectPolicy::new(20).initial_backoff(Duration::from_millis(20));
    let gateway = shop.stitch(SubscriptionOptions::default(), reconnect);
    let mut stream = subscribe(&gateway, REVIEW_ADDED).await;
    shop.reviews_stats
        .wait_for(WAIT, |c| c.subscriptions_started == 1)
        .await
        .unwrap();
    shop.publisher.publish(1);
    assert_eq!(next(&mut stream).await, Some(expected(1)));

    shop.restart_reviews().await;
    shop.reviews_stats
        .wait_for(WAIT, |c| {
            c.subscriptions_started == 2 && c.active_subscriptions() == 1
        })
        .await
        .unwrap();
    shop.publisher.publish(2);
    assert_eq!(next(&mut stream).await, Some(expected(2)));
    assert_eq!(gateway.subscription_stats().clients, 1);
}

#[tokio::test]
async fn the_gateway_resubscribes_when_the_executor_gives_up_and_the_client_keeps_its_subscription()
{
    let mut shop = Shop::start().await;
    let options = SubscriptionOptions::default().resubscribe(fast_retries(50));
    // The executor does not reconnect: the stitched subscription subscribes again itself.
    let gateway = shop.stitch(options, ReconnectPolicy::never());
    let mut stream = subscribe(&gateway, REVIEW_ADDED).await;
    shop.reviews_stats
        .wait_for(WAIT, |c| c.subscriptions_started == 1)
        .await
        .unwrap();
    shop.restart_reviews().await;
    shop.reviews_stats
        .wait_for(WAIT, |c| {
            c.subscriptions_started == 2 && c.active_subscriptions() == 1
        })
        .await
        .unwrap();
    assert!(gateway.subscription_stats().resubscribes >= 1);
    shop.publisher.publish(5);
    let event = next(&mut stream).await.unwrap();
    assert_eq!(event["data"], expected(5)["data"]);
    // The first event after the gap says events may have been missed.
    assert_eq!(event["extensions"]["upstreamGap"]["subschema"], "reviews");
    shop.publisher.publish(6);
    assert_eq!(next(&mut stream).await, Some(expected(6)));
}

/// A rolling deploy: the service is down for 10 s (the default window is 30 s). The client
/// keeps its subscription, gets the events published after the service is back, and learns
/// of the gap.
#[tokio::test]
async fn a_subscription_lives_through_a_ten_second_outage_of_its_service() {
    let mut shop = Shop::start().await;
    let gateway = shop.stitch(SubscriptionOptions::default(), ReconnectPolicy::never());
    let mut stream = subscribe(&gateway, REVIEW_ADDED).await;
    shop.reviews_stats
        .wait_for(WAIT, |c| c.subscriptions_started == 1)
        .await
        .unwrap();
    shop.publisher.publish(1);
    assert_eq!(next(&mut stream).await, Some(expected(1)));
    shop.stop_reviews().await;
    // The outage itself, not a wait for an event: the service is away this long.
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(gateway.subscription_stats().clients, 1);
    shop.restart_reviews().await;
    shop.reviews_stats
        .wait_for(Duration::from_secs(10), |c| c.active_subscriptions() == 1)
        .await
        .unwrap();
    shop.publisher.publish(2);
    let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an event after the outage")
        .unwrap()
        .unwrap();
    let event = serde_json::to_value(event).unwrap();
    assert_eq!(event["data"], expected(2)["data"]);
    let gap = event["extensions"]["upstreamGap"]["millis"]
        .as_u64()
        .unwrap();
    assert!(gap >= 10_000, "{event}");
    assert!(gateway.subscription_stats().resubscribes >= 2);
}

#[tokio::test]
async fn an_upstream_that_stays_down_ends_the_subscription_with_a_clear_error_after_the_retries() {
    let mut shop = Shop::start().await;
    let options = SubscriptionOptions::default().resubscribe(fast_retries(3));
    let gateway = shop.stitch(options, ReconnectPolicy::never());
    let mut stream = subscribe(&gateway, REVIEW_ADDED).await;
    shop.reviews_stats
        .wait_for(WAIT, |c| c.subscriptions_started == 1)
        .await
        .unwrap();
    shop.stop_reviews().await;
    let last = next(&mut stream).await.unwrap();
    assert_eq!(last["data"], json!(null), "{last}");
    let error = &last["errors"][0];
    assert_eq!(error["path"], json!(["reviewAdded"]), "{last}");
    assert_eq!(
        error["extensions"]["serviceName"],
        json!("reviews"),
        "{last}"
    );
    assert_eq!(
        error["extensions"]["code"],
        json!("CONNECT_ERROR"),
        "{last}"
    );
    assert_eq!(next(&mut stream).await, None);
    let stats = gateway.subscription_stats();
    assert_eq!(stats.resubscribes, 2);
    assert_eq!((stats.clients, stats.upstreams), (0, 0));
}

#[tokio::test]
async fn closing_the_schemas_subscriptions_ends_each_with_the_reload_error_and_unsubscribes() {
    let shop = Shop::start().await;
    let gateway = shop.stitch(SubscriptionOptions::default(), ReconnectPolicy::default());
    let mut shared = [
        subscribe(&gateway, REVIEW_ADDED).await,
        subscribe(&gateway, REVIEW_ADDED).await,
    ];
    let mut other = subscribe(&gateway, "subscription { reviewAdded { id } }").await;
    shop.reviews_stats
        .wait_for(WAIT, |c| c.active_subscriptions() == 2)
        .await
        .unwrap();
    gateway.close_subscriptions(CloseReason::SchemaReload);
    let reload = json!({"errors": [{
        "message": "subscription has been closed due to a schema reload",
        "extensions": {"code": "SUBSCRIPTION_SCHEMA_RELOAD"}
    }]});
    for stream in shared.iter_mut().chain([&mut other]) {
        assert_eq!(next(stream).await, Some(reload.clone()));
        assert_eq!(next(stream).await, None);
    }
    shop.reviews_stats
        .wait_for(WAIT, |c| c.active_subscriptions() == 0)
        .await
        .unwrap();
    // The old schema takes no new subscription.
    let refused = gateway
        .execute(Request::new(REVIEW_ADDED).unwrap())
        .await
        .unwrap();
    let refused = serde_json::to_value(refused.into_single().await.unwrap()).unwrap();
    assert_eq!(refused, reload);
    assert_eq!(gateway.subscription_stats().clients, 0);
}

#[tokio::test]
async fn an_upstream_that_sends_garbage_ends_the_subscription_with_a_protocol_error() {
    let shop = Shop::start().await;
    let garbage = JsPeer::start("garbage-ws.mjs", &[]).await.unwrap();
    let sdl = "type Query { ok: Boolean } type Subscription { reviewAdded: Review! } \
        type Review { id: ID! body: String! author: User! } type User { id: ID! }";
    let executor = HttpExecutor::new(garbage.http_url("/graphql"))
        .unwrap()
        .route_subscriptions(WsExecutor::new(garbage.ws_url("/graphql")));
    let gateway = Stitcher::new()
        .subschema(SubschemaConfig::from_sdl("reviews", sdl, executor).unwrap())
        .subschema(shop.accounts_subschema())
        .build()
        .unwrap();
    let mut stream = subscribe(&gateway, "subscription { reviewAdded { id body } }").await;
    assert_eq!(
        next(&mut stream).await,
        Some(json!({"data": {"reviewAdded": {"id": "1", "body": "Review 1"}}}))
    );
    let failed = next(&mut stream).await.unwrap();
    assert_eq!(failed["data"], json!(null), "{failed}");
    assert_eq!(
        failed["errors"][0]["extensions"]["code"],
        json!("PROTOCOL_ERROR"),
        "{failed}"
    );
    assert_eq!(
        failed["errors"][0]["path"],
        json!(["reviewAdded"]),
        "{failed}"
    );
    assert_eq!(next(&mut stream).await, None);
    let stats = gateway.subscription_stats();
    assert_eq!(
        (stats.clients, stats.upstreams, stats.resubscribes),
        (0, 0, 0)
    );
}
