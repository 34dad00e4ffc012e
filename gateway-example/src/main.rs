//! `gateway-example`: see the crate docs of the library and `--help`.

use anyhow::Context as _;
use clap::Parser;
use gateway_example::config::Cli;
use gateway_example::{run, telemetry};

/// mimalloc instead of the system allocator: the gateway's hot path allocates many small
/// JSON values per request, and glibc's malloc/free were about a quarter of its instructions
/// (callgrind, heavy query; see bench/README.md). Its 2.x line (the `v2` feature): no more
/// CPU than 3.x (the same once, 5 % less another time) and a quarter less peak memory under
/// load. jemalloc, measured too, spent the same CPU.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    gateway_example::allocator::configure();
    let cli = Cli::parse();
    let check_only = cli.check_config;
    let explain = cli.explain.clone();
    let operation_name = cli.operation_name.clone();
    let settings = cli.settings()?;
    if let Some(file) = explain {
        let query = std::fs::read_to_string(&file)
            .with_context(|| format!("reading the operation in {}", file.display()))?;
        println!(
            "{}",
            run::explain(&settings, &query, operation_name.as_deref())?
        );
        return Ok(());
    }
    if check_only {
        settings.check()?;
        println!("the configuration is valid");
        return Ok(());
    }
    // Before the gateway is built: the stitched schema registers its metrics then.
    let _telemetry = telemetry::init(&settings.telemetry)?;
    let shared = settings
        .demo_pubsub
        .clone()
        .or_else(|| settings.demo_redis.as_ref().map(|redis| redis.url.clone()))
        .map(|url| (url, settings.demo_prefix.clone()));
    run::serve(settings, |addr, demo| {
        if let Some(demo) = demo {
            for service in demo.services() {
                println!("demo service {:<9} {}", service.name(), service.http_url());
            }
            if let Some((url, prefix)) = &shared {
                println!("demo venue shared through {url} (prefix {prefix})");
            }
        }
        println!(
            "Quilt gateway listening on http://{addr}/graphql (GraphiQL: open it in a browser)"
        );
    })
}
