//! Subscriptions over the HTTP callback protocol (Apollo's `callbackSpec=1.0`, also spoken by
//! Hive Gateway): the service does not hold a connection open per subscription, it POSTs each
//! event to a URL of the gateway.
//!
//! 1. [`CallbackExecutor`] registers the subscription in a [`CallbackRegistry`] (a random id
//!    and verifier) and POSTs it to the service with `Accept: application/json;callbackSpec=1.0`
//!    and `extensions.subscription = {callbackUrl, subscriptionId, verifier,
//!    heartbeatIntervalMs}`, through an [`HttpExecutor`] (its headers, timeout and size limit).
//! 2. The service (the *emitter*) POSTs `{kind: "subscription", action: "check", id, verifier}`
//!    to the callback URL, then answers the request with `{"data": null}`. An answer with
//!    errors (or data) ends the subscription with that answer.
//! 3. It POSTs `next` messages (`payload`: one result) for the events, `check` every heartbeat
//!    interval, and `complete` (with `errors` if it failed) at the end.
//! 4. The gateway's callback route hands each body to [`CallbackRegistry::handle`] (mounted by
//!    `quilt_server::GraphQLServerBuilder::callback`, or by any HTTP server), which answers
//!    with the protocol's statuses ([`CallbackReply`]): 404 tells the emitter to stop (the
//!    client went away: dropping the result stream takes the subscription out of the table).
//!
//! No message within the heartbeat interval plus a grace period ends the client's subscription
//! with [`ExecutorError::Timeout`] (`extensions.code` `TIMEOUT`).
//!
//! Queries and mutations sent to a [`CallbackExecutor`] go to its [`HttpExecutor`] unchanged; a
//! gateway usually routes only subscriptions to it:
//!
//! ```no_run
//! use quilt_executor::callback::{CallbackExecutor, CallbackRegistry};
//! use quilt_executor::{ExecutorExt, HttpExecutor};
//!
//! # fn run() -> Result<(), quilt_executor::ExecutorError> {
//! // One registry per gateway, mounted at the public URL on the gateway's own listener.
//! let registry = CallbackRegistry::new("http://gateway.internal:4000/callback")?;
//! let http = HttpExecutor::new("http://reviews:4002/graphql")?;
//! let reviews = http.clone().route_subscriptions(CallbackExecutor::new(http, registry.clone()));
//! # Ok(())
//! # }
//! ```

mod message;
mod registry;
mod stream;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

pub use registry::{CallbackRegistry, CallbackReply, CallbackStats};

use crate::error::ExecutorError;
use crate::executor::{ExecuteFuture, Executor, Response};
use crate::http::HttpExecutor;
use crate::request::Request;
use crate::result::ExecutionResult;

/// The header every callback message and reply carries.
pub const SUBSCRIPTION_PROTOCOL_HEADER: &str = "subscription-protocol";
/// Its value.
pub const SUBSCRIPTION_PROTOCOL: &str = "callback/1.0";

/// The default heartbeat interval asked of emitters (Apollo's default).
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);

/// Sends subscriptions with the HTTP callback protocol (see the [module documentation](self));
/// everything else goes to the [`HttpExecutor`] as it would alone.
///
/// Cloning is cheap (an [`Arc`]).
#[derive(Clone)]
pub struct CallbackExecutor {
    shared: Arc<Shared>,
}

struct Shared {
    http: HttpExecutor,
    registry: CallbackRegistry,
    heartbeat_interval: Duration,
    heartbeat_grace: Option<Duration>,
    queue_capacity: usize,
    delivery_timeout: Duration,
}

impl CallbackExecutor {
    /// Subscriptions to `http`'s service, called back through `registry`, with the defaults.
    pub fn new(http: HttpExecutor, registry: CallbackRegistry) -> Self {
        Self::builder(http, registry).build()
    }

    /// A builder to tune the heartbeat and the queue.
    pub fn builder(http: HttpExecutor, registry: CallbackRegistry) -> CallbackExecutorBuilder {
        CallbackExecutorBuilder {
            shared: Shared {
                http,
                registry,
                heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
                heartbeat_grace: None,
                queue_capacity: 64,
                delivery_timeout: Duration::from_secs(10),
            },
        }
    }

    /// The registry subscriptions are registered in.
    pub fn registry(&self) -> &CallbackRegistry {
        &self.shared.registry
    }
}

/// Tunes a [`CallbackExecutor`]; see [`CallbackExecutor::builder`].
///
/// ```
/// use std::time::Duration;
/// use quilt_executor::HttpExecutor;
/// use quilt_executor::callback::{CallbackExecutor, CallbackRegistry};
/// let registry = CallbackRegistry::new("http://127.0.0.1:4000/callback")?;
/// let executor = CallbackExecutor::builder(HttpExecutor::new("http://127.0.0.1:4001/graphql")?, registry)
///     .heartbeat_interval(Duration::from_secs(2))
///     .queue_capacity(16)
///     .build();
/// # Ok::<(), quilt_executor::ExecutorError>(())
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct CallbackExecutorBuilder {
    shared: Shared,
}

impl CallbackExecutorBuilder {
    /// The heartbeat interval asked of the emitter (`heartbeatIntervalMs`, default 5 s);
    /// zero disables heartbeats (and the timeout).
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.shared.heartbeat_interval = interval;
        self
    }

    /// How long past the heartbeat interval a silent subscription is kept (default: one more
    /// interval); then it ends with [`ExecutorError::Timeout`].
    pub fn heartbeat_grace(mut self, grace: Duration) -> Self {
        self.shared.heartbeat_grace = Some(grace);
        self
    }

    /// The events each subscription may hold for its consumer (default 64, at least 1).
    pub fn queue_capacity(mut self, events: usize) -> Self {
        self.shared.queue_capacity = events.max(1);
        self
    }

    /// How long an event waits for room in a full queue (default 10 s) before the subscription
    /// ends (the consumer gets an error, the emitter 404). Until then the emitter's POST waits,
    /// so a slow consumer slows its emitter down instead of losing events.
    pub fn delivery_timeout(mut self, timeout: Duration) -> Self {
        self.shared.delivery_timeout = timeout;
        self
    }

    /// Builds the executor.
    pub fn build(self) -> CallbackExecutor {
        CallbackExecutor {
            shared: Arc::new(self.shared),
        }
    }
}

impl Executor for CallbackExecutor {
    fn execute(&self, request: Request) -> ExecuteFuture {
        if !request.is_subscription() {
            return self.shared.http.execute(request);
        }
        let shared = self.shared.clone();
        Box::pin(subscribe(shared, request))
    }
}

async fn subscribe(shared: Arc<Shared>, mut request: Request) -> Result<Response, ExecutorError> {
    let registration = shared
        .registry
        .register(shared.queue_capacity, shared.delivery_timeout);
    let interval = shared.heartbeat_interval;
    request.extensions.insert(
        "subscription".into(),
        json!({
            "callbackUrl": shared.registry.callback_url(&registration.id),
            "subscriptionId": &*registration.id,
            "verifier": &registration.verifier,
            "heartbeatIntervalMs": u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
        }),
    );
    let endpoint = shared.http.endpoint().to_owned();
    // Failing here drops the registration, which takes it out of the table.
    match shared.http.execute_callback(request).await? {
        Response::Single(result) if accepted(&result) => {
            let window = (!interval.is_zero())
                .then(|| interval + shared.heartbeat_grace.unwrap_or(interval));
            Ok(Response::Stream(stream::result_stream(
                registration,
                window,
                endpoint,
            )))
        }
        // Errors (or data): the subscription ends with this answer.
        Response::Single(result) => Ok(Response::Single(result)),
        Response::Stream(_) => Err(ExecutorError::Protocol {
            endpoint,
            message: "a callback subscription was answered with a stream; does the service \
                      implement the HTTP callback protocol?"
                .into(),
        }),
    }
}

/// Whether the service took the subscription: `{"data": null}` and no errors.
fn accepted(result: &ExecutionResult) -> bool {
    result.errors.is_empty() && result.data.as_ref().is_none_or(crate::ResultData::is_null)
}

impl std::fmt::Debug for CallbackExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackExecutor")
            .field("endpoint", &self.shared.http.endpoint())
            .field("registry", &self.shared.registry)
            .field("heartbeat_interval", &self.shared.heartbeat_interval)
            .finish_non_exhaustive()
    }
}
