//! A callback subscription's result stream: the events the emitter POSTs, in order, until its
//! `complete`; ended with a timeout error when no message (event or `check`) arrives within the
//! heartbeat window. Dropping the stream takes the subscription out of the registry, so the
//! emitter's next message gets 404 and it stops.

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;

use super::registry::{Delivery, Registration};
use crate::error::ExecutorError;
use crate::executor::ResultStream;
use crate::result::ExecutionResult;

struct State {
    registration: Registration,
    /// The longest silence allowed (heartbeat interval + grace); `None`: heartbeats disabled.
    window: Option<Duration>,
    endpoint: String,
    done: bool,
}

/// The stream of a subscription the emitter accepted.
pub(crate) fn result_stream(
    registration: Registration,
    window: Option<Duration>,
    endpoint: String,
) -> ResultStream {
    // The window counts from now at the latest: the subscription request itself may have
    // taken a while.
    let registry = registration.guard.registry().clone();
    registration
        .last_seen
        .fetch_max(registry.now_ms(), Ordering::Relaxed);
    let state = State {
        registration,
        window,
        endpoint,
        done: false,
    };
    futures::stream::unfold(state, |mut state| async move {
        if state.done {
            return None;
        }
        let item = next(&mut state).await;
        item.map(|item| (item, state))
    })
    .boxed()
}

async fn next(state: &mut State) -> Option<Result<ExecutionResult, ExecutorError>> {
    let registry = state.registration.guard.registry().clone();
    let delivery = loop {
        let Some(window) = state.window else {
            break state.registration.receiver.recv().await;
        };
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        let deadline = state
            .registration
            .last_seen
            .load(Ordering::Relaxed)
            .saturating_add(window_ms);
        tokio::select! {
            biased;
            delivery = state.registration.receiver.recv() => break delivery,
            _ = tokio::time::sleep_until(registry.instant_at(deadline).into()) => {
                let last_seen = state.registration.last_seen.load(Ordering::Relaxed);
                if registry.now_ms() < last_seen.saturating_add(window_ms) {
                    continue; // a message came meanwhile: wait on from it
                }
                state.done = true;
                registry.count_heartbeat_timeout();
                tracing::warn!(
                    id = %state.registration.id, endpoint = %state.endpoint, ?window,
                    "callback subscription ended: no heartbeat"
                );
                return Some(Err(ExecutorError::Timeout {
                    endpoint: format!(
                        "{} (no callback message, heartbeat or event, for subscription {})",
                        state.endpoint, state.registration.id
                    ),
                    after: window,
                }));
            }
        }
    };
    match delivery {
        Some(Delivery::Next(result)) => Some(Ok(result)),
        Some(Delivery::Complete(errors)) => {
            state.done = true;
            (!errors.is_empty()).then(|| {
                Ok(ExecutionResult {
                    errors,
                    ..ExecutionResult::default()
                })
            })
        }
        None => {
            // The registry dropped the queue without a `complete`: the consumer fell behind.
            state.done = true;
            Some(Err(ExecutorError::Closed {
                endpoint: state.endpoint.clone(),
                code: None,
                reason: format!(
                    "callback subscription {} ended: its consumer fell behind by a whole queue",
                    state.registration.id
                ),
            }))
        }
    }
}
