//! The messages an emitter POSTs to a callback URL: `check`, `next` and `complete`, each
//! `{kind: "subscription", action, id, verifier, ...}`.

use serde::Deserialize;

use crate::result::{ExecutionResult, GraphQLError};

/// One message, checked for shape (not yet for its id or verifier).
#[derive(Debug)]
pub(crate) struct Message {
    pub id: String,
    pub verifier: String,
    pub action: Action,
}

/// What the emitter says.
// An event is the common message; boxing it would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Action {
    /// The subscription is alive (sent before the emitter answers the subscription request,
    /// then every heartbeat interval).
    Check,
    /// An event.
    Next(ExecutionResult),
    /// The end, with errors when the subscription failed.
    Complete(Vec<GraphQLError>),
}

/// The body as sent; `kind` and `action` are checked by hand so a wrong one gets a message
/// naming it.
#[derive(Deserialize)]
struct Raw {
    kind: String,
    action: String,
    id: String,
    verifier: String,
    #[serde(default)]
    payload: Option<ExecutionResult>,
    #[serde(default)]
    errors: Option<Vec<GraphQLError>>,
}

/// Parses a callback body; the error says what is wrong with it.
pub(crate) fn parse(body: &[u8]) -> Result<Message, String> {
    let raw: Raw = serde_json::from_slice(body)
        .map_err(|e| format!("not a callback message ({{kind, action, id, verifier}}): {e}"))?;
    if raw.kind != "subscription" {
        return Err(format!(
            "`kind` must be \"subscription\", not {:?}",
            raw.kind
        ));
    }
    let action = match raw.action.as_str() {
        "check" => Action::Check,
        "next" => match raw.payload {
            Some(payload) => Action::Next(payload),
            None => return Err("a `next` message needs a `payload`".into()),
        },
        "complete" => Action::Complete(raw.errors.unwrap_or_default()),
        other => {
            return Err(format!(
                "unknown `action` {other:?} (expected check, next or complete)"
            ));
        }
    };
    Ok(Message {
        id: raw.id,
        verifier: raw.verifier,
        action,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_three_actions_parse() {
        let check =
            parse(br#"{"kind":"subscription","action":"check","id":"a","verifier":"v"}"#).unwrap();
        assert!(matches!(check.action, Action::Check));
        assert_eq!((check.id.as_str(), check.verifier.as_str()), ("a", "v"));
        let next = parse(
            br#"{"kind":"subscription","action":"next","id":"a","verifier":"v","payload":{"data":{"n":1}}}"#,
        )
        .unwrap();
        assert!(
            matches!(next.action, Action::Next(r) if r.data_value() == Some(serde_json::json!({"n":1})))
        );
        let complete = parse(
            br#"{"kind":"subscription","action":"complete","id":"a","verifier":"v","errors":[{"message":"x"}]}"#,
        )
        .unwrap();
        assert!(matches!(complete.action, Action::Complete(e) if e[0].message == "x"));
    }

    #[test]
    fn malformed_messages_say_why() {
        for (body, says) in [
            (&b"not json"[..], "not a callback message"),
            (
                br#"{"kind":"query","action":"check","id":"a","verifier":"v"}"#,
                "`kind`",
            ),
            (
                br#"{"kind":"subscription","action":"heartbeat","id":"a","verifier":"v"}"#,
                "unknown `action`",
            ),
            (
                br#"{"kind":"subscription","action":"next","id":"a","verifier":"v"}"#,
                "`payload`",
            ),
            (
                br#"{"kind":"subscription","action":"check","id":"a"}"#,
                "verifier",
            ),
        ] {
            let error = parse(body).unwrap_err();
            assert!(error.contains(says), "{error}");
        }
    }
}
