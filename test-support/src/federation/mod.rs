//! The four Apollo Federation subgraphs of the well-known gateway benchmark (accounts,
//! inventory, products, reviews), as async-graphql services with static data, and the
//! benchmark's queries.
//!
//! Each subgraph answers `{ _service { sdl } }` (Federation 2 SDL) and
//! `_entities(representations:)`, and counts its HTTP requests in [`Stats`], so a test can
//! assert how many upstream requests a gateway made. [`data`] holds the data as plain Rust and
//! [`expected`] computes the responses the queries must get, so that a gateway's answer can be
//! checked exactly.
//!
//! ```graphql
//! # accounts
//! type Query { me: User  user(id: ID!): User  users: [User] }
//! type User @key(fields: "id") { id: ID!  name: String  username: String @shareable  birthday: Int }
//! # products
//! type Query { topProducts(first: Int = 5): [Product] }
//! type Product @key(fields: "upc") { upc: String!  name: String  price: Int  weight: Int }
//! # inventory
//! extend type Product @key(fields: "upc") {
//!   upc: String! @external  weight: Int @external  price: Int @external
//!   inStock: Boolean  shippingEstimate: Int @requires(fields: "price weight")
//! }
//! # reviews
//! type Review @key(fields: "id") { id: ID!  body: String  author: User @provides(fields: "username")  product: Product }
//! type User @key(fields: "id") { id: ID!  username: String @external  reviews: [Review] }
//! type Product @key(fields: "upc") { upc: String!  reviews: [Review] }
//! ```

pub mod accounts;
pub mod data;
pub mod directives;
pub mod expected;
pub mod inventory;
pub mod products;
pub mod reviews;

use std::net::SocketAddr;

use crate::server::{TestServer, graphql_router};
use crate::stats::Stats;

/// The benchmark's heavy query: users → reviews → product → reviews → author → reviews →
/// product, and the same from `topProducts`; about 88 KB of response, across all four
/// subgraphs.
pub const HEAVY_QUERY: &str = "fragment User on User { id username name } \
fragment Review on Review { id body } \
fragment Product on Product { inStock name price shippingEstimate upc weight } \
query TestQuery { users { ...User reviews { ...Review product { ...Product reviews { ...Review \
author { ...User reviews { ...Review product { ...Product } } } } } } } topProducts { ...Product \
reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } } } }";

/// A query that one subgraph (products) answers alone: a gateway only passes it through.
pub const SIMPLE_QUERY: &str = "query SimpleQuery { topProducts { upc name price weight } }";

/// How many products [`large_query`] asks for by default: a response of several MiB.
pub const LARGE_PRODUCTS: usize = 40_000;

/// A query with a large response: `first` products with their catalogue fields (products) and
/// stock and shipping (inventory, which needs each product's price and weight).
pub fn large_query(first: usize) -> String {
    format!(
        "query LargeQuery {{ topProducts(first: {first}) {{ inStock name price shippingEstimate upc weight }} }}"
    )
}

/// The names of the subgraphs, in the order [`Subgraphs::all`] lists them.
pub const NAMES: [&str; 4] = ["accounts", "inventory", "products", "reviews"];

/// Each subgraph's name and its federation SDL (`_service { sdl }`), in [`NAMES`]' order: what a
/// gateway composes from, for tests that plan without starting the services.
pub fn sdls() -> [(&'static str, String); 4] {
    let options = || async_graphql::SDLExportOptions::new().federation();
    [
        ("accounts", accounts::schema().sdl_with_options(options())),
        ("inventory", inventory::schema().sdl_with_options(options())),
        ("products", products::schema().sdl_with_options(options())),
        ("reviews", reviews::schema().sdl_with_options(options())),
    ]
}

/// The four subgraphs, running. Dropping them stops them. (Their [`TestServer::restart`] would
/// start the standard test subgraph instead: to restart one, stop it and use [`start_on`].)
pub struct Subgraphs {
    /// Users.
    pub accounts: TestServer,
    /// Stock and shipping.
    pub inventory: TestServer,
    /// The catalogue.
    pub products: TestServer,
    /// Reviews.
    pub reviews: TestServer,
}

impl Subgraphs {
    /// `(name, server)` for each subgraph, in the order of [`NAMES`].
    pub fn all(&self) -> [(&'static str, &TestServer); 4] {
        [
            ("accounts", &self.accounts),
            ("inventory", &self.inventory),
            ("products", &self.products),
            ("reviews", &self.reviews),
        ]
    }

    /// Stops all four, dropping every connection.
    pub async fn stop(self) {
        self.accounts.stop().await;
        self.inventory.stop().await;
        self.products.stop().await;
        self.reviews.stop().await;
    }
}

/// Starts the four subgraphs on `127.0.0.1:0`.
pub async fn start_all() -> anyhow::Result<Subgraphs> {
    let any: SocketAddr = ([127, 0, 0, 1], 0).into();
    start_on([any; 4]).await
}

/// Starts the four subgraphs on the given addresses (accounts, inventory, products, reviews).
pub async fn start_on(addrs: [SocketAddr; 4]) -> anyhow::Result<Subgraphs> {
    start_slowed(addrs, std::time::Duration::ZERO).await
}

/// [`start_on`], the reviews subgraph answering each request `reviews_delay` late (a slow
/// service, for the incremental delivery benchmark).
pub async fn start_slowed(
    addrs: [SocketAddr; 4],
    reviews_delay: std::time::Duration,
) -> anyhow::Result<Subgraphs> {
    let [accounts, inventory, products, reviews] = addrs;
    Ok(Subgraphs {
        accounts: serve(accounts, |stats| {
            graphql_router(self::accounts::schema(), stats)
        })
        .await?,
        inventory: serve(inventory, |stats| {
            graphql_router(self::inventory::schema(), stats)
        })
        .await?,
        products: serve(products, |stats| {
            graphql_router(self::products::schema(), stats)
        })
        .await?,
        reviews: serve(reviews, |stats| {
            delayed(
                graphql_router(self::reviews::schema(), stats),
                reviews_delay,
            )
        })
        .await?,
    })
}

/// `router`, each request answered `delay` late.
fn delayed(router: axum::Router, delay: std::time::Duration) -> axum::Router {
    if delay.is_zero() {
        return router;
    }
    router.layer(axum::middleware::from_fn_with_state(
        delay,
        |axum::extract::State(delay): axum::extract::State<std::time::Duration>,
         request: axum::extract::Request,
         next: axum::middleware::Next| async move {
            tokio::time::sleep(delay).await;
            next.run(request).await
        },
    ))
}

async fn serve(
    addr: SocketAddr,
    router: impl FnOnce(Stats) -> axum::Router,
) -> anyhow::Result<TestServer> {
    let stats = Stats::default();
    TestServer::serve(addr, router(stats.clone()), stats).await
}
