//! Transport failures: what went wrong between Quilt and a service.
//!
//! GraphQL errors (a field failed, the document did not validate) are *results* and travel in
//! [`ExecutionResult::errors`](crate::ExecutionResult); an [`ExecutorError`] means no GraphQL
//! result could be had: the service was unreachable, too slow, answered with something that is
//! not GraphQL, or closed the connection.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::result::{GraphQLError, JsonMap};

/// A boxed error source, shareable so that one failure can be handed to many waiters.
pub type BoxError = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Why an executor could not produce a GraphQL result.
///
/// Every variant names the endpoint it concerns (a URL, or a subschema name for executors that
/// are not on the network). Errors are [`Clone`]: batched and deduplicated requests each get a
/// copy of a shared failure.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ExecutorError {
    /// The connection could not be made (refused, DNS, TLS handshake).
    #[error("could not connect to {endpoint}: {message}")]
    Connect {
        /// The endpoint.
        endpoint: String,
        /// What the transport said.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// No answer within the time allowed.
    #[error("{endpoint} did not answer within {after:?}")]
    Timeout {
        /// The endpoint.
        endpoint: String,
        /// The time allowed.
        after: Duration,
    },
    /// The service answered with an HTTP status and a body that is not a GraphQL response.
    #[error("{endpoint} answered HTTP {status}: {body_excerpt}")]
    HttpStatus {
        /// The endpoint.
        endpoint: String,
        /// The HTTP status code.
        status: u16,
        /// The start of the body (at most 512 bytes, lossy UTF-8), to tell an HTML error page
        /// from a proxy message.
        body_excerpt: String,
    },
    /// The peer broke the protocol (an unexpected message, a broken multipart boundary, an SSE
    /// event of an unknown kind, a WebSocket subprotocol mismatch).
    #[error("protocol error with {endpoint}: {message}")]
    Protocol {
        /// The endpoint.
        endpoint: String,
        /// What was wrong.
        message: String,
    },
    /// The body could not be decoded as a GraphQL response (invalid JSON, not an object, neither
    /// `data` nor `errors`).
    #[error("could not decode the response of {endpoint}: {message}")]
    Decode {
        /// The endpoint.
        endpoint: String,
        /// What was wrong.
        message: String,
    },
    /// The connection was closed before the operation completed.
    #[error("connection to {endpoint} closed{}: {reason}", code_suffix(.code))]
    Closed {
        /// The endpoint.
        endpoint: String,
        /// The WebSocket close code, when there was one.
        code: Option<CloseCode>,
        /// The close reason, or what the executor knows about the close.
        reason: String,
    },
    /// The response grew past the configured size limit and was abandoned.
    #[error("the response of {endpoint} exceeded the size limit of {limit} bytes")]
    ResponseTooLarge {
        /// The endpoint.
        endpoint: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The request cannot be sent as asked (a mutation over GET, a subscription to an executor
    /// that cannot stream, a variable that cannot be encoded).
    #[error("invalid request for {endpoint}: {message}")]
    InvalidRequest {
        /// The endpoint.
        endpoint: String,
        /// What was wrong.
        message: String,
    },
    /// A failure whose details were withheld from the client ([`ExecutorError::masked`]): its
    /// kind, HTTP status and close code are kept, its endpoint and text are not.
    #[error("{message}")]
    Masked {
        /// The kind of the original failure.
        kind: ErrorKind,
        /// The original HTTP status, if any.
        status: Option<u16>,
        /// The original WebSocket close code, if any.
        close_code: Option<CloseCode>,
        /// A fixed message for the kind.
        message: String,
    },
    /// Anything else (a custom executor's failure, a tower middleware's error).
    #[error("{message}")]
    Other {
        /// What went wrong.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
}

fn code_suffix(code: &Option<CloseCode>) -> String {
    match code {
        Some(code) => format!(" with code {} ({code})", code.as_u16()),
        None => String::new(),
    }
}

/// The kind of an [`ExecutorError`], for matching and retry decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// See [`ExecutorError::Connect`].
    Connect,
    /// See [`ExecutorError::Timeout`].
    Timeout,
    /// See [`ExecutorError::HttpStatus`].
    HttpStatus,
    /// See [`ExecutorError::Protocol`].
    Protocol,
    /// See [`ExecutorError::Decode`].
    Decode,
    /// See [`ExecutorError::Closed`].
    Closed,
    /// See [`ExecutorError::ResponseTooLarge`].
    ResponseTooLarge,
    /// See [`ExecutorError::InvalidRequest`].
    InvalidRequest,
    /// See [`ExecutorError::Other`].
    Other,
}

impl ExecutorError {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ExecutorError::Connect { .. } => ErrorKind::Connect,
            ExecutorError::Timeout { .. } => ErrorKind::Timeout,
            ExecutorError::HttpStatus { .. } => ErrorKind::HttpStatus,
            ExecutorError::Protocol { .. } => ErrorKind::Protocol,
            ExecutorError::Decode { .. } => ErrorKind::Decode,
            ExecutorError::Closed { .. } => ErrorKind::Closed,
            ExecutorError::ResponseTooLarge { .. } => ErrorKind::ResponseTooLarge,
            ExecutorError::InvalidRequest { .. } => ErrorKind::InvalidRequest,
            ExecutorError::Other { .. } => ErrorKind::Other,
            ExecutorError::Masked { kind, .. } => *kind,
        }
    }

    /// This failure without what a client must not see (the endpoint's URL, the transport's
    /// text, an upstream's error body): the same kind, HTTP status and close code, with a fixed
    /// message per kind. A server shows clients this and logs the original.
    ///
    /// ```
    /// use quilt_executor::{ErrorKind, ExecutorError};
    /// let failure = ExecutorError::HttpStatus {
    ///     endpoint: "http://10.0.0.7/graphql".into(),
    ///     status: 500,
    ///     body_excerpt: "password=hunter2".into(),
    /// };
    /// let masked = failure.masked();
    /// assert_eq!(masked.kind(), ErrorKind::HttpStatus);
    /// assert_eq!(masked.status(), Some(500));
    /// assert_eq!(masked.to_string(), "the upstream service failed with HTTP status 500");
    /// ```
    pub fn masked(&self) -> ExecutorError {
        let message = match (self.kind(), self.status()) {
            (ErrorKind::Connect, _) => "the upstream service could not be reached".to_owned(),
            (ErrorKind::Timeout, _) => "the upstream service did not answer in time".to_owned(),
            (ErrorKind::HttpStatus, Some(status)) => {
                format!("the upstream service failed with HTTP status {status}")
            }
            (ErrorKind::Protocol, _) => "the upstream service broke the protocol".to_owned(),
            (ErrorKind::Decode, _) => {
                "the upstream service answered something that is not a GraphQL response".to_owned()
            }
            (ErrorKind::Closed, _) => "the connection to the upstream service closed".to_owned(),
            (ErrorKind::ResponseTooLarge, _) => {
                "the upstream answer exceeded the size limit".to_owned()
            }
            (ErrorKind::InvalidRequest, _) => "the upstream request was invalid".to_owned(),
            _ => "the upstream service failed".to_owned(),
        };
        match self {
            ExecutorError::Masked { .. } => self.clone(),
            _ => ExecutorError::Masked {
                kind: self.kind(),
                status: self.status(),
                close_code: self.close_code(),
                message,
            },
        }
    }

    /// A custom failure with a message.
    pub fn other(message: impl Into<String>) -> Self {
        ExecutorError::Other {
            message: message.into(),
            source: None,
        }
    }

    /// A custom failure wrapping another error.
    pub fn from_source(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        ExecutorError::Other {
            message: source.to_string(),
            source: Some(Arc::new(source)),
        }
    }

    /// The HTTP status, for [`ExecutorError::HttpStatus`].
    pub fn status(&self) -> Option<u16> {
        match self {
            ExecutorError::HttpStatus { status, .. } => Some(*status),
            ExecutorError::Masked { status, .. } => *status,
            _ => None,
        }
    }

    /// The WebSocket close code, for [`ExecutorError::Closed`].
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            ExecutorError::Closed { code, .. } => *code,
            ExecutorError::Masked { close_code, .. } => *close_code,
            _ => None,
        }
    }

    /// Whether trying again may help: connection failures, timeouts, 5xx statuses (and 429),
    /// and connections closed without a protocol-level rejection.
    pub fn is_transient(&self) -> bool {
        match self {
            ExecutorError::Connect { .. } | ExecutorError::Timeout { .. } => true,
            ExecutorError::HttpStatus { status, .. } => *status >= 500 || *status == 429,
            ExecutorError::Closed { code, .. } => code.is_none_or(|c| c.is_transient()),
            ExecutorError::Masked {
                kind,
                status,
                close_code,
                ..
            } => match kind {
                ErrorKind::Connect | ErrorKind::Timeout => true,
                ErrorKind::HttpStatus => status.is_some_and(|s| s >= 500 || s == 429),
                ErrorKind::Closed => close_code.is_none_or(|c| c.is_transient()),
                _ => false,
            },
            _ => false,
        }
    }

    /// This error as a GraphQL error for a client, with `extensions.code` (`CONNECT_ERROR`,
    /// `TIMEOUT`, `HTTP_ERROR`, `PROTOCOL_ERROR`, `DECODE_ERROR`, `CONNECTION_CLOSED`,
    /// `RESPONSE_TOO_LARGE`, `INVALID_REQUEST`, `EXECUTOR_ERROR`) and, where known,
    /// `extensions.http.status` and `extensions.closeCode`.
    pub fn to_graphql_error(&self) -> GraphQLError {
        let code = match self.kind() {
            ErrorKind::Connect => "CONNECT_ERROR",
            ErrorKind::Timeout => "TIMEOUT",
            ErrorKind::HttpStatus => "HTTP_ERROR",
            ErrorKind::Protocol => "PROTOCOL_ERROR",
            ErrorKind::Decode => "DECODE_ERROR",
            ErrorKind::Closed => "CONNECTION_CLOSED",
            ErrorKind::ResponseTooLarge => "RESPONSE_TOO_LARGE",
            ErrorKind::InvalidRequest => "INVALID_REQUEST",
            ErrorKind::Other => "EXECUTOR_ERROR",
        };
        let mut error = GraphQLError::new(self.to_string()).with_code(code);
        let extensions = error.extensions.get_or_insert_with(JsonMap::new);
        if let Some(status) = self.status() {
            let mut http = JsonMap::new();
            http.insert("status".into(), Value::from(status));
            extensions.insert("http".into(), Value::Object(http));
        }
        if let Some(close) = self.close_code() {
            extensions.insert("closeCode".into(), Value::from(close.as_u16()));
        }
        error
    }
}

/// A WebSocket close code as the GraphQL WebSocket protocols use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseCode {
    /// 1000: normal closure.
    Normal,
    /// 1001: going away (server shutdown, navigation).
    GoingAway,
    /// 1006: closed without a close frame (the TCP connection dropped).
    Abnormal,
    /// 1011: unexpected server condition.
    InternalError,
    /// 4400: bad request / invalid message.
    BadRequest,
    /// 4401: unauthorized (subscribe before `connection_ack`).
    Unauthorized,
    /// 4403: forbidden (the server rejected the connection).
    Forbidden,
    /// 4406: subprotocol not acceptable.
    SubprotocolNotAcceptable,
    /// 4408: connection initialisation timeout.
    ConnectionInitTimeout,
    /// 4409: subscriber for an id already exists.
    SubscriberAlreadyExists,
    /// 4429: too many initialisation requests.
    TooManyInitRequests,
    /// 4500: internal server error.
    InternalServerError,
    /// 4504: the server did not acknowledge the connection in time (client-side).
    ConnectionAckTimeout,
    /// Any other code.
    Other(u16),
}

impl CloseCode {
    /// The numeric code.
    pub fn as_u16(self) -> u16 {
        match self {
            CloseCode::Normal => 1000,
            CloseCode::GoingAway => 1001,
            CloseCode::Abnormal => 1006,
            CloseCode::InternalError => 1011,
            CloseCode::BadRequest => 4400,
            CloseCode::Unauthorized => 4401,
            CloseCode::Forbidden => 4403,
            CloseCode::SubprotocolNotAcceptable => 4406,
            CloseCode::ConnectionInitTimeout => 4408,
            CloseCode::SubscriberAlreadyExists => 4409,
            CloseCode::TooManyInitRequests => 4429,
            CloseCode::InternalServerError => 4500,
            CloseCode::ConnectionAckTimeout => 4504,
            CloseCode::Other(code) => code,
        }
    }

    /// Whether reconnecting after this close may help. A normal closure and the 44xx codes are
    /// the server's verdict on this client and are final (4408 too: a client too slow to
    /// initialise is misconfigured, and retrying in a loop would not help); drops, shutdowns and
    /// internal errors (1001, 1006, 1011, 4500) are not.
    pub fn is_transient(self) -> bool {
        !matches!(
            self,
            CloseCode::Normal
                | CloseCode::BadRequest
                | CloseCode::Unauthorized
                | CloseCode::Forbidden
                | CloseCode::SubprotocolNotAcceptable
                | CloseCode::ConnectionInitTimeout
                | CloseCode::SubscriberAlreadyExists
                | CloseCode::TooManyInitRequests
        )
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        match code {
            1000 => CloseCode::Normal,
            1001 => CloseCode::GoingAway,
            1006 => CloseCode::Abnormal,
            1011 => CloseCode::InternalError,
            4400 => CloseCode::BadRequest,
            4401 => CloseCode::Unauthorized,
            4403 => CloseCode::Forbidden,
            4406 => CloseCode::SubprotocolNotAcceptable,
            4408 => CloseCode::ConnectionInitTimeout,
            4409 => CloseCode::SubscriberAlreadyExists,
            4429 => CloseCode::TooManyInitRequests,
            4500 => CloseCode::InternalServerError,
            4504 => CloseCode::ConnectionAckTimeout,
            other => CloseCode::Other(other),
        }
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            CloseCode::Normal => "normal closure",
            CloseCode::GoingAway => "going away",
            CloseCode::Abnormal => "abnormal closure",
            CloseCode::InternalError => "internal error",
            CloseCode::BadRequest => "bad request",
            CloseCode::Unauthorized => "unauthorized",
            CloseCode::Forbidden => "forbidden",
            CloseCode::SubprotocolNotAcceptable => "subprotocol not acceptable",
            CloseCode::ConnectionInitTimeout => "connection initialisation timeout",
            CloseCode::SubscriberAlreadyExists => "subscriber already exists",
            CloseCode::TooManyInitRequests => "too many initialisation requests",
            CloseCode::InternalServerError => "internal server error",
            CloseCode::ConnectionAckTimeout => "connection acknowledgement timeout",
            CloseCode::Other(_) => "other",
        };
        f.write_str(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_round_trip() {
        for code in [
            1000, 1001, 1006, 1011, 4400, 4401, 4403, 4406, 4408, 4409, 4429, 4500, 4504, 4999,
        ] {
            assert_eq!(CloseCode::from(code).as_u16(), code);
        }
        assert_eq!(CloseCode::from(4401), CloseCode::Unauthorized);
    }

    #[test]
    fn transient_errors() {
        let e = ExecutorError::HttpStatus {
            endpoint: "u".into(),
            status: 502,
            body_excerpt: "<html>".into(),
        };
        assert!(e.is_transient());
        let e = ExecutorError::Closed {
            endpoint: "u".into(),
            code: Some(CloseCode::Forbidden),
            reason: "no".into(),
        };
        assert!(!e.is_transient());
        assert_eq!(
            e.to_graphql_error().extensions.unwrap()["closeCode"],
            Value::from(4403)
        );
    }

    #[test]
    fn graphql_error_carries_status_and_code() {
        let e = ExecutorError::HttpStatus {
            endpoint: "http://x".into(),
            status: 502,
            body_excerpt: "bad gateway".into(),
        };
        let g = e.to_graphql_error();
        assert_eq!(g.code(), Some("HTTP_ERROR"));
        assert!(g.message.contains("502"));
        assert_eq!(g.extensions.unwrap()["http"]["status"], Value::from(502));
    }
}
