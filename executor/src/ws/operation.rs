//! One operation on the shared socket: what the socket task keeps of it, and the consumer's end
//! (a stream that completes the operation upstream when dropped).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::{mpsc, oneshot};

use crate::error::ExecutorError;
use crate::result::{ExecutionResult, JsonMap};

/// An item of an operation's event channel.
pub(crate) type Item = Result<ExecutionResult, ExecutorError>;

/// What executors ask of the socket task.
pub(crate) enum Command {
    /// Run an operation.
    Start(Op),
    /// The consumer is gone: complete the operation upstream.
    Stop { id: u64 },
}

/// Whether an operation expects one result or a stream of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A query or mutation: the first result is the answer.
    Single,
    /// A subscription or incremental delivery: results until `complete`.
    Stream,
}

/// An operation as the socket task keeps it.
pub(crate) struct Op {
    pub(crate) id: u64,
    pub(crate) kind: Kind,
    /// The `subscribe` payload, encoded once.
    pub(crate) payload: Arc<str>,
    /// The operation's `extensions.connectionParams`, used if it opens the connection.
    pub(crate) connection_params: Option<JsonMap>,
    /// Where results go.
    pub(crate) events: mpsc::Sender<Item>,
    /// Told once the operation is on the wire (or failed before); streams only.
    pub(crate) ready: Option<oneshot::Sender<Result<(), ExecutorError>>>,
    /// Whether `subscribe` was sent on the current socket.
    pub(crate) sent: bool,
}

impl Op {
    /// Ends the operation with `error`: through `ready` if it never started, else as the last
    /// item of its stream. The socket task never waits for this: when the consumer's buffer is
    /// full, a small task waits for room (it ends when the item is taken or the consumer drops
    /// the stream).
    pub(crate) fn fail(mut self, error: ExecutorError) {
        match self.ready.take() {
            Some(ready) => {
                let _ = ready.send(Err(error));
            }
            None => {
                if let Err(mpsc::error::TrySendError::Full(item)) = self.events.try_send(Err(error))
                {
                    let events = self.events;
                    tokio::spawn(async move {
                        let _ = events.send(item).await;
                    });
                }
            }
        }
    }
}

/// The consumer's end of an operation: results in order, an `Err` as the last item when the
/// transport failed. Dropping it before the end sends `complete` (legacy: `stop`) upstream.
pub(crate) struct OperationStream {
    id: u64,
    events: mpsc::Receiver<Item>,
    commands: mpsc::Sender<Command>,
    done: bool,
}

impl OperationStream {
    pub(crate) fn new(
        id: u64,
        events: mpsc::Receiver<Item>,
        commands: mpsc::Sender<Command>,
    ) -> Self {
        Self {
            id,
            events,
            commands,
            done: false,
        }
    }

    /// The answer of a single-result operation; once it is here, the socket task has forgotten
    /// the operation and nothing needs to be sent upstream on drop.
    pub(crate) async fn recv_single(&mut self) -> Option<Item> {
        let item = self.events.recv().await;
        self.done = true;
        item
    }
}

impl Stream for OperationStream {
    type Item = Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let polled = self.events.poll_recv(cx);
        match &polled {
            Poll::Ready(None) => self.done = true,
            Poll::Ready(Some(Err(_))) => {
                // An error is the last item; the socket task has already forgotten the operation.
                self.done = true;
                self.events.close();
            }
            _ => {}
        }
        polled
    }
}

impl Drop for OperationStream {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let stop = Command::Stop { id: self.id };
        match self.commands.try_send(stop) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(stop)) => {
                // The queue is full: wait for room in the background (bounded by the socket
                // task's progress). Should there be no runtime, the socket task still notices the
                // closed channel at the operation's next event.
                let commands = self.commands.clone();
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    runtime.spawn(async move {
                        let _ = commands.send(stop).await;
                    });
                }
            }
        }
    }
}
