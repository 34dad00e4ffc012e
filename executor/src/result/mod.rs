//! The result of a GraphQL execution, as it travels between services.

mod data;
mod error;

use bytes::Bytes;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::data::Data;

pub use self::data::{DataForm, ResultData};
pub use self::error::{GraphQLError, Location, PathSegment};

/// A JSON object with its keys in insertion order (GraphQL responses keep field order).
pub type JsonMap = serde_json::Map<String, Value>;

/// One GraphQL result: a whole response, or one event of a subscription or incremental stream.
///
/// `data` distinguishes *absent* (`None`: the request failed before execution) from `null`
/// (`Some(Value::Null)`: execution failed at the root), as the GraphQL spec does.
///
/// Deserialization is lenient where servers differ (unknown keys are ignored, `errors: null` is
/// an empty list); serialization writes only the keys that are set.
///
/// ```
/// use quilt_executor::ExecutionResult;
/// let result: ExecutionResult =
///     serde_json::from_str(r#"{"data":null,"errors":[{"message":"boom","path":["a",0]}]}"#).unwrap();
/// assert_eq!(result.data_value(), Some(serde_json::Value::Null));
/// assert_eq!(result.errors[0].message, "boom");
/// assert_eq!(serde_json::to_string(&result).unwrap(),
///            r#"{"data":null,"errors":[{"message":"boom","path":["a",0]}]}"#);
/// ```
/// (`Serialize` is written by hand, in the same key order, to write data in any of its forms
/// as `data`.)
///
/// The data is in one of three forms ([`ResultData`]): a `serde_json` value (what every
/// executor answers by default), JSON bytes (for a caller that only serializes) or a compact
/// [`Data`] tree (for a caller that takes the data apart). A caller asks for a form with the
/// request's [`data_form`](crate::Request::data_form); it reads the data with the conversions
/// of [`ResultData`] or of this type ([`data_value`](Self::data_value),
/// [`take_data_tree`](Self::take_data_tree), [`into_form`](Self::into_form)), which take any
/// form.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(from = "Wire")]
pub struct ExecutionResult {
    /// The data: `None` when absent, `null` (in any form) when null.
    pub data: Option<ResultData>,
    /// Errors raised while executing (field errors) or before (request errors).
    pub errors: Vec<GraphQLError>,
    /// Response extensions.
    pub extensions: Option<JsonMap>,
    /// Incremental delivery: whether more payloads follow.
    pub has_next: Option<bool>,
    /// Incremental delivery: the deferred or streamed parts this payload carries.
    pub incremental: Option<Vec<IncrementalPayload>>,
    /// Incremental delivery (2023+ format): announced pending parts, kept verbatim.
    pub pending: Option<Value>,
    /// Incremental delivery (2023+ format): completed parts, kept verbatim.
    pub completed: Option<Value>,
}

/// A result as it is read from the wire.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    #[serde(default, deserialize_with = "present")]
    data: Option<Value>,
    #[serde(default, deserialize_with = "null_as_default")]
    errors: Vec<GraphQLError>,
    #[serde(default)]
    extensions: Option<JsonMap>,
    #[serde(default)]
    has_next: Option<bool>,
    #[serde(default)]
    incremental: Option<Vec<IncrementalPayload>>,
    #[serde(default)]
    pending: Option<Value>,
    #[serde(default)]
    completed: Option<Value>,
}

impl From<Wire> for ExecutionResult {
    fn from(wire: Wire) -> Self {
        ExecutionResult {
            data: wire.data.map(ResultData::Value),
            errors: wire.errors,
            extensions: wire.extensions,
            has_next: wire.has_next,
            incremental: wire.incremental,
            pending: wire.pending,
            completed: wire.completed,
        }
    }
}

impl Serialize for ExecutionResult {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(data) = &self.data {
            map.serialize_entry("data", data)?;
        }
        self.serialize_members(&mut map)?;
        map.end()
    }
}

/// What a response with data starts with.
const DATA_HEAD: &[u8] = b"{\"data\":";

/// The members of a result after `data`, as an object of their own.
struct Members<'r>(&'r ExecutionResult);

impl Serialize for Members<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.0.serialize_members(&mut map)?;
        map.end()
    }
}

impl ExecutionResult {
    /// The result as JSON bytes, as `serde_json::to_vec` writes it, except that data given as
    /// JSON bytes ([`ResultData::Json`]) is copied verbatim instead of being checked.
    ///
    /// ```
    /// use quilt_executor::{ExecutionResult, ResultData};
    /// let result = ExecutionResult {
    ///     data: Some(ResultData::Json(bytes::Bytes::from_static(br#"{"a":1}"#))),
    ///     ..ExecutionResult::default()
    /// };
    /// assert_eq!(result.to_json().unwrap(), br#"{"data":{"a":1}}"#);
    /// assert_eq!(serde_json::to_vec(&result).unwrap(), result.to_json().unwrap());
    /// ```
    pub fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        let tree;
        let json: &[u8] = match &self.data {
            Some(ResultData::Json(json)) => json,
            Some(ResultData::Tree(data)) => {
                tree = data.to_json();
                &tree
            }
            Some(ResultData::Value(_)) | None => return serde_json::to_vec(self),
        };
        let tail = self.tail_after_data()?;
        let mut out = Vec::with_capacity(DATA_HEAD.len() + json.len() + tail.len());
        out.extend_from_slice(DATA_HEAD);
        out.extend_from_slice(json);
        out.extend_from_slice(&tail);
        Ok(out)
    }

    /// [`to_json`](Self::to_json)'s bytes in parts that, joined, are those bytes. With data
    /// given as JSON bytes ([`ResultData::Json`]), that buffer is one of the parts, shared rather than
    /// copied: a server writes the parts one after another (one vectored write) instead of
    /// copying a large answer once more.
    ///
    /// ```
    /// use quilt_executor::{ExecutionResult, ResultData};
    /// let result = ExecutionResult {
    ///     data: Some(ResultData::Json(bytes::Bytes::from_static(br#"{"a":1}"#))),
    ///     ..ExecutionResult::default()
    /// };
    /// let parts = result.to_json_parts().unwrap();
    /// assert_eq!(parts.len(), 3);
    /// assert_eq!(parts.concat(), result.to_json().unwrap());
    /// ```
    pub fn to_json_parts(&self) -> serde_json::Result<Vec<Bytes>> {
        match &self.data {
            Some(ResultData::Json(json)) => Ok(vec![
                Bytes::from_static(DATA_HEAD),
                json.clone(),
                Bytes::from(self.tail_after_data()?),
            ]),
            _ => Ok(vec![Bytes::from(self.to_json()?)]),
        }
    }

    /// What follows `data` in the response: `,"errors":...}` with the other members, or `}`.
    fn tail_after_data(&self) -> serde_json::Result<Vec<u8>> {
        let mut members = serde_json::to_vec(&Members(self))?;
        // `members` is `{}` or `{"key":...}`: its members follow `data`.
        if members.len() > 2 {
            members[0] = b',';
            Ok(members)
        } else {
            Ok(b"}".to_vec())
        }
    }

    /// Every member but `data`, in the order the GraphQL response keeps them.
    fn serialize_members<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        if !self.errors.is_empty() {
            map.serialize_entry("errors", &self.errors)?;
        }
        if let Some(extensions) = &self.extensions {
            map.serialize_entry("extensions", extensions)?;
        }
        if let Some(has_next) = &self.has_next {
            map.serialize_entry("hasNext", has_next)?;
        }
        if let Some(incremental) = &self.incremental {
            map.serialize_entry("incremental", incremental)?;
        }
        if let Some(pending) = &self.pending {
            map.serialize_entry("pending", pending)?;
        }
        if let Some(completed) = &self.completed {
            map.serialize_entry("completed", completed)?;
        }
        Ok(())
    }

    /// Whether the result has data (`null` included), in any of its forms.
    pub fn has_data(&self) -> bool {
        self.data.is_some()
    }

    /// The data as a value, copied: a value cloned, a tree converted, JSON bytes parsed
    /// (bytes that do not parse count as absent).
    pub fn data_value(&self) -> Option<Value> {
        self.data.as_ref()?.to_value().ok()
    }

    /// The data as a value to read or change in place, converted to that form first (a tree
    /// converted, JSON bytes parsed); `None` when absent or when the bytes do not parse (they
    /// are left as they are). For a wrapper that changes the data (a schema transform).
    pub fn data_value_mut(&mut self) -> Option<&mut Value> {
        let data = self.data.take()?;
        self.data = Some(data.into_form(DataForm::Value));
        match &mut self.data {
            Some(ResultData::Value(value)) => Some(value),
            _ => None,
        }
    }

    /// Takes the data out as a [`Data`] tree, whatever its form (`None` when absent; bytes
    /// that do not parse count as absent). Moves a tree without a copy.
    pub fn take_data_tree(&mut self) -> Option<Data> {
        self.data.take()?.into_tree().ok()
    }

    /// The result with its data in `form` (see [`ResultData::into_form`]): for a wrapper that
    /// answers in the form its caller asked for after asking its inner executor for another.
    pub fn into_form(mut self, form: DataForm) -> Self {
        if let Some(data) = self.data.take() {
            self.data = Some(data.into_form(form));
        }
        self
    }

    /// Parses a JSON response with its data as a [`Data`] tree ([`ResultData::Tree`]);
    /// everything else as `serde_json::from_slice` reads an
    /// `ExecutionResult`.
    ///
    /// ```
    /// use quilt_executor::{DataForm, ExecutionResult};
    /// let result = ExecutionResult::from_slice_tree(br#"{"data":{"a":[1]},"errors":null}"#)?;
    /// let data = result.data.unwrap();
    /// assert_eq!(data.form(), DataForm::Tree);
    /// assert_eq!(data.into_json(), &br#"{"a":[1]}"#[..]);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn from_slice_tree(json: &[u8]) -> serde_json::Result<Self> {
        let Data::Object(members) = Data::from_slice(json)? else {
            return Err(<serde_json::Error as serde::de::Error>::custom(
                "invalid type: expected a GraphQL response (a JSON object)",
            ));
        };
        let mut result = ExecutionResult::default();
        // Everything but `data` is small: read through `serde_json` as `Deserialize` reads it.
        let read = |value: Data| Value::from(value);
        for (key, value) in members {
            match key.as_str() {
                "data" => result.data = Some(ResultData::Tree(value)),
                "errors" if value.is_null() => {}
                "errors" => result.errors = serde_json::from_value(read(value))?,
                "extensions" => result.extensions = serde_json::from_value(read(value))?,
                "hasNext" => result.has_next = serde_json::from_value(read(value))?,
                "incremental" => result.incremental = serde_json::from_value(read(value))?,
                "pending" => result.pending = serde_json::from_value(read(value))?,
                "completed" => result.completed = serde_json::from_value(read(value))?,
                _ => {}
            }
        }
        Ok(result)
    }

    /// A result with `data` (a value) and nothing else.
    pub fn from_data(data: Value) -> Self {
        Self {
            data: Some(ResultData::Value(data)),
            ..Self::default()
        }
    }

    /// A request error: no `data`, one error.
    pub fn from_error(error: GraphQLError) -> Self {
        Self {
            errors: vec![error],
            ..Self::default()
        }
    }

    /// Whether this looks like a GraphQL response at all: it has `data`, `errors`, or is an
    /// incremental payload.
    pub fn is_graphql_response(&self) -> bool {
        self.has_data()
            || !self.errors.is_empty()
            || self.has_next.is_some()
            || self.incremental.is_some()
    }
}

/// One part of an incremental (@defer/@stream) payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IncrementalPayload {
    /// Deferred data, merged at `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// Streamed list items, appended at `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<Value>>,
    /// Where the part belongs; always written, since `[]` (the root, for a root-level @defer) is
    /// a path too.
    #[serde(default)]
    pub path: Vec<PathSegment>,
    /// The `label` of the @defer or @stream directive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The pending id this part belongs to (2023+ format).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Errors of this part.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub errors: Vec<GraphQLError>,
    /// Extensions of this part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<JsonMap>,
}

/// Keeps `"key": null` as `Some(Value::Null)`; only an absent key is `None`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// Reads `null` as the default value (servers send `"errors": null`, `"locations": null`).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_and_null_data_differ() {
        let absent: ExecutionResult = serde_json::from_value(json!({"errors":[]})).unwrap();
        let null: ExecutionResult = serde_json::from_value(json!({"data":null})).unwrap();
        assert_eq!(absent.data, None);
        assert_eq!(null.data, Some(ResultData::Value(Value::Null)));
        assert_eq!(serde_json::to_value(&null).unwrap(), json!({"data":null}));
        assert_eq!(serde_json::to_value(&absent).unwrap(), json!({}));
    }

    #[test]
    fn lenient_about_nulls_and_unknown_keys() {
        let r: ExecutionResult = serde_json::from_value(json!({
            "data": {"a": 1},
            "errors": null,
            "somethingElse": true
        }))
        .unwrap();
        assert!(r.errors.is_empty());
        let e: GraphQLError =
            serde_json::from_value(json!({"message":"m","locations":null,"foo":1})).unwrap();
        assert!(e.locations.is_empty());
    }

    #[test]
    fn to_json_writes_data_json_with_every_other_member_as_serde_does() {
        let mut result: ExecutionResult = serde_json::from_value(json!({
            "errors": [{"message": "m", "path": ["a", 0]}],
            "extensions": {"cost": 3},
            "hasNext": false
        }))
        .unwrap();
        result.data = Some(ResultData::Json(Bytes::from_static(
            br#"{"a":[null],"b":"\"q\""}"#,
        )));
        let written = result.to_json().unwrap();
        assert_eq!(written, serde_json::to_vec(&result).unwrap());
        assert_eq!(
            String::from_utf8(written).unwrap(),
            r#"{"data":{"a":[null],"b":"\"q\""},"errors":[{"message":"m","path":["a",0]}],"extensions":{"cost":3},"hasNext":false}"#
        );
        assert_eq!(
            result.to_json_parts().unwrap().concat(),
            written_again(&result)
        );
        // The data buffer is shared, not copied.
        let parts = result.to_json_parts().unwrap();
        assert_eq!(
            parts[1].as_ptr(),
            result
                .data
                .as_ref()
                .and_then(ResultData::as_json)
                .unwrap()
                .as_ptr()
        );
        // The same from a tree, and without any other member.
        let tree = ExecutionResult {
            data: Some(ResultData::Tree(
                crate::Data::from_slice(br#"{"t":true}"#).unwrap(),
            )),
            ..ExecutionResult::default()
        };
        assert_eq!(tree.to_json().unwrap(), br#"{"data":{"t":true}}"#);
        assert_eq!(
            tree.to_json_parts().unwrap().concat(),
            tree.to_json().unwrap()
        );
        assert_eq!(serde_json::to_vec(&tree).unwrap(), tree.to_json().unwrap());
        result.data = Some(ResultData::Json(Bytes::from_static(b"not json")));
        assert!(serde_json::to_vec(&result).is_err());
    }

    fn written_again(result: &ExecutionResult) -> Vec<u8> {
        serde_json::to_vec(result).unwrap()
    }

    #[test]
    fn keeps_field_order() {
        let text = r#"{"data":{"z":1,"a":2,"m":3}}"#;
        let r: ExecutionResult = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), text);
    }

    #[test]
    fn incremental_payload_round_trip() {
        let v = json!({"hasNext":true,"incremental":[{"data":{"b":1},"path":["a",0],"label":"x"}]});
        let r: ExecutionResult = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(r.has_next, Some(true));
        assert_eq!(
            r.incremental.as_ref().unwrap()[0].path,
            vec![PathSegment::from("a"), PathSegment::from(0)]
        );
        assert_eq!(serde_json::to_value(&r).unwrap(), v);
    }

    #[test]
    fn root_level_defer_keeps_its_empty_path() {
        let v = json!({"incremental":[{"data":{"b":1},"path":[]}],"hasNext":false});
        let r: ExecutionResult = serde_json::from_value(v).unwrap();
        let out = serde_json::to_value(&r).unwrap();
        assert_eq!(out["incremental"][0]["path"], json!([]));
    }

    #[test]
    fn error_code_helpers() {
        let e = GraphQLError::new("x").with_code("BAD");
        assert_eq!(e.code(), Some("BAD"));
    }
}
