//! A small shop for the subscription tests: `reviews` streams `reviewAdded` events (published by
//! the test) over WebSocket, and its `Review`s point at a `User` and a `Product` whose other
//! fields live in `accounts` and `products` (type merging by key). Every service counts what it
//! sees (`Stats`): HTTP requests, and subscriptions started and cancelled at `reviews`.

#![allow(dead_code)] // each test file uses a part

use std::net::SocketAddr;
use std::time::Duration;

use async_graphql::{Context, EmptyMutation, EmptySubscription, ID, Object, Schema, SimpleObject};
use futures::Stream;
use quilt_executor::{ExecutorExt, HttpExecutor, ReconnectPolicy, WsExecutor};
use quilt_stitch::{EntryPoint, StitchedSchema, Stitcher, SubschemaConfig, SubscriptionOptions};
use quilt_test_support::{Stats, TestServer, graphql_router};
use serde_json::{Value, json};
use tokio::sync::broadcast;

const NAMES: [&str; 3] = ["Ada", "Grace", "Alan"];

/// The subscription every test sends unless it needs another.
pub const REVIEW_ADDED: &str =
    "subscription { reviewAdded { id body author { name } product { name inStock } } }";

/// A review event, as published.
#[derive(Clone, Debug)]
pub struct ReviewEvent(pub u32);

/// Publishes `reviewAdded` events to every subscription of the reviews service.
#[derive(Clone)]
pub struct Publisher(broadcast::Sender<ReviewEvent>);

impl Publisher {
    fn new() -> Self {
        Self(broadcast::channel(4096).0)
    }

    /// Publishes review `n` (author `n % 3 + 1`, product `n % 2 + 1`).
    pub fn publish(&self, n: u32) {
        let _ = self.0.send(ReviewEvent(n));
    }
}

/// What a client of [`REVIEW_ADDED`] gets for review `n`.
pub fn expected(n: u32) -> Value {
    let user = NAMES[(n % 3) as usize];
    let upc = n % 2 + 1;
    json!({"data": {"reviewAdded": {
        "id": n.to_string(),
        "body": format!("Review {n}"),
        "author": { "name": user },
        "product": { "name": format!("Product {upc}"), "inStock": upc == 1 },
    }}})
}

// ---------------------------------------------------------------- reviews

#[derive(SimpleObject, Clone)]
#[graphql(name = "User")]
struct UserRef {
    id: ID,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "Product")]
struct ProductRef {
    upc: ID,
}

#[derive(SimpleObject, Clone)]
struct Review {
    id: ID,
    body: String,
    author: UserRef,
    product: ProductRef,
}

fn review(n: u32) -> Review {
    Review {
        id: ID(n.to_string()),
        body: format!("Review {n}"),
        author: UserRef {
            id: ID((n % 3 + 1).to_string()),
        },
        product: ProductRef {
            upc: ID((n % 2 + 1).to_string()),
        },
    }
}

struct ReviewsQuery;

#[Object]
impl ReviewsQuery {
    async fn review(&self, id: ID) -> Option<Review> {
        id.parse().ok().map(review)
    }
}

struct ReviewsSubscription;

#[async_graphql::Subscription]
impl ReviewsSubscription {
    /// Every published review (of `product`, if given).
    async fn review_added(
        &self,
        ctx: &Context<'_>,
        product: Option<ID>,
    ) -> impl Stream<Item = Review> + use<> {
        // Subscribed before counted: a test that sees the count may publish at once.
        let events = ctx.data_unchecked::<Publisher>().0.subscribe();
        let guard = ctx.data_unchecked::<Stats>().subscription_started();
        futures::stream::unfold(
            (events, guard, product),
            |(mut events, guard, product)| async move {
                loop {
                    match events.recv().await {
                        Ok(ReviewEvent(n)) => {
                            let review = review(n);
                            if product.as_ref().is_none_or(|p| *p == review.product.upc) {
                                return Some((review, (events, guard, product)));
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            },
        )
    }

    /// Reviews `1..=count`, with an error instead of review `fail_at`, then the end.
    async fn review_burst(
        &self,
        count: u32,
        fail_at: Option<u32>,
    ) -> impl Stream<Item = async_graphql::Result<Review>> + use<> {
        futures::stream::iter((1..=count).map(move |n| {
            if Some(n) == fail_at {
                Err(format!("review {n} failed").into())
            } else {
                Ok(review(n))
            }
        }))
    }
}

type ReviewsSchema = Schema<ReviewsQuery, EmptyMutation, ReviewsSubscription>;

fn reviews_schema(stats: Stats, publisher: Publisher) -> ReviewsSchema {
    Schema::build(ReviewsQuery, EmptyMutation, ReviewsSubscription)
        .data(stats)
        .data(publisher)
        .finish()
}

// ---------------------------------------------------------------- accounts

#[derive(SimpleObject, Clone)]
struct User {
    id: ID,
    name: String,
}

struct AccountsQuery;

#[Object]
impl AccountsQuery {
    async fn users(&self, ids: Vec<ID>) -> Vec<Option<User>> {
        ids.into_iter()
            .map(|id| {
                let n: usize = id.parse().ok()?;
                let name = NAMES.get(n.checked_sub(1)?)?;
                Some(User {
                    id,
                    name: (*name).to_owned(),
                })
            })
            .collect()
    }
}

// ---------------------------------------------------------------- products

#[derive(SimpleObject, Clone)]
struct Product {
    upc: ID,
    name: String,
    in_stock: bool,
}

struct ProductsQuery;

#[Object]
impl ProductsQuery {
    async fn products(&self, upcs: Vec<ID>) -> Vec<Option<Product>> {
        upcs.into_iter()
            .map(|upc| {
                let n: u32 = upc.parse().ok()?;
                Some(Product {
                    upc,
                    name: format!("Product {n}"),
                    in_stock: n == 1,
                })
            })
            .collect()
    }
}

// ---------------------------------------------------------------- the shop

/// The three services running on loopback.
pub struct Shop {
    reviews: Option<TestServer>,
    reviews_addr: SocketAddr,
    pub reviews_stats: Stats,
    pub accounts: TestServer,
    pub products: TestServer,
    pub publisher: Publisher,
}

impl Shop {
    /// Starts the three services.
    pub async fn start() -> Self {
        let localhost: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let publisher = Publisher::new();
        let reviews_stats = Stats::default();
        let reviews = reviews_schema(reviews_stats.clone(), publisher.clone());
        let accounts = Schema::build(AccountsQuery, EmptyMutation, EmptySubscription).finish();
        let products = Schema::build(ProductsQuery, EmptyMutation, EmptySubscription).finish();
        let reviews = TestServer::serve(
            localhost,
            graphql_router(reviews, reviews_stats.clone()),
            reviews_stats.clone(),
        )
        .await
        .unwrap();
        let (accounts_stats, products_stats) = (Stats::default(), Stats::default());
        Self {
            reviews_addr: reviews.addr(),
            reviews: Some(reviews),
            reviews_stats,
            accounts: TestServer::serve(
                localhost,
                graphql_router(accounts, accounts_stats.clone()),
                accounts_stats,
            )
            .await
            .unwrap(),
            products: TestServer::serve(
                localhost,
                graphql_router(products, products_stats.clone()),
                products_stats,
            )
            .await
            .unwrap(),
            publisher,
        }
    }

    /// `http://…/graphql` of the reviews service.
    pub fn reviews_http_url(&self) -> String {
        format!("http://{}/graphql", self.reviews_addr)
    }

    /// `ws://…/graphql` of the reviews service.
    pub fn reviews_ws_url(&self) -> String {
        format!("ws://{}/graphql", self.reviews_addr)
    }

    /// The stitched gateway over the three, reviews' subscriptions over WebSocket with
    /// `reconnect`.
    pub fn stitch(
        &self,
        options: SubscriptionOptions,
        reconnect: ReconnectPolicy,
    ) -> StitchedSchema {
        stitch_at(
            self.reviews_addr,
            &self.accounts.http_url(),
            &self.products.http_url(),
            options,
            reconnect,
        )
    }

    /// The accounts service as a subschema (`User` merged by `users(ids:)`), for gateways over
    /// other services.
    pub fn accounts_subschema(&self) -> SubschemaConfig {
        let sdl = Schema::build(AccountsQuery, EmptyMutation, EmptySubscription)
            .finish()
            .sdl();
        let http = HttpExecutor::builder(self.accounts.http_url())
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        SubschemaConfig::from_sdl("accounts", &sdl, http)
            .unwrap()
            .merge("User", EntryPoint::key_field("users", "id"))
    }

    /// The addresses of the three: reviews, accounts, products.
    pub fn addrs(&self) -> [SocketAddr; 3] {
        [
            self.reviews_addr,
            self.accounts.addr(),
            self.products.addr(),
        ]
    }

    /// Restarts the reviews service on the same port: every connection to it drops, as in a
    /// crash and restart.
    pub async fn restart_reviews(&mut self) {
        self.stop_reviews().await;
        let schema = reviews_schema(self.reviews_stats.clone(), self.publisher.clone());
        self.reviews = Some(
            TestServer::serve(
                self.reviews_addr,
                graphql_router(schema, self.reviews_stats.clone()),
                self.reviews_stats.clone(),
            )
            .await
            .unwrap(),
        );
    }

    /// Stops the reviews service for good.
    pub async fn stop_reviews(&mut self) {
        if let Some(server) = self.reviews.take() {
            server.stop().await;
        }
    }
}

/// The stitched gateway over the three services at these addresses (reviews' subscriptions over
/// WebSocket with `reconnect`); the SDLs are those of the schemas above.
pub fn stitch_at(
    reviews: SocketAddr,
    accounts_url: &str,
    products_url: &str,
    options: SubscriptionOptions,
    reconnect: ReconnectPolicy,
) -> StitchedSchema {
    let ws = WsExecutor::builder(format!("ws://{reviews}/graphql"))
        .reconnect(reconnect)
        .build();
    let reviews = http(&format!("http://{reviews}/graphql")).route_subscriptions(ws);
    stitch_with_reviews(reviews, accounts_url, products_url, options)
}

fn http(url: &str) -> HttpExecutor {
    HttpExecutor::builder(url)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// The stitched gateway over the three services, reaching reviews through `reviews`.
pub fn stitch_with_reviews(
    reviews: impl quilt_executor::Executor,
    accounts_url: &str,
    products_url: &str,
    options: SubscriptionOptions,
) -> StitchedSchema {
    let sdl = [
        reviews_schema(Stats::default(), Publisher::new()).sdl(),
        Schema::build(AccountsQuery, EmptyMutation, EmptySubscription)
            .finish()
            .sdl(),
        Schema::build(ProductsQuery, EmptyMutation, EmptySubscription)
            .finish()
            .sdl(),
    ];
    Stitcher::new()
        .subscriptions(options)
        .subschema(SubschemaConfig::from_sdl("reviews", &sdl[0], reviews).unwrap())
        .subschema(
            SubschemaConfig::from_sdl("accounts", &sdl[1], http(accounts_url))
                .unwrap()
                .merge("User", EntryPoint::key_field("users", "id")),
        )
        .subschema(
            SubschemaConfig::from_sdl("products", &sdl[2], http(products_url))
                .unwrap()
                .merge("Product", EntryPoint::key_field("products", "upc")),
        )
        .build()
        .unwrap()
}

/// Starts a subscription on the stitched schema and returns its event stream.
pub async fn subscribe(
    gateway: &StitchedSchema,
    request: quilt_executor::Request,
) -> quilt_executor::ResultStream {
    use quilt_executor::Executor;
    let response = tokio::time::timeout(quilt_test_support::WAIT, gateway.execute(request))
        .await
        .unwrap()
        .unwrap();
    assert!(response.is_stream(), "not a stream");
    response.into_stream()
}

/// The stream's next event as JSON; panics when none comes in time or the stream ended.
pub async fn next_event(stream: &mut quilt_executor::ResultStream) -> Value {
    use futures::StreamExt;
    let event = tokio::time::timeout(quilt_test_support::WAIT, stream.next())
        .await
        .expect("no event in time")
        .expect("the stream ended")
        .unwrap();
    serde_json::to_value(event).unwrap()
}
