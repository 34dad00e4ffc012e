//! The stitched gateway over remote subschemas, behind a swappable executor so the schema can
//! be reloaded while requests are in flight.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use arc_swap::ArcSwap;
use quilt_executor::{CallbackRegistry, ExecuteFuture, Executor, Request};
use quilt_stitch::{CloseReason, StitchedSchema, Stitcher, TypeChoice};
use tokio::sync::watch;
use tokio_util::task::AbortOnDropHandle;

use crate::remote::Remote;
use crate::spec::{ForwardedHeaders, SubschemaSpec};

/// The current stitched schema as an [`Executor`]. Each request runs on the schema that was
/// current when it arrived (the request's future owns what it needs), so a swap never disturbs
/// a request in flight; reading the current schema is one atomic load, no lock.
#[derive(Clone)]
pub struct SwappableSchema(Arc<ArcSwap<StitchedSchema>>);

impl SwappableSchema {
    /// The schema requests run on now.
    pub fn current(&self) -> Arc<StitchedSchema> {
        self.0.load_full()
    }
}

impl Executor for SwappableSchema {
    fn execute(&self, request: Request) -> ExecuteFuture {
        self.0.load().execute(request)
    }
}

/// What a reload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reload {
    /// Every subschema's schema was as before; the stitched schema was kept (and its plan
    /// cache with it).
    Unchanged,
    /// A subschema changed; a new stitched schema is serving.
    Swapped,
}

/// How the gateway stitches, besides its subschemas.
#[derive(Debug, Clone, Default)]
pub struct StitchOptions {
    /// Whether clients see upstream details ([`Stitcher::expose_upstream_details`]).
    pub expose_upstream_details: bool,
    /// Whether a client may ask for its operation's plan ([`Stitcher::expose_query_plan`]).
    pub expose_query_plan: bool,
    /// How subscriptions run ([`Stitcher::subscriptions`]).
    pub subscriptions: quilt_stitch::SubscriptionOptions,
    /// Limits on client documents and the plan cache ([`Stitcher::limits`]).
    pub limits: quilt_stitch::StitchLimits,
}

/// A gateway over remote subschemas.
pub struct Gateway {
    remotes: Vec<Remote>,
    options: StitchOptions,
    schema: SwappableSchema,
    /// The SDL of each subschema as last stitched, to skip reloads that change nothing.
    sdls: Mutex<Vec<String>>,
    /// How many times a new schema was swapped in.
    swaps: watch::Sender<u64>,
}

impl Gateway {
    /// Builds the executors of every subschema, loads their schemas and stitches them.
    pub async fn connect(specs: Vec<SubschemaSpec>) -> anyhow::Result<Self> {
        Self::connect_with(specs, None).await
    }

    /// [`Gateway::connect`], with the callback registry that subschemas whose subscriptions
    /// use the HTTP callback protocol register them in.
    pub async fn connect_with(
        specs: Vec<SubschemaSpec>,
        callback: Option<CallbackRegistry>,
    ) -> anyhow::Result<Self> {
        Self::connect_with_options(specs, callback, StitchOptions::default()).await
    }

    /// [`Gateway::connect_with`], stitched with `options`.
    pub async fn connect_with_options(
        specs: Vec<SubschemaSpec>,
        callback: Option<CallbackRegistry>,
        options: StitchOptions,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(!specs.is_empty(), "no subschema to stitch");
        let remotes = specs
            .into_iter()
            .map(|spec| Remote::new(spec, callback.as_ref()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let (stitched, sdls) = load_and_stitch(&remotes, &options).await?;
        Ok(Self {
            remotes,
            options,
            schema: SwappableSchema(Arc::new(ArcSwap::from_pointee(stitched))),
            sdls: Mutex::new(sdls),
            swaps: watch::channel(0).0,
        })
    }

    /// The executor to serve: always the current schema.
    pub fn executor(&self) -> SwappableSchema {
        self.schema.clone()
    }

    /// Upstream deduplication, summed over the subschemas' HTTP executors: queries sent, and
    /// queries answered by an identical one in flight instead of being sent.
    pub fn upstream_dedup_stats(&self) -> quilt_executor::DedupStats {
        self.remotes.iter().map(Remote::dedup_stats).fold(
            quilt_executor::DedupStats::default(),
            |sum, one| quilt_executor::DedupStats {
                executions: sum.executions + one.executions,
                shared: sum.shared + one.shared,
            },
        )
    }

    /// Loads every subschema again and, if one changed, stitches and swaps in the new schema.
    /// On any failure the current schema stays.
    ///
    /// A swap ends every subscription of the old schema with the error `subscription has been
    /// closed due to a schema reload` (code `SUBSCRIPTION_SCHEMA_RELOAD`) and drops its upstream
    /// subscriptions: they were planned against the old schema, and a client that subscribes
    /// again gets the new one. Queries and mutations in flight finish on the old schema.
    pub async fn reload(&self) -> anyhow::Result<Reload> {
        let (schemas, sdls) = load_all(&self.remotes).await?;
        if *self.lock_sdls() == sdls {
            return Ok(Reload::Unchanged);
        }
        let stitched = stitch(&self.remotes, schemas, &self.options)?;
        let old = self.schema.0.swap(Arc::new(stitched));
        old.close_subscriptions(CloseReason::SchemaReload);
        *self.lock_sdls() = sdls;
        self.swaps.send_modify(|swaps| *swaps += 1);
        Ok(Reload::Swapped)
    }

    /// The number of schema swaps so far, as a watch (for logs, and for tests that wait for a
    /// reload).
    pub fn swaps(&self) -> watch::Receiver<u64> {
        self.swaps.subscribe()
    }

    /// Reloads every `interval` until the handle is dropped; failures are logged and the
    /// current schema kept.
    pub fn poll(self: &Arc<Self>, interval: Duration) -> AbortOnDropHandle<()> {
        let gateway = Arc::clone(self);
        AbortOnDropHandle::new(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                match gateway.reload().await {
                    Ok(Reload::Swapped) => tracing::info!("subschemas changed; new schema serving"),
                    Ok(Reload::Unchanged) => tracing::debug!("subschemas unchanged"),
                    Err(error) => {
                        tracing::warn!("reload failed, the current schema stays: {error:#}")
                    }
                }
            }
        }))
    }

    fn lock_sdls(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.sdls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

type Loaded = (
    Vec<apollo_compiler::validation::Valid<apollo_compiler::Schema>>,
    Vec<String>,
);

/// Loads every subschema's schema, concurrently.
async fn load_all(remotes: &[Remote]) -> anyhow::Result<Loaded> {
    let schemas = futures::future::try_join_all(remotes.iter().map(Remote::load)).await?;
    let sdls = schemas.iter().map(|schema| schema.to_string()).collect();
    Ok((schemas, sdls))
}

async fn load_and_stitch(
    remotes: &[Remote],
    options: &StitchOptions,
) -> anyhow::Result<(StitchedSchema, Vec<String>)> {
    let (schemas, sdls) = load_all(remotes).await?;
    Ok((stitch(remotes, schemas, options)?, sdls))
}

/// Stitches the loaded schemas.
///
/// Types that several services define differently are merged by quilt-stitch when their SDL
/// says how (`@key`/`@merge`); for any other difference the first subschema's definition is
/// kept, with a warning, so that one odd service does not stop the gateway.
fn stitch(
    remotes: &[Remote],
    schemas: Vec<apollo_compiler::validation::Valid<apollo_compiler::Schema>>,
    options: &StitchOptions,
) -> anyhow::Result<StitchedSchema> {
    let mut stitcher = Stitcher::new()
        .expose_upstream_details(options.expose_upstream_details)
        .expose_query_plan(options.expose_query_plan)
        .limits(options.limits)
        .on_type_conflict(|conflict| {
            tracing::warn!(
                "type `{}` differs between `{}` and `{}`; keeping `{}`'s definition",
                conflict.type_name,
                conflict.left,
                conflict.right,
                conflict.left
            );
            TypeChoice::Left
        });
    for (remote, schema) in remotes.iter().zip(schemas) {
        stitcher = stitcher.subschema(remote.subschema(schema)?);
    }
    // Identical subscriptions share one upstream subscription only when every header the
    // subschemas forward is equal (none is shared when some are forwarded by a pattern).
    let forwarded = ForwardedHeaders::of(remotes.iter().map(Remote::spec));
    let deduplicate = options.subscriptions.deduplicate && !forwarded.by_pattern;
    stitcher = stitcher.subscriptions(
        options
            .subscriptions
            .clone()
            .dedup_headers(forwarded.names)
            .deduplicate(deduplicate),
    );
    stitcher.build().context("the subschemas do not stitch")
}
