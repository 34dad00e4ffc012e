//! [`Data`]: a compact JSON tree for response data that a gateway takes apart and puts back
//! together (Quilt's stitched schema), and the JSON writer it shares with the stitched schema's
//! shaper.
//!
//! `serde_json::Value` keeps object members in an `IndexMap` (with `preserve_order`): every
//! member costs a SipHash of its key, a hash-table slot and a heap-allocated key. Response data
//! objects are small and are read in order, so [`Object`] is a vector of members instead, keys
//! and short strings live inline ([`Str`], up to 24 bytes without an allocation), and parsing
//! one collects each object's members on a reused stack before allocating it once at its final
//! size.
//!
//! The tree holds the same values as `serde_json::Value`, keeps member order, and converts both
//! ways; [`Data::write_json`] writes the bytes `serde_json::to_vec` writes for the same value.
//!
//! ```
//! use quilt_executor::data::Data;
//!
//! let data = Data::from_slice(br#"{"user":{"id":"1","tags":["a","b"],"age":42}}"#)?;
//! assert_eq!(data.get("user").and_then(|u| u.get("id")).and_then(Data::as_str), Some("1"));
//! assert_eq!(data.to_json(), br#"{"user":{"id":"1","tags":["a","b"],"age":42}}"#);
//! let value: serde_json::Value = data.clone().into();
//! assert_eq!(Data::from(value), data);
//! # Ok::<(), serde_json::Error>(())
//! ```

mod convert;
mod object;
mod parse;
mod serde_impls;
#[cfg(test)]
mod tests;
mod write;

pub(crate) use self::object::LINEAR_DUPLICATE_CHECK;
pub use self::object::Object;
pub(crate) use self::object::{key_eq, put_member};
pub(crate) use self::write::{any_special, special, special_bytes, word};
pub use self::write::{needs_escape, write_number, write_str};

use serde_json::Number;

/// A string of a [`Data`] tree: inline up to 24 bytes, on the heap beyond.
pub type Str = compact_str::CompactString;

/// A JSON value, as the gateway keeps response data; see the [module documentation](self).
///
/// 24 bytes: lists and objects are boxed slices (a pointer and a length), which leaves room for
/// the variant's tag in a spare value of the inline string's last byte.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Data {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number (as `serde_json` keeps it: `u64`, `i64` or a finite `f64`).
    Number(Number),
    /// A string.
    String(Str),
    /// A list (build one from a vector with `.into()` or by collecting).
    List(Box<[Data]>),
    /// An object, members in order.
    Object(Object),
}

impl Data {
    /// Parses JSON text: the values `serde_json::from_slice` reads, and an error where it
    /// fails (the messages differ), nesting limit included.
    pub fn from_slice(json: &[u8]) -> serde_json::Result<Data> {
        parse::parse(json)
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Data::Null)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Data::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Data::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Data::Object(object) => Some(object),
            _ => None,
        }
    }

    /// The object, if this is one, to change.
    pub fn as_object_mut(&mut self) -> Option<&mut Object> {
        match self {
            Data::Object(object) => Some(object),
            _ => None,
        }
    }

    /// The list, if this is one.
    pub fn as_list(&self) -> Option<&[Data]> {
        match self {
            Data::List(items) => Some(items),
            _ => None,
        }
    }

    /// A member of an object (`None` for anything else).
    pub fn get(&self, key: &str) -> Option<&Data> {
        self.as_object()?.get(key)
    }
}
