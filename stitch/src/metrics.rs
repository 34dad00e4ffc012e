//! What the stitched schema records through the [`metrics`] facade and the `tracing` spans it
//! opens for traces. Nothing is recorded unless the application installs a metrics recorder
//! (before building the schema: the per-subschema handles are registered then); spans cost
//! nothing unless a subscriber wants them.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `quilt_upstream_request_duration_seconds` | histogram | `subschema`, `outcome` |
//! | `quilt_upstream_requests_total` | counter | `subschema`, `outcome` |
//! | `quilt_cache_requests_total` | counter | `cache` (`plan`), `result` (`hit`, `miss`) |
//! | `quilt_subscription_events_total` | counter | `outcome` (`delivered`, `dropped`) |
//! | `quilt_upstream_subscriptions` | gauge | |
//! | `quilt_upstream_resubscriptions_total` | counter | |
//!
//! An upstream request's `outcome` is `ok` (data and no errors), `graphql_error` (an answer
//! with errors), `error` (no answer: transport, status, decoding) or `timeout`.

use std::time::Instant;

use quilt_executor::{ExecutionResult, ExecutorError};

/// The target of the spans opened for traces (parse, plan, fetch), so that a log output can
/// leave them out.
pub const TRACE_TARGET: &str = "quilt::trace";

/// Upstream request durations (seconds).
pub(crate) const UPSTREAM_DURATION: &str = "quilt_upstream_request_duration_seconds";
/// Upstream requests.
pub(crate) const UPSTREAM_REQUESTS: &str = "quilt_upstream_requests_total";
/// Cache lookups.
pub(crate) const CACHE_REQUESTS: &str = "quilt_cache_requests_total";
/// Subscription events delivered to clients or dropped (a client's queue overflowed).
pub(crate) const SUBSCRIPTION_EVENTS: &str = "quilt_subscription_events_total";
/// Upstream subscriptions open now.
pub(crate) const UPSTREAM_SUBSCRIPTIONS: &str = "quilt_upstream_subscriptions";
/// Upstream subscriptions subscribed again after a failure.
pub(crate) const UPSTREAM_RESUBSCRIPTIONS: &str = "quilt_upstream_resubscriptions_total";

/// Increments a gauge now and decrements it when dropped.
pub(crate) struct GaugeGuard(metrics::Gauge);

impl GaugeGuard {
    pub(crate) fn new(gauge: metrics::Gauge) -> Self {
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// How an upstream request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    GraphqlError,
    Error,
    Timeout,
}

impl Outcome {
    const ALL: [Outcome; 4] = [
        Outcome::Ok,
        Outcome::GraphqlError,
        Outcome::Error,
        Outcome::Timeout,
    ];

    pub(crate) fn of(result: &Result<&ExecutionResult, &ExecutorError>) -> Self {
        match result {
            Ok(result) if result.errors.is_empty() => Outcome::Ok,
            Ok(_) => Outcome::GraphqlError,
            Err(ExecutorError::Timeout { .. }) => Outcome::Timeout,
            Err(_) => Outcome::Error,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::GraphqlError => "graphql_error",
            Outcome::Error => "error",
            Outcome::Timeout => "timeout",
        }
    }
}

/// One subschema's upstream request handles, registered once per stitched schema.
pub(crate) struct Upstream {
    requests: [metrics::Counter; 4],
    durations: [metrics::Histogram; 4],
}

impl Upstream {
    pub(crate) fn new(subschema: &str) -> Self {
        let label = metrics::SharedString::from(std::sync::Arc::<str>::from(subschema));
        Self {
            requests: Outcome::ALL.map(|outcome| {
                metrics::counter!(
                    UPSTREAM_REQUESTS,
                    "subschema" => label.clone(),
                    "outcome" => outcome.as_str()
                )
            }),
            durations: Outcome::ALL.map(|outcome| {
                metrics::histogram!(
                    UPSTREAM_DURATION,
                    "subschema" => label.clone(),
                    "outcome" => outcome.as_str()
                )
            }),
        }
    }

    /// Records one upstream request that started at `started`.
    pub(crate) fn record(&self, outcome: Outcome, started: Instant) {
        let i = outcome as usize;
        self.requests[i].increment(1);
        self.durations[i].record(started.elapsed().as_secs_f64());
    }
}
