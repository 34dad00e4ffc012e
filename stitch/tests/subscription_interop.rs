#![allow(clippy::unwrap_used)]
//! The reference clients from npm — graphql-ws, graphql-sse (distinct connections and single
//! connection mode) and the legacy subscriptions-transport-ws — subscribe through a quilt-server
//! serving a stitched schema, to a subscription whose events carry merged fields of two other
//! services, and receive every event and the end. And a graphql-yoga service (graphql-ws on
//! the same port) is the upstream of a shared stitched subscription.

mod subs;

use std::process::Stdio;
use std::time::Duration;

use quilt_executor::{Executor, ExecutorExt, HttpExecutor, ReconnectPolicy, Request, WsExecutor};
use quilt_stitch::{StitchedSchema, Stitcher, SubschemaConfig, SubscriptionOptions};
use quilt_test_support::js::js_dir;
use quilt_test_support::{JsPeer, WAIT};
use serde_json::{Value, json};
use subs::Shop;
use subs::next_event as next;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::task::AbortOnDropHandle;

const BURST: &str =
    "subscription { reviewBurst(count: 3) { id author { name } product { name inStock } } }";

/// The shop stitched and served by quilt-server on a free port: (HTTP URL, WebSocket URL).
async fn serve(shop: &Shop) -> (String, String, AbortOnDropHandle<()>) {
    let gateway = shop.stitch(SubscriptionOptions::default(), ReconnectPolicy::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = quilt_server::GraphQLServer::new(gateway)
            .serve(listener)
            .await;
    });
    (
        format!("http://{addr}/graphql"),
        format!("ws://{addr}/graphql"),
        AbortOnDropHandle::new(task),
    )
}

/// Runs a client script to its end; its JSON lines.
async fn node(script: &str, args: &[&str]) -> Vec<Value> {
    let mut child = tokio::process::Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(js_dir())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    tokio::time::timeout(Duration::from_secs(30), async {
        let mut out = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            out.push(serde_json::from_str(&line).unwrap());
        }
        out
    })
    .await
    .expect("the client did not finish in time")
}

fn burst_events() -> Vec<Value> {
    let names = ["Grace", "Alan", "Ada"];
    let mut events: Vec<Value> = (1..=3u32)
        .map(|n| {
            let upc = n % 2 + 1;
            json!({"next": {"data": {"reviewBurst": {
                "id": n.to_string(),
                "author": { "name": names[(n - 1) as usize] },
                "product": { "name": format!("Product {upc}"), "inStock": upc == 1 },
            }}}})
        })
        .collect();
    events.push(json!({"complete": true}));
    events
}

#[tokio::test]
async fn the_graphql_ws_client_receives_merged_subscription_events() {
    let shop = Shop::start().await;
    let (_, ws, _server) = serve(&shop).await;
    assert_eq!(
        node("ws-subscribe.mjs", &[&ws, BURST]).await,
        burst_events()
    );
}

#[tokio::test]
async fn the_legacy_subscriptions_transport_ws_client_receives_merged_subscription_events() {
    let shop = Shop::start().await;
    let (_, ws, _server) = serve(&shop).await;
    assert_eq!(
        node("legacy-subscribe.mjs", &[&ws, BURST]).await,
        burst_events()
    );
}

#[tokio::test]
async fn the_graphql_sse_client_receives_merged_subscription_events_in_both_modes() {
    let shop = Shop::start().await;
    let (http, _, _server) = serve(&shop).await;
    assert_eq!(
        node("sse-subscribe.mjs", &[&http, BURST]).await,
        burst_events()
    );
    assert_eq!(
        node("sse-subscribe.mjs", &[&http, BURST, "single"]).await,
        burst_events()
    );
}

/// The SDL of test-support/js/review-events.mjs.
const YOGA_SDL: &str = "type Query { activeSubscriptions(await: Int): Int! } \
    type Mutation { addReview(id: ID!, authorId: ID!): Review! } \
    type Subscription { reviewAdded: Review! } \
    type Review { id: ID! body: String! author: User! } type User { id: ID! }";

async fn run(gateway: &StitchedSchema, query: &str) -> Value {
    let response = tokio::time::timeout(WAIT * 2, gateway.execute(Request::new(query).unwrap()))
        .await
        .unwrap()
        .unwrap();
    serde_json::to_value(response.into_single().await.unwrap()).unwrap()
}

#[tokio::test]
async fn a_graphql_yoga_service_is_the_upstream_of_a_shared_stitched_subscription() {
    let shop = Shop::start().await;
    let yoga = JsPeer::start("review-events.mjs", &[]).await.unwrap();
    let http = HttpExecutor::builder(yoga.http_url("/graphql"))
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let executor = http.route_subscriptions(WsExecutor::new(yoga.ws_url("/graphql")));
    let gateway = Stitcher::new()
        .subschema(SubschemaConfig::from_sdl("reviews", YOGA_SDL, executor).unwrap())
        .subschema(shop.accounts_subschema())
        .build()
        .unwrap();
    let query = "subscription { reviewAdded { id body author { id name } } }";
    let mut clients = Vec::new();
    for _ in 0..2 {
        let response = gateway.execute(Request::new(query).unwrap()).await.unwrap();
        clients.push(response.into_stream());
    }
    assert_eq!(
        run(&gateway, "{ activeSubscriptions(await: 1) }").await,
        json!({"data": {"activeSubscriptions": 1}})
    );
    let added = run(
        &gateway,
        r#"mutation { addReview(id: "7", authorId: "2") { id } }"#,
    )
    .await;
    assert_eq!(added, json!({"data": {"addReview": {"id": "7"}}}));
    let event = json!({"data": {"reviewAdded": {
        "id": "7", "body": "Review 7", "author": {"id": "2", "name": "Grace"}
    }}});
    for client in &mut clients {
        assert_eq!(next(client).await, event);
    }
    drop(clients);
    assert_eq!(
        run(&gateway, "{ activeSubscriptions(await: 0) }").await,
        json!({"data": {"activeSubscriptions": 0}})
    );
}
