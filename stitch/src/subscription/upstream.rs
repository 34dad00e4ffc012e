//! A group's upstream task: subscribes at the root step's subschema, re-subscribes after a
//! transient failure (bounded by the options' policy), and resolves each event once for every
//! client of the group: the dependent steps (merged fields from other services) run and the
//! result is shaped, then broadcast.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::StreamExt;
use quilt_executor::{
    Context, ExecutionResult, ExecutorError, GraphQLError, JsonMap, ResultStream,
};
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

use super::{Group, Phase};
use apollo_compiler::Schema;
use apollo_compiler::validation::Valid;

use crate::execute::{Execution, Fetched, Upstreams, step_request};
use crate::plan::Prepared;

/// What the upstream task of one group owns.
pub(super) struct Upstream {
    pub hub: Arc<super::Hub>,
    pub upstreams: Arc<Upstreams>,
    /// The stitched schema with every element, to shape events against.
    pub schema: Arc<Valid<Schema>>,
    pub group: Arc<Group>,
    pub prepared: Arc<Prepared>,
    pub variables: JsonMap,
    /// The context of the client that started the group (identical, for what the upstream
    /// sees, to every other member's: see `Key`).
    pub context: Context,
    pub phase: watch::Sender<Phase>,
}

/// Runs the group's upstream subscription until it ends or fails for good, or the task is
/// aborted (the last client left).
pub(super) async fn run(upstream: Upstream) {
    let mut stream = match upstream.open().await {
        Ok(stream) => stream,
        Err(error) => {
            let errors = upstream.step_errors(error);
            upstream.hub.forget(&upstream.group);
            upstream.phase.send_replace(Phase::Failed(Arc::new(errors)));
            return;
        }
    };
    upstream.phase.send_replace(Phase::Running);
    let _open =
        crate::metrics::GaugeGuard::new(metrics::gauge!(crate::metrics::UPSTREAM_SUBSCRIPTIONS));
    // The failed attempts in a row, counting the subscription that just failed.
    let mut attempt = 1;
    // Since when the upstream subscription was down, until the next event reports the gap.
    let mut gap: Option<Instant> = None;
    loop {
        let event = match stream.next().await {
            Some(Ok(result)) => {
                attempt = 1;
                Ok(result)
            }
            Some(Err(error)) => {
                let failed_at = Instant::now();
                match upstream.resubscribe(&mut attempt, error).await {
                    Ok(again) => {
                        stream = again;
                        gap = gap.or(Some(failed_at));
                        continue;
                    }
                    Err(error) => Err(error),
                }
            }
            None => break,
        };
        let last = event.is_err();
        let mut shaped = upstream.resolve(event).await;
        if let Some(since) = gap.take() {
            upstream.report_gap(&mut shaped, since);
        }
        // No receiver: every client left and the task is being aborted.
        let _ = upstream.group.events.send(Some(Arc::new(shaped)));
        if last {
            break;
        }
    }
    // Out of the table first, so that an identical subscription arriving now starts afresh
    // instead of joining a group that is ending.
    upstream.hub.forget(&upstream.group);
    let _ = upstream.group.events.send(None);
}

impl Upstream {
    /// Sends the root step's subscription.
    async fn open(&self) -> Result<ResultStream, ExecutorError> {
        let step = &self.prepared.plan.steps[0];
        let mut request = step_request(step, &self.variables, &self.context);
        request.context = quilt_executor::trace::with_current(request.context);
        let response = self.upstreams.executors[step.subschema]
            .execute(request)
            .await?;
        Ok(response.into_stream())
    }

    /// Subscribes again after `error` while the policy allows; the error that ends the
    /// subscription otherwise.
    async fn resubscribe(
        &self,
        attempt: &mut u32,
        mut error: ExecutorError,
    ) -> Result<ResultStream, ExecutorError> {
        let hub = &self.hub;
        let policy = &hub.options.resubscribe;
        let window = hub.options.resubscribe_window;
        let started = Instant::now();
        let subschema = &self.upstreams.names[self.prepared.plan.steps[0].subschema];
        while policy.should_retry(*attempt, &error) && started.elapsed() < window {
            let wait = policy
                .backoff(*attempt)
                .min(window.saturating_sub(started.elapsed()));
            tracing::warn!(
                %subschema, %error, attempt = *attempt, ?wait,
                "upstream subscription failed; subscribing again"
            );
            tokio::time::sleep(wait).await;
            *attempt += 1;
            hub.resubscribes.fetch_add(1, Ordering::Relaxed);
            metrics::counter!(crate::metrics::UPSTREAM_RESUBSCRIPTIONS).increment(1);
            match self.open().await {
                Ok(stream) => return Ok(stream),
                Err(next) => error = next,
            }
        }
        tracing::warn!(%subschema, %error, "upstream subscription ended with an error");
        Err(error)
    }

    /// One event for the clients: the upstream's data (or its failure on the root fields), the
    /// merged fields of the other services, shaped as the client asked.
    async fn resolve(&self, event: Result<ExecutionResult, ExecutorError>) -> ExecutionResult {
        self.execution().event(event).await
    }

    /// The execution context of this group's events.
    fn execution(&self) -> Execution<'_> {
        Execution {
            upstreams: &self.upstreams,
            schema: &self.schema,
            prepared: &self.prepared,
            variables: &self.variables,
            context: &self.context,
        }
    }

    /// Marks the first event after a re-subscription: events may have been missed during the
    /// gap (`extensions.upstreamGap`: the subschema and how long it lasted).
    fn report_gap(&self, event: &mut ExecutionResult, since: Instant) {
        let subschema = &self.upstreams.names[self.prepared.plan.steps[0].subschema];
        let millis = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX);
        let mut gap = JsonMap::new();
        gap.insert("subschema".into(), Value::String(subschema.clone()));
        gap.insert("millis".into(), Value::from(millis));
        event
            .extensions
            .get_or_insert_with(JsonMap::new)
            .insert("upstreamGap".into(), Value::Object(gap));
    }

    /// A failure to subscribe as errors on the root step's fields.
    fn step_errors(&self, error: ExecutorError) -> Vec<GraphQLError> {
        let mut fetched = Fetched::default();
        self.execution()
            .place_root(&self.prepared.plan.steps[0], Err(error), &mut fetched);
        fetched.errors
    }
}
