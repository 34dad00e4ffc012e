//! One WebSocket connection: the `connection_init` handshake with its timeout, operations
//! running as owned tasks (a client's `complete`/`stop` drops the task, and with it the
//! executor's stream, which cancels the upstream), keep-alives, and the close codes of
//! graphql-transport-ws. Outgoing messages go through one bounded queue.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::{SinkExt, StreamExt};
use http::HeaderMap;
use quilt_executor::{Context, JsonMap, Response};
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::task::AbortOnDropHandle;

use crate::fair::PeerSlot;
use crate::gate::execute;
use crate::operation::params::GraphQLParams;
use crate::state::SharedState;
use crate::transport::pump::{Pumped, pump};
use crate::ws::hooks::{ConnectionInit, Disconnect};
use crate::ws::protocol::{self, ClientMessage, Protocol};

/// What the writer sends.
enum Outgoing {
    Text(String),
    /// A WebSocket ping frame: every client answers it with a pong by itself.
    Ping,
    Close(u16, String),
}

/// Close codes of graphql-transport-ws.
pub mod close {
    /// Invalid message.
    pub const BAD_REQUEST: u16 = 4400;
    /// Subscribe before `connection_ack`.
    pub const UNAUTHORIZED: u16 = 4401;
    /// `on_connect` rejected the connection.
    pub const FORBIDDEN: u16 = 4403;
    /// No acceptable subprotocol.
    pub const SUBPROTOCOL_NOT_ACCEPTABLE: u16 = 4406;
    /// No `connection_init` in time.
    pub const INIT_TIMEOUT: u16 = 4408;
    /// An operation id already in use.
    pub const DUPLICATE_ID: u16 = 4409;
    /// A second `connection_init`.
    pub const TOO_MANY_INITS: u16 = 4429;
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// Too many connections (try again later).
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// A message larger than the limit.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
}

/// Closes a socket at once with `code` (for connections refused before any message).
pub(crate) async fn close_now(mut socket: WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(
        Duration::from_secs(5),
        socket.send(Message::Close(Some(frame))),
    )
    .await;
}

struct Connection {
    state: SharedState,
    protocol: Protocol,
    headers: HeaderMap,
    out: mpsc::Sender<Outgoing>,
    context: Context,
    init_received: bool,
    acknowledged: bool,
    operations: HashMap<String, AbortOnDropHandle<()>>,
    done_tx: mpsc::Sender<String>,
    close_code: Option<u16>,
    /// The client's address, for its fair shares.
    peer: Option<IpAddr>,
}

/// Runs a connection until either side closes it.
pub(crate) async fn run(
    state: SharedState,
    socket: WebSocket,
    protocol: Protocol,
    headers: HeaderMap,
    peer: Option<IpAddr>,
    _permits: (OwnedSemaphorePermit, Option<PeerSlot>),
) {
    let (mut sink, mut source) = socket.split();
    let capacity = state.streaming.queue_capacity.max(1);
    let (out, mut out_rx) = mpsc::channel::<Outgoing>(capacity);
    let writer = AbortOnDropHandle::new(tokio::spawn(async move {
        while let Some(message) = out_rx.recv().await {
            match message {
                Outgoing::Text(text) => {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
                Outgoing::Ping => {
                    if sink.send(Message::Ping(Default::default())).await.is_err() {
                        return;
                    }
                }
                Outgoing::Close(code, reason) => {
                    let frame = CloseFrame {
                        code,
                        reason: reason.into(),
                    };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    return;
                }
            }
        }
    }));
    let max_operations = state.limits.max_operations_per_connection;
    let (done_tx, mut done_rx) = mpsc::channel::<String>(max_operations.max(1) + 1);
    let mut connection = Connection {
        context: Context::from_headers(headers.clone()),
        state: state.clone(),
        protocol,
        headers,
        out,
        init_received: false,
        acknowledged: false,
        operations: HashMap::new(),
        done_tx,
        close_code: None,
        peer,
    };
    let init_deadline = tokio::time::sleep(state.streaming.connection_init_timeout);
    tokio::pin!(init_deadline);
    let keep_alive_period = state.streaming.keep_alive_interval;
    let mut keep_alive =
        tokio::time::interval_at(Instant::now() + keep_alive_period, keep_alive_period);
    keep_alive.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // Nothing received (not even a pong to the pings sent every keep-alive interval) for the
    // idle timeout: the peer is gone or stalling, and the connection is closed.
    let idle_timeout = state.streaming.ws_idle_timeout;
    let idle_deadline = tokio::time::sleep(idle_timeout.unwrap_or(Duration::MAX / 4));
    tokio::pin!(idle_deadline);
    let shutdown = state.shutdown.clone();
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => {
                connection.shutdown(&mut done_rx).await;
                break;
            }
            _ = &mut init_deadline, if !connection.init_received => {
                connection.close(close::INIT_TIMEOUT, "Connection initialisation timeout").await;
                break;
            }
            Some(id) = done_rx.recv() => {
                if let Some(handle) = connection.operations.remove(&id) {
                    handle.detach();
                }
            }
            _ = keep_alive.tick() => {
                connection.keep_alive().await;
            }
            _ = &mut idle_deadline, if idle_timeout.is_some() => {
                connection.close(close::GOING_AWAY, "idle timeout: nothing received").await;
                break;
            }
            message = source.next() => {
                if let Some(idle) = idle_timeout {
                    idle_deadline.as_mut().reset(Instant::now() + idle);
                }
                let keep_going = match message {
                    Some(Ok(Message::Text(text))) => connection.on_text(text.as_str()).await,
                    Some(Ok(Message::Binary(_))) => {
                        connection.close(close::BAD_REQUEST, "Invalid message received: binary").await;
                        false
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => true,
                    Some(Ok(Message::Close(_))) => {
                        // Answer the client's close frame before the connection ends.
                        let _ = connection.out.send(Outgoing::Close(1000, String::new())).await;
                        false
                    }
                    Some(Err(error)) => {
                        if is_too_long(error) {
                            let limit = state.limits.max_body_bytes;
                            connection
                                .close(
                                    close::MESSAGE_TOO_BIG,
                                    &format!("message larger than {limit} bytes"),
                                )
                                .await;
                        }
                        false
                    }
                    None => false,
                };
                if !keep_going {
                    break;
                }
            }
        }
    }
    // Operations end with the connection; then the writer flushes what is queued (the close
    // frame last) within a bound.
    connection.operations.clear();
    let Connection {
        out,
        context,
        close_code,
        acknowledged,
        ..
    } = connection;
    drop(out);
    let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
    if let Some(hook) = &state.hooks.on_disconnect {
        hook(Disconnect {
            context,
            close_code,
            acknowledged,
        });
    }
}

/// Whether a read failed because a message or frame was larger than the limit.
fn is_too_long(error: axum::Error) -> bool {
    use tokio_tungstenite::tungstenite::Error;
    use tokio_tungstenite::tungstenite::error::CapacityError;
    matches!(
        error.into_inner().downcast_ref::<Error>(),
        Some(Error::Capacity(
            CapacityError::MessageTooLong { .. } | CapacityError::TooManyHeaders
        ))
    )
}

impl Connection {
    async fn send(&self, text: String) {
        let _ = self.out.send(Outgoing::Text(text)).await;
    }

    async fn close(&mut self, code: u16, reason: &str) {
        tracing::debug!(code, reason, "closing WebSocket connection");
        self.close_code = Some(code);
        let _ = self
            .out
            .send(Outgoing::Close(code, reason.to_owned()))
            .await;
    }

    /// Graceful shutdown: no more messages are read; queries and mutations in flight finish,
    /// subscriptions end (their streams see the shutdown) and each sends `complete`; what is
    /// still running after the shutdown timeout is dropped and completed. Then the socket closes
    /// with 1001 (going away).
    async fn shutdown(&mut self, done: &mut mpsc::Receiver<String>) {
        let deadline = tokio::time::sleep(self.state.streaming.shutdown_timeout);
        tokio::pin!(deadline);
        while !self.operations.is_empty() {
            tokio::select! {
                Some(id) = done.recv() => {
                    if let Some(handle) = self.operations.remove(&id) {
                        handle.detach();
                    }
                }
                _ = &mut deadline => break,
            }
        }
        let ids: Vec<String> = self.operations.drain().map(|(id, _)| id).collect();
        for id in ids {
            self.send(protocol::complete(&id)).await;
        }
        self.close(close::GOING_AWAY, "server shutting down").await;
    }

    /// A WebSocket ping frame every interval (what keeps the idle timeout from closing a
    /// quiet but live client), and once acknowledged the subprotocol's keep-alive.
    async fn keep_alive(&self) {
        let _ = self.out.send(Outgoing::Ping).await;
        if !self.acknowledged {
            return;
        }
        match self.protocol {
            Protocol::LegacyWs => self.send(protocol::keep_alive()).await,
            Protocol::TransportWs if self.state.streaming.ws_ping => {
                self.send(protocol::ping()).await
            }
            Protocol::TransportWs => {}
        }
    }

    /// Handles one text message; false ends the connection.
    async fn on_text(&mut self, text: &str) -> bool {
        let message = match protocol::parse(self.protocol, text) {
            Ok(message) => message,
            Err(reason) => {
                self.close(close::BAD_REQUEST, &reason).await;
                return false;
            }
        };
        match message {
            ClientMessage::Init(params) => self.on_init(params).await,
            ClientMessage::Ping(payload) => {
                self.send(protocol::pong(payload)).await;
                true
            }
            ClientMessage::Pong => true,
            ClientMessage::Subscribe { id, params } => self.on_subscribe(id, params).await,
            ClientMessage::Complete { id } => {
                // Dropping the handle aborts the task and drops the executor's stream.
                self.operations.remove(&id);
                true
            }
            ClientMessage::Terminate => {
                self.close(1000, "terminated").await;
                false
            }
        }
    }

    async fn on_init(&mut self, params: JsonMap) -> bool {
        if self.init_received {
            self.close(close::TOO_MANY_INITS, "Too many initialisation requests")
                .await;
            return false;
        }
        self.init_received = true;
        let context = self.context.clone().with_connection_params(params.clone());
        let verdict = match &self.state.hooks.on_connect {
            Some(hook) => {
                hook(ConnectionInit {
                    headers: self.headers.clone(),
                    params,
                    context,
                })
                .await
            }
            None => Ok(context),
        };
        match verdict {
            Ok(context) => {
                self.context = context;
                self.acknowledged = true;
                self.send(protocol::ack()).await;
                if self.protocol == Protocol::LegacyWs {
                    self.send(protocol::keep_alive()).await;
                }
                true
            }
            Err(reason) => {
                if self.protocol == Protocol::LegacyWs {
                    self.send(protocol::connection_error(&reason)).await;
                }
                self.close(close::FORBIDDEN, &format!("Forbidden: {reason}"))
                    .await;
                false
            }
        }
    }

    async fn on_subscribe(&mut self, id: String, params: Result<GraphQLParams, String>) -> bool {
        if !self.acknowledged {
            self.close(close::UNAUTHORIZED, "Unauthorized").await;
            return false;
        }
        if self.operations.contains_key(&id) {
            self.close(
                close::DUPLICATE_ID,
                &format!("Subscriber for {id} already exists"),
            )
            .await;
            return false;
        }
        let params = match params {
            Ok(params) => params,
            Err(reason) => {
                let error = quilt_executor::GraphQLError::new(reason).with_code("BAD_REQUEST");
                self.send(protocol::error(self.protocol, &id, &[error]))
                    .await;
                self.legacy_complete(&id).await;
                return true;
            }
        };
        let max = self.state.limits.max_operations_per_connection;
        if self.operations.len() >= max {
            let error = quilt_executor::GraphQLError::new(format!(
                "this connection runs its maximum of {max} operations"
            ))
            .with_code("TOO_MANY_OPERATIONS");
            self.send(protocol::error(self.protocol, &id, &[error]))
                .await;
            self.legacy_complete(&id).await;
            return true;
        }
        // Prepared in the operation's task: a persisted query's lookup must not hold up the
        // connection's other messages.
        let task = tokio::spawn(run_operation(
            self.state.clone(),
            self.protocol,
            id.clone(),
            (params, self.context.clone()),
            self.out.clone(),
            self.done_tx.clone(),
            self.peer,
        ));
        self.operations.insert(id, AbortOnDropHandle::new(task));
        true
    }

    async fn legacy_complete(&self, id: &str) {
        if self.protocol == Protocol::LegacyWs {
            self.send(protocol::complete(id)).await;
        }
    }
}

/// Runs one operation and sends its results; the connection drops this task to stop it.
async fn run_operation(
    state: SharedState,
    protocol: Protocol,
    id: String,
    (params, context): (GraphQLParams, Context),
    out: mpsc::Sender<Outgoing>,
    done: mpsc::Sender<String>,
    peer: Option<IpAddr>,
) {
    let send = |text: String| {
        let out = out.clone();
        async move { out.send(Outgoing::Text(text)).await.is_ok() }
    };
    let finish = |errors: Vec<quilt_executor::GraphQLError>| {
        let id = id.clone();
        async move {
            send(protocol::error(protocol, &id, &errors)).await;
            if protocol == Protocol::LegacyWs {
                send(protocol::complete(&id)).await;
            }
        }
    };
    let request = match crate::operation::prepare_operation(&state, params, context).await {
        Ok(request) => request,
        Err(refusal) => {
            finish(refusal.into_result().errors).await;
            let _ = done.send(id).await;
            return;
        }
    };
    let response = match execute(&state, request, "websocket", peer).await {
        Ok(response) => response,
        Err(failure) => {
            finish(vec![failure.into_graphql_error()]).await;
            let _ = done.send(id).await;
            return;
        }
    };
    let results = match response {
        // A single result is sent even when shutdown began while it was computed.
        Response::Single(result) => {
            if send(protocol::next(protocol, &id, &result)).await {
                send(protocol::complete(&id)).await;
            }
            let _ = done.send(id).await;
            return;
        }
        Response::Stream(results) => results,
    };
    let mut results = std::pin::pin!(pump(results, state.shutdown.clone(), None));
    while let Some(item) = results.next().await {
        match item {
            Pumped::Result(result) => {
                if !send(protocol::next(protocol, &id, &result)).await {
                    return;
                }
            }
            Pumped::Error(error) => {
                finish(vec![error.to_graphql_error()]).await;
                let _ = done.send(id).await;
                return;
            }
            Pumped::Heartbeat => {}
        }
    }
    send(protocol::complete(&id)).await;
    let _ = done.send(id).await;
}
