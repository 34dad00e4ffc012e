#![allow(clippy::unwrap_used)]
//! Stitched subscriptions whose root service speaks the HTTP callback protocol: the reviews
//! service (a callback emitter, see `quilt-test-support`) POSTs `reviewAdded` events to the
//! gateway's callback route (`quilt-server`), and every event gets its merged fields from
//! accounts and products. Identical clients share one upstream callback subscription, and when
//! the last one leaves the emitter is told 404 and stops (counted at the emitter).

mod subs;

use quilt_executor::callback::{CallbackExecutor, CallbackRegistry};
use quilt_executor::{
    ExecutionResult, ExecutorExt, HttpExecutor, Request, Response, ResultStream, from_fn,
};
use quilt_server::GraphQLServer;
use quilt_stitch::{StitchedSchema, SubscriptionOptions};
use quilt_test_support::WAIT;
use subs::next_event as next;
use subs::{REVIEW_ADDED, Shop, expected, stitch_with_reviews};

async fn subscribe(gateway: &StitchedSchema) -> ResultStream {
    subs::subscribe(gateway, Request::new(REVIEW_ADDED).unwrap()).await
}
use tokio_util::task::AbortOnDropHandle;

/// The gateway: the stitched schema, with reviews' subscriptions called back at a callback
/// route on its own listener.
struct Gateway {
    schema: StitchedSchema,
    registry: CallbackRegistry,
    _callback_route: AbortOnDropHandle<()>,
}

async fn gateway(shop: &Shop) -> Gateway {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let registry = CallbackRegistry::new(format!(
        "http://{}/callback",
        listener.local_addr().unwrap()
    ))
    .unwrap();
    let nothing = from_fn(|_r: Request| async { Ok(Response::Single(ExecutionResult::default())) });
    let server = GraphQLServer::builder(nothing)
        .callback("/callback", registry.clone())
        .build();
    let task = tokio::spawn(async move {
        server
            .serve_with_shutdown(listener, std::future::pending())
            .await
            .unwrap();
    });
    let http = HttpExecutor::builder(shop.reviews_http_url())
        .timeout(WAIT)
        .build()
        .unwrap();
    let reviews = http
        .clone()
        .route_subscriptions(CallbackExecutor::new(http, registry.clone()));
    let schema = stitch_with_reviews(
        reviews,
        &shop.accounts.http_url(),
        &shop.products.http_url(),
        SubscriptionOptions::default(),
    );
    Gateway {
        schema,
        registry,
        _callback_route: AbortOnDropHandle::new(task),
    }
}

#[tokio::test]
async fn a_callback_subscription_event_gets_the_merged_fields_of_two_other_services() {
    let shop = Shop::start().await;
    let gateway = gateway(&shop).await;
    let mut stream = subscribe(&gateway.schema).await;
    shop.reviews_stats
        .wait_for(WAIT, |c| c.subscriptions_started == 1)
        .await
        .unwrap();
    for n in 1..=3 {
        shop.publisher.publish(n);
        assert_eq!(next(&mut stream).await, expected(n));
    }
    let seen = shop.reviews_stats.snapshot();
    assert_eq!(seen.callback_subscriptions, 1);
    assert_eq!(seen.callback_nexts, 3, "each event POSTed once");
    assert_eq!(seen.ws_connections, 0, "no WebSocket: callbacks only");
    // One entity request per service per event.
    assert_eq!(shop.accounts.stats().snapshot().http_requests, 3);
    assert_eq!(shop.products.stats().snapshot().http_requests, 3);
    assert_eq!(gateway.registry.len(), 1);
    drop(stream);
    // The upstream task ends with its last client (aborted), which unregisters it.
    tokio::time::timeout(WAIT, async {
        while !gateway.registry.is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the callback subscription left the registry");
}

#[tokio::test]
async fn identical_clients_share_one_callback_subscription_and_the_last_out_stops_the_emitter() {
    let shop = Shop::start().await;
    let gateway = gateway(&shop).await;
    let mut clients = futures::future::join_all((0..50).map(|_| subscribe(&gateway.schema))).await;
    shop.reviews_stats
        .wait_for(WAIT, |c| c.subscriptions_started == 1)
        .await
        .unwrap();
    assert_eq!(gateway.schema.subscription_stats().clients, 50);
    assert_eq!(gateway.schema.subscription_stats().upstreams, 1);
    for n in 1..=2 {
        shop.publisher.publish(n);
        for client in &mut clients {
            assert_eq!(next(client).await, expected(n));
        }
    }
    let seen = shop.reviews_stats.snapshot();
    assert_eq!(
        seen.callback_subscriptions, 1,
        "one upstream subscription for 50 clients"
    );
    assert_eq!(
        seen.callback_nexts, 2,
        "each event POSTed once for all of them"
    );
    assert_eq!(gateway.registry.stats().registered, 1);

    drop(clients);
    tokio::time::timeout(WAIT, async {
        while !gateway.registry.is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the last client out unregistered the upstream subscription");
    // The next event is refused with 404 and the emitter stops.
    shop.publisher.publish(3);
    let seen = shop
        .reviews_stats
        .wait_for(WAIT, |c| c.callback_stopped == 1)
        .await
        .unwrap();
    assert_eq!(seen.callback_not_found, 1);
    assert_eq!(seen.callback_nexts, 3);
    assert_eq!(seen.active_callbacks(), 0);
    assert_eq!(gateway.schema.subscription_stats().upstreams, 0);
}
