//! One loop for every streamed transport: the executor's results, heartbeats at an interval, and
//! the end of the stream when graceful shutdown starts.

use std::time::Duration;

use futures::{Stream, StreamExt, stream};
use quilt_executor::{ExecutionResult, ExecutorError, ResultStream};
use tokio::time::{Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// What a transport writes next.
// Moved once per event; boxing the common variant would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Pumped {
    /// A result (a subscription event or an incremental payload).
    Result(ExecutionResult),
    /// The stream failed; nothing follows.
    Error(ExecutorError),
    /// Nothing happened for one heartbeat interval.
    Heartbeat,
}

/// Pumps `results` until they end, fail, or `shutdown` is cancelled (the stream is then dropped,
/// which cancels the operation upstream), with a heartbeat every `heartbeat` of silence.
pub fn pump(
    results: ResultStream,
    shutdown: CancellationToken,
    heartbeat: Option<Duration>,
) -> impl Stream<Item = Pumped> + Send + 'static {
    let interval = heartbeat.map(|period| {
        let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        interval
    });
    stream::unfold(Some((results, shutdown, interval)), |state| async move {
        let (mut results, shutdown, mut interval) = state?;
        let next = tokio::select! {
            biased;
            _ = shutdown.cancelled() => None,
            item = results.next() => match item {
                Some(Ok(result)) => Some(Pumped::Result(result)),
                Some(Err(error)) => {
                    return Some((Pumped::Error(error), None));
                }
                None => None,
            },
            _ = tick(&mut interval) => Some(Pumped::Heartbeat),
        }?;
        if let (Pumped::Result(_), Some(interval)) = (&next, interval.as_mut()) {
            interval.reset();
        }
        Some((next, Some((results, shutdown, interval))))
    })
}

async fn tick(interval: &mut Option<Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}
