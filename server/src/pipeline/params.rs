//! Stage 3: the GraphQL request parameters (`query`, `operationName`, `variables`,
//! `extensions`) from a JSON body or a URL query string, each checked for its type.

use quilt_executor::JsonMap;
use serde_json::Value;

use crate::error::RequestError;

/// The parameters of one GraphQL-over-HTTP request, before the document is parsed.
#[derive(Debug, Clone, Default)]
pub struct GraphQLParams {
    /// The document text.
    pub query: String,
    /// The operation to run.
    pub operation_name: Option<String>,
    /// The variables.
    pub variables: JsonMap,
    /// The extensions.
    pub extensions: JsonMap,
}

impl GraphQLParams {
    /// Reads the parameters from a JSON body.
    pub fn from_json(body: &[u8]) -> Result<Self, RequestError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(RequestError::EmptyBody);
        }
        let value: Value =
            serde_json::from_slice(body).map_err(|e| RequestError::InvalidJson(e.to_string()))?;
        Self::from_value(value)
    }

    /// Reads the parameters from a JSON object.
    pub fn from_value(value: Value) -> Result<Self, RequestError> {
        let Value::Object(mut map) = value else {
            return Err(RequestError::NotAnObject);
        };
        let query = match map.remove("query") {
            Some(Value::String(query)) => query,
            None | Some(Value::Null) => return Err(RequestError::MissingQuery),
            Some(_) => {
                return Err(RequestError::InvalidParameter {
                    name: "query",
                    expected: "a string",
                });
            }
        };
        let operation_name = match map.remove("operationName") {
            Some(Value::String(name)) => Some(name),
            None | Some(Value::Null) => None,
            Some(_) => {
                return Err(RequestError::InvalidParameter {
                    name: "operationName",
                    expected: "a string or null",
                });
            }
        };
        Ok(Self {
            query,
            operation_name,
            variables: object_param("variables", map.remove("variables"))?,
            extensions: object_param("extensions", map.remove("extensions"))?,
        })
    }

    /// Reads the parameters from a URL query string (GET); `variables` and `extensions` are
    /// JSON-encoded.
    pub fn from_query_string(query_string: &str) -> Result<Self, RequestError> {
        let mut params = Self::default();
        let mut query = None;
        for (key, value) in url::form_urlencoded::parse(query_string.as_bytes()) {
            match &*key {
                "query" => query = Some(value.into_owned()),
                "operationName" if !value.is_empty() => {
                    params.operation_name = Some(value.into_owned())
                }
                "variables" if !value.is_empty() => {
                    params.variables = object_param("variables", Some(json_param(&value)?))?
                }
                "extensions" if !value.is_empty() => {
                    params.extensions = object_param("extensions", Some(json_param(&value)?))?
                }
                _ => {}
            }
        }
        params.query = query.ok_or(RequestError::MissingQuery)?;
        Ok(params)
    }
}

fn json_param(text: &str) -> Result<Value, RequestError> {
    serde_json::from_str(text).map_err(|e| RequestError::InvalidJson(e.to_string()))
}

fn object_param(name: &'static str, value: Option<Value>) -> Result<JsonMap, RequestError> {
    match value {
        None | Some(Value::Null) => Ok(JsonMap::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(RequestError::InvalidParameter {
            name,
            expected: "an object (map) or null",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_wrong_types() {
        for body in [
            r#"{"query": 1}"#,
            r#"{"query": "{a}", "variables": "x"}"#,
            r#"{"query": "{a}", "extensions": []}"#,
            r#"{"query": "{a}", "operationName": false}"#,
            r#"[{"query": "{a}"}]"#,
            r#"{"qeury": "{a}"}"#,
            "",
            "{ \"not json",
        ] {
            assert!(GraphQLParams::from_json(body.as_bytes()).is_err(), "{body}");
        }
    }

    #[test]
    fn reads_get_parameters() {
        let p = GraphQLParams::from_query_string(
            "query=query%20Q(%24n%3AString)%7Bhello(name%3A%24n)%7D&variables=%7B%22n%22%3A%22x%22%7D&operationName=Q",
        )
        .unwrap();
        assert_eq!(p.query, "query Q($n:String){hello(name:$n)}");
        assert_eq!(p.variables["n"], "x");
        assert_eq!(p.operation_name.as_deref(), Some("Q"));
    }
}
