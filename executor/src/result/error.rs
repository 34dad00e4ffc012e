//! A GraphQL error, and the locations and response paths it points at.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{JsonMap, null_as_default};

/// A GraphQL error as in the spec's "Errors" section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GraphQLError {
    /// A description for the developer.
    pub message: String,
    /// Where in the document the error is.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub locations: Vec<Location>,
    /// The response path of the field that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Vec<PathSegment>>,
    /// Anything else, such as `code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<JsonMap>,
}

impl GraphQLError {
    /// An error with only a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::default()
        }
    }

    /// Sets `extensions.code`.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.extensions
            .get_or_insert_with(JsonMap::new)
            .insert("code".into(), Value::String(code.into()));
        self
    }

    /// Sets the path.
    pub fn with_path(mut self, path: Vec<PathSegment>) -> Self {
        self.path = Some(path);
        self
    }

    /// `extensions.code`, if it is a string.
    pub fn code(&self) -> Option<&str> {
        self.extensions.as_ref()?.get("code")?.as_str()
    }
}

/// A line and column (both 1-based) in a GraphQL document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1.
    pub column: usize,
}

/// One segment of a response path: a field's response key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PathSegment {
    /// A list index.
    Index(usize),
    /// A field's response key (alias or name).
    Key(String),
}

impl From<&str> for PathSegment {
    fn from(key: &str) -> Self {
        PathSegment::Key(key.to_owned())
    }
}

impl From<usize> for PathSegment {
    fn from(index: usize) -> Self {
        PathSegment::Index(index)
    }
}
