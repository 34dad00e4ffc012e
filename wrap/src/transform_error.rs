//! Errors of `wrap_schema` and the transforms.

/// What went wrong while transforming a schema or mapping a request.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TransformError {
    /// A transform produced a schema that does not validate.
    #[error("the schema after transform #{index} ({transform}) is invalid: {diagnostics}")]
    InvalidSchema {
        /// The position of the transform in the list (0-based).
        index: usize,
        /// The transform's name.
        transform: String,
        /// The validation errors, one per line.
        diagnostics: String,
    },
    /// A transform could not be applied to the schema (a missing type or field, a bad name).
    #[error("{transform}: {message}")]
    Schema {
        /// The transform's name.
        transform: String,
        /// What was wrong.
        message: String,
    },
    /// A request could not be mapped to the inner schema (no such operation, an unknown name).
    #[error("{transform} could not map the request: {message}")]
    Request {
        /// The transform's name.
        transform: String,
        /// What was wrong.
        message: String,
    },
}

impl TransformError {
    /// A schema error of `transform`.
    pub fn schema(transform: &str, message: impl Into<String>) -> Self {
        TransformError::Schema {
            transform: transform.to_owned(),
            message: message.into(),
        }
    }

    /// A request error of `transform`.
    pub fn request(transform: &str, message: impl Into<String>) -> Self {
        TransformError::Request {
            transform: transform.to_owned(),
            message: message.into(),
        }
    }
}
