//! README's "A gateway in code", compiled with the test suite (`cargo test` builds examples;
//! `tests/e2e/config.rs` checks that README shows exactly the lines between the markers).
//!
//! Run it against a GraphQL service with subscriptions over WebSocket on `accounts:4001`:
//! `cargo run -p quilt-tests --example readme_gateway`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:4000").await?;
    // README begins
    use quilt_batch::{BatchExt, BatchOptions};
    use quilt_executor::{ExecutorExt, HttpExecutor, WsExecutor};
    use quilt_stitch::{Stitcher, SubschemaConfig};
    use quilt_wrap::{IntrospectionOptions, schema_from_executor};

    let http = HttpExecutor::new("http://accounts:4001/graphql")?;
    let schema = schema_from_executor(&http, IntrospectionOptions::default()).await?;
    let accounts = http
        .batched(BatchOptions::default()) // one request per tick
        .route_subscriptions(WsExecutor::new("ws://accounts:4001/graphql")); // hybrid
    let gateway = Stitcher::new()
        .subschema(SubschemaConfig::new("accounts", schema, accounts))
        .build()?;
    let server = quilt_server::GraphQLServer::new(gateway);
    server.serve(listener).await?;
    // README ends
    Ok(())
}
