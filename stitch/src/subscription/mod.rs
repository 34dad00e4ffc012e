//! Stitched subscriptions: one upstream subscription per group of identical client
//! subscriptions, resolved once per event, fanned out through bounded queues.
//!
//! A client's subscription joins a [`Group`] by its [`Key`] (a new key starts one). The group's
//! upstream task (`upstream.rs`) subscribes at the root step's subschema, and for every event
//! runs the dependent steps (merged fields from other services) and shapes the result once; the
//! shaped event goes into a broadcast channel whose capacity is the queue of every client
//! (`client.rs`): a client that falls behind loses the oldest events, counted. When the last
//! client of a group leaves, the upstream task is aborted, which drops the upstream stream and
//! so unsubscribes at the service.
//!
//! The hub also counts open client subscriptions (`max_opened_subscriptions`) and can close
//! every subscription at once ([`CloseReason`]), as a schema reload does.

mod client;
mod key;
mod upstream;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use quilt_executor::{ExecutionResult, GraphQLError, JsonMap, Request, Response};
use tokio::sync::{broadcast, watch};
use tokio::task::AbortHandle;

pub use crate::subscription_options::{SubscriptionOptions, SubscriptionStats};

use apollo_compiler::Schema;
use apollo_compiler::validation::Valid;

use crate::execute::Upstreams;
use crate::plan::Prepared;
use key::Key;

/// The error code of a subscription refused by `max_opened_subscriptions`.
pub const SUBSCRIPTION_LIMIT: &str = "SUBSCRIPTION_LIMIT";
/// The error code of subscriptions closed because the stitched schema was replaced.
pub const SUBSCRIPTION_SCHEMA_RELOAD: &str = "SUBSCRIPTION_SCHEMA_RELOAD";

/// Why every subscription of a stitched schema is being closed; see
/// [`StitchedSchema::close_subscriptions`](crate::StitchedSchema::close_subscriptions).
#[derive(Debug, Clone)]
pub enum CloseReason {
    /// The schema was replaced by a new one (a reload): `subscription has been closed due to a
    /// schema reload`, code `SUBSCRIPTION_SCHEMA_RELOAD`. Clients subscribe again to get the
    /// new schema.
    SchemaReload,
    /// Any other reason, sent to each client as its last event.
    Error(GraphQLError),
}

impl CloseReason {
    /// The error each client gets as its last event.
    pub fn to_graphql_error(&self) -> GraphQLError {
        match self {
            CloseReason::SchemaReload => {
                GraphQLError::new("subscription has been closed due to a schema reload")
                    .with_code(SUBSCRIPTION_SCHEMA_RELOAD)
            }
            CloseReason::Error(error) => error.clone(),
        }
    }
}

/// An event shaped for the clients, or `None`: the upstream ended and so does every client.
type Item = Option<Arc<ExecutionResult>>;

/// The state of a group's upstream subscription, which clients wait on before they stream.
#[derive(Debug, Clone)]
enum Phase {
    /// The upstream request is on its way.
    Starting,
    /// The upstream stream is open.
    Running,
    /// The upstream refused or could not be reached: these errors are the clients' answer.
    Failed(Arc<Vec<GraphQLError>>),
}

/// Identical client subscriptions and their one upstream task.
struct Group {
    id: u64,
    key: Key,
    events: broadcast::Sender<Item>,
    phase: watch::Receiver<Phase>,
    /// Clients in the group; changed only under the hub's lock.
    clients: AtomicUsize,
    task: Mutex<Option<AbortHandle>>,
}

impl Group {
    fn abort(&self) {
        if let Some(task) = lock(&self.task).take() {
            task.abort();
        }
    }
}

/// The subscriptions of one stitched schema.
pub(crate) struct Hub {
    options: SubscriptionOptions,
    groups: Mutex<HashMap<Key, Arc<Group>>>,
    next_id: AtomicU64,
    clients: AtomicU64,
    dropped: AtomicU64,
    resubscribes: AtomicU64,
    refused: AtomicU64,
    closed: watch::Sender<Option<GraphQLError>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn error_response(errors: Vec<GraphQLError>) -> Response {
    Response::Single(ExecutionResult {
        errors,
        ..ExecutionResult::default()
    })
}

impl Hub {
    /// A hub with these options.
    pub(crate) fn new(options: SubscriptionOptions) -> Arc<Self> {
        Arc::new(Self {
            options,
            groups: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            clients: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            resubscribes: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            closed: watch::channel(None).0,
        })
    }

    /// The counters now.
    pub(crate) fn stats(&self) -> SubscriptionStats {
        SubscriptionStats {
            clients: self.clients.load(Ordering::Relaxed),
            upstreams: lock(&self.groups).len() as u64,
            dropped_events: self.dropped.load(Ordering::Relaxed),
            resubscribes: self.resubscribes.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }

    /// Ends every client subscription with `reason`'s error and drops every upstream; later
    /// subscriptions are refused with the same error.
    pub(crate) fn close(&self, reason: CloseReason) {
        self.closed.send_replace(Some(reason.to_graphql_error()));
        let groups: Vec<_> = lock(&self.groups).drain().map(|(_, g)| g).collect();
        for group in groups {
            group.abort();
        }
    }

    /// Takes a place among the open subscriptions, or refuses past the limit (the limit).
    fn admit(self: &Arc<Self>) -> Result<Permit, usize> {
        let open = self.clients.fetch_add(1, Ordering::AcqRel);
        if let Some(max) = self.options.max_opened_subscriptions
            && open >= max as u64
        {
            self.clients.fetch_sub(1, Ordering::AcqRel);
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(max);
        }
        Ok(Permit(self.clone()))
    }

    /// Removes the group from the table if it is still there (a finished upstream), so that the
    /// next identical subscription starts a new one.
    fn forget(&self, group: &Group) {
        let mut groups = lock(&self.groups);
        if groups.get(&group.key).is_some_and(|g| g.id == group.id) {
            groups.remove(&group.key);
        }
    }

    /// A client leaves its group; the last one out drops the upstream.
    fn leave(&self, group: &Group) {
        let mut groups = lock(&self.groups);
        if group.clients.fetch_sub(1, Ordering::AcqRel) == 1 {
            if groups.get(&group.key).is_some_and(|g| g.id == group.id) {
                groups.remove(&group.key);
            }
            drop(groups);
            group.abort();
        }
    }
}

/// One open client subscription, counted against `max_opened_subscriptions`.
struct Permit(Arc<Hub>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A client's membership of its group.
struct Member {
    hub: Arc<Hub>,
    group: Arc<Group>,
}

impl Drop for Member {
    fn drop(&mut self) {
        self.hub.leave(&self.group);
    }
}

/// A client's subscription: joins (or starts) its group and streams the group's events.
pub(crate) async fn subscribe(
    hub: Arc<Hub>,
    upstreams: Arc<Upstreams>,
    schema: Arc<Valid<Schema>>,
    prepared: Arc<Prepared>,
    variables: JsonMap,
    request: Request,
) -> Response {
    if let Some(error) = hub.closed.borrow().clone() {
        return error_response(vec![error]);
    }
    if prepared.plan.steps.is_empty() {
        return error_response(vec![GraphQLError::new(
            "a subscription must select one field of a subschema",
        )]);
    }
    let permit = match hub.admit() {
        Ok(permit) => permit,
        Err(max) => {
            return error_response(vec![
                GraphQLError::new(format!(
                    "too many open subscriptions: the gateway allows {max}"
                ))
                .with_code(SUBSCRIPTION_LIMIT),
            ]);
        }
    };
    let key = if hub.options.deduplicate {
        Key::shared(&hub.options, &prepared, &variables, &request.context)
    } else {
        Key::Unique(hub.next_id.fetch_add(1, Ordering::Relaxed))
    };
    let (member, events, mut phase) = {
        let mut groups = lock(&hub.groups);
        let (group, events) = match groups.get(&key) {
            Some(group) => (group.clone(), group.events.subscribe()),
            None => {
                let capacity = hub.options.queue_capacity.max(1);
                let (events, receiver) = broadcast::channel(capacity);
                let (phase_tx, phase) = watch::channel(Phase::Starting);
                let group = Arc::new(Group {
                    id: hub.next_id.fetch_add(1, Ordering::Relaxed),
                    key: key.clone(),
                    events,
                    phase,
                    clients: AtomicUsize::new(0),
                    task: Mutex::new(None),
                });
                // The first client's receiver exists before the upstream task can send.
                let subschema = upstreams.names[prepared.plan.steps[0].subschema].as_str();
                let span = tracing::info_span!(
                    target: crate::metrics::TRACE_TARGET,
                    "quilt.subscription.upstream",
                    otel.kind = "client",
                    subschema,
                );
                let task = tokio::spawn(tracing::Instrument::instrument(
                    upstream::run(upstream::Upstream {
                        hub: hub.clone(),
                        upstreams,
                        schema,
                        group: group.clone(),
                        prepared,
                        variables,
                        context: request.context.clone(),
                        phase: phase_tx,
                    }),
                    span,
                ));
                *lock(&group.task) = Some(task.abort_handle());
                groups.insert(key, group.clone());
                (group, receiver)
            }
        };
        group.clients.fetch_add(1, Ordering::AcqRel);
        let phase = group.phase.clone();
        let member = Member {
            hub: hub.clone(),
            group,
        };
        (member, events, phase)
    };
    let started = phase
        .wait_for(|phase| !matches!(phase, Phase::Starting))
        .await
        .map(|phase| phase.clone());
    match started {
        Ok(Phase::Failed(errors)) => error_response(errors.as_ref().clone()),
        Ok(_) => Response::Stream(client::stream(
            events,
            hub.closed.subscribe(),
            member,
            permit,
        )),
        // The upstream task was aborted before it started: the hub was closed.
        Err(_) => error_response(vec![hub.closed.borrow().clone().unwrap_or_else(|| {
            GraphQLError::new("the subscription ended before it started")
        })]),
    }
}
