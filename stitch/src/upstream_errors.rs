//! What a client sees of a subschema's failures, and what the log gets.
//!
//! Two kinds of failure come from subschemas:
//! - **transport failures** ([`ExecutorError`]: unreachable, timed out, an HTTP error page, a
//!   broken protocol). Their text names internal URLs and may quote an upstream body (a stack
//!   trace, a DSN). By default the client gets a fixed message per kind with a stable
//!   `extensions.code`, the subschema's name and the request id; the log line (warn) with the
//!   same request id holds the whole error.
//! - **GraphQL errors** a subschema answered: they pass through (message, path, extensions), as
//!   graphql-tools users expect, except stack traces (`extensions.stacktrace`,
//!   `extensions.exception`), which never reach a client. [`SubschemaErrors::Redact`] replaces
//!   their messages too and keeps only the extension keys it lists.
//!
//! [`Stitcher::expose_upstream_details`](crate::Stitcher::expose_upstream_details) turns the
//! masking off, for development.

use quilt_executor::{Context, ErrorKind, ExecutorError, GraphQLError, JsonMap, RequestId};
use serde_json::Value;

/// How the GraphQL errors one subschema answers reach clients (transport failures are always
/// masked unless the gateway exposes upstream details).
///
/// ```
/// use quilt_stitch::SubschemaErrors;
/// let strict = SubschemaErrors::Redact { allowed_extensions: vec!["code".into()] };
/// assert_ne!(strict, SubschemaErrors::default());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SubschemaErrors {
    /// Message, path and extensions pass through; stack traces are removed (the default).
    #[default]
    PassThrough,
    /// The message becomes `Subgraph errors redacted` and only the listed extension keys are
    /// kept (path and locations stay); the original is logged with the request id.
    Redact {
        /// The extension keys a client may see (`code`, for example).
        allowed_extensions: Vec<String>,
    },
}

/// The message of a redacted subschema error (as Apollo Router words it).
pub const REDACTED_MESSAGE: &str = "Subgraph errors redacted";

/// Extension keys that carry stack traces: never passed to a client unless details are exposed.
const STACK_TRACE_KEYS: [&str; 2] = ["stacktrace", "exception"];

/// The gateway's error policy: one [`SubschemaErrors`] per subschema, and whether upstream
/// details are exposed.
#[derive(Debug, Clone, Default)]
pub(crate) struct ErrorPolicy {
    pub expose_upstream_details: bool,
    pub subschemas: Vec<SubschemaErrors>,
}

impl ErrorPolicy {
    /// A transport failure of subschema `name` (index `subschema`) as the client's error, with
    /// `extensions.code`, `serviceName` and, when the request has one, `requestId`; logged whole.
    pub fn transport_error(
        &self,
        name: &str,
        error: &ExecutorError,
        context: &Context,
    ) -> GraphQLError {
        let request_id = context.get::<RequestId>();
        tracing::warn!(
            request_id = request_id.map(RequestId::as_str).unwrap_or(""),
            subschema = %name,
            %error,
            "upstream request failed"
        );
        let mut masked = error.to_graphql_error();
        if !self.expose_upstream_details {
            masked.message = masked_message(name, error);
        }
        let extensions = masked.extensions.get_or_insert_with(JsonMap::new);
        extensions.insert("serviceName".into(), Value::String(name.to_owned()));
        if let Some(id) = request_id {
            extensions.insert("requestId".into(), Value::String(id.as_str().to_owned()));
        }
        masked
    }

    /// Makes the GraphQL errors subschema `subschema` (named `name`) answered fit for the
    /// client: stack traces removed, and redacted when the subschema says so (the originals
    /// logged with the request id).
    pub fn clean(
        &self,
        subschema: usize,
        name: &str,
        errors: &mut [GraphQLError],
        context: &Context,
    ) {
        if self.expose_upstream_details || errors.is_empty() {
            return;
        }
        let policy = self
            .subschemas
            .get(subschema)
            .unwrap_or(&SubschemaErrors::PassThrough);
        for error in errors.iter_mut() {
            match policy {
                SubschemaErrors::PassThrough => {
                    let Some(extensions) = &mut error.extensions else {
                        continue;
                    };
                    let removed: Vec<Value> = STACK_TRACE_KEYS
                        .iter()
                        .filter_map(|key| extensions.shift_remove(*key))
                        .collect();
                    if !removed.is_empty() {
                        tracing::info!(
                            request_id = context.get::<RequestId>().map(RequestId::as_str).unwrap_or(""),
                            subschema = %name,
                            message = %error.message,
                            stack_trace = ?removed,
                            "stack trace removed from a subschema error"
                        );
                    }
                }
                SubschemaErrors::Redact { allowed_extensions } => {
                    let request_id = context.get::<RequestId>();
                    tracing::info!(
                        request_id = request_id.map(RequestId::as_str).unwrap_or(""),
                        subschema = %name,
                        message = %error.message,
                        extensions = ?error.extensions,
                        "subschema error redacted"
                    );
                    error.message = REDACTED_MESSAGE.to_owned();
                    if let Some(extensions) = &mut error.extensions {
                        extensions.retain(|key, _| {
                            allowed_extensions.iter().any(|allowed| allowed == key)
                        });
                        if extensions.is_empty() {
                            error.extensions = None;
                        }
                    }
                    if let Some(id) = request_id {
                        error
                            .extensions
                            .get_or_insert_with(JsonMap::new)
                            .insert("requestId".into(), Value::String(id.as_str().to_owned()));
                    }
                }
            }
        }
    }
}

/// The client's message for a transport failure: what happened, never where or what the
/// upstream said.
fn masked_message(name: &str, error: &ExecutorError) -> String {
    match error.kind() {
        ErrorKind::Connect => format!("subschema `{name}` could not be reached"),
        ErrorKind::Timeout => format!("subschema `{name}` did not answer in time"),
        ErrorKind::HttpStatus => match error.status() {
            Some(status) => format!("subschema `{name}` failed with HTTP status {status}"),
            None => format!("subschema `{name}` failed"),
        },
        ErrorKind::Protocol => format!("subschema `{name}` broke the protocol"),
        ErrorKind::Decode => {
            format!("subschema `{name}` answered something that is not a GraphQL response")
        }
        ErrorKind::Closed => format!("the connection to subschema `{name}` closed"),
        ErrorKind::ResponseTooLarge => {
            format!("the answer of subschema `{name}` exceeded the size limit")
        }
        ErrorKind::InvalidRequest => format!("the request to subschema `{name}` was invalid"),
        _ => format!("subschema `{name}` failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn secret_failure() -> ExecutorError {
        ExecutorError::HttpStatus {
            endpoint: "http://10.0.0.7:4001/graphql".into(),
            status: 500,
            body_excerpt: "at db.connect(postgres://app:hunter2@db)".into(),
        }
    }

    #[test]
    fn transport_failures_keep_their_code_and_lose_their_details() {
        let policy = ErrorPolicy::default();
        let context = Context::default().insert(RequestId::parse("req-1").expect("valid id"));
        let error = policy.transport_error("products", &secret_failure(), &context);
        let text = serde_json::to_string(&error).expect("serializes");
        assert!(
            !text.contains("10.0.0.7") && !text.contains("hunter2"),
            "{text}"
        );
        assert_eq!(
            error.message,
            "subschema `products` failed with HTTP status 500"
        );
        let extensions = error.extensions.expect("extensions");
        assert_eq!(extensions["code"], "HTTP_ERROR");
        assert_eq!(extensions["serviceName"], "products");
        assert_eq!(extensions["requestId"], "req-1");
        assert_eq!(extensions["http"]["status"], 500);

        let timeout = ExecutorError::Timeout {
            endpoint: "http://10.0.0.7:4001/graphql".into(),
            after: Duration::from_secs(1),
        };
        let error = policy.transport_error("products", &timeout, &Context::default());
        assert_eq!(error.message, "subschema `products` did not answer in time");
        assert!(
            !error
                .extensions
                .expect("extensions")
                .contains_key("requestId")
        );
    }

    #[test]
    fn exposing_details_keeps_the_transport_message() {
        let policy = ErrorPolicy {
            expose_upstream_details: true,
            subschemas: Vec::new(),
        };
        let error = policy.transport_error("products", &secret_failure(), &Context::default());
        assert!(error.message.contains("10.0.0.7"), "{}", error.message);
    }

    fn upstream_error() -> GraphQLError {
        let mut error = GraphQLError::new("no such product").with_code("NOT_FOUND");
        let extensions = error.extensions.get_or_insert_with(JsonMap::new);
        extensions.insert(
            "stacktrace".into(),
            serde_json::json!(["at x (/srv/app.js:1)"]),
        );
        extensions.insert("exception".into(), serde_json::json!({"stacktrace": []}));
        extensions.insert("retryable".into(), Value::Bool(false));
        error
    }

    #[test]
    fn subschema_errors_pass_through_without_stack_traces() {
        let policy = ErrorPolicy::default();
        let mut errors = vec![upstream_error()];
        policy.clean(0, "products", &mut errors, &Context::default());
        assert_eq!(errors[0].message, "no such product");
        let extensions = errors[0].extensions.as_ref().expect("extensions");
        assert_eq!(
            extensions.keys().collect::<Vec<_>>(),
            ["code", "retryable"],
            "stack traces removed, the rest kept"
        );
    }

    #[test]
    fn redacted_subschema_errors_keep_only_allowed_extensions() {
        let policy = ErrorPolicy {
            expose_upstream_details: false,
            subschemas: vec![
                SubschemaErrors::PassThrough,
                SubschemaErrors::Redact {
                    allowed_extensions: vec!["code".into()],
                },
            ],
        };
        let context = Context::default().insert(RequestId::parse("r2").expect("valid id"));
        let mut errors = vec![upstream_error()];
        policy.clean(1, "products", &mut errors, &context);
        assert_eq!(errors[0].message, REDACTED_MESSAGE);
        let extensions = errors[0].extensions.as_ref().expect("extensions");
        assert_eq!(extensions.keys().collect::<Vec<_>>(), ["code", "requestId"]);
        let mut errors = vec![upstream_error()];
        policy.clean(0, "accounts", &mut errors, &context);
        assert_eq!(errors[0].message, "no such product");
    }
}
