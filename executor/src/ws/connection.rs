//! The socket task: one per executor, owning the socket and the table of operations.
//!
//! It opens the socket when the first operation comes (or at once when not lazy), multiplexes
//! every operation over it, answers pings, sends keep-alives, closes the socket when the last
//! operation ended and the lazy close timeout passed, and after an abnormal close reconnects by
//! the [`ReconnectPolicy`](super::ReconnectPolicy), subscribing the active subscriptions again.
//!
//! The task ends when every handle on it is gone: all clones of the executor and every
//! operation stream.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::builder::Config;
use super::handshake::{self, Socket, Writer, WriterTask};
use super::operation::{Command, Item, Kind, Op};
use super::protocol::{ClientMessage, OpId, ServerMessage};
use super::reconnect::is_reconnectable;
use crate::error::{CloseCode, ExecutorError};
use crate::result::{ExecutionResult, GraphQLError};

/// How a socket's life ended.
enum End {
    /// Closed after the last operation (lazy close).
    Idle,
    /// Every handle on the task is gone.
    Shutdown,
    /// Lost or closed by the server, with the error the operations get.
    Lost(ExecutorError),
}

/// The socket task.
pub(crate) struct SocketTask {
    config: Arc<Config>,
    commands: mpsc::Receiver<Command>,
    commands_closed: bool,
    ops: HashMap<u64, Op>,
    /// Whether the current socket carried a message for an operation: only then does a loss
    /// start the reconnection count afresh (a server that accepts and then closes at once is
    /// retried a bounded number of times).
    healthy: bool,
}

impl SocketTask {
    pub(crate) fn new(config: Arc<Config>, commands: mpsc::Receiver<Command>) -> Self {
        Self {
            config,
            commands,
            commands_closed: false,
            ops: HashMap::new(),
            healthy: false,
        }
    }

    /// Runs until every handle is gone.
    pub(crate) async fn run(mut self) {
        let policy = self.config.reconnect.clone();
        let mut connect_now = !self.config.lazy;
        // The loss being recovered from, the attempts made, and the last attempt's failure.
        let mut lost: Option<ExecutorError> = None;
        let mut attempt = 0u32;
        let mut last_failure: Option<ExecutorError> = None;
        // The request params of the connection: chosen when it is first opened, reused by its
        // reconnections.
        let mut request_params = None;
        loop {
            if lost.is_some() && self.ops.is_empty() && self.config.lazy {
                lost = None;
                attempt = 0;
            }
            if lost.is_none() && self.ops.is_empty() && !connect_now {
                match self.commands.recv().await {
                    Some(command) => self.accept_offline(command),
                    None => return,
                }
                continue;
            }
            connect_now = false;
            if let Some(loss) = &lost {
                attempt += 1;
                if attempt > policy.max_attempts {
                    let error = gave_up(loss, attempt - 1, last_failure.take());
                    self.fail_all(&error);
                    lost = None;
                    attempt = 0;
                    continue;
                }
                if !self.wait(policy.backoff(attempt)).await {
                    return;
                }
                if self.ops.is_empty() && self.config.lazy {
                    continue;
                }
            }
            if lost.is_none() {
                request_params = self.opening_params();
            }
            let socket = match handshake::open(&self.config, request_params.as_ref()).await {
                Ok(socket) => socket,
                Err(error) => {
                    match &lost {
                        Some(_) if is_reconnectable(&error) => {
                            tracing::debug!(%error, attempt, "reconnection attempt failed");
                            last_failure = Some(error);
                        }
                        Some(loss) => {
                            let error = gave_up(loss, attempt, Some(error));
                            self.fail_all(&error);
                            lost = None;
                            attempt = 0;
                        }
                        None => self.fail_all(&error),
                    }
                    continue;
                }
            };
            if lost.take().is_some() {
                tracing::debug!(attempt, url = %self.config.url, "reconnected");
            }
            last_failure = None;
            self.healthy = false;
            let end = self.serve(socket).await;
            if self.healthy {
                attempt = 0;
            }
            match end {
                End::Idle => attempt = 0,
                End::Shutdown => return,
                End::Lost(error) => {
                    if is_reconnectable(&error) && policy.max_attempts > 0 {
                        tracing::debug!(%error, "socket lost; reconnecting");
                        self.keep_for_reconnect(&error, policy.resubscribe);
                        lost = Some(error);
                    } else {
                        self.fail_all(&error);
                        attempt = 0;
                    }
                }
            }
        }
    }

    /// The `extensions.connectionParams` of the operation that opens the connection (the
    /// oldest one waiting), if it has any.
    fn opening_params(&self) -> Option<crate::JsonMap> {
        self.ops
            .values()
            .min_by_key(|op| op.id)
            .and_then(|op| op.connection_params.clone())
    }

    /// Takes a command while there is no socket.
    fn accept_offline(&mut self, command: Command) {
        match command {
            Command::Start(op) => {
                self.ops.insert(op.id, op);
            }
            Command::Stop { id } => {
                self.ops.remove(&id);
            }
        }
    }

    /// Waits `delay` while taking commands; false if every handle is gone.
    async fn wait(&mut self, delay: Duration) -> bool {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => return true,
                command = self.commands.recv(), if !self.commands_closed => match command {
                    Some(command) => self.accept_offline(command),
                    None => {
                        self.commands_closed = true;
                        if self.ops.is_empty() {
                            return false;
                        }
                    }
                },
            }
        }
    }

    /// Ends every operation with `error`.
    fn fail_all(&mut self, error: &ExecutorError) {
        for (_, op) in self.ops.drain() {
            op.fail(error.clone());
        }
    }

    /// After a loss: queries and mutations that were sent fail (they are not sent twice);
    /// subscriptions wait for the new socket, or fail if not resubscribing.
    fn keep_for_reconnect(&mut self, error: &ExecutorError, resubscribe: bool) {
        let failed: Vec<u64> = self
            .ops
            .values()
            .filter(|op| op.sent && (op.kind == Kind::Single || !resubscribe))
            .map(|op| op.id)
            .collect();
        for id in failed {
            if let Some(op) = self.ops.remove(&id) {
                op.fail(error.clone());
            }
        }
        for op in self.ops.values_mut() {
            op.sent = false;
        }
    }

    /// Serves one open socket until it closes.
    async fn serve(&mut self, socket: Socket) -> End {
        let Socket {
            mut reader,
            writer,
            mut task,
        } = socket;
        let protocol = self.config.subprotocol;
        let mut pending: Vec<u64> = self.ops.keys().copied().collect();
        pending.sort_unstable();
        for id in pending {
            if !self.subscribe(&writer, id).await {
                return End::Lost(self.writer_failed(task.failed().await));
            }
        }

        let keepalive = self.config.keepalive;
        let period = keepalive.unwrap_or(Duration::from_secs(3600));
        let mut ticker = tokio::time::interval_at(Instant::now() + period, period);
        let mut ping_deadline: Option<Instant> = None;
        let mut idle_deadline = self.idle_deadline(None);

        loop {
            let now = Instant::now();
            tokio::select! {
                biased;
                message = reader.next() => {
                    ping_deadline = None;
                    if let Some(end) = self.on_message(message, &writer).await {
                        return match end {
                            End::Lost(error @ ExecutorError::Protocol { .. }) => {
                                task.close(writer, handshake::BAD_RESPONSE, "invalid message").await;
                                End::Lost(error)
                            }
                            end => end,
                        };
                    }
                }
                command = self.commands.recv(), if writer.has_room() && !self.commands_closed => {
                    match command {
                        Some(Command::Start(op)) => {
                            let id = op.id;
                            self.ops.insert(id, op);
                            self.subscribe(&writer, id).await;
                        }
                        Some(Command::Stop { id }) => {
                            if let Some(op) = self.ops.remove(&id) && op.sent {
                                self.complete_upstream(&writer, id);
                            }
                        }
                        None => self.commands_closed = true,
                    }
                    if self.commands_closed && self.ops.is_empty() {
                        self.goodbye(writer, task, "client gone").await;
                        return End::Shutdown;
                    }
                }
                reason = task.failed() => return End::Lost(self.writer_failed(reason)),
                _ = tokio::time::sleep_until(ping_deadline.unwrap_or(now)), if ping_deadline.is_some() => {
                    return End::Lost(ExecutorError::Closed {
                        endpoint: self.config.url.clone(),
                        code: Some(CloseCode::Abnormal),
                        reason: format!(
                            "no answer to a keep-alive ping within {:?}",
                            self.config.pong_timeout
                        ),
                    });
                }
                _ = ticker.tick(), if keepalive.is_some() => {
                    let sent = match ClientMessage::Ping.encode(protocol) {
                        Some(ping) => writer.try_send(ping),
                        None => writer.try_send_raw(Message::Ping(Default::default())),
                    };
                    if sent && ping_deadline.is_none() {
                        ping_deadline = Some(Instant::now() + self.config.pong_timeout);
                    }
                }
                _ = tokio::time::sleep_until(idle_deadline.unwrap_or(now)), if idle_deadline.is_some() => {
                    self.goodbye(writer, task, "no active operations").await;
                    return End::Idle;
                }
            }
            idle_deadline = self.idle_deadline(idle_deadline);
        }
    }

    /// When to close the idle socket: set when the last operation ends (lazy mode only), kept
    /// while idle, cleared when an operation starts.
    fn idle_deadline(&self, current: Option<Instant>) -> Option<Instant> {
        if !self.config.lazy || !self.ops.is_empty() {
            return None;
        }
        current.or_else(|| Some(Instant::now() + self.config.lazy_close_timeout))
    }

    /// Closes the socket normally (legacy: after `connection_terminate`).
    async fn goodbye(&self, writer: Writer, task: WriterTask, reason: &str) {
        if let Some(terminate) = ClientMessage::Terminate.encode(self.config.subprotocol) {
            writer.try_send(terminate);
        }
        task.close(writer, CloseCode::Normal.as_u16(), reason).await;
    }

    fn writer_failed(&self, reason: String) -> ExecutorError {
        ExecutorError::Closed {
            endpoint: self.config.url.clone(),
            code: Some(CloseCode::Abnormal),
            reason,
        }
    }

    /// Sends `subscribe` for an operation; false if the writer is gone.
    async fn subscribe(&mut self, writer: &Writer, id: u64) -> bool {
        let Some(op) = self.ops.get_mut(&id) else {
            return true;
        };
        let message = ClientMessage::Subscribe {
            id,
            payload: &op.payload,
        };
        let Some(text) = message.encode(self.config.subprotocol) else {
            return true;
        };
        if !writer.send(text).await {
            return false;
        }
        op.sent = true;
        if let Some(ready) = op.ready.take() {
            let _ = ready.send(Ok(()));
        }
        true
    }

    /// Tells the server an operation is over on our side.
    fn complete_upstream(&self, writer: &Writer, id: u64) {
        if let Some(text) = (ClientMessage::Complete { id }).encode(self.config.subprotocol) {
            writer.try_send(text);
        }
    }

    /// Handles what the reader gave; `Some` when the socket's life is over.
    async fn on_message(
        &mut self,
        message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
        writer: &Writer,
    ) -> Option<End> {
        let url = &self.config.url;
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                return Some(End::Lost(handshake::closed_by_server(url, frame)));
            }
            Some(Ok(Message::Binary(_))) => {
                return Some(End::Lost(ExecutorError::Protocol {
                    endpoint: url.clone(),
                    message: "invalid message from the server: a binary frame".into(),
                }));
            }
            Some(Ok(_)) => return None,
            Some(Err(error)) => return Some(End::Lost(handshake::read_error(&self.config, error))),
            None => {
                return Some(End::Lost(ExecutorError::Closed {
                    endpoint: url.clone(),
                    code: Some(CloseCode::Abnormal),
                    reason: "the connection dropped".into(),
                }));
            }
        };
        let message = match ServerMessage::decode(self.config.subprotocol, &text) {
            Ok(message) => message,
            Err(message) => {
                return Some(End::Lost(ExecutorError::Protocol {
                    endpoint: url.clone(),
                    message: format!("invalid message from the server: {message}"),
                }));
            }
        };
        match message {
            ServerMessage::Ping => {
                if let Some(pong) = ClientMessage::Pong.encode(self.config.subprotocol) {
                    writer.try_send(pong);
                }
            }
            ServerMessage::Pong | ServerMessage::KeepAlive | ServerMessage::ConnectionAck => {}
            ServerMessage::ConnectionError(payload) => {
                return Some(End::Lost(ExecutorError::Closed {
                    endpoint: url.clone(),
                    code: Some(CloseCode::Forbidden),
                    reason: format!("the server sent connection_error: {payload}"),
                }));
            }
            ServerMessage::Next {
                id: OpId(Some(id)),
                payload,
            } => {
                self.deliver(writer, id, payload).await;
            }
            ServerMessage::Error {
                id: OpId(Some(id)),
                errors,
            } => {
                if let Some(op) = self.ops.remove(&id) {
                    finish_with_errors(op, errors);
                }
            }
            ServerMessage::Complete { id: OpId(Some(id)) } => {
                if let Some(op) = self.ops.remove(&id)
                    && op.kind == Kind::Single
                {
                    op.fail(ExecutorError::Protocol {
                        endpoint: url.clone(),
                        message: format!("operation {id} completed without a result"),
                    });
                }
            }
            // Messages for ids that are not ours, or for operations already over, are ignored.
            ServerMessage::Next { .. }
            | ServerMessage::Error { .. }
            | ServerMessage::Complete { .. } => {}
        }
        None
    }

    /// Hands a result to its operation. A single result ends the operation; a stream's full
    /// buffer holds the socket back for at most the slow consumer timeout.
    async fn deliver(&mut self, writer: &Writer, id: u64, result: ExecutionResult) {
        let Some(op) = self.ops.get(&id) else { return };
        if op.kind == Kind::Single {
            if let Some(op) = self.ops.remove(&id) {
                let _ = op.events.try_send(Ok(result));
            }
            return;
        }
        let verdict = match op.events.try_send(Ok(result)) {
            Ok(()) => return,
            Err(mpsc::error::TrySendError::Closed(_)) => None,
            Err(mpsc::error::TrySendError::Full(item)) => {
                let timeout = self.config.slow_consumer_timeout;
                match tokio::time::timeout(timeout, op.events.send(item)).await {
                    Ok(Ok(())) => return,
                    Ok(Err(_)) => None,
                    Err(_) => Some(ExecutorError::Timeout {
                        endpoint: format!(
                            "{} (operation {id}: its consumer did not keep up)",
                            self.config.url
                        ),
                        after: timeout,
                    }),
                }
            }
        };
        // The consumer is gone or too slow: the operation is over here and upstream.
        if let Some(op) = self.ops.remove(&id) {
            if op.sent {
                self.complete_upstream(writer, id);
            }
            if let Some(error) = verdict {
                op.fail(error);
            }
        }
    }
}

/// Ends an operation with the GraphQL errors of an `error` message: they are a result (the
/// service rejected the operation), not a transport failure.
fn finish_with_errors(op: Op, errors: Vec<GraphQLError>) {
    let item: Item = Ok(ExecutionResult {
        errors,
        ..ExecutionResult::default()
    });
    if let Some(ready) = op.ready {
        let _ = ready.send(Ok(()));
    }
    if let Err(mpsc::error::TrySendError::Full(item)) = op.events.try_send(item) {
        let events = op.events;
        tokio::spawn(async move {
            let _ = events.send(item).await;
        });
    }
}

/// The error every operation gets when reconnecting failed.
fn gave_up(loss: &ExecutorError, attempts: u32, last: Option<ExecutorError>) -> ExecutorError {
    let (endpoint, code, reason) = match loss {
        ExecutorError::Closed {
            endpoint,
            code,
            reason,
        } => (endpoint.clone(), *code, reason.clone()),
        other => (String::new(), None, other.to_string()),
    };
    let last = last.map_or_else(String::new, |e| format!(" (last attempt: {e})"));
    ExecutorError::Closed {
        endpoint,
        code: code.or(Some(CloseCode::Abnormal)),
        reason: format!("{reason}; gave up after {attempts} reconnection attempts{last}"),
    }
}
