//! Stage 3: the GraphQL request parameters (`query`, `operationName`, `variables`,
//! `extensions`, and `documentId` of persisted documents) from a JSON body or a URL query
//! string, each checked for its type. A request may leave out `query` when it names a
//! persisted operation instead (`extensions.persistedQuery` or `documentId`).

use std::fmt;

use quilt_executor::JsonMap;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
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
    ///
    /// The body is read straight into the five parameters: the object around them is not
    /// built (a JSON map, its keys hashed, then taken apart again). Everything else about it
    /// is what reading it as a [`Value`] and calling [`from_value`](Self::from_value) gives:
    /// the same errors, the last of a repeated key, other keys read as values and dropped.
    pub fn from_json(body: &[u8]) -> Result<Self, RequestError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(RequestError::EmptyBody);
        }
        let Body(fields) =
            serde_json::from_slice(body).map_err(|e| RequestError::InvalidJson(e.to_string()))?;
        fields.ok_or(RequestError::NotAnObject)?.into_params()
    }

    /// Reads the parameters from a JSON object.
    pub fn from_value(value: Value) -> Result<Self, RequestError> {
        let Value::Object(mut map) = value else {
            return Err(RequestError::NotAnObject);
        };
        Fields {
            query: map.remove("query"),
            document_id: map.remove("documentId"),
            operation_name: map.remove("operationName"),
            variables: map.remove("variables"),
            extensions: map.remove("extensions"),
        }
        .into_params()
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

/// The parameters of a JSON object as given, before their types are checked.
#[derive(Default)]
struct Fields {
    query: Option<Value>,
    document_id: Option<Value>,
    operation_name: Option<Value>,
    variables: Option<Value>,
    extensions: Option<Value>,
}

impl Fields {
    /// Checks each parameter's type, in the order the errors are reported.
    fn into_params(self) -> Result<GraphQLParams, RequestError> {
        let query = match self.query {
            Some(Value::String(query)) => Some(query),
            None | Some(Value::Null) => None,
            Some(_) => {
                return Err(RequestError::InvalidParameter {
                    name: "query",
                    expected: "a string",
                });
            }
        };
        let document_id = string_or_null("documentId", self.document_id)?;
        let operation_name = string_or_null("operationName", self.operation_name)?;
        let has_query = query.is_some();
        let params = GraphQLParams {
            query: query.unwrap_or_default(),
            operation_name,
            variables: object_param("variables", self.variables)?,
            extensions: object_param("extensions", self.extensions)?,
            document_id,
        };
        if !has_query && !params.names_persisted_operation() {
            return Err(RequestError::MissingQuery);
        }
        Ok(params)
    }
}

fn string_or_null(
    name: &'static str,
    value: Option<Value>,
) -> Result<Option<String>, RequestError> {
    match value {
        Some(Value::String(text)) => Ok(Some(text)),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(RequestError::InvalidParameter {
            name,
            expected: "a string or null",
        }),
    }
}

/// A JSON body: an object's parameters, or `None` for any other value (read whole, so that a
/// syntax error anywhere is reported as one).
struct Body(Option<Fields>);

impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BodyVisitor)
    }
}

struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = Body;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Body, A::Error> {
        let mut fields = Fields::default();
        while let Some(key) = map.next_key::<Key>()? {
            let slot = match key {
                Key::Query => &mut fields.query,
                Key::DocumentId => &mut fields.document_id,
                Key::OperationName => &mut fields.operation_name,
                Key::Variables => &mut fields.variables,
                Key::Extensions => &mut fields.extensions,
                // Read as a value (not skipped): what a value refuses, such as a number out of
                // range, is refused here too.
                Key::Other => {
                    map.next_value::<Value>()?;
                    continue;
                }
            };
            *slot = Some(map.next_value()?);
        }
        Ok(Body(Some(fields)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Body, A::Error> {
        while seq.next_element::<Value>()?.is_some() {}
        Ok(Body(None))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Body, E> {
        Ok(Body(None))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Body, E> {
        Ok(Body(None))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Body, E> {
        Ok(Body(None))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Body, E> {
        Ok(Body(None))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Body, E> {
        Ok(Body(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Body, E> {
        Ok(Body(None))
    }
}

/// A key of the body's object, matched without being copied.
enum Key {
    Query,
    DocumentId,
    OperationName,
    Variables,
    Extensions,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(match key {
            "query" => Key::Query,
            "documentId" => Key::DocumentId,
            "operationName" => Key::OperationName,
            "variables" => Key::Variables,
            "extensions" => Key::Extensions,
            _ => Key::Other,
        })
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

    /// What `from_json` was before it read the parameters straight: the body as a `Value`,
    /// then `from_value`.
    fn through_value(body: &[u8]) -> Result<GraphQLParams, RequestError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(RequestError::EmptyBody);
        }
        let value: Value =
            serde_json::from_slice(body).map_err(|e| RequestError::InvalidJson(e.to_string()))?;
        GraphQLParams::from_value(value)
    }

    #[test]
    fn reading_the_parameters_straight_gives_what_reading_a_value_gives() {
        let deep = format!(
            "{{\"query\": \"{{a}}\", \"x\": {}1{}}}",
            "[".repeat(200),
            "]".repeat(200)
        );
        let bodies = [
            r#"{"query": "{a}"}"#,
            r#"{"query": "query Q($n: Int) { a(n: $n) }", "operationName": "Q", "variables": {"n": 1, "o": {"p": [1, 2.5, null]}}, "extensions": {"e": true}}"#,
            r#"{"query": "{a}", "query": "{b}"}"#,
            r#"{"query": 1, "query": "{b}"}"#,
            r#"{"query": "{b}", "query": 1}"#,
            r#"{"qu\u0065ry": "{a}", "operation\u004eame": null}"#,
            r#"{"query": "\"escaped\" \u00e9 é {a}"}"#,
            r#"{"query": "{a}", "other": {"deep": [1, {"x": "y"}]}, "more": 1e300}"#,
            r#"{"query": "{a}", "other": 1e400}"#,
            r#"{"query": "{a}", "variables": null, "extensions": null, "operationName": null, "documentId": null}"#,
            r#"{"query": null}"#,
            r#"{}"#,
            r#"{"query": "{a}", "documentId": 5}"#,
            r#"{"documentId": "sha256:ab"}"#,
            r#"{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab"}}}"#,
            r#"{"query": "{a}", "variables": [1]}"#,
            r#"{"query": "{a}", "extensions": "x"}"#,
            r#"{"query": "{a}", "operationName": {}}"#,
            r#"[{"query": "{a}"}]"#,
            r#"[1, 2"#,
            r#"[1, 1e400]"#,
            "1",
            "-1",
            "18446744073709551616",
            "1e400",
            "2.5",
            r#""{a}""#,
            "true",
            "null",
            "",
            "  \n\t ",
            "{ \"not json",
            r#"{"query": "{a}"} trailing"#,
            r#"{"query": "{a}",}"#,
            r#"{"query": "{a}" "x": 1}"#,
            r#"{"query": "\ud800"}"#,
            "{\"query\": \"\u{1}\"}",
            &deep,
        ];
        for body in bodies {
            assert_eq!(
                format!("{:?}", GraphQLParams::from_json(body.as_bytes())),
                format!("{:?}", through_value(body.as_bytes())),
                "{body}"
            );
        }
        // The comparison above holds for answers, not only for errors.
        let escaped =
            GraphQLParams::from_json(br#"{"qu\u0065ry": "{a}", "operation\u004eame": "Q"}"#)
                .unwrap();
        assert_eq!(
            (escaped.query.as_str(), escaped.operation_name.as_deref()),
            ("{a}", Some("Q"))
        );
        let repeated = GraphQLParams::from_json(br#"{"query": "{a}", "query": "{b}"}"#).unwrap();
        assert_eq!(repeated.query, "{b}");
        // Not UTF-8.
        let bytes = b"{\"query\": \"\xff\"}";
        assert_eq!(
            format!("{:?}", GraphQLParams::from_json(bytes)),
            format!("{:?}", through_value(bytes))
        );
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
