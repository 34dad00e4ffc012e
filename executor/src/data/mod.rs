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

mod parse;

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Number, Value};

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

/// A JSON object: its members in order, each key once.
///
/// The members are a boxed slice of exactly their number: objects of response data are built
/// once at their size and rarely grow, and a member added later costs one reallocation (which
/// the allocator mostly does in place). [`merge_members`](Self::merge_members) and
/// [`extend`](Self::extend) grow once for many members.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Object {
    entries: Box<[(Str, Data)]>,
}

impl Object {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The position of `key`.
    pub fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _)| key_eq(k, key))
    }

    /// The position of `key`, looked for from position `start` on and then from the first:
    /// where objects of one shape are read one after another, the position the key had in the
    /// last one finds it at the first comparison.
    ///
    /// ```
    /// use quilt_executor::data::{Data, Object};
    /// let object: Object = [("a", Data::Null), ("b", Data::Null), ("c", Data::Null)].into_iter().collect();
    /// assert_eq!(object.position_from("c", 1), Some(2));
    /// assert_eq!(object.position_from("a", 1), Some(0));
    /// assert_eq!(object.position_from("z", 7), None);
    /// ```
    pub fn position_from(&self, key: &str, start: usize) -> Option<usize> {
        let start = start.min(self.entries.len());
        let (before, after) = self.entries.split_at(start);
        after
            .iter()
            .position(|(k, _)| key_eq(k, key))
            .map(|i| start + i)
            .or_else(|| before.iter().position(|(k, _)| key_eq(k, key)))
    }

    /// The value at position `i`, to change.
    pub fn get_index_mut(&mut self, i: usize) -> Option<&mut Data> {
        self.entries.get_mut(i).map(|(_, v)| v)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Data> {
        self.entries
            .iter()
            .find(|(k, _)| key_eq(k, key))
            .map(|(_, v)| v)
    }

    /// The value of `key`, to change.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Data> {
        self.entries
            .iter_mut()
            .find(|(k, _)| key_eq(k, key))
            .map(|(_, v)| v)
    }

    /// Whether `key` is a member.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets `key` to `value`: an existing member keeps its place and gets the new value (which
    /// is what `serde_json::Map::insert` does), a new one goes last. Returns the old value.
    pub fn insert(&mut self, key: impl Into<Str>, value: Data) -> Option<Data> {
        let key = key.into();
        match self.position(&key) {
            Some(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            None => {
                self.push(key, value);
                None
            }
        }
    }

    /// Adds a member last (no check that the key is new).
    fn push(&mut self, key: Str, value: Data) {
        let mut entries = std::mem::take(&mut self.entries).into_vec();
        entries.reserve_exact(1);
        entries.push((key, value));
        self.entries = entries.into_boxed_slice();
    }

    /// Removes `key`, keeping the order of the others; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Data> {
        let i = self.position(key)?;
        let mut entries = std::mem::take(&mut self.entries).into_vec();
        let (_, value) = entries.remove(i);
        self.entries = entries.into_boxed_slice();
        Some(value)
    }

    /// The member at position `i`.
    pub fn get_index(&self, i: usize) -> Option<(&str, &Data)> {
        self.entries.get(i).map(|(k, v)| (k.as_str(), v))
    }

    /// The members, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Data)> + Clone {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The members, values to change.
    pub fn iter_mut(&mut self) -> impl ExactSizeIterator<Item = (&str, &mut Data)> {
        self.entries.iter_mut().map(|(k, v)| (k.as_str(), v))
    }

    /// The members as a slice (keys and values).
    pub fn entries(&self) -> &[(Str, Data)] {
        &self.entries
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// The values, in order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &Data> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// Puts `value` at `key`: `merge(existing, value)` when the key is a member, else the
    /// member is added last. One scan of the keys either way.
    ///
    /// ```
    /// use quilt_executor::data::{Data, Object};
    /// let mut object: Object = [("n", Data::from("a"))].into_iter().collect();
    /// let append = |existing: &mut Data, new: Data| {
    ///     *existing = Data::List(vec![existing.clone(), new].into())
    /// };
    /// object.merge_member("n".into(), Data::from("b"), append);
    /// object.merge_member("m".into(), Data::Null, append);
    /// assert_eq!(Data::Object(object).to_json(), br#"{"n":["a","b"],"m":null}"#);
    /// ```
    pub fn merge_member(&mut self, key: Str, value: Data, merge: impl FnOnce(&mut Data, Data)) {
        match self.position(&key) {
            Some(i) => merge(&mut self.entries[i].1, value),
            None => self.push(key, value),
        }
    }

    /// Puts every member of `source` in, as [`merge_member`](Self::merge_member) does one.
    /// The members grow once, at the first new key, by as many as `source` has left (and
    /// shrink back when some of those were already here); merging into members that are all
    /// there already allocates nothing.
    ///
    /// ```
    /// use quilt_executor::data::{Data, Object};
    /// let mut object: Object = [("a", Data::from("1")), ("b", Data::Null)].into_iter().collect();
    /// let source: Object = [("b", Data::from("2")), ("c", Data::from("3"))].into_iter().collect();
    /// object.merge_members(source, |existing, new| *existing = new);
    /// assert_eq!(Data::Object(object).to_json(), br#"{"a":"1","b":"2","c":"3"}"#);
    /// ```
    pub fn merge_members(&mut self, source: Object, mut merge: impl FnMut(&mut Data, Data)) {
        if self.entries.is_empty() {
            *self = source;
            return;
        }
        let existing = self.entries.len();
        let mut grown: Option<Vec<(Str, Data)>> = None;
        let mut members = source.into_iter();
        while let Some((key, value)) = members.next() {
            let here = match &mut grown {
                Some(entries) => &mut entries[..existing],
                None => &mut self.entries[..],
            };
            // `source`'s keys are distinct: only the members that were here can match.
            match here.iter().position(|(k, _)| key_eq(k, &key)) {
                Some(i) => merge(&mut here[i].1, value),
                None => {
                    let entries = grown.get_or_insert_with(|| {
                        let mut entries = std::mem::take(&mut self.entries).into_vec();
                        entries.reserve_exact(members.len() + 1);
                        entries
                    });
                    entries.push((key, value));
                }
            }
        }
        if let Some(entries) = grown {
            self.entries = entries.into_boxed_slice();
        }
    }

    /// Merges `other` in: each of its members is [`insert`](Self::insert)ed in order. The
    /// members grow once, by `other`'s length.
    pub fn extend(&mut self, other: impl IntoIterator<Item = (Str, Data)>) {
        let other = other.into_iter();
        let mut entries = std::mem::take(&mut self.entries).into_vec();
        entries.reserve_exact(other.size_hint().0);
        for (key, value) in other {
            match entries.iter().position(|(k, _)| key_eq(k, &key)) {
                Some(i) => entries[i].1 = value,
                None => entries.push((key, value)),
            }
        }
        self.entries = entries.into_boxed_slice();
    }

    /// Objects from members that are known to have distinct keys (no check).
    pub(crate) fn from_distinct(entries: Vec<(Str, Data)>) -> Self {
        Self {
            entries: entries.into_boxed_slice(),
        }
    }

    /// The object of members collected with [`put_member`]: small ones are distinct already,
    /// large ones have their repeated keys merged now.
    pub(crate) fn from_members(members: Vec<(Str, Data)>) -> Self {
        if members.len() >= LINEAR_DUPLICATE_CHECK {
            Self::from_distinct(without_duplicates(members))
        } else {
            Self::from_distinct(members)
        }
    }
}

/// Collects a member of the object whose members start at `base`: while the object is small, a
/// repeated key keeps its first place and takes the last value (as serde_json's map does);
/// beyond that, [`Object::from_members`] merges repeats once the object is complete.
pub(crate) fn put_member(members: &mut Vec<(Str, Data)>, base: usize, key: Str, value: Data) {
    let mine = &mut members[base..];
    if mine.len() < LINEAR_DUPLICATE_CHECK
        && let Some(slot) = mine.iter_mut().find(|(k, _)| key_eq(k, &key))
    {
        slot.1 = value;
    } else {
        members.push((key, value));
    }
}

/// Whether two keys are equal: lengths first, then short keys word by word instead of through a
/// `memcmp` call (member keys are mostly short).
#[inline(always)]
pub(crate) fn key_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word8 = |s: &[u8], at: usize| s.get(at..at + 8).and_then(|w| <[u8; 8]>::try_from(w).ok());
    let word4 = |s: &[u8], at: usize| s.get(at..at + 4).and_then(|w| <[u8; 4]>::try_from(w).ok());
    match n {
        // Two words that overlap when `n` is not their sum.
        8..=16 => word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8),
        4..=7 => word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4),
        0..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        _ => a == b,
    }
}

impl IntoIterator for Object {
    type Item = (Str, Data);
    type IntoIter = std::vec::IntoIter<(Str, Data)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_vec().into_iter()
    }
}

/// Collects members as [`Object::insert`] puts them: a repeated key keeps its first place and
/// takes the last value.
impl<K: Into<Str>> FromIterator<(K, Data)> for Object {
    fn from_iter<I: IntoIterator<Item = (K, Data)>>(iter: I) -> Self {
        let mut members = Vec::new();
        for (key, value) in iter {
            put_member(&mut members, 0, key.into(), value);
        }
        Object::from_members(members)
    }
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

    /// The value as JSON bytes, as `serde_json::to_vec` writes the same value.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_json(&mut out);
        out
    }

    /// Appends the value as JSON, as `serde_json::to_writer` writes the same value.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Data::Null => out.extend_from_slice(b"null"),
            Data::Bool(true) => out.extend_from_slice(b"true"),
            Data::Bool(false) => out.extend_from_slice(b"false"),
            Data::Number(number) => write_number(out, number),
            Data::String(s) => write_str(out, s),
            Data::List(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write_json(out);
                }
                out.push(b']');
            }
            Data::Object(object) => {
                out.push(b'{');
                for (i, (key, value)) in object.entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(out, key);
                    out.push(b':');
                    value.write_json(out);
                }
                out.push(b'}');
            }
        }
    }
}

/// Writes a number as `serde_json` does.
pub fn write_number(out: &mut Vec<u8>, number: &Number) {
    if let Some(n) = number.as_u64() {
        out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    } else if let Some(n) = number.as_i64() {
        out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    } else {
        // A float: serde_json's own formatting. Writing into a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut *out, number);
    }
}

/// Writes a JSON string, as `serde_json` does. Most strings need no escaping: they are checked
/// 16 bytes at a time and copied whole; the rest go through serde_json's escaper.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    if needs_escape(s.as_bytes()) {
        // Writing a string into a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// Whether a byte must be escaped in a JSON string: a quote, a backslash or a control
/// character.
#[inline(always)]
fn special(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Whether a JSON string needs escapes: a quote, a backslash or a control character. Up to 16
/// bytes are checked as two (overlapping) words, longer strings 16 bytes at a step (a form the
/// compiler checks with vector instructions) and their last 16 bytes as two words.
pub fn needs_escape(bytes: &[u8]) -> bool {
    let n = bytes.len();
    let last_two = |bytes: &[u8]| {
        let at = |i| word(bytes, i).map_or(0, special_bytes);
        at(n - 16) | at(n - 8) != 0
    };
    match n {
        0..=7 => bytes.iter().any(|&b| special(b)),
        8..=16 => {
            let at = |i| word(bytes, i).map_or(0, special_bytes);
            at(0) | at(n - 8) != 0
        }
        _ => {
            let mut chunks = bytes.chunks_exact(16);
            for chunk in &mut chunks {
                // No early exit inside a chunk, so the compiler can check it in one vector
                // step.
                if chunk.iter().fold(false, |hit, &b| hit | special(b)) {
                    return true;
                }
            }
            !chunks.remainder().is_empty() && last_two(bytes)
        }
    }
}

/// The eight bytes at `at` as a little-endian word.
#[inline(always)]
pub(crate) fn word(bytes: &[u8], at: usize) -> Option<u64> {
    let bytes = bytes.get(at..at + 8)?;
    <[u8; 8]>::try_from(bytes).ok().map(u64::from_le_bytes)
}

/// The high bit of every byte of `x` that is a quote, a backslash or below 0x20, except that
/// bytes after the first such byte may be marked wrongly (the borrow of the subtraction runs
/// on): only the lowest mark is exact, and only it is read.
#[inline(always)]
pub(crate) fn special_bytes(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let quote = x ^ (ONES * u64::from(b'"'));
    let backslash = x ^ (ONES * u64::from(b'\\'));
    let below_space = x.wrapping_sub(ONES * 0x20) & !x;
    let is_quote = quote.wrapping_sub(ONES) & !quote;
    let is_backslash = backslash.wrapping_sub(ONES) & !backslash;
    (below_space | is_quote | is_backslash) & HIGH
}

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

impl Serialize for Data {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Data::Null => serializer.serialize_unit(),
            Data::Bool(b) => serializer.serialize_bool(*b),
            Data::Number(n) => n.serialize(serializer),
            Data::String(s) => serializer.serialize_str(s),
            Data::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Data::Object(object) => object.serialize(serializer),
        }
    }
}

impl Serialize for Object {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (key, value) in &self.entries {
            map.serialize_entry(key.as_str(), value)?;
        }
        map.end()
    }
}

/// Objects of more members than this have their keys checked for duplicates with a hash set
/// once they are complete; smaller ones compare each new key with the ones before.
const LINEAR_DUPLICATE_CHECK: usize = 32;

thread_local! {
    /// The members of the objects being parsed, innermost last: each object takes its own off
    /// the top when it is complete, so it is allocated once, at its size.
    static MEMBERS: RefCell<Vec<(Str, Data)>> = const { RefCell::new(Vec::new()) };
    /// The same for list items.
    static ITEMS: RefCell<Vec<Data>> = const { RefCell::new(Vec::new()) };
}

/// The most members (items) the parse stacks keep between parses.
const STACK_KEEP: usize = 4096;

struct DataVisitor;

impl<'de> Visitor<'de> for DataVisitor {
    type Value = Data;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Data, E> {
        Ok(Data::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Data, E> {
        Ok(Data::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Data, E> {
        Ok(Data::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Data, E> {
        Ok(Number::from_f64(v).map_or(Data::Null, Data::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Data, E> {
        Ok(Data::String(Str::new(v)))
    }

    fn visit_string<E>(self, v: String) -> Result<Data, E> {
        Ok(Data::String(Str::from(v)))
    }

    fn visit_none<E>(self) -> Result<Data, E> {
        Ok(Data::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Data, D::Error> {
        Deserialize::deserialize(deserializer)
    }

    fn visit_unit<E>(self) -> Result<Data, E> {
        Ok(Data::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Data, A::Error> {
        let base = ITEMS.with_borrow(Vec::len);
        let outcome = (|| {
            while let Some(item) = seq.next_element::<Data>()? {
                ITEMS.with_borrow_mut(|items| items.push(item));
            }
            Ok(())
        })();
        let items = ITEMS.with_borrow_mut(|items| take_from(items, base));
        outcome.map(|()| Data::List(items.into_boxed_slice()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Data, A::Error> {
        let base = MEMBERS.with_borrow(Vec::len);
        let outcome = (|| {
            while let Some(key) = map.next_key::<KeySeed>()? {
                let value = map.next_value::<Data>()?;
                MEMBERS.with_borrow_mut(|members| put_member(members, base, key.0, value));
            }
            Ok(())
        })();
        let members = MEMBERS.with_borrow_mut(|members| take_from(members, base));
        outcome?;
        Ok(Data::Object(Object::from_members(members)))
    }
}

/// Moves the entries of `stack` from `base` on into a vector of exactly their number; trims the
/// stack when it grew large (one huge answer does not keep its memory).
fn take_from<T>(stack: &mut Vec<T>, base: usize) -> Vec<T> {
    let base = base.min(stack.len());
    let mut taken = Vec::with_capacity(stack.len() - base);
    taken.extend(stack.drain(base..));
    if stack.is_empty() && stack.capacity() > STACK_KEEP {
        stack.shrink_to(STACK_KEEP);
    }
    taken
}

/// Members of a large object with repeated keys merged as serde_json does (the first place,
/// the last value).
fn without_duplicates(members: Vec<(Str, Data)>) -> Vec<(Str, Data)> {
    let mut first: std::collections::HashMap<Str, usize> =
        std::collections::HashMap::with_capacity(members.len());
    let mut out: Vec<(Str, Data)> = Vec::with_capacity(members.len());
    for (key, value) in members {
        match first.get(&key) {
            Some(&i) => out[i].1 = value,
            None => {
                first.insert(key.clone(), out.len());
                out.push((key, value));
            }
        }
    }
    out
}

/// A key, read without an intermediate `String`.
struct KeySeed(Str);

impl<'de> Deserialize<'de> for KeySeed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = KeySeed;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_str<E>(self, v: &str) -> Result<KeySeed, E> {
                Ok(KeySeed(Str::new(v)))
            }
            fn visit_string<E>(self, v: String) -> Result<KeySeed, E> {
                Ok(KeySeed(Str::from(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Data, D::Error> {
        deserializer.deserialize_any(DataVisitor)
    }
}

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Object, D::Error> {
        match Data::deserialize(deserializer)? {
            Data::Object(object) => Ok(object),
            _ => Err(de::Error::custom("expected a JSON object")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SAMPLES: &[&str] = &[
        "null",
        "true",
        "[]",
        "{}",
        r#"{"a":1,"b":-2,"c":1.5,"d":1e300,"e":-0.0,"f":18446744073709551615,"g":-9223372036854775808}"#,
        r#"{"s":"plain","t":"quote \" and \\ back","u":"\u0001\u001f\n\t","v":"é😀</","w":"\ud83d\ude00"}"#,
        r#"{"nested":{"list":[{"x":null},[],[[1,2],[3]],{"y":{"z":[true,false]}}]}}"#,
        r#"{"long":"a string that is longer than twenty-four bytes, on the heap"}"#,
        r#"[1,"two",{"three":3},[4],null]"#,
    ];

    #[test]
    fn parses_and_writes_what_serde_json_does() {
        for text in SAMPLES {
            let value: Value = serde_json::from_str(text).unwrap();
            let data = Data::from_slice(text.as_bytes()).unwrap();
            assert_eq!(data, value, "{text}");
            assert_eq!(
                data.to_json(),
                serde_json::to_vec(&value).unwrap(),
                "{text}"
            );
            assert_eq!(serde_json::to_vec(&data).unwrap(), data.to_json(), "{text}");
            assert_eq!(Value::from(data.clone()), value, "{text}");
            assert_eq!(Value::from(&data), value, "{text}");
            assert_eq!(Data::from(value.clone()), data, "{text}");
            assert_eq!(Data::from(&value), data, "{text}");
        }
    }

    #[test]
    fn repeated_keys_keep_the_first_place_and_the_last_value() {
        let text = r#"{"a":1,"b":2,"a":3}"#;
        let value: Value = serde_json::from_str(text).unwrap();
        let data = Data::from_slice(text.as_bytes()).unwrap();
        assert_eq!(data, value);
        assert_eq!(data.to_json(), br#"{"a":3,"b":2}"#);
        // Past the linear check too.
        let mut many: Vec<String> = (0..40).map(|i| format!(r#""k{i}":{i}"#)).collect();
        many.push(r#""k3":"again""#.into());
        many.push(r#""k39":"last""#.into());
        let text = format!("{{{}}}", many.join(","));
        let value: Value = serde_json::from_str(&text).unwrap();
        let data = Data::from_slice(text.as_bytes()).unwrap();
        assert_eq!(data, value);
        assert_eq!(data.to_json(), serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn invalid_json_is_an_error_and_the_parse_stacks_recover() {
        for bad in [
            "{",
            r#"{"a":}"#,
            "[1,2",
            r#"{"a":[1,{"b":"#,
            "\"\\x\"",
            "01",
            "{\"a\":1}x",
        ] {
            assert!(Data::from_slice(bad.as_bytes()).is_err(), "{bad}");
        }
        assert_eq!(MEMBERS.with_borrow(Vec::len), 0);
        assert_eq!(ITEMS.with_borrow(Vec::len), 0);
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(Data::from_slice(deep.as_bytes()).is_err(), "nesting limit");
        assert_eq!(ITEMS.with_borrow(Vec::len), 0);
        assert_eq!(
            Data::from_slice(br#"{"ok":[1]}"#).unwrap(),
            json!({"ok": [1]})
        );
    }

    #[test]
    fn objects_insert_remove_and_keep_order() {
        let mut object = Object::new();
        assert_eq!(object.insert("b", Data::Null), None);
        object.insert("a", Data::Bool(true));
        assert_eq!(object.insert("b", Data::from("x")), Some(Data::Null));
        assert_eq!(object.keys().collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(object.remove("b"), Some(Data::from("x")));
        assert_eq!(object.remove("b"), None);
        assert!(object.contains_key("a"));
        assert_eq!(object.len(), 1);
        let collected: Object = [("x", Data::Null), ("y", Data::Null), ("x", Data::from("z"))]
            .into_iter()
            .collect();
        assert_eq!(Data::Object(collected).to_json(), br#"{"x":"z","y":null}"#);
    }

    #[test]
    fn a_value_is_three_words_and_a_member_six() {
        assert_eq!(size_of::<Data>(), 24);
        assert_eq!(size_of::<(Str, Data)>(), 48);
        assert_eq!(size_of::<Object>(), 16);
    }

    #[test]
    fn members_merge_extend_and_collect_as_inserts_do() {
        // Many members: the collected object checks duplicates with a hash set.
        let many: Object = (0..40)
            .map(|i| (format!("k{}", i % 35), Data::from(i.to_string().as_str())))
            .collect();
        let mut by_insert = Object::new();
        for i in 0..40 {
            by_insert.insert(format!("k{}", i % 35), Data::from(i.to_string().as_str()));
        }
        assert_eq!(many, by_insert);
        assert_eq!(many.len(), 35);
        assert_eq!(many.get("k0").and_then(Data::as_str), Some("35"));

        let mut merged: Object = [("a", Data::from("1")), ("b", Data::from("2"))]
            .into_iter()
            .collect();
        let source: Object = [("c", Data::from("3")), ("a", Data::from("4"))]
            .into_iter()
            .collect();
        merged.merge_members(source, |existing, new| {
            *existing = Data::List(vec![existing.clone(), new].into())
        });
        assert_eq!(
            Data::Object(merged.clone()).to_json(),
            br#"{"a":["1","4"],"b":"2","c":"3"}"#
        );
        let mut same = merged.clone();
        let updates: Object = [("c", Data::Null), ("b", Data::Bool(false))]
            .into_iter()
            .collect();
        same.merge_members(updates, |existing, new| *existing = new);
        assert_eq!(
            Data::Object(same).to_json(),
            br#"{"a":["1","4"],"b":false,"c":null}"#
        );
        let mut empty = Object::new();
        empty.merge_members(merged.clone(), |_, _| {
            unreachable!("no member to merge with")
        });
        assert_eq!(empty, merged);

        let mut extended = merged;
        extended.extend([
            (Str::new("d"), Data::Null),
            (Str::new("b"), Data::Bool(true)),
            (Str::new("d"), Data::from("x")),
        ]);
        assert_eq!(
            Data::Object(extended).to_json(),
            br#"{"a":["1","4"],"b":true,"c":"3","d":"x"}"#
        );
    }

    #[test]
    fn keys_are_equal_exactly_when_their_bytes_are() {
        let keys: Vec<String> = (0..40)
            .map(|n| "abcdefghijklmnopqrstuvwxyz0123456789ABCD"[..n].to_owned())
            .collect();
        for a in &keys {
            for b in &keys {
                assert_eq!(key_eq(a, b), a == b, "{a:?} {b:?}");
            }
            // One byte changed at every position.
            for at in 0..a.len() {
                let mut changed = a.clone().into_bytes();
                changed[at] = b'_';
                let changed = String::from_utf8(changed).unwrap();
                assert!(!key_eq(a, &changed), "{a:?} {changed:?}");
            }
        }
    }

    #[test]
    fn needs_escape_sees_a_special_byte_at_every_position_of_every_length() {
        for len in 0..70 {
            let plain: Vec<u8> = (0..len).map(|i| b"a\x7f\xc3\xa9 ~]"[i % 7]).collect();
            assert!(!needs_escape(&plain), "{len}");
            for at in 0..len {
                for special in [b'"', b'\\', 0x00, 0x1f] {
                    let mut bytes = plain.clone();
                    bytes[at] = special;
                    assert!(needs_escape(&bytes), "{special:#x} at {at} of {len}");
                }
            }
        }
    }

    #[test]
    fn needs_escape_finds_every_special_byte_at_every_position() {
        let plain = "aé😀\u{7f}~ Z".repeat(4);
        assert!(!needs_escape(plain.as_bytes()));
        for special in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
            for at in 0..23 {
                let mut bytes = b"abcdefghijklmnopqrstuvw".to_vec();
                bytes[at] = special;
                assert!(needs_escape(&bytes), "{special:#x} at {at}");
            }
        }
        for harmless in [0x20u8, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xff] {
            assert!(!needs_escape(&[harmless; 17]), "{harmless:#x}");
        }
    }

    #[test]
    fn written_strings_and_numbers_are_what_serde_json_writes() {
        for text in [
            "",
            "plain",
            "a\"b",
            "back\\slash",
            "tab\there",
            "\u{1}\u{1f}",
            "é😀</",
        ] {
            let mut out = Vec::new();
            write_str(&mut out, text);
            assert_eq!(out, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
        for number in [
            json!(0),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(-1),
            json!(0.1),
            json!(-0.0),
            json!(1e-7),
            json!(123456789.0),
        ] {
            let Value::Number(n) = &number else {
                unreachable!()
            };
            let mut out = Vec::new();
            write_number(&mut out, n);
            assert_eq!(out, serde_json::to_vec(&number).unwrap(), "{number}");
        }
    }
}
