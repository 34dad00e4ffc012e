//! A result's data in one of its three forms, and the form a caller asks for.

use bytes::Bytes;
use serde::ser::Error as _;
use serde::{Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::data::Data;

/// The form in which a caller wants a result's data; carried by the
/// [`Request`](crate::Request) (its [`data_form`](crate::Request::data_form)), so that a
/// wrapper passing the request on passes the wish on with it.
///
/// The form is a wish, not a promise: an executor answers in it when that saves work (the
/// HTTP executor parses a JSON answer straight into a [`Data`] tree, the stitched schema hands
/// over the bytes it wrote while completing its answer) and in its own form otherwise. Callers
/// read the data with [`ResultData`]'s conversions, which take any form and cost nothing when
/// the form is the one they asked for.
///
/// ```
/// use quilt_executor::{DataForm, Request};
/// let request = Request::new("{ a }")?.data_form(DataForm::Tree);
/// assert_eq!(request.data_form, DataForm::Tree);
/// assert_eq!(Request::new("{ a }")?.data_form, DataForm::Value);
/// # Ok::<(), quilt_executor::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum DataForm {
    /// A `serde_json` tree ([`ResultData::Value`]): what a caller that reads or changes the data
    /// as JSON values wants, and the default.
    #[default]
    Value,
    /// JSON bytes ([`ResultData::Json`]): for a caller that only serializes the result (a
    /// server answering over HTTP).
    Json,
    /// A compact [`Data`] tree ([`ResultData::Tree`]): for a caller that takes the data apart
    /// (the stitched schema, for its upstream requests; the batching executor, to split a
    /// merged answer).
    Tree,
}

/// A result's data (`null` included), in one form: so that "at most one form is set" holds by
/// construction. Absent data is `None` in [`ExecutionResult::data`](crate::ExecutionResult::data).
///
/// The conversions take any form and move the data when it already is in the asked one:
/// [`into_value`](Self::into_value), [`into_tree`](Self::into_tree),
/// [`into_json`](Self::into_json) and [`into_form`](Self::into_form).
///
/// Equality is equality of the data, whatever the forms: a tree equals the value it converts
/// to, and JSON bytes equal the value they parse to.
///
/// ```
/// use quilt_executor::{data::Data, ResultData};
/// use serde_json::json;
///
/// let tree = ResultData::Tree(Data::from_slice(br#"{"a":[1]}"#)?);
/// assert_eq!(tree, ResultData::Value(json!({"a": [1]})));
/// assert_eq!(tree.clone().into_json(), &br#"{"a":[1]}"#[..]);
/// assert_eq!(tree.into_value()?, json!({"a": [1]}));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone)]
pub enum ResultData {
    /// A `serde_json` tree: what every executor answers by default.
    Value(Value),
    /// The data already serialized as JSON (the stitched schema writes its answer while
    /// completing it, so that no tree is ever built). Serializing the result writes these
    /// bytes as `data`; [`ExecutionResult::to_json`](crate::ExecutionResult::to_json) copies
    /// them verbatim. Never read from the wire.
    Json(Bytes),
    /// A compact [`Data`] tree (the HTTP executor parses a JSON answer straight into it, the
    /// batching executor splits it). Read from the wire only by
    /// [`ExecutionResult::from_slice_tree`](crate::ExecutionResult::from_slice_tree).
    Tree(Data),
}

impl ResultData {
    /// The form the data is in.
    pub fn form(&self) -> DataForm {
        match self {
            ResultData::Value(_) => DataForm::Value,
            ResultData::Json(_) => DataForm::Json,
            ResultData::Tree(_) => DataForm::Tree,
        }
    }

    /// The value, when the data is in that form.
    pub fn as_value(&self) -> Option<&Value> {
        match self {
            ResultData::Value(value) => Some(value),
            _ => None,
        }
    }

    /// The tree, when the data is in that form.
    pub fn as_tree(&self) -> Option<&Data> {
        match self {
            ResultData::Tree(tree) => Some(tree),
            _ => None,
        }
    }

    /// The JSON bytes, when the data is in that form.
    pub fn as_json(&self) -> Option<&Bytes> {
        match self {
            ResultData::Json(json) => Some(json),
            _ => None,
        }
    }

    /// Whether the data is `null`.
    pub fn is_null(&self) -> bool {
        match self {
            ResultData::Value(value) => value.is_null(),
            ResultData::Tree(tree) => tree.is_null(),
            ResultData::Json(json) => json.trim_ascii() == b"null",
        }
    }

    /// The data as a `serde_json` value: moved, converted from a tree, or parsed from JSON
    /// bytes (the one way it fails: bytes that are not JSON).
    pub fn into_value(self) -> serde_json::Result<Value> {
        match self {
            ResultData::Value(value) => Ok(value),
            ResultData::Tree(tree) => Ok(Value::from(tree)),
            ResultData::Json(json) => serde_json::from_slice(&json),
        }
    }

    /// The data as a value, copied: [`into_value`](Self::into_value) without taking it.
    pub fn to_value(&self) -> serde_json::Result<Value> {
        match self {
            ResultData::Value(value) => Ok(value.clone()),
            ResultData::Tree(tree) => Ok(Value::from(tree)),
            ResultData::Json(json) => serde_json::from_slice(json),
        }
    }

    /// The data as a [`Data`] tree: moved, converted from a value, or parsed from JSON bytes
    /// (the one way it fails: bytes that are not JSON).
    pub fn into_tree(self) -> serde_json::Result<Data> {
        match self {
            ResultData::Tree(tree) => Ok(tree),
            ResultData::Value(value) => Ok(Data::from(value)),
            ResultData::Json(json) => Data::from_slice(&json),
        }
    }

    /// The data as JSON bytes: moved, or written from the tree or value (as
    /// `serde_json::to_vec` writes it).
    pub fn into_json(self) -> Bytes {
        match self {
            ResultData::Json(json) => json,
            ResultData::Tree(tree) => Bytes::from(tree.to_json()),
            ResultData::Value(value) => Bytes::from(Data::from(value).to_json()),
        }
    }

    /// The data in `form`. Bytes that do not parse stay bytes (serializing the result then
    /// reports them), so the data is never lost on the way.
    pub fn into_form(self, form: DataForm) -> ResultData {
        match (self, form) {
            (data, form) if data.form() == form => data,
            (data, DataForm::Json) => ResultData::Json(data.into_json()),
            (ResultData::Tree(tree), DataForm::Value) => ResultData::Value(Value::from(tree)),
            (ResultData::Value(value), DataForm::Tree) => ResultData::Tree(Data::from(value)),
            (ResultData::Json(json), DataForm::Value) => match serde_json::from_slice(&json) {
                Ok(value) => ResultData::Value(value),
                Err(_) => ResultData::Json(json),
            },
            (ResultData::Json(json), DataForm::Tree) => match Data::from_slice(&json) {
                Ok(tree) => ResultData::Tree(tree),
                Err(_) => ResultData::Json(json),
            },
            (data, _) => data,
        }
    }
}

impl From<Value> for ResultData {
    fn from(value: Value) -> Self {
        ResultData::Value(value)
    }
}

impl From<Data> for ResultData {
    fn from(tree: Data) -> Self {
        ResultData::Tree(tree)
    }
}

impl PartialEq for ResultData {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (ResultData::Value(a), ResultData::Value(b)) => a == b,
            (ResultData::Tree(a), ResultData::Tree(b)) => a == b,
            (ResultData::Json(a), ResultData::Json(b)) if a == b => true,
            (ResultData::Tree(tree), ResultData::Value(value))
            | (ResultData::Value(value), ResultData::Tree(tree)) => tree == value,
            _ => match (self.to_value(), other.to_value()) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            },
        }
    }
}

impl PartialEq<Value> for ResultData {
    fn eq(&self, other: &Value) -> bool {
        match self {
            ResultData::Value(value) => value == other,
            ResultData::Tree(tree) => tree == other,
            ResultData::Json(_) => self.to_value().is_ok_and(|value| &value == other),
        }
    }
}

impl Serialize for ResultData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ResultData::Value(value) => value.serialize(serializer),
            ResultData::Tree(tree) => tree.serialize(serializer),
            ResultData::Json(json) => {
                // Checked here; the fast path is `ExecutionResult::to_json`, which copies the
                // bytes.
                let text = std::str::from_utf8(json).map_err(S::Error::custom)?;
                let raw: &RawValue = serde_json::from_str(text).map_err(S::Error::custom)?;
                raw.serialize(serializer)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TEXT: &[u8] = br#"{"a":[1,null,"x"],"b":{"c":true}}"#;

    fn all_forms() -> [ResultData; 3] {
        [
            ResultData::Value(serde_json::from_slice(TEXT).unwrap()),
            ResultData::Json(Bytes::from_static(TEXT)),
            ResultData::Tree(Data::from_slice(TEXT).unwrap()),
        ]
    }

    #[test]
    fn every_form_converts_to_every_other_with_the_same_data() {
        let value: Value = serde_json::from_slice(TEXT).unwrap();
        for data in all_forms() {
            for form in [DataForm::Value, DataForm::Json, DataForm::Tree] {
                let converted = data.clone().into_form(form);
                assert_eq!(converted.form(), form, "{data:?} into {form:?}");
                assert_eq!(converted, data);
                assert_eq!(converted, value);
            }
            assert_eq!(data.clone().into_value().unwrap(), value);
            assert_eq!(data.clone().into_tree().unwrap(), value);
            assert_eq!(data.clone().into_json(), TEXT);
            assert_eq!(serde_json::to_vec(&data).unwrap(), TEXT);
            assert!(!data.is_null());
        }
    }

    #[test]
    fn the_asked_form_is_moved_not_copied() {
        let json = Bytes::from_static(TEXT);
        let moved = ResultData::Json(json.clone()).into_json();
        assert_eq!(moved.as_ptr(), json.as_ptr());
        let bytes = ResultData::Json(json.clone()).into_form(DataForm::Json);
        assert_eq!(bytes.as_json().map(|b| b.as_ptr()), Some(json.as_ptr()));
    }

    #[test]
    fn bytes_that_are_not_json_stay_bytes_and_fail_to_serialize() {
        let bad = ResultData::Json(Bytes::from_static(b"not json"));
        assert!(bad.clone().into_value().is_err());
        assert!(bad.clone().into_tree().is_err());
        assert_eq!(bad.clone().into_form(DataForm::Tree).form(), DataForm::Json);
        assert!(serde_json::to_vec(&bad).is_err());
        assert_ne!(bad, ResultData::Value(json!(null)));
    }

    #[test]
    fn null_in_every_form() {
        for data in [
            ResultData::Value(Value::Null),
            ResultData::Tree(Data::Null),
            ResultData::Json(Bytes::from_static(b"null")),
        ] {
            assert!(data.is_null(), "{data:?}");
        }
    }
}
