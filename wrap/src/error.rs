//! The errors of `quilt-wrap`: one enum for the crate.

use quilt_executor::ExecutorError;

/// What went wrong while learning a remote schema (or transforming one).
///
/// Every variant names the endpoint it concerns, and where the fault lies in a schema, the type
/// or field (`User.friends(first:)`).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum WrapError {
    /// The request could not be made or answered (connection, timeout, not GraphQL, ...).
    #[error("could not load the schema of {endpoint}: {source}")]
    Executor {
        /// The endpoint.
        endpoint: String,
        /// The transport failure.
        #[source]
        source: ExecutorError,
    },
    /// The service refused the request: HTTP 401 or 403, or a GraphQL error saying the client is
    /// not authenticated or not allowed.
    #[error(
        "{endpoint} refused to give its schema{}: {message} \
         (check the credentials the executor sends)",
        status_suffix(.status)
    )]
    Unauthorized {
        /// The endpoint.
        endpoint: String,
        /// The HTTP status, when the refusal was one.
        status: Option<u16>,
        /// What the service said.
        message: String,
    },
    /// The service does not answer introspection queries (it is disabled in production, or the
    /// service does not know `__schema`). Load its SDL instead, or give the schema locally.
    #[error(
        "{endpoint} does not allow introspection: {message} \
         (load its schema from SDL or give it locally)"
    )]
    IntrospectionDisabled {
        /// The endpoint.
        endpoint: String,
        /// What the service said.
        message: String,
    },
    /// The service answered the schema query with GraphQL errors.
    #[error("{endpoint} answered the schema query with errors: {}", .messages.join("; "))]
    ServiceErrors {
        /// The endpoint.
        endpoint: String,
        /// The messages of the errors.
        messages: Vec<String>,
    },
    /// The service answered without data and without errors (or with a stream that ended
    /// before any result).
    #[error("could not obtain a schema from {endpoint}: {message}")]
    NoResult {
        /// The endpoint.
        endpoint: String,
        /// What was missing.
        message: String,
    },
    /// The introspection result is incomplete or inconsistent (no `__schema`, a reference to an
    /// unknown type, a field without a type, a default value that is not a GraphQL literal, a
    /// reference whose kind differs from the type's definition).
    #[error("invalid introspection result from {endpoint} at {location}: {message}")]
    InvalidIntrospection {
        /// The endpoint.
        endpoint: String,
        /// The type, field or argument at fault (`User.friends(first:)`), or `__schema`.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// The SDL the service gave is missing, does not parse, or does not build a schema.
    #[error("invalid SDL from {endpoint}: {message}")]
    InvalidSdl {
        /// The endpoint.
        endpoint: String,
        /// What is wrong (parser and build diagnostics, with line and column).
        message: String,
    },
    /// The schema built from the service's answer does not validate (an interface field a type
    /// does not implement, an input type used as an output, ...).
    #[error("the schema of {endpoint} is invalid: {diagnostics}")]
    InvalidSchema {
        /// The endpoint.
        endpoint: String,
        /// The validation diagnostics, one a line, each naming the type or field at fault.
        diagnostics: String,
    },
}

fn status_suffix(status: &Option<u16>) -> String {
    match status {
        Some(status) => format!(" (HTTP {status})"),
        None => String::new(),
    }
}

impl WrapError {
    /// The endpoint the error concerns.
    pub fn endpoint(&self) -> &str {
        match self {
            WrapError::Executor { endpoint, .. }
            | WrapError::Unauthorized { endpoint, .. }
            | WrapError::IntrospectionDisabled { endpoint, .. }
            | WrapError::ServiceErrors { endpoint, .. }
            | WrapError::NoResult { endpoint, .. }
            | WrapError::InvalidIntrospection { endpoint, .. }
            | WrapError::InvalidSdl { endpoint, .. }
            | WrapError::InvalidSchema { endpoint, .. } => endpoint,
        }
    }
}
