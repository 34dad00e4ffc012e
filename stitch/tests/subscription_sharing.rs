#![allow(clippy::unwrap_used)]
//! Stitched subscriptions with merged fields, shared: identical client subscriptions get one
//! upstream subscription and one resolution per event (counted at the services), late joiners
//! get events from then on, the last client out drops the upstream, a slow client loses its
//! oldest events (counted) without holding anyone back, and `max_opened_subscriptions` refuses
//! past the limit.

mod subs;

use quilt_executor::{Context, Executor, ReconnectPolicy, Request};
use quilt_stitch::SubscriptionOptions;
use quilt_test_support::WAIT;
use serde_json::{Value, json};
use subs::next_event as next;
use subs::{REVIEW_ADDED, Shop, expected, subscribe};

fn review_added() -> Request {
    Request::new(REVIEW_ADDED).unwrap()
}

fn with_authorization(token: &str) -> Request {
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, token.parse().unwrap());
    review_added().context(Context::from_headers(headers))
}

#[tokio::test]
async fn a_subscription_event_gets_the_merged_fields_of_two_other_services() {
    let shop = Shop::start().await;
    let gateway = shop.stitch(SubscriptionOptions::default(), ReconnectPolicy::default());
    let mut stream = subscribe(&gateway, review_added()).await;
    shop.reviews_stats
        .wait_for(WAIT, |c| c.subscriptions_started == 1)
        .await
        .unwrap();
    for n in 1..=3 {
        shop.publisher.publish(n);
        assert_eq!(next(&mut stream).await, expected(n));
    }
    // One entity request per service per event.
    assert_eq!(shop.accounts.stats().snapshot().http_requests, 3);
    assert_eq!(shop.products.stats().snapshot().http_requests, 3);
}

#[tokio::test]
async fn a_thousand_identical_subscriptions_share_one_upstream_and_one_resolution_per_event() {
    let shop = Shop::start().await;
    let gateway = shop.stitch(SubscriptionOptions::default(), ReconnectPolicy::default());
    let mut clients =
        futures::future::join_all((0..1000).map(|_| subscribe(&gateway, review_added()))).await;
    assert_eq!(shop.reviews_stats.snapshot().subscriptions_started, 1);
    assert_eq!(gateway.subscription_stats().clients, 1000);
    assert_eq!(gateway.subscription_stats().upstreams, 1);
    for n in 1..=5 {
        shop.publisher.publish(n);
    }
    let received = futures::future::join_all(clients.iter_mut().map(|stream| async move {
        let mut events = Vec::new();
        for _ in 1..=5 {
            events.push(next(stream).await);
        }
        events
    }))
    .await;
    let want: Vec<Value> = (1..=5).map(expected).collect();
    for events in &received {
        assert_eq!(events, &want);
    }
    // The merged fields were fetched once per event, not once per client.
    assert_eq!(shop.accounts.stats().snapshot().http_requests, 5);
    assert_eq!(shop.products.stats().snapshot().http_requests, 5);
    assert_eq!(shop.reviews_stats.snapshot().subscriptions_started, 1);

    drop(clients);
    shop.reviews_stats
        .wait_for(WAIT, |c| {
            c.subscriptions_cancelled == 1 && c.active_subscriptions() == 0
        })
        .await
        .unwrap();
    assert_eq!(gateway.subscription_stats().clients, 0);
    assert_eq!(gateway.subscription_stats().upstreams, 0);
}

#[tokio::test]
async fn a_late_joiner_gets_events_from_then_on_and_the_last_one_out_unsubscribes() {
    let shop = Shop::start().await;
    let gateway = shop.stitch(SubscriptionOptions::default(), ReconnectPolicy::default());
    let mut first = subscribe(&gateway, review_added()).await;
    shop.reviews_stats
        .wait_for(WAIT, |c| c.subscriptions_started == 1)
        .await
        .unwrap();
    shop.publisher.publish(1);
    assert_eq!(next(&mut first).await, expected(1));

    let mut late = subscribe(&gateway, review_added()).await;
    shop.publisher.publish(2);
    assert_eq!(next(&mut first).await, expected(2));
    assert_eq!(next(&mut late).await, expected(2));
    assert_eq!(shop.reviews_stats.snapshot().subscriptions_started, 1);

    drop(first);
    shop.publisher.publish(3);
    assert_eq!(next(&mut late).await, expected(3));
    assert_eq!(shop.reviews_stats.snapshot().active_subscriptions(), 1);
    drop(late);
    shop.reviews_stats
        .wait_for(WAIT, |c| c.active_subscriptions() == 0)
        .await
        .unwrap();

    // The next subscription starts a new upstream one.
    let mut again = subscribe(&gateway, review_added()).await;
    shop.reviews_stats
        .wait_for(WAIT, |c| {
            c.subscriptions_started == 2 && c.active_subscriptions() == 1
        })
        .await
        .unwrap();
    shop.publisher.publish(4);
    assert_eq!(next(&mut again).await, expected(4));
}

#[tokio::test]
async fn subscriptions_differing_in_variables_or_authorization_are_not_shared() {
    let shop = Shop::start().await;
    let gateway = shop.stitch(SubscriptionOptions::default(), ReconnectPolicy::default());
    let by_product = "subscription ($p: ID) { reviewAdded(product: $p) { id } }";
    let _one = subscribe(
        &gateway,
        Request::new(by_product).unwrap().variable("p", json!("1")),
    )
    .await;
    let _one_again = subscribe(
        &gateway,
        Request::new(by_product).unwrap().variable("p", json!("1")),
    )
    .await;
    let _two = subscribe(
        &gateway,
        Request::new(by_product).unwrap().variable("p", json!("2")),
    )
    .await;
    let _ada = subscribe(&gateway, with_authorization("Bearer ada")).await;
    let _ada_again = subscribe(&gateway, with_authorization("Bearer ada")).await;
    let _grace = subscribe(&gateway, with_authorization("Bearer grace")).await;
    shop.reviews_stats
        .wait_for(WAIT, |c| c.subscriptions_started == 4)
        .await
        .unwrap();
    assert_eq!(gateway.subscription_stats().upstreams, 4);
    assert_eq!(gateway.subscription_stats().clients, 6);
}

#[tokio::test]
async fn without_deduplication_every_client_has_its_own_upstream_subscription() {
    let shop = Shop::start().await;
    let gateway = shop.stitch(
        SubscriptionOptions::default().deduplicate(false),
        ReconnectPolicy::default(),
    );
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(subscribe(&gateway, review_added()).await);
    }
    shop.reviews_stats
        .wait_for(WAIT, |c| c.subscriptions_started == 3)
        .await
        .unwrap();
    shop.publisher.publish(7);
    for client in &mut clients {
        assert_eq!(next(client).await, expected(7));
    }
    assert_eq!(gateway.subscription_stats().upstreams, 3);
}

#[tokio::test]
async fn a_client_that_never_reads_loses_its_oldest_events_and_holds_no_one_back() {
    let shop = Shop::start().await;
    let gateway = shop.stitch(
        SubscriptionOptions::default().queue_capacity(8),
        ReconnectPolicy::default(),
    );
    let mut reader = subscribe(&gateway, review_added()).await;
    let mut sleeper = subscribe(&gateway, review_added()).await;
    shop.reviews_stats
        .wait_for(WAIT, |c| c.subscriptions_started == 1)
        .await
        .unwrap();
    // The reader gets every event while the sleeper reads nothing.
    for n in 1..=20 {
        shop.publisher.publish(n);
        assert_eq!(next(&mut reader).await, expected(n));
    }
    assert_eq!(gateway.subscription_stats().dropped_events, 0);
    // The sleeper wakes up: the last 8 events are there, the 12 before are gone and counted.
    for n in 13..=20 {
        assert_eq!(next(&mut sleeper).await, expected(n));
    }
    assert_eq!(gateway.subscription_stats().dropped_events, 12);
    shop.publisher.publish(21);
    assert_eq!(next(&mut sleeper).await, expected(21));
    assert_eq!(next(&mut reader).await, expected(21));
}

#[tokio::test]
async fn past_max_opened_subscriptions_a_new_one_gets_a_clear_error() {
    let shop = Shop::start().await;
    let gateway = shop.stitch(
        SubscriptionOptions::default().max_opened_subscriptions(2),
        ReconnectPolicy::default(),
    );
    let first = subscribe(&gateway, review_added()).await;
    let _second = subscribe(&gateway, with_authorization("Bearer ada")).await;
    let refused = gateway.execute(review_added()).await.unwrap();
    assert!(!refused.is_stream());
    let refused = serde_json::to_value(refused.into_single().await.unwrap()).unwrap();
    assert_eq!(
        refused,
        json!({"errors": [{
            "message": "too many open subscriptions: the gateway allows 2",
            "extensions": {"code": "SUBSCRIPTION_LIMIT"}
        }]})
    );
    assert_eq!(gateway.subscription_stats().refused, 1);
    drop(first);
    let mut third = subscribe(&gateway, review_added()).await;
    shop.reviews_stats
        .wait_for(WAIT, |c| {
            c.active_subscriptions() == 2 && c.subscriptions_started == 3
        })
        .await
        .unwrap();
    shop.publisher.publish(1);
    assert_eq!(next(&mut third).await, expected(1));
}
