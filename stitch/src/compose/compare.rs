//! Whether two subschemas' definitions of a type are the same, and if not, what differs.
//!
//! Types are compared by their shape: kind, fields with their arguments, types and defaults,
//! implemented interfaces, union members, enum values, input fields. Descriptions and directives
//! do not make two types different (the first description is kept).

use apollo_compiler::schema::ExtendedType;

/// The shape of a type as a list of items, one per field, value, member or interface.
pub(crate) fn signature(ty: &ExtendedType) -> Vec<String> {
    let mut items = vec![format!("kind {}", kind(ty))];
    match ty {
        ExtendedType::Scalar(_) => {}
        ExtendedType::Object(t) => {
            items.extend(
                t.implements_interfaces
                    .iter()
                    .map(|i| format!("implements {}", i.name)),
            );
            items.extend(t.fields.values().map(|f| field(f)));
        }
        ExtendedType::Interface(t) => {
            items.extend(
                t.implements_interfaces
                    .iter()
                    .map(|i| format!("implements {}", i.name)),
            );
            items.extend(t.fields.values().map(|f| field(f)));
        }
        ExtendedType::Union(t) => {
            items.extend(t.members.iter().map(|m| format!("member {}", m.name)))
        }
        ExtendedType::Enum(t) => items.extend(t.values.keys().map(|v| format!("value {v}"))),
        ExtendedType::InputObject(t) => items.extend(t.fields.values().map(|f| {
            let default = f
                .default_value
                .as_ref()
                .map(|d| format!(" = {d}"))
                .unwrap_or_default();
            format!("input field {}: {}{default}", f.name, f.ty)
        })),
    }
    items
}

/// A short description of what differs between two signatures.
pub(crate) fn difference(left: &[String], right: &[String]) -> String {
    let only_left: Vec<&str> = left
        .iter()
        .filter(|i| !right.contains(i))
        .map(String::as_str)
        .collect();
    let only_right: Vec<&str> = right
        .iter()
        .filter(|i| !left.contains(i))
        .map(String::as_str)
        .collect();
    match (only_left.is_empty(), only_right.is_empty()) {
        (true, true) => "the order of its parts differs".into(),
        _ => format!(
            "only in the first: [{}]; only in the second: [{}]",
            only_left.join(", "),
            only_right.join(", ")
        ),
    }
}

fn kind(ty: &ExtendedType) -> &'static str {
    match ty {
        ExtendedType::Scalar(_) => "scalar",
        ExtendedType::Object(_) => "object",
        ExtendedType::Interface(_) => "interface",
        ExtendedType::Union(_) => "union",
        ExtendedType::Enum(_) => "enum",
        ExtendedType::InputObject(_) => "input object",
    }
}

fn field(f: &apollo_compiler::schema::FieldDefinition) -> String {
    let args: Vec<String> = f
        .arguments
        .iter()
        .map(|a| {
            let default = a
                .default_value
                .as_ref()
                .map(|d| format!(" = {d}"))
                .unwrap_or_default();
            format!("{}: {}{default}", a.name, a.ty)
        })
        .collect();
    format!("field {}({}): {}", f.name, args.join(", "), f.ty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use apollo_compiler::Schema;

    fn ty(sdl: &str, name: &str) -> ExtendedType {
        let schema = Schema::parse_and_validate(sdl, "t").unwrap();
        schema.types[name].clone()
    }

    #[test]
    fn descriptions_do_not_matter_but_fields_do() {
        let a = ty("type Query { a: T } \"doc\" type T { x: Int }", "T");
        let b = ty("type Query { a: T } type T { x: Int }", "T");
        let c = ty("type Query { a: T } type T { x: Int y: String }", "T");
        assert_eq!(signature(&a), signature(&b));
        assert_ne!(signature(&a), signature(&c));
        let d = difference(&signature(&a), &signature(&c));
        assert!(d.contains("field y(): String"), "{d}");
    }
}
