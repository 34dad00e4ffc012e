//! A schema swap (`--poll-interval`) ends every subscription of the old schema with
//! `SUBSCRIPTION_SCHEMA_RELOAD` and drops its upstream subscriptions; subscribing again works
//! on the new schema.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::{Context, EmptyMutation, Object, Schema, Subscription};
use common::{settings, start, wait_for, within};
use futures::{Stream, StreamExt};
use gateway_example::spec::SubschemaSpec;
use quilt_executor::{Executor, Request, ResultStream, WsExecutor};
use quilt_test_support::{Stats, TestServer, graphql_router};
use serde_json::{Value, json};
use tokio::sync::broadcast;

/// The SDL the service publishes at `_sdl`; the test changes it to make the gateway reload.
#[derive(Clone)]
struct Published(Arc<Mutex<String>>);

struct Query;

#[Object]
impl Query {
    async fn hello(&self) -> &str {
        "hi"
    }
    #[graphql(name = "_sdl")]
    async fn sdl(&self, ctx: &Context<'_>) -> String {
        ctx.data_unchecked::<Published>().0.lock().unwrap().clone()
    }
}

struct Subscription;

#[Subscription]
impl Subscription {
    /// Every number the test sends.
    async fn numbers(&self, ctx: &Context<'_>) -> impl Stream<Item = i32> + use<> {
        // Subscribed before counted: the test publishes as soon as it sees the count.
        let numbers = ctx.data_unchecked::<broadcast::Sender<i32>>().subscribe();
        let guard = ctx.data_unchecked::<Stats>().subscription_started();
        futures::stream::unfold((numbers, guard), |(mut numbers, guard)| async move {
            let n = numbers.recv().await.ok()?;
            Some((n, (numbers, guard)))
        })
    }
}

async fn next(stream: &mut ResultStream) -> Option<Value> {
    let event = within(stream.next()).await?;
    Some(serde_json::to_value(event.unwrap()).unwrap())
}

#[tokio::test]
async fn a_schema_swap_ends_every_subscription_of_the_old_schema_with_the_reload_error() {
    let stats = Stats::default();
    let (numbers, _) = broadcast::channel::<i32>(16);
    let published = Published(Arc::new(Mutex::new(String::new())));
    let schema = Schema::build(Query, EmptyMutation, Subscription)
        .data(stats.clone())
        .data(numbers.clone())
        .data(published.clone())
        .finish();
    let sdl = schema.sdl();
    *published.0.lock().unwrap() = sdl.clone();
    let service = TestServer::serve(
        "127.0.0.1:0".parse().unwrap(),
        graphql_router(schema, stats.clone()),
        stats.clone(),
    )
    .await
    .unwrap();

    let mut settings = settings(vec![SubschemaSpec::new("numbers", service.http_url())]);
    settings.poll_interval = Some(Duration::from_millis(50));
    let gateway = start(settings).await;
    let client = WsExecutor::new(gateway.ws_url());
    let subscribe = || async {
        let request = Request::new("subscription { numbers }").unwrap();
        within(client.execute(request)).await.unwrap().into_stream()
    };
    let mut first = subscribe().await;
    let mut second = subscribe().await;
    stats
        .wait_for(common_wait(), |c| c.active_subscriptions() == 1)
        .await
        .unwrap();
    numbers.send(1).unwrap();
    assert_eq!(
        next(&mut first).await,
        Some(json!({"data": {"numbers": 1}}))
    );
    assert_eq!(
        next(&mut second).await,
        Some(json!({"data": {"numbers": 1}}))
    );

    // The service changes; the poll swaps in a new schema.
    let swaps = gateway.prepared.gateway.swaps();
    *published.0.lock().unwrap() =
        sdl.replace("hello: String!", "hello: String!\n\tgoodbye: String");
    wait_for(swaps, |n| *n == 1).await;

    let reload = json!({"errors": [{
        "message": "subscription has been closed due to a schema reload",
        "extensions": {"code": "SUBSCRIPTION_SCHEMA_RELOAD"}
    }]});
    for stream in [&mut first, &mut second] {
        assert_eq!(next(stream).await, Some(reload.clone()));
        assert_eq!(next(stream).await, None);
    }
    stats
        .wait_for(common_wait(), |c| c.active_subscriptions() == 0)
        .await
        .unwrap();

    // Subscribing again runs on the new schema.
    let mut again = subscribe().await;
    stats
        .wait_for(common_wait(), |c| {
            c.subscriptions_started == 2 && c.active_subscriptions() == 1
        })
        .await
        .unwrap();
    numbers.send(2).unwrap();
    assert_eq!(
        next(&mut again).await,
        Some(json!({"data": {"numbers": 2}}))
    );
}

fn common_wait() -> Duration {
    quilt_test_support::WAIT
}
