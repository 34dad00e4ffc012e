//! The messages of the two GraphQL-over-WebSocket subprotocols, encoded and decoded.
//!
//! - `graphql-transport-ws` (the graphql-ws library): `connection_init`/`connection_ack`,
//!   `ping`/`pong`, `subscribe`, `next`, `error`, `complete`.
//! - `graphql-ws` (the legacy subscriptions-transport-ws library): `connection_init`,
//!   `connection_ack`/`connection_error`, `ka`, `start`, `stop`, `data`, `error`, `complete`,
//!   `connection_terminate`.
//!
//! Both are mapped onto one vocabulary ([`ClientMessage`], [`ServerMessage`]) so that the socket
//! task does not care which one it speaks.

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::request::Request;
use crate::result::{ExecutionResult, GraphQLError, JsonMap};

/// The WebSocket subprotocol a [`WsExecutor`](super::WsExecutor) speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Subprotocol {
    /// `graphql-transport-ws`, the protocol of the graphql-ws library (the default; what
    /// graphql-tools' executor-graphql-ws speaks).
    #[default]
    GraphqlTransportWs,
    /// `graphql-ws`, the legacy protocol of subscriptions-transport-ws (what graphql-tools'
    /// executor-legacy-ws speaks). Despite its name it is *not* the graphql-ws library's protocol.
    LegacyGraphqlWs,
}

impl Subprotocol {
    /// The name sent in `Sec-WebSocket-Protocol`.
    pub fn name(self) -> &'static str {
        match self {
            Subprotocol::GraphqlTransportWs => "graphql-transport-ws",
            Subprotocol::LegacyGraphqlWs => "graphql-ws",
        }
    }
}

impl std::fmt::Display for Subprotocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A message the client sends.
#[derive(Debug)]
pub(crate) enum ClientMessage<'a> {
    /// `connection_init` with the connection params.
    ConnectionInit(Option<&'a JsonMap>),
    /// `subscribe` (legacy: `start`) with a payload already encoded as JSON.
    Subscribe { id: u64, payload: &'a str },
    /// `complete` (legacy: `stop`).
    Complete { id: u64 },
    /// `ping` (graphql-transport-ws only).
    Ping,
    /// `pong` (graphql-transport-ws only), answering a server `ping`.
    Pong,
    /// `connection_terminate` (legacy only).
    Terminate,
}

impl ClientMessage<'_> {
    /// The message as JSON text, or `None` when the subprotocol has no such message.
    pub(crate) fn encode(&self, protocol: Subprotocol) -> Option<String> {
        let legacy = protocol == Subprotocol::LegacyGraphqlWs;
        Some(match self {
            ClientMessage::ConnectionInit(params) => match params {
                Some(params) => {
                    let payload = serde_json::to_string(params).unwrap_or_else(|_| "{}".into());
                    format!(r#"{{"type":"connection_init","payload":{payload}}}"#)
                }
                None => r#"{"type":"connection_init"}"#.to_owned(),
            },
            ClientMessage::Subscribe { id, payload } => {
                let kind = if legacy { "start" } else { "subscribe" };
                format!(r#"{{"id":"{id}","type":"{kind}","payload":{payload}}}"#)
            }
            ClientMessage::Complete { id } => {
                let kind = if legacy { "stop" } else { "complete" };
                format!(r#"{{"id":"{id}","type":"{kind}"}}"#)
            }
            ClientMessage::Ping if !legacy => r#"{"type":"ping"}"#.to_owned(),
            ClientMessage::Pong if !legacy => r#"{"type":"pong"}"#.to_owned(),
            ClientMessage::Terminate if legacy => r#"{"type":"connection_terminate"}"#.to_owned(),
            ClientMessage::Ping | ClientMessage::Pong | ClientMessage::Terminate => return None,
        })
    }
}

/// Encodes a request as a `subscribe` payload, once (a re-subscription after a reconnect reuses
/// the text): the object GraphQL over HTTP would post ([`crate::http::request_json`]: variables
/// given as JSON text copied as they are, text the caller wrote not checked again, see
/// [`crate::RawJson`]). `extensions.connectionParams` is left out: it belongs to
/// `connection_init`.
pub(crate) fn encode_payload(request: &Request) -> Result<String, serde_json::Error> {
    let stripped;
    let extensions = if request.extensions.contains_key(CONNECTION_PARAMS) {
        let mut copy = request.extensions.clone();
        copy.remove(CONNECTION_PARAMS);
        stripped = copy;
        &stripped
    } else {
        &request.extensions
    };
    let json = crate::http::request_json(request, extensions, None, true)?;
    String::from_utf8(json).map_err(<serde_json::Error as serde::ser::Error>::custom)
}

/// The request extension holding per-request connection params.
pub(crate) const CONNECTION_PARAMS: &str = "connectionParams";

/// A message the server sends.
// `Next` (a result) is by far the most frequent message; boxing it to shrink the enum would add
// an allocation per event.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum ServerMessage {
    /// `connection_ack`.
    ConnectionAck,
    /// Legacy `connection_error`: the server refused the connection.
    ConnectionError(Value),
    /// Legacy `ka` (keep-alive).
    KeepAlive,
    /// `ping`: must be answered with `pong`.
    Ping,
    /// `pong`.
    Pong,
    /// `next` (legacy: `data`): one result of an operation.
    Next { id: OpId, payload: ExecutionResult },
    /// `error`: the operation failed before or during execution; it is over.
    Error { id: OpId, errors: Vec<GraphQLError> },
    /// `complete`: the operation is over.
    Complete { id: OpId },
}

/// An operation id as the server echoed it: ours are decimal numbers; anything else belongs to
/// no operation of ours and is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OpId(pub(crate) Option<u64>);

#[derive(Deserialize)]
struct RawMessage<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(default)]
    id: Option<Value>,
    /// Kept raw: a result is parsed once, straight into an [`ExecutionResult`].
    #[serde(default, borrow)]
    payload: Option<&'a RawValue>,
}

impl ServerMessage {
    /// Decodes a text frame; the error says what was wrong with it.
    pub(crate) fn decode(protocol: Subprotocol, text: &str) -> Result<Self, String> {
        let raw: RawMessage<'_> = serde_json::from_str(text)
            .map_err(|e| format!("not a {protocol} message ({e}): {}", excerpt(text)))?;
        let legacy = protocol == Subprotocol::LegacyGraphqlWs;
        let kind = raw.kind.as_ref();
        let id = || -> Result<OpId, String> {
            match &raw.id {
                Some(Value::String(s)) => Ok(OpId(s.parse().ok())),
                Some(Value::Number(n)) => Ok(OpId(n.as_u64())),
                _ => Err(format!("`{kind}` message without an id")),
            }
        };
        let value =
            || -> Option<Value> { raw.payload.and_then(|p| serde_json::from_str(p.get()).ok()) };
        let result = || -> Result<ExecutionResult, String> {
            let payload = raw
                .payload
                .ok_or_else(|| format!("`{kind}` message without a payload"))?;
            if !payload.get().trim_start().starts_with('{') {
                return Err(format!(
                    "`{kind}` payload is not an object: {}",
                    excerpt(payload.get())
                ));
            }
            let result: ExecutionResult = serde_json::from_str(payload.get())
                .map_err(|e| format!("`{kind}` payload is not a GraphQL result: {e}"))?;
            if result.is_graphql_response() {
                Ok(result)
            } else {
                Err(format!("`{kind}` payload has neither data nor errors"))
            }
        };
        Ok(match (kind, legacy) {
            ("connection_ack", _) => ServerMessage::ConnectionAck,
            ("ping", false) => ServerMessage::Ping,
            ("pong", false) => ServerMessage::Pong,
            ("ka", true) => ServerMessage::KeepAlive,
            ("connection_error", true) => {
                ServerMessage::ConnectionError(value().unwrap_or(Value::Null))
            }
            ("next", false) | ("data", true) => ServerMessage::Next {
                id: id()?,
                payload: result()?,
            },
            ("error", _) => ServerMessage::Error {
                id: id()?,
                errors: errors_of(value())?,
            },
            ("complete", _) => ServerMessage::Complete { id: id()? },
            (other, _) => {
                return Err(format!(
                    "unexpected {protocol} message type `{other}`: {}",
                    excerpt(text)
                ));
            }
        })
    }
}

/// The errors of an `error` message: graphql-transport-ws sends a list of GraphQL errors; the
/// legacy servers send a list, one error object, or `{errors: [...]}`.
fn errors_of(payload: Option<Value>) -> Result<Vec<GraphQLError>, String> {
    let bad =
        |e: serde_json::Error| format!("`error` payload is not a list of GraphQL errors: {e}");
    match payload {
        Some(Value::Array(items)) => serde_json::from_value(Value::Array(items)).map_err(bad),
        Some(Value::Object(mut map)) => match map.remove("errors") {
            Some(errors) => serde_json::from_value(errors).map_err(bad),
            None => Ok(vec![
                serde_json::from_value(Value::Object(map)).map_err(bad)?,
            ]),
        },
        Some(Value::String(message)) => Ok(vec![GraphQLError::new(message)]),
        _ => Err("`error` message without a payload".to_owned()),
    }
}

/// The start of a message, for error messages.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX: usize = 200;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const MODERN: Subprotocol = Subprotocol::GraphqlTransportWs;
    const LEGACY: Subprotocol = Subprotocol::LegacyGraphqlWs;

    #[test]
    fn encodes_both_subprotocols() {
        let sub = ClientMessage::Subscribe {
            id: 7,
            payload: r#"{"query":"{a}"}"#,
        };
        assert_eq!(
            sub.encode(MODERN).unwrap(),
            r#"{"id":"7","type":"subscribe","payload":{"query":"{a}"}}"#
        );
        assert_eq!(
            sub.encode(LEGACY).unwrap(),
            r#"{"id":"7","type":"start","payload":{"query":"{a}"}}"#
        );
        assert_eq!(
            ClientMessage::Complete { id: 7 }.encode(LEGACY).unwrap(),
            r#"{"id":"7","type":"stop"}"#
        );
        assert!(ClientMessage::Ping.encode(LEGACY).is_none());
        assert!(ClientMessage::Terminate.encode(MODERN).is_none());
        let mut params = JsonMap::new();
        params.insert("token".into(), json!("t"));
        let init: Value = serde_json::from_str(
            &ClientMessage::ConnectionInit(Some(&params))
                .encode(MODERN)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            init,
            json!({"type":"connection_init","payload":{"token":"t"}})
        );
    }

    #[test]
    fn payload_leaves_out_connection_params() {
        let request = Request::new("query Q($a: Int) { a(a: $a) }")
            .unwrap()
            .variable("a", json!(1))
            .operation_name("Q")
            .extension("connectionParams", json!({"token": "t"}))
            .extension("trace", json!(true));
        let payload: Value = serde_json::from_str(&encode_payload(&request).unwrap()).unwrap();
        assert_eq!(
            payload,
            json!({"query":"query Q($a: Int) { a(a: $a) }","operationName":"Q",
                   "variables":{"a":1},"extensions":{"trace":true}})
        );
    }

    #[test]
    fn payload_carries_variables_given_as_json_text() {
        let raw = serde_json::value::RawValue::from_string(r#"[{"id":"1"}]"#.into()).unwrap();
        let request = Request::new("query Q($a: Int, $r: [R]) { a(a: $a, r: $r) }")
            .unwrap()
            .variable("a", json!(1))
            .raw_variable("r", raw);
        let payload: Value = serde_json::from_str(&encode_payload(&request).unwrap()).unwrap();
        assert_eq!(payload["variables"], json!({"a": 1, "r": [{"id": "1"}]}));
        // Text the caller wrote goes in as it is (not checked again), after the values.
        let written = crate::RawJson::from_written(r#"[{"id":"2"}]"#.into());
        let request = request.raw_variable("w", written);
        assert_eq!(
            encode_payload(&request).unwrap(),
            r#"{"query":"query Q($a: Int, $r: [R]) { a(a: $a, r: $r) }","variables":{"a":1,"r":[{"id":"1"}],"w":[{"id":"2"}]}}"#
        );
    }

    #[test]
    fn payload_is_the_text_serde_json_writes_for_it() {
        let request = Request::new("query Q($x: String = \"a\\\"b\\n\") { a(x: $x) }")
            .unwrap()
            .operation_name("Q\u{1}\"")
            .variable("x", json!("\n\u{7f}é"))
            .extension("connectionParams", json!({"token": "t"}))
            .extension("trace", json!("\u{2028}"));
        let expected = serde_json::to_string(&json!({
            "query": request.query(), "operationName": "Q\u{1}\"",
            "variables": {"x": "\n\u{7f}é"}, "extensions": {"trace": "\u{2028}"}
        }))
        .unwrap();
        assert_eq!(encode_payload(&request).unwrap(), expected);
        // Only the query.
        let bare = Request::new("{ a }").unwrap();
        assert_eq!(encode_payload(&bare).unwrap(), r#"{"query":"{ a }"}"#);
    }

    #[test]
    fn decodes_results_and_errors() {
        let next = ServerMessage::decode(
            MODERN,
            r#"{"id":"3","type":"next","payload":{"data":{"a":1}}}"#,
        );
        assert!(matches!(
            next,
            Ok(ServerMessage::Next {
                id: OpId(Some(3)),
                ..
            })
        ));
        let data = ServerMessage::decode(
            LEGACY,
            r#"{"id":"3","type":"data","payload":{"data":null}}"#,
        );
        assert!(matches!(data, Ok(ServerMessage::Next { .. })));
        let Ok(ServerMessage::Error { errors, .. }) = ServerMessage::decode(
            LEGACY,
            r#"{"id":"3","type":"error","payload":{"message":"bad"}}"#,
        ) else {
            panic!("legacy error object not decoded")
        };
        assert_eq!(errors[0].message, "bad");
        assert!(matches!(
            ServerMessage::decode(LEGACY, r#"{"type":"ka"}"#),
            Ok(ServerMessage::KeepAlive)
        ));
    }

    #[test]
    fn rejects_invalid_messages() {
        for (protocol, text) in [
            (MODERN, "not json"),
            (MODERN, r#"{"type":"next","payload":{"data":1}}"#),
            (MODERN, r#"{"id":"1","type":"next","payload":{"foo":1}}"#),
            (MODERN, r#"{"id":"1","type":"next","payload":[1]}"#),
            (MODERN, r#"{"type":"ka"}"#),
            (LEGACY, r#"{"type":"ping"}"#),
            (MODERN, r#"{"type":"surprise"}"#),
            (MODERN, r#"[1,2]"#),
        ] {
            assert!(
                ServerMessage::decode(protocol, text).is_err(),
                "{text} accepted"
            );
        }
        assert!(matches!(
            ServerMessage::decode(MODERN, r#"{"id":"x","type":"complete"}"#),
            Ok(ServerMessage::Complete { id: OpId(None) })
        ));
    }
}
