//! GraphQL over WebSocket: the [`WsExecutor`], speaking `graphql-transport-ws` (graphql-ws) or
//! the legacy `graphql-ws` (subscriptions-transport-ws) over one multiplexed socket.
//!
//! | file | holds |
//! |---|---|
//! | `mod.rs` | [`WsExecutor`] and its [`Executor`] implementation |
//! | `builder.rs` | [`WsExecutorBuilder`]: the options and their defaults |
//! | `protocol.rs` | the messages of both subprotocols, [`Subprotocol`] |
//! | `handshake.rs` | opening a socket: upgrade, `connection_init`, `connection_ack`; the writer task |
//! | `connection.rs` | the socket task: multiplexing, pings, keep-alive, lazy close, reconnection |
//! | `operation.rs` | one operation: the socket task's record and the consumer's stream |
//! | `reconnect.rs` | [`ReconnectPolicy`] and which closes are final |
//! | `authorization.rs` | forwarding `Authorization` as `connectionParams.token`, one socket per credential |

mod authorization;
mod builder;
mod connection;
mod handshake;
mod operation;
mod protocol;
mod reconnect;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

pub use builder::{ConnectionParamsFn, WsExecutorBuilder};
pub use protocol::Subprotocol;
pub use reconnect::ReconnectPolicy;

use builder::Config;
use connection::SocketTask;
use operation::{Command, Kind, Op, OperationStream};

use crate::error::ExecutorError;
use crate::executor::{ExecuteFuture, Executor, Response};
use crate::request::Request;

/// Commands queued for the socket task at most.
const COMMAND_QUEUE: usize = 1024;

/// An executor for a GraphQL service over WebSocket, as graphql-tools' executor-graphql-ws and
/// executor-legacy-ws.
///
/// - One socket multiplexes every operation of the executor (and of its clones). It is opened
///   by the first operation (lazy, the default) and closed `lazy_close_timeout` after the last
///   one ended (default 0: at once).
/// - Queries and mutations give [`Response::Single`]; subscriptions (and operations using
///   `@defer`/`@stream`) give [`Response::Stream`], whose items are
///   `Result<ExecutionResult, ExecutorError>`. Dropping the stream sends `complete` (legacy:
///   `stop`). A GraphQL `error` message from the server is a result with `errors`, the last of
///   its stream; a transport failure is an `Err` item, also the last.
/// - A subscription's [`execute`](Executor::execute) resolves once its `subscribe` is on the
///   wire, so a refused connection or a rejected handshake is an `Err` of `execute`, not of the
///   stream.
/// - The server's pings are answered; [`keepalive`](WsExecutorBuilder::keepalive) sends pings
///   of its own and treats silence as a lost socket.
/// - Abnormal closes are reconnected by the [`ReconnectPolicy`] and active subscriptions
///   subscribed again, their streams going on; the 44xx verdicts (4400, 4401, 4403, 4406, 4408,
///   4409, 4429) and 1000 are final and end every operation of the socket with
///   `ExecutorError::Closed { code: Some(..) }` (see [`CloseCode`](crate::CloseCode)).
///
/// # Connection params
///
/// `connection_init` carries the configured params (static, or computed for each connection by
/// [`connection_params_fn`](WsExecutorBuilder::connection_params_fn)) with the
/// `extensions.connectionParams` object of the operation that *opens* the connection merged
/// over them, key by key (the request's keys win). A reconnection computes the configured
/// params again and merges the same request params. While a socket is open, the
/// `extensions.connectionParams` of other operations cannot change it and are ignored.
/// `extensions.connectionParams` is never forwarded in the `subscribe` payload; the other
/// extensions are.
///
/// With [`forward_authorization`](WsExecutorBuilder::forward_authorization), the
/// `Authorization` header of the request's [`Context`](crate::Context) becomes
/// `connectionParams.token`, and each credential gets a socket of its own.
///
/// # Timeouts
///
/// Every wait is bounded: opening the socket ([`connect_timeout`](WsExecutorBuilder::connect_timeout),
/// 10 s), the `connection_ack` ([`ack_timeout`](WsExecutorBuilder::ack_timeout), 10 s; past it
/// the socket is closed with 4504 and the operations fail with
/// `ExecutorError::Closed { code: Some(CloseCode::ConnectionAckTimeout), .. }`), a query's
/// result ([`request_timeout`](WsExecutorBuilder::request_timeout), 30 s,
/// [`ExecutorError::Timeout`]), each write, the keep-alive pong, a slow consumer.
///
/// ```no_run
/// use futures::StreamExt;
/// use quilt_executor::{Executor, Request, ws::WsExecutor};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let executor = WsExecutor::new("ws://127.0.0.1:4000/graphql");
/// let response = executor
///     .execute(Request::new("subscription { count(to: 3) }")?)
///     .await?;
/// let mut events = response.into_stream();
/// while let Some(event) = events.next().await {
///     println!("{:?}", event?.data);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct WsExecutor {
    inner: Arc<Inner>,
}

struct Inner {
    config: Arc<Config>,
    /// Why every operation fails, if the builder was given something unusable.
    invalid: Option<String>,
    commands: mpsc::Sender<Command>,
    /// The socket task's end of the command queue, until the task is started.
    task_commands: Mutex<Option<mpsc::Receiver<Command>>>,
    next_id: AtomicU64,
    /// The per-credential executors, with `forward_authorization`.
    by_token: authorization::TokenSockets,
}

impl WsExecutor {
    /// An executor for `url` (`ws://` or `wss://`) with the default options.
    pub fn new(url: impl Into<String>) -> Self {
        Self::builder(url).build()
    }

    /// A builder to set options.
    pub fn builder(url: impl Into<String>) -> WsExecutorBuilder {
        WsExecutorBuilder::new(url)
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.inner.config.url
    }

    /// The subprotocol.
    pub fn subprotocol(&self) -> Subprotocol {
        self.inner.config.subprotocol
    }

    pub(crate) fn from_config(config: Config, invalid: Option<String>) -> Self {
        let (commands, task_commands) = mpsc::channel(COMMAND_QUEUE);
        let executor = Self {
            inner: Arc::new(Inner {
                config: Arc::new(config),
                invalid,
                commands,
                task_commands: Mutex::new(Some(task_commands)),
                next_id: AtomicU64::new(1),
                by_token: authorization::TokenSockets::default(),
            }),
        };
        if !executor.inner.config.lazy && tokio::runtime::Handle::try_current().is_ok() {
            executor.inner.start_task();
        }
        executor
    }
}

impl Inner {
    /// Starts the socket task, once. It runs until every handle on it is gone.
    fn start_task(&self) {
        let receiver = match self.task_commands.lock() {
            Ok(mut slot) => slot.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(receiver) = receiver {
            tokio::spawn(SocketTask::new(self.config.clone(), receiver).run());
        }
    }

    fn endpoint(&self) -> String {
        self.config.url.clone()
    }

    fn task_gone(&self) -> ExecutorError {
        ExecutorError::Closed {
            endpoint: self.endpoint(),
            code: None,
            reason: "the socket task of the executor ended".into(),
        }
    }
}

impl Executor for WsExecutor {
    fn execute(&self, request: Request) -> ExecuteFuture {
        if self.inner.config.forward_authorization
            && let Some(token) = authorization::authorization(&request)
        {
            let inner = &self.inner;
            let executor = inner
                .by_token
                .executor_for(token, &inner.config, inner.invalid.clone());
            return executor.execute(request);
        }
        let inner = self.inner.clone();
        Box::pin(async move {
            if let Some(message) = &inner.invalid {
                return Err(ExecutorError::InvalidRequest {
                    endpoint: inner.endpoint(),
                    message: message.clone(),
                });
            }
            if !request.uploads.is_empty() {
                return Err(ExecutorError::InvalidRequest {
                    endpoint: inner.endpoint(),
                    message: "file uploads cannot be sent over a WebSocket".into(),
                });
            }
            let mut request = request;
            if let Some(trace) = request.context.get::<crate::trace::TraceContext>() {
                // The socket's headers are the connection's; an operation carries its trace in
                // its extensions.
                let trace = trace.clone();
                for (name, value) in [
                    ("traceparent", Some(trace.traceparent)),
                    ("tracestate", trace.tracestate),
                ] {
                    if let Some(text) = value.and_then(|v| v.to_str().ok().map(str::to_owned)) {
                        request
                            .extensions
                            .insert(name.to_owned(), serde_json::Value::String(text));
                    }
                }
            }
            let payload =
                protocol::encode_payload(&request).map_err(|e| ExecutorError::InvalidRequest {
                    endpoint: inner.endpoint(),
                    message: format!("the request cannot be encoded as JSON: {e}"),
                })?;
            inner.start_task();

            let kind = if request.is_subscription() || request.document.uses_incremental_delivery()
            {
                Kind::Stream
            } else {
                Kind::Single
            };
            let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
            let capacity = match kind {
                Kind::Single => 1,
                Kind::Stream => inner.config.operation_buffer,
            };
            let (events, receiver) = mpsc::channel(capacity);
            let (ready, started) = match kind {
                Kind::Single => (None, None),
                Kind::Stream => {
                    let (tx, rx) = oneshot::channel();
                    (Some(tx), Some(rx))
                }
            };
            let connection_params = request
                .extensions
                .get(protocol::CONNECTION_PARAMS)
                .and_then(|v| v.as_object())
                .cloned();
            let op = Op {
                id,
                kind,
                payload: payload.into(),
                connection_params,
                events,
                ready,
                sent: false,
            };
            let mut stream = OperationStream::new(id, receiver, inner.commands.clone());
            inner
                .commands
                .send(Command::Start(op))
                .await
                .map_err(|_| inner.task_gone())?;

            match started {
                None => {
                    let timeout = inner.config.request_timeout;
                    match tokio::time::timeout(timeout, stream.recv_single()).await {
                        Ok(Some(Ok(result))) => Ok(Response::Single(result)),
                        Ok(Some(Err(error))) => Err(error),
                        Ok(None) => Err(inner.task_gone()),
                        Err(_) => Err(ExecutorError::Timeout {
                            endpoint: inner.endpoint(),
                            after: timeout,
                        }),
                    }
                }
                Some(started) => match started.await {
                    Ok(Ok(())) => Ok(Response::Stream(Box::pin(stream))),
                    Ok(Err(error)) => Err(error),
                    Err(_) => Err(inner.task_gone()),
                },
            }
        })
    }
}

impl std::fmt::Debug for WsExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsExecutor")
            .field("url", &self.inner.config.url)
            .field("subprotocol", &self.inner.config.subprotocol)
            .finish_non_exhaustive()
    }
}
