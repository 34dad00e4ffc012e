//! A stitched gateway in one file: remote GraphQL services behind one schema, served over
//! GraphQL-over-HTTP, WebSocket, SSE and multipart.
//!
//! ```sh
//! cargo run --release -p quilt-server --example stitched_gateway -- \
//!     accounts=http://127.0.0.1:4001/graphql products=http://127.0.0.1:4002/graphql
//! ```
//!
//! Each `NAME=URL` service is introspected over HTTP, reached through the batching executor for
//! queries and mutations and over graphql-ws for subscriptions (the hybrid executor), and
//! stitched. With no arguments the example serves an in-process demo service instead, so it
//! runs anywhere. The gateway listens on 127.0.0.1:4000 (`QUILT_LISTEN` to change it).

use std::time::Duration;

use quilt_batch::{BatchExt, BatchOptions};
use quilt_executor::{ExecutorExt, HttpExecutor, SharedExecutor, WsExecutor};
use quilt_server::GraphQLServer;
use quilt_stitch::{Stitcher, SubschemaConfig};
use quilt_test_support::{LocalExecutor, Stats, subgraph};
use quilt_wrap::{IntrospectionOptions, schema_from_executor};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut stitcher = Stitcher::new();
    let services: Vec<(String, String)> = std::env::args()
        .skip(1)
        .filter_map(|arg| {
            arg.split_once('=')
                .map(|(n, u)| (n.to_owned(), u.to_owned()))
        })
        .collect();

    if services.is_empty() {
        let demo = subgraph::schema(Stats::default());
        let sdl = demo.sdl();
        stitcher = stitcher.subschema(SubschemaConfig::from_sdl(
            "demo",
            &sdl,
            LocalExecutor::new(demo),
        )?);
    }
    for (name, url) in services {
        let http = HttpExecutor::builder(url.as_str())
            .timeout(Duration::from_secs(10))
            .build()?;
        let schema = schema_from_executor(&http, IntrospectionOptions::default()).await?;
        let ws_url = url.replacen("http", "ws", 1);
        let executor: SharedExecutor = http
            .batched(BatchOptions::default())
            .route_subscriptions(WsExecutor::new(ws_url))
            .boxed();
        stitcher = stitcher.subschema(SubschemaConfig::new(name, schema, executor));
    }

    let gateway = stitcher.build()?;
    let listen = std::env::var("QUILT_LISTEN").unwrap_or_else(|_| "127.0.0.1:4000".into());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("Quilt gateway on http://{listen}/graphql (GraphiQL in a browser)");
    GraphQLServer::new(gateway).serve(listener).await?;
    Ok(())
}
