//! Why an HTTP request was refused before it reached the executor, and how that is answered.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use quilt_executor::{ExecutionResult, GraphQLError};

use crate::pipeline::negotiate::JsonKind;

/// A request the server refuses at the HTTP level: the body, method, headers or parameters are
/// not a GraphQL-over-HTTP request it can run. Answered with a 4xx status and a GraphQL error
/// response (no `data`) whose `extensions.code` is [`RequestError::code`].
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// A POST without a `Content-Type` header.
    #[error(
        "the POST request has no Content-Type; send application/json (or multipart/form-data for uploads)"
    )]
    MissingContentType,
    /// A POST with a content type the server does not read.
    #[error(
        "unsupported Content-Type {0:?}; send application/json (or multipart/form-data for uploads)"
    )]
    UnsupportedContentType(String),
    /// A charset other than UTF-8.
    #[error("unsupported charset {0:?}; requests must be UTF-8")]
    UnsupportedCharset(String),
    /// The body is larger than the configured limit.
    #[error("the request body exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body could not be read from the connection.
    #[error("could not read the request body: {0}")]
    BodyRead(String),
    /// The body did not arrive within the body read timeout.
    #[error("the request body did not arrive within {0:?}")]
    BodyTimeout(std::time::Duration),
    /// A POST with an empty body.
    #[error("the request body is empty; send a JSON object with a `query`")]
    EmptyBody,
    /// The body is not JSON.
    #[error("the request body is not valid JSON: {0}")]
    InvalidJson(String),
    /// The body is JSON but not an object (a batch array, a string).
    #[error("the request body must be a JSON object with a `query` (batches are not supported)")]
    NotAnObject,
    /// No `query` parameter.
    #[error("the request has no `query` parameter")]
    MissingQuery,
    /// A parameter of the wrong type.
    #[error("the `{name}` parameter must be {expected}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// A malformed `multipart/form-data` upload request.
    #[error("invalid multipart upload request: {0}")]
    InvalidUpload(String),
    /// A mutation sent with GET.
    #[error("mutations cannot be sent with GET; use POST")]
    MutationOverGet,
    /// A subscription sent with GET or POST whose `Accept` allows no stream format.
    #[error(
        "this operation streams results; send Accept: text/event-stream or multipart/mixed, or use a WebSocket"
    )]
    StreamNotAccepted,
    /// A method the GraphQL endpoint does not serve.
    #[error("method {0} is not allowed on the GraphQL endpoint; use GET or POST")]
    MethodNotAllowed(String),
    /// No acceptable response media type.
    #[error(
        "none of the accepted media types can be served; accept application/graphql-response+json, application/json, text/event-stream or multipart/mixed"
    )]
    NotAcceptable,
    /// An SSE single-connection request with a token that is not reserved.
    #[error("the event stream token is unknown or expired; reserve one with PUT")]
    UnknownStreamToken,
    /// An SSE single-connection stream is already open for this token.
    #[error("an event stream is already open for this token")]
    StreamAlreadyOpen,
    /// An SSE single-connection operation id is missing or already in use.
    #[error("the operation id is {0}")]
    OperationId(&'static str),
    /// A server-wide capacity is reached (subscriptions, reservations).
    #[error("{0}")]
    Capacity(String),
    /// The server is shutting down.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// A request a browser could have sent from another origin without a preflight, without
    /// any of the required headers ([`Csrf`](crate::Csrf)).
    #[error(
        "this request has been blocked as a potential cross-site request forgery (CSRF): send \
         it with a Content-Type other than application/x-www-form-urlencoded, \
         multipart/form-data or text/plain, or with a non-empty value in one of these headers: \
         {0}"
    )]
    CsrfPrevented(String),
    /// A WebSocket upgrade from an origin that is not allowed ([`Cors`](crate::Cors)).
    #[error(
        "WebSocket connections from this origin are not allowed; the server accepts its own \
         origin and the CORS origins it is configured with"
    )]
    ForbiddenOrigin,
    /// An automatic persisted query whose hash the server does not know: the client sends
    /// the query again with its hash. The message is Apollo's, which its clients look for.
    #[error("PersistedQueryNotFound")]
    PersistedQueryNotFound,
    /// A request naming a persisted query to a server that serves none.
    #[error("PersistedQueryNotSupported")]
    PersistedQueryNotSupported,
    /// An `extensions.persistedQuery.version` other than 1.
    #[error("unsupported persisted query version; the server reads version 1")]
    PersistedQueryVersion,
    /// A query sent with a `sha256Hash` that is not its hash.
    #[error("the persisted query's sha256Hash does not match its query")]
    PersistedQueryHashMismatch,
    /// A query not in the server's allow-list of operations.
    #[error(
        "this server only runs the operations of its persisted query list, and this one is not in it"
    )]
    PersistedQueryNotInList,
    /// A malformed `extensions.persistedQuery` or `documentId`.
    #[error("invalid persisted query: {0}")]
    InvalidPersistedQuery(&'static str),
}

impl RequestError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            RequestError::MissingContentType
            | RequestError::UnsupportedContentType(_)
            | RequestError::UnsupportedCharset(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            RequestError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            RequestError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            RequestError::MutationOverGet | RequestError::MethodNotAllowed(_) => {
                StatusCode::METHOD_NOT_ALLOWED
            }
            RequestError::NotAcceptable | RequestError::StreamNotAccepted => {
                StatusCode::NOT_ACCEPTABLE
            }
            RequestError::UnknownStreamToken => StatusCode::NOT_FOUND,
            RequestError::StreamAlreadyOpen | RequestError::OperationId(_) => StatusCode::CONFLICT,
            RequestError::Capacity(_) | RequestError::ShuttingDown => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            RequestError::ForbiddenOrigin => StatusCode::FORBIDDEN,
            // As Apollo's servers answer them: their clients read the error from the body.
            RequestError::PersistedQueryNotFound | RequestError::PersistedQueryNotSupported => {
                StatusCode::OK
            }
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The `extensions.code` of the GraphQL error.
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::MissingContentType
            | RequestError::UnsupportedContentType(_)
            | RequestError::UnsupportedCharset(_) => "UNSUPPORTED_MEDIA_TYPE",
            RequestError::BodyTooLarge { .. } => "BODY_TOO_LARGE",
            RequestError::BodyTimeout(_) => "BODY_READ_TIMEOUT",
            RequestError::MutationOverGet | RequestError::MethodNotAllowed(_) => {
                "METHOD_NOT_ALLOWED"
            }
            RequestError::NotAcceptable | RequestError::StreamNotAccepted => "NOT_ACCEPTABLE",
            RequestError::Capacity(_) => "CAPACITY_EXCEEDED",
            RequestError::ShuttingDown => "SHUTTING_DOWN",
            RequestError::UnknownStreamToken
            | RequestError::StreamAlreadyOpen
            | RequestError::OperationId(_) => "STREAM_TOKEN",
            RequestError::CsrfPrevented(_) => "CSRF_PREVENTED",
            RequestError::ForbiddenOrigin => "FORBIDDEN_ORIGIN",
            RequestError::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            RequestError::PersistedQueryNotSupported | RequestError::PersistedQueryVersion => {
                "PERSISTED_QUERY_NOT_SUPPORTED"
            }
            RequestError::PersistedQueryHashMismatch => "PERSISTED_QUERY_HASH_MISMATCH",
            RequestError::PersistedQueryNotInList => "PERSISTED_QUERY_NOT_IN_LIST",
            _ => "BAD_REQUEST",
        }
    }

    /// This error as a GraphQL error.
    pub fn to_graphql_error(&self) -> GraphQLError {
        GraphQLError::new(self.to_string()).with_code(self.code())
    }

    /// The HTTP response: the status, `Allow` where the method was wrong, and a GraphQL error
    /// body in `kind`'s media type.
    pub fn into_response_as(self, kind: JsonKind) -> Response {
        let body = ExecutionResult::from_error(self.to_graphql_error());
        let mut response = crate::pipeline::respond::json_body(self.status(), kind, &body);
        let allow = match self {
            RequestError::MutationOverGet => Some("POST"),
            RequestError::MethodNotAllowed(_) => Some("GET, POST"),
            _ => None,
        };
        if let Some(allow) = allow {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

impl IntoResponse for RequestError {
    fn into_response(self) -> Response {
        self.into_response_as(JsonKind::Json)
    }
}
