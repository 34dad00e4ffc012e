//! The messages of `graphql-transport-ws` and of the legacy `graphql-ws`
//! (subscriptions-transport-ws), read and written.

use quilt_executor::{ExecutionResult, GraphQLError, JsonMap};
use serde_json::{Value, json};

use crate::operation::params::GraphQLParams;

/// The subprotocol of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `graphql-transport-ws` (the graphql-ws library).
    TransportWs,
    /// `graphql-ws`, the legacy subscriptions-transport-ws protocol.
    LegacyWs,
}

impl Protocol {
    /// The subprotocol name.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::TransportWs => "graphql-transport-ws",
            Protocol::LegacyWs => "graphql-ws",
        }
    }

    /// The protocol with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim() {
            "graphql-transport-ws" => Some(Protocol::TransportWs),
            "graphql-ws" => Some(Protocol::LegacyWs),
            _ => None,
        }
    }
}

/// A message from the client.
#[derive(Debug)]
pub enum ClientMessage {
    /// `connection_init`.
    Init(JsonMap),
    /// `ping` (graphql-transport-ws).
    Ping(Option<Value>),
    /// `pong` (graphql-transport-ws).
    Pong,
    /// `subscribe` / `start`.
    Subscribe {
        /// The operation id.
        id: String,
        /// The request.
        params: Result<GraphQLParams, String>,
    },
    /// `complete` / `stop`.
    Complete {
        /// The operation id.
        id: String,
    },
    /// `connection_terminate` (legacy).
    Terminate,
}

/// Reads a text message; `Err` is the reason for closing with 4400.
pub fn parse(protocol: Protocol, text: &str) -> Result<ClientMessage, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("Invalid message received: {e}"))?;
    let Value::Object(mut map) = value else {
        return Err("Invalid message received: not an object".into());
    };
    let kind = match map.remove("type") {
        Some(Value::String(kind)) => kind,
        _ => return Err("Invalid message received: no `type`".into()),
    };
    let id = |map: &mut JsonMap| match map.remove("id") {
        Some(Value::String(id)) if !id.is_empty() => Ok(id),
        _ => Err(format!(
            "Invalid message received: `{kind}` needs a string `id`"
        )),
    };
    match (protocol, kind.as_str()) {
        (_, "connection_init") => match map.remove("payload") {
            None | Some(Value::Null) => Ok(ClientMessage::Init(JsonMap::new())),
            Some(Value::Object(params)) => Ok(ClientMessage::Init(params)),
            Some(_) => Err(
                "Invalid message received: the connection_init payload must be an object".into(),
            ),
        },
        (Protocol::TransportWs, "ping") => Ok(ClientMessage::Ping(map.remove("payload"))),
        (Protocol::TransportWs, "pong") => Ok(ClientMessage::Pong),
        (Protocol::TransportWs, "subscribe") | (Protocol::LegacyWs, "start") => {
            let id = id(&mut map)?;
            let params = match map.remove("payload") {
                Some(payload @ Value::Object(_)) => {
                    GraphQLParams::from_value(payload).map_err(|e| e.to_string())
                }
                _ => {
                    return Err(
                        "Invalid message received: `subscribe` needs an object `payload`".into(),
                    );
                }
            };
            if protocol == Protocol::TransportWs
                && let Err(reason) = &params
            {
                return Err(format!("Invalid message received: {reason}"));
            }
            Ok(ClientMessage::Subscribe { id, params })
        }
        (Protocol::TransportWs, "complete") | (Protocol::LegacyWs, "stop") => {
            Ok(ClientMessage::Complete { id: id(&mut map)? })
        }
        (Protocol::LegacyWs, "connection_terminate") => Ok(ClientMessage::Terminate),
        (_, other) => Err(format!("Invalid message received: unknown type {other:?}")),
    }
}

/// `connection_ack`.
pub fn ack() -> String {
    json!({"type": "connection_ack"}).to_string()
}

/// `pong` with the ping's payload.
pub fn pong(payload: Option<Value>) -> String {
    match payload {
        Some(payload) => json!({"type": "pong", "payload": payload}),
        None => json!({"type": "pong"}),
    }
    .to_string()
}

/// The server's `ping` (graphql-transport-ws).
pub fn ping() -> String {
    json!({"type": "ping"}).to_string()
}

/// The legacy keep-alive.
pub fn keep_alive() -> String {
    json!({"type": "ka"}).to_string()
}

/// A result: `next` or legacy `data`.
pub fn next(protocol: Protocol, id: &str, result: &ExecutionResult) -> String {
    let kind = match protocol {
        Protocol::TransportWs => "next",
        Protocol::LegacyWs => "data",
    };
    json!({"type": kind, "id": id, "payload": result}).to_string()
}

/// An operation error: `error` with the errors (graphql-transport-ws), or, for the legacy
/// protocol, `data` with the errors (the legacy client reports it to the subscriber).
pub fn error(protocol: Protocol, id: &str, errors: &[GraphQLError]) -> String {
    match protocol {
        Protocol::TransportWs => json!({"type": "error", "id": id, "payload": errors}),
        Protocol::LegacyWs => json!({"type": "data", "id": id, "payload": {"errors": errors}}),
    }
    .to_string()
}

/// `complete`.
pub fn complete(id: &str) -> String {
    json!({"type": "complete", "id": id}).to_string()
}

/// The legacy `connection_error`.
pub fn connection_error(message: &str) -> String {
    json!({"type": "connection_error", "payload": {"message": message}}).to_string()
}
