//! One client's stream of its group's events.
//!
//! The group's broadcast channel is every client's queue: it keeps the last
//! `queue_capacity` events, so a client that reads slowly (or not at all) holds back neither the
//! upstream nor the other clients, and costs no memory beyond that window. When it falls
//! further behind, the oldest events are lost for it; the loss is counted in the hub's
//! `dropped_events` and logged when the client reads next.

use std::sync::atomic::Ordering;

use futures::StreamExt;
use quilt_executor::{ExecutionResult, GraphQLError, ResultStream};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};

use super::{Item, Member, Permit};

enum Next {
    Closed(Option<GraphQLError>),
    Received(Result<Item, RecvError>),
}

struct State {
    events: broadcast::Receiver<Item>,
    closed: watch::Receiver<Option<GraphQLError>>,
    member: Member,
    _permit: Permit,
}

/// The client's stream; dropping it leaves the group (the last one out drops the upstream).
pub(super) fn stream(
    events: broadcast::Receiver<Item>,
    closed: watch::Receiver<Option<GraphQLError>>,
    member: Member,
    permit: Permit,
) -> ResultStream {
    let state = State {
        events,
        closed,
        member,
        _permit: permit,
    };
    futures::stream::unfold(Some(state), |state| async move {
        let mut state = state?;
        loop {
            let next = tokio::select! {
                biased;
                closed = state.closed.wait_for(Option::is_some) => {
                    // The hub outlives its clients, so the sender is never gone here; a closed
                    // channel would only mean the end anyway.
                    Next::Closed(closed.ok().and_then(|error| error.clone()))
                }
                received = state.events.recv() => Next::Received(received),
            };
            match next {
                Next::Closed(error) => {
                    return Some((Ok(ExecutionResult::from_error(error?)), None));
                }
                Next::Received(Ok(Some(event))) => {
                    metrics::counter!(crate::metrics::SUBSCRIPTION_EVENTS, "outcome" => "delivered")
                        .increment(1);
                    return Some((Ok(event.as_ref().clone()), Some(state)));
                }
                Next::Received(Ok(None) | Err(RecvError::Closed)) => return None,
                Next::Received(Err(RecvError::Lagged(lost))) => {
                    state.member.hub.dropped.fetch_add(lost, Ordering::Relaxed);
                    metrics::counter!(crate::metrics::SUBSCRIPTION_EVENTS, "outcome" => "dropped")
                        .increment(lost);
                    tracing::warn!(
                        lost,
                        "a slow subscription client fell behind; its oldest events were dropped"
                    );
                }
            }
        }
    })
    .boxed()
}
