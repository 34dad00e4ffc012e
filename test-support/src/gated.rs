//! A service whose answers wait on the test: for deduplication tests, which need requests to
//! be in flight together at the moment the test chooses, without sleeping.
//!
//! - `who(until: n)`: counts its arrival, waits until `n` calls of any gated field have
//!   arrived, then answers the request's `Authorization` header (`"anonymous"` without one).
//!   Two requests that shared one execution would arrive once: the field then fails after
//!   [`WAIT`](crate::WAIT) instead of answering.
//! - `held`: counts its arrival and answers a long list once the test calls
//!   [`GatedServer::open`].
//! - `mutation { bump(until: n) }`: counts its arrival, waits like `who`, then adds one to a
//!   counter and returns it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use async_graphql::{Context, EmptySubscription, Object, Schema};
use tokio::sync::watch;

use crate::server::{TestServer, graphql_router};
use crate::stats::Stats;
use crate::subgraph::RequestHeaders;

/// How many items `held` answers.
pub const HELD_ITEMS: usize = 1000;

#[derive(Clone)]
struct Gate {
    arrivals: Arc<watch::Sender<u64>>,
    open: Arc<watch::Sender<bool>>,
    counter: Arc<AtomicI64>,
}

impl Gate {
    async fn arrive_and_wait_for(&self, until: u64) -> async_graphql::Result<()> {
        self.arrivals.send_modify(|n| *n += 1);
        let mut arrivals = self.arrivals.subscribe();
        let arrived = tokio::time::timeout(crate::WAIT, arrivals.wait_for(|n| *n >= until))
            .await
            .is_ok_and(|waited| waited.is_ok());
        if arrived {
            Ok(())
        } else {
            Err(format!("only {} of {until} calls arrived", *self.arrivals.borrow()).into())
        }
    }
}

struct Query;

#[Object]
impl Query {
    /// The caller's `Authorization`, once `until` gated calls have arrived.
    async fn who(&self, ctx: &Context<'_>, until: u64) -> async_graphql::Result<String> {
        ctx.data_unchecked::<Gate>()
            .arrive_and_wait_for(until)
            .await?;
        Ok(ctx
            .data_opt::<RequestHeaders>()
            .and_then(|h| h.0.get("authorization"))
            .and_then(|v| v.to_str().ok())
            .unwrap_or("anonymous")
            .to_owned())
    }

    /// `HELD_ITEMS` strings, once the test opens the gate.
    async fn held(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        let gate = ctx.data_unchecked::<Gate>();
        gate.arrivals.send_modify(|n| *n += 1);
        let mut open = gate.open.subscribe();
        match tokio::time::timeout(crate::WAIT, open.wait_for(|open| *open)).await {
            Ok(Ok(_)) => Ok((0..HELD_ITEMS).map(|i| format!("item {i}")).collect()),
            _ => Err("the gate was not opened".into()),
        }
    }
}

struct Mutation;

#[Object]
impl Mutation {
    /// Adds one to the counter once `until` gated calls have arrived.
    async fn bump(&self, ctx: &Context<'_>, until: u64) -> async_graphql::Result<i64> {
        let gate = ctx.data_unchecked::<Gate>();
        gate.arrive_and_wait_for(until).await?;
        Ok(gate.counter.fetch_add(1, Ordering::SeqCst) + 1)
    }
}

/// The gated service on `127.0.0.1:0`; see the module docs.
pub struct GatedServer {
    server: TestServer,
    gate: Gate,
}

impl GatedServer {
    /// Starts it.
    pub async fn start() -> anyhow::Result<Self> {
        let gate = Gate {
            arrivals: Arc::new(watch::channel(0).0),
            open: Arc::new(watch::channel(false).0),
            counter: Arc::new(AtomicI64::new(0)),
        };
        let stats = Stats::default();
        let schema = Schema::build(Query, Mutation, EmptySubscription)
            .data(gate.clone())
            .finish();
        let addr: SocketAddr = "127.0.0.1:0".parse()?;
        let server = TestServer::serve(addr, graphql_router(schema, stats.clone()), stats).await?;
        Ok(Self { server, gate })
    }

    /// `http://127.0.0.1:PORT/graphql`.
    pub fn http_url(&self) -> String {
        self.server.http_url()
    }

    /// HTTP requests received so far (schema loading included).
    pub fn http_requests(&self) -> u64 {
        self.server.stats().snapshot().http_requests
    }

    /// Calls of gated fields so far.
    pub fn arrivals(&self) -> u64 {
        *self.gate.arrivals.borrow()
    }

    /// Waits, at most [`WAIT`](crate::WAIT), until `n` gated calls have arrived.
    pub async fn wait_for_arrivals(&self, n: u64) -> anyhow::Result<()> {
        let mut arrivals = self.gate.arrivals.subscribe();
        tokio::time::timeout(crate::WAIT, arrivals.wait_for(|a| *a >= n)).await??;
        Ok(())
    }

    /// Lets every `held` call answer.
    pub fn open(&self) {
        self.gate.open.send_replace(true);
    }
}
