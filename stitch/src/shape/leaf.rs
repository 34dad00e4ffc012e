//! Leaf values checked against their type while they are written, as graphql-js serializes
//! them (what a graphql-tools gateway answers): a value the type accepts as it is is copied,
//! one it converts (`5` for a `String`, `"7"` or `7.0` for an `Int`, `1` for an `ID`) is
//! written converted, and anything else (an object for a `String`, a name an enum lacks, an
//! integer past 32 bits) is an error at the field's path, the value null. Custom scalars take
//! any value. Nothing that fails its type reaches the client.

use apollo_compiler::Schema;
use apollo_compiler::schema::ExtendedType;
use quilt_executor::data::{Data, write_str};
use serde_json::Number;

/// How a leaf value is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Leaf {
    String,
    Int,
    Float,
    Boolean,
    Id,
    Enum,
    /// A custom scalar (or a type the schema lacks): any value.
    Custom,
}

impl Leaf {
    /// The check for the named type `name`, a scalar or an enum.
    pub(super) fn of(schema: &Schema, name: &str) -> Self {
        match (name, schema.types.get(name)) {
            (_, Some(ExtendedType::Enum(_))) => Leaf::Enum,
            ("String", _) => Leaf::String,
            ("Int", _) => Leaf::Int,
            ("Float", _) => Leaf::Float,
            ("Boolean", _) => Leaf::Boolean,
            ("ID", _) => Leaf::Id,
            _ => Leaf::Custom,
        }
    }
}

/// Writes the non-null `value` of the leaf type `name` to `out`, converted as graphql-js
/// would; on a value the type cannot represent, writes nothing and returns the message.
pub(super) fn write_leaf(
    out: &mut Vec<u8>,
    schema: &Schema,
    leaf: Leaf,
    name: &str,
    value: &Data,
) -> Result<(), String> {
    match (leaf, value) {
        // The common cases first: the value as it is.
        (Leaf::String | Leaf::Id, Data::String(s)) => write_str(out, s),
        (Leaf::Boolean, Data::Bool(_)) | (Leaf::Float, Data::Number(_)) | (Leaf::Custom, _) => {
            value.write_json(out)
        }
        (Leaf::Int, Data::Number(n)) => match int(n) {
            Some(i) => out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes()),
            None => {
                return Err(format!(
                    "Int cannot represent non 32-bit signed integer value: {n}"
                ));
            }
        },
        (Leaf::Enum, Data::String(s)) => {
            let known = schema
                .get_enum(name)
                .is_some_and(|e| e.values.contains_key(s.as_str()));
            if !known {
                return Err(format!("Enum \"{name}\" cannot represent value: \"{s}\""));
            }
            write_str(out, s);
        }
        // Conversions graphql-js makes.
        (Leaf::String, Data::Bool(b)) => write_str(out, if *b { "true" } else { "false" }),
        (Leaf::String, Data::Number(n)) => write_str(out, &n.to_string()),
        (Leaf::Id, Data::Number(n)) if n.is_i64() || n.is_u64() => write_str(out, &n.to_string()),
        (Leaf::Int, Data::Bool(b)) => out.push(if *b { b'1' } else { b'0' }),
        (Leaf::Float, Data::Bool(b)) => out.push(if *b { b'1' } else { b'0' }),
        (Leaf::Boolean, Data::Number(n)) => {
            let truth = n.as_f64().is_some_and(|f| f != 0.0);
            out.extend_from_slice(if truth { b"true" } else { b"false" });
        }
        (Leaf::Int, Data::String(s)) => match s.trim().parse::<f64>().ok().and_then(number_int) {
            Some(i) if !s.is_empty() => {
                out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
            }
            _ => return Err(format!("Int cannot represent non-integer value: \"{s}\"")),
        },
        (Leaf::Float, Data::String(s)) => {
            match s.trim().parse::<f64>().ok().filter(|f| f.is_finite()) {
                Some(f) if !s.is_empty() => match Number::from_f64(f) {
                    Some(n) => out.extend_from_slice(n.to_string().as_bytes()),
                    None => {
                        return Err(format!("Float cannot represent non numeric value: \"{s}\""));
                    }
                },
                _ => return Err(format!("Float cannot represent non numeric value: \"{s}\"")),
            }
        }
        (leaf, value) => {
            let name = match leaf {
                Leaf::String => "String",
                Leaf::Int => "Int",
                Leaf::Float => "Float",
                Leaf::Boolean => "Boolean",
                Leaf::Id => "ID",
                Leaf::Enum => name,
                Leaf::Custom => name,
            };
            return Err(format!(
                "{name} cannot represent value: {} (the subschema answered a value of another type)",
                describe(value)
            ));
        }
    }
    Ok(())
}

/// A number as a 32-bit integer, if it is one (an integral float too).
fn int(n: &Number) -> Option<i32> {
    match n.as_i64() {
        Some(i) => i32::try_from(i).ok(),
        None => n.as_f64().and_then(number_int),
    }
}

fn number_int(f: f64) -> Option<i32> {
    (f.fract() == 0.0 && f >= f64::from(i32::MIN) && f <= f64::from(i32::MAX)).then_some(f as i32)
}

/// A short description of a value for an error message (never the whole value).
fn describe(value: &Data) -> String {
    match value {
        Data::Null => "null".into(),
        Data::Bool(b) => b.to_string(),
        Data::Number(n) => n.to_string(),
        Data::String(s) if s.len() <= 40 => format!("\"{s}\""),
        Data::String(_) => "a string".into(),
        Data::List(_) => "a list".into(),
        Data::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(leaf: Leaf, value: serde_json::Value) -> Result<String, String> {
        let schema = Schema::parse("type Query { a: Color } enum Color { RED }", "s.graphql")
            .expect("the test schema parses");
        let mut out = Vec::new();
        write_leaf(&mut out, &schema, leaf, "Color", &Data::from(&value))?;
        Ok(String::from_utf8(out).expect("UTF-8"))
    }

    #[test]
    fn values_of_the_type_are_copied_and_convertible_ones_converted() {
        assert_eq!(write(Leaf::String, json!("a\"b")).unwrap(), r#""a\"b""#);
        assert_eq!(write(Leaf::String, json!(5)).unwrap(), r#""5""#);
        assert_eq!(write(Leaf::String, json!(true)).unwrap(), r#""true""#);
        assert_eq!(write(Leaf::Int, json!(7)).unwrap(), "7");
        assert_eq!(write(Leaf::Int, json!(7.0)).unwrap(), "7");
        assert_eq!(write(Leaf::Int, json!("7")).unwrap(), "7");
        assert_eq!(write(Leaf::Int, json!(false)).unwrap(), "0");
        assert_eq!(write(Leaf::Float, json!(1.5)).unwrap(), "1.5");
        assert_eq!(write(Leaf::Float, json!("2.5")).unwrap(), "2.5");
        assert_eq!(write(Leaf::Boolean, json!(0)).unwrap(), "false");
        assert_eq!(write(Leaf::Id, json!(12)).unwrap(), r#""12""#);
        assert_eq!(write(Leaf::Enum, json!("RED")).unwrap(), r#""RED""#);
        assert_eq!(
            write(Leaf::Custom, json!({"x": [1]})).unwrap(),
            r#"{"x":[1]}"#
        );
    }

    #[test]
    fn values_the_type_cannot_represent_are_errors() {
        for (leaf, value) in [
            (Leaf::String, json!({"x": 1})),
            (Leaf::String, json!([1])),
            (Leaf::Int, json!(2_147_483_648_i64)),
            (Leaf::Int, json!(1.5)),
            (Leaf::Int, json!("seven")),
            (Leaf::Float, json!("")),
            (Leaf::Boolean, json!("yes")),
            (Leaf::Id, json!(1.5)),
            (Leaf::Enum, json!("BLUE")),
            (Leaf::Enum, json!(1)),
        ] {
            assert!(write(leaf, value.clone()).is_err(), "{leaf:?} {value}");
        }
    }
}
