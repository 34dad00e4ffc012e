//! Opening a socket: the HTTP upgrade, `connection_init`, waiting for `connection_ack`; and the
//! writer task that owns the sending half.

use std::sync::Arc;
use std::time::Duration;

use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use http::HeaderValue;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::builder::{Config, ConnectionParams};
use super::protocol::{ClientMessage, ServerMessage, excerpt};
use crate::error::{CloseCode, ExecutorError};
use crate::result::JsonMap;

type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The receiving half of an open socket.
pub(crate) type Reader = SplitStream<WsStream>;

/// Messages queued for the writer task at most.
const WRITE_QUEUE: usize = 256;

/// The close code the client uses when the server sent something it cannot read (graphql-ws'
/// "bad response").
pub(crate) const BAD_RESPONSE: u16 = 4004;

/// An open, acknowledged socket.
pub(crate) struct Socket {
    pub(crate) reader: Reader,
    pub(crate) writer: Writer,
    pub(crate) task: WriterTask,
}

/// The queue of the writer task, which owns the sending half and writes queued messages in
/// batches (feed, then one flush), each batch within the write timeout.
pub(crate) struct Writer {
    queue: mpsc::Sender<Message>,
}

/// The writer task; dropping this aborts it.
pub(crate) struct WriterTask(JoinHandle<Result<(), String>>);

fn spawn_writer(sink: SplitSink<WsStream, Message>, timeout: Duration) -> (Writer, WriterTask) {
    let (queue, rx) = mpsc::channel(WRITE_QUEUE);
    let task = tokio::spawn(write_loop(sink, rx, timeout));
    (Writer { queue }, WriterTask(task))
}

impl Writer {
    /// Whether a message can be queued without waiting.
    pub(crate) fn has_room(&self) -> bool {
        self.queue.capacity() > 0
    }

    /// Queues a message if there is room.
    pub(crate) fn try_send(&self, message: String) -> bool {
        self.queue.try_send(Message::text(message)).is_ok()
    }

    /// Queues a raw WebSocket message if there is room.
    pub(crate) fn try_send_raw(&self, message: Message) -> bool {
        self.queue.try_send(message).is_ok()
    }

    /// Queues a message, waiting for room (the writer task drains the queue within the write
    /// timeout per batch, or fails and drops it). False if the writer is gone.
    pub(crate) async fn send(&self, message: String) -> bool {
        self.queue.send(Message::text(message)).await.is_ok()
    }
}

impl WriterTask {
    /// Resolves when the writer task ended: the socket failed (or was closed). Gives the reason.
    pub(crate) async fn failed(&mut self) -> String {
        match (&mut self.0).await {
            Ok(Ok(())) => "the socket was closed".to_owned(),
            Ok(Err(reason)) => reason,
            Err(_) => "the writer task ended".to_owned(),
        }
    }

    /// Sends a close frame (after the messages already queued) and waits a moment for it to go.
    pub(crate) async fn close(mut self, writer: Writer, code: u16, reason: &str) {
        let frame = CloseFrame {
            code: code.into(),
            reason: reason.to_owned().into(),
        };
        if writer.queue.try_send(Message::Close(Some(frame))).is_ok() {
            drop(writer);
            let _ = tokio::time::timeout(Duration::from_secs(1), &mut self.0).await;
        }
    }
}

impl Drop for WriterTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn write_loop(
    mut sink: SplitSink<WsStream, Message>,
    mut rx: mpsc::Receiver<Message>,
    timeout: Duration,
) -> Result<(), String> {
    while let Some(first) = rx.recv().await {
        let mut closing = matches!(first, Message::Close(_));
        let batch = async {
            sink.feed(first).await?;
            while !closing {
                let Ok(next) = rx.try_recv() else { break };
                closing = matches!(next, Message::Close(_));
                sink.feed(next).await?;
            }
            sink.flush().await
        };
        match tokio::time::timeout(timeout, batch).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("could not write to the socket: {e}")),
            Err(_) => {
                return Err(format!(
                    "a write to the socket took longer than {timeout:?}"
                ));
            }
        }
        if closing {
            return Ok(());
        }
    }
    Ok(())
}

/// Opens a socket to the configured URL, sends `connection_init` and waits for
/// `connection_ack`, each step within its timeout.
///
/// `request_params` are the `extensions.connectionParams` of the operation that opens the
/// connection, merged over the configured params.
pub(crate) async fn open(
    config: &Arc<Config>,
    request_params: Option<&JsonMap>,
) -> Result<Socket, ExecutorError> {
    let endpoint = || config.url.clone();
    let protocol = config.subprotocol;
    let mut request =
        config
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| ExecutorError::InvalidRequest {
                endpoint: endpoint(),
                message: format!("not a WebSocket URL: {e}"),
            })?;
    let headers = request.headers_mut();
    for (name, value) in &config.headers {
        headers.append(name, value.clone());
    }
    headers.insert(
        http::header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(protocol.name()),
    );
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size));
    let connecting = tokio_tungstenite::connect_async_with_config(request, Some(ws_config), true);
    let (stream, _response) = tokio::time::timeout(config.connect_timeout, connecting)
        .await
        .map_err(|_| ExecutorError::Timeout {
            endpoint: endpoint(),
            after: config.connect_timeout,
        })?
        .map_err(|e| connect_error(&config.url, e))?;
    let (sink, mut reader) = stream.split();
    let (writer, task) = spawn_writer(sink, config.write_timeout);

    let params = connection_params(config, request_params).await?;
    let init = ClientMessage::ConnectionInit(params.as_ref()).encode(protocol);
    if let Some(init) = init {
        writer.send(init).await;
    }

    let deadline = Instant::now() + config.ack_timeout;
    loop {
        let Ok(next) = tokio::time::timeout_at(deadline, reader.next()).await else {
            let code = CloseCode::ConnectionAckTimeout;
            task.close(writer, code.as_u16(), "connection acknowledgement timeout")
                .await;
            return Err(ExecutorError::Closed {
                endpoint: endpoint(),
                code: Some(code),
                reason: format!(
                    "the server did not acknowledge connection_init within {:?}",
                    config.ack_timeout
                ),
            });
        };
        let text = match next {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => return Err(closed_by_server(&config.url, frame)),
            Some(Ok(Message::Binary(_))) => {
                let message = "a binary message before connection_ack".to_owned();
                return Err(bad_response(&config.url, writer, task, message).await);
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(read_error(config, e)),
            None => {
                return Err(ExecutorError::Closed {
                    endpoint: endpoint(),
                    code: Some(CloseCode::Abnormal),
                    reason: "the connection dropped before connection_ack".into(),
                });
            }
        };
        match ServerMessage::decode(protocol, &text) {
            Ok(ServerMessage::ConnectionAck) => break,
            Ok(ServerMessage::Ping) => {
                if let Some(pong) = ClientMessage::Pong.encode(protocol) {
                    writer.try_send(pong);
                }
            }
            Ok(ServerMessage::KeepAlive | ServerMessage::Pong) => {}
            Ok(ServerMessage::ConnectionError(payload)) => {
                task.close(writer, CloseCode::Normal.as_u16(), "connection_error")
                    .await;
                return Err(ExecutorError::Closed {
                    endpoint: endpoint(),
                    code: Some(CloseCode::Forbidden),
                    reason: format!(
                        "the server refused the connection (connection_error): {payload}"
                    ),
                });
            }
            Ok(other) => {
                let message = format!("expected connection_ack, got {other:?}");
                return Err(bad_response(&config.url, writer, task, message).await);
            }
            Err(message) => return Err(bad_response(&config.url, writer, task, message).await),
        }
    }
    Ok(Socket {
        reader,
        writer,
        task,
    })
}

/// The configured params, computed if need be, the forwarded `token` over them, and the
/// request's params merged over those.
async fn connection_params(
    config: &Config,
    request_params: Option<&JsonMap>,
) -> Result<Option<JsonMap>, ExecutorError> {
    let base = match &config.connection_params {
        ConnectionParams::None => None,
        ConnectionParams::Static(params) => Some(params.clone()),
        ConnectionParams::Computed(compute) => {
            let computed = tokio::time::timeout(config.connect_timeout, compute())
                .await
                .map_err(|_| ExecutorError::Timeout {
                    endpoint: config.url.clone(),
                    after: config.connect_timeout,
                })??;
            Some(computed)
        }
    };
    let base = match &config.token {
        Some(token) => {
            let mut params = base.unwrap_or_default();
            params.insert(
                super::authorization::TOKEN.to_owned(),
                serde_json::Value::String(token.clone()),
            );
            Some(params)
        }
        None => base,
    };
    Ok(match (base, request_params) {
        (base, None) => base,
        (None, Some(params)) => Some(params.clone()),
        (Some(mut base), Some(params)) => {
            base.extend(params.iter().map(|(k, v)| (k.clone(), v.clone())));
            Some(base)
        }
    })
}

/// Closes the socket with 4004 (the server sent something unreadable) and says what it was.
pub(crate) async fn bad_response(
    endpoint: &str,
    writer: Writer,
    task: WriterTask,
    message: String,
) -> ExecutorError {
    task.close(writer, BAD_RESPONSE, "invalid message").await;
    ExecutorError::Protocol {
        endpoint: endpoint.to_owned(),
        message: format!("invalid message from the server: {message}"),
    }
}

/// The error for a close frame from the server.
pub(crate) fn closed_by_server(endpoint: &str, frame: Option<CloseFrame>) -> ExecutorError {
    match frame {
        Some(frame) => {
            let code = CloseCode::from(u16::from(frame.code));
            let reason = if frame.reason.is_empty() {
                "the server closed the connection".to_owned()
            } else {
                format!(
                    "the server closed the connection: {}",
                    excerpt(&frame.reason)
                )
            };
            ExecutorError::Closed {
                endpoint: endpoint.to_owned(),
                code: Some(code),
                reason,
            }
        }
        None => ExecutorError::Closed {
            endpoint: endpoint.to_owned(),
            code: Some(CloseCode::Abnormal),
            reason: "the server closed the connection without a close code".into(),
        },
    }
}

/// The error for a failed read on an open socket.
pub(crate) fn read_error(config: &Config, error: tungstenite::Error) -> ExecutorError {
    let endpoint = config.url.as_str();
    match error {
        tungstenite::Error::Capacity(_) => ExecutorError::ResponseTooLarge {
            endpoint: endpoint.to_owned(),
            limit: config.max_message_size,
        },
        tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            ExecutorError::Closed {
                endpoint: endpoint.to_owned(),
                code: Some(CloseCode::Abnormal),
                reason: "the connection dropped without a close frame".into(),
            }
        }
        tungstenite::Error::Protocol(e) => ExecutorError::Protocol {
            endpoint: endpoint.to_owned(),
            message: format!("WebSocket protocol violation: {e}"),
        },
        other => ExecutorError::Closed {
            endpoint: endpoint.to_owned(),
            code: Some(CloseCode::Abnormal),
            reason: format!("the connection dropped: {other}"),
        },
    }
}

/// The error for a failed connection attempt.
fn connect_error(endpoint: &str, error: tungstenite::Error) -> ExecutorError {
    let endpoint = endpoint.to_owned();
    match error {
        tungstenite::Error::Http(response) => {
            let body = response.body().as_deref().unwrap_or_default();
            let body = String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned();
            ExecutorError::HttpStatus {
                endpoint,
                status: response.status().as_u16(),
                body_excerpt: body,
            }
        }
        tungstenite::Error::Url(e) => ExecutorError::InvalidRequest {
            endpoint,
            message: format!("not a WebSocket URL: {e}"),
        },
        tungstenite::Error::Protocol(e) => ExecutorError::Protocol {
            endpoint,
            message: format!("the WebSocket upgrade failed: {e}"),
        },
        other => ExecutorError::Connect {
            endpoint,
            message: other.to_string(),
            source: Some(Arc::new(other)),
        },
    }
}
