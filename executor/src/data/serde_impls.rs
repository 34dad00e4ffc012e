//! `Serialize` and `Deserialize` for [`Data`] and [`Object`].

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use serde_json::Number;

use super::{Data, Object, Str, put_member};

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

thread_local! {
    /// The members of the objects being parsed, innermost last: each object takes its own off
    /// the top when it is complete, so it is allocated once, at its size.
    pub(super) static MEMBERS: RefCell<Vec<(Str, Data)>> = const { RefCell::new(Vec::new()) };
    /// The same for list items.
    pub(super) static ITEMS: RefCell<Vec<Data>> = const { RefCell::new(Vec::new()) };
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
