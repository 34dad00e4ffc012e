//! Stage 3: the GraphQL request parameters (`query`, `operationName`, `variables`,
//! `extensions`, and `documentId` of persisted documents) from a JSON body or a URL query
//! string, each checked for its type. A request may leave out `query` when it names a
//! persisted operation instead (`extensions.persistedQuery` or `documentId`).

use quilt_executor::JsonMap;
use serde_json::Value;

use crate::error::RequestError;

/// The parameters of one GraphQL-over-HTTP request, before the document is parsed.
#[derive(Debug, Clone, Default)]
pub struct GraphQLParams {
    /// The document text; empty when the request names a persisted operation instead.
    pub query: String,
    /// The operation to run.
    pub operation_name: Option<String>,
    /// The variables.
    pub variables: JsonMap,
    /// The extensions.
    pub extensions: JsonMap,
    /// The `documentId` parameter of persisted documents, if given.
    pub document_id: Option<String>,
}

impl GraphQLParams {
    /// Whether the request names a persisted operation (`extensions.persistedQuery` or
    /// `documentId`), so that it may leave out its `query`.
    pub fn names_persisted_operation(&self) -> bool {
        self.document_id.is_some() || self.extensions.contains_key("persistedQuery")
    }
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
            Some(Value::String(query)) => Some(query),
            None | Some(Value::Null) => None,
            Some(_) => {
                return Err(RequestError::InvalidParameter {
                    name: "query",
                    expected: "a string",
                });
            }
        };
        let document_id = match map.remove("documentId") {
            Some(Value::String(id)) => Some(id),
            None | Some(Value::Null) => None,
            Some(_) => {
                return Err(RequestError::InvalidParameter {
                    name: "documentId",
                    expected: "a string or null",
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
        let params = Self {
            query: query.clone().unwrap_or_default(),
            operation_name,
            variables: object_param("variables", map.remove("variables"))?,
            extensions: object_param("extensions", map.remove("extensions"))?,
            document_id,
        };
        if query.is_none() && !params.names_persisted_operation() {
            return Err(RequestError::MissingQuery);
        }
        Ok(params)
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
                "documentId" if !value.is_empty() => params.document_id = Some(value.into_owned()),
                _ => {}
            }
        }
        match query {
            Some(query) => params.query = query,
            None if params.names_persisted_operation() => {}
            None => return Err(RequestError::MissingQuery),
        }
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

    #[test]
    fn a_persisted_operation_needs_no_query() {
        let apq = r#"{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab"}}}"#;
        assert_eq!(GraphQLParams::from_json(apq.as_bytes()).unwrap().query, "");
        let id = GraphQLParams::from_json(br#"{"documentId": "sha256:ab"}"#).unwrap();
        assert_eq!(id.document_id.as_deref(), Some("sha256:ab"));
        let get = GraphQLParams::from_query_string(
            "extensions=%7B%22persistedQuery%22%3A%7B%22version%22%3A1%2C%22sha256Hash%22%3A%22ab%22%7D%7D",
        )
        .unwrap();
        assert!(get.names_persisted_operation());
        assert!(GraphQLParams::from_query_string("variables=%7B%7D").is_err());
    }
}
