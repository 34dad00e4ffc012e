//! Crossing between apollo-compiler's JSON (serde_json_bytes) and ours (serde_json).

use apollo_compiler::response::{GraphQLError as ApolloError, JsonMap as BytesMap, JsonValue};
use quilt_executor::{GraphQLError, JsonMap, Location, PathSegment};
use serde_json::Value;

/// Our map as apollo-compiler's.
pub(crate) fn to_bytes_map(map: &JsonMap) -> BytesMap {
    map.iter()
        .map(|(k, v)| (k.as_str().into(), JsonValue::from(v.clone())))
        .collect()
}

/// apollo-compiler's map as ours.
pub(crate) fn from_bytes_map(map: &BytesMap) -> JsonMap {
    map.iter()
        .map(|(k, v)| (k.as_str().to_owned(), from_bytes_value(v)))
        .collect()
}

/// apollo-compiler's value as ours.
pub(crate) fn from_bytes_value(value: &JsonValue) -> Value {
    match value {
        JsonValue::Null => Value::Null,
        JsonValue::Bool(b) => Value::Bool(*b),
        JsonValue::Number(n) => serde_json::to_value(n).unwrap_or(Value::Null),
        JsonValue::String(s) => Value::String(s.as_str().to_owned()),
        JsonValue::Array(items) => Value::Array(items.iter().map(from_bytes_value).collect()),
        JsonValue::Object(map) => Value::Object(from_bytes_map(map)),
    }
}

/// apollo-compiler's error as ours.
pub(crate) fn from_apollo_error(error: &ApolloError) -> GraphQLError {
    GraphQLError {
        message: error.message.clone(),
        locations: error
            .locations
            .iter()
            .map(|l| Location {
                line: l.line,
                column: l.column,
            })
            .collect(),
        path: (!error.path.is_empty()).then(|| {
            error
                .path
                .iter()
                .map(|segment| match segment {
                    apollo_compiler::response::ResponseDataPathSegment::Field(name) => {
                        PathSegment::Key(name.to_string())
                    }
                    apollo_compiler::response::ResponseDataPathSegment::ListIndex(i) => {
                        PathSegment::Index(*i)
                    }
                })
                .collect()
        }),
        extensions: (!error.extensions.is_empty()).then(|| from_bytes_map(&error.extensions)),
    }
}
