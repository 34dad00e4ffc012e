//! Conversions between [`Data`] and `serde_json::Value`.

use serde_json::Value;

use super::{Data, Object, Str};

impl From<Value> for Data {
    fn from(value: Value) -> Self {
        match value {
            Value::Null => Data::Null,
            Value::Bool(b) => Data::Bool(b),
            Value::Number(n) => Data::Number(n),
            Value::String(s) => Data::String(Str::from(s)),
            Value::Array(items) => Data::List(items.into_iter().map(Data::from).collect()),
            Value::Object(map) => Data::Object(Object::from(map)),
        }
    }
}

impl From<&Value> for Data {
    fn from(value: &Value) -> Self {
        match value {
            Value::Null => Data::Null,
            Value::Bool(b) => Data::Bool(*b),
            Value::Number(n) => Data::Number(n.clone()),
            Value::String(s) => Data::String(Str::new(s)),
            Value::Array(items) => Data::List(items.iter().map(Data::from).collect()),
            Value::Object(map) => Data::Object(Object::from_distinct(
                map.iter()
                    .map(|(k, v)| (Str::new(k), Data::from(v)))
                    .collect(),
            )),
        }
    }
}

impl From<serde_json::Map<String, Value>> for Object {
    fn from(map: serde_json::Map<String, Value>) -> Self {
        // A map's keys are distinct.
        Object::from_distinct(
            map.into_iter()
                .map(|(k, v)| (Str::from(k), Data::from(v)))
                .collect(),
        )
    }
}

impl From<Data> for Value {
    fn from(data: Data) -> Self {
        match data {
            Data::Null => Value::Null,
            Data::Bool(b) => Value::Bool(b),
            Data::Number(n) => Value::Number(n),
            Data::String(s) => Value::String(s.into_string()),
            Data::List(items) => Value::Array(items.into_iter().map(Value::from).collect()),
            Data::Object(object) => Value::Object(object.into()),
        }
    }
}

impl From<&Data> for Value {
    fn from(data: &Data) -> Self {
        match data {
            Data::Null => Value::Null,
            Data::Bool(b) => Value::Bool(*b),
            Data::Number(n) => Value::Number(n.clone()),
            Data::String(s) => Value::String(s.to_string()),
            Data::List(items) => Value::Array(items.iter().map(Value::from).collect()),
            Data::Object(object) => Value::Object(
                object
                    .entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), Value::from(v)))
                    .collect(),
            ),
        }
    }
}

impl From<Object> for serde_json::Map<String, Value> {
    fn from(object: Object) -> Self {
        object
            .entries
            .into_iter()
            .map(|(k, v)| (k.into_string(), Value::from(v)))
            .collect()
    }
}

impl From<Object> for Data {
    fn from(object: Object) -> Self {
        Data::Object(object)
    }
}

impl From<&str> for Data {
    fn from(s: &str) -> Self {
        Data::String(Str::new(s))
    }
}

impl PartialEq<Value> for Data {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Data::Null, Value::Null) => true,
            (Data::Bool(a), Value::Bool(b)) => a == b,
            (Data::Number(a), Value::Number(b)) => a == b,
            (Data::String(a), Value::String(b)) => a.as_str() == b.as_str(),
            (Data::List(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(a, b)| a == b)
            }
            (Data::Object(a), Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b.iter())
                        .all(|((ka, va), (kb, vb))| ka == kb && va == vb)
            }
            _ => false,
        }
    }
}
