//! A structural comparison of two schemas over what introspection can carry: types and their
//! kinds, descriptions, fields, arguments, types, default values, deprecations, interfaces,
//! union members, enum values, input fields, `@specifiedBy`, `@oneOf`, directive definitions and
//! root types. Applied directives other than those three are ignored (introspection drops them).
//! Returns every mismatch, one a line, naming the type, field or argument.

use std::collections::BTreeSet;

use apollo_compiler::ast::{self, DirectiveList, Value};
use apollo_compiler::schema::{ExtendedType, InputValueDefinition};
use apollo_compiler::{Node, Schema};

const DEFAULT_REASON: &str = "No longer supported";

/// The mismatches between `left` and `right`, each naming its place.
pub fn schema_diff(left: &Schema, right: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    let roots = |s: &Schema| {
        [
            s.schema_definition
                .query
                .as_ref()
                .map(|n| n.name.to_string()),
            s.schema_definition
                .mutation
                .as_ref()
                .map(|n| n.name.to_string()),
            s.schema_definition
                .subscription
                .as_ref()
                .map(|n| n.name.to_string()),
        ]
    };
    if roots(left) != roots(right) {
        out.push(format!(
            "root types: {:?} vs {:?}",
            roots(left),
            roots(right)
        ));
    }
    let names = |s: &Schema| -> BTreeSet<String> {
        s.types
            .iter()
            .filter(|(_, t)| !t.is_built_in())
            .map(|(n, _)| n.to_string())
            .collect()
    };
    let (l, r) = (names(left), names(right));
    for missing in l.difference(&r) {
        out.push(format!("{missing}: only in the left schema"));
    }
    for missing in r.difference(&l) {
        out.push(format!("{missing}: only in the right schema"));
    }
    for name in l.intersection(&r) {
        compare_type(
            name,
            &left.types[name.as_str()],
            &right.types[name.as_str()],
            &mut out,
        );
    }

    let directives = |s: &Schema| -> BTreeSet<String> {
        s.directive_definitions
            .iter()
            // `@oneOf` is built in for graphql-js 16.9+ and for the spec, not for apollo-compiler 1.x.
            .filter(|(_, d)| {
                !["skip", "include", "deprecated", "specifiedBy", "oneOf"]
                    .contains(&d.name.as_str())
            })
            .map(|(n, _)| n.to_string())
            .collect()
    };
    let (l, r) = (directives(left), directives(right));
    for missing in l.symmetric_difference(&r) {
        out.push(format!("@{missing}: defined on one side only"));
    }
    for name in l.intersection(&r) {
        let (a, b) = (
            &left.directive_definitions[name.as_str()],
            &right.directive_definitions[name.as_str()],
        );
        let place = format!("@{name}");
        eq(
            &mut out,
            &place,
            "description",
            &text(&a.description),
            &text(&b.description),
        );
        eq(&mut out, &place, "repeatable", &a.repeatable, &b.repeatable);
        let locations = |d: &Node<ast::DirectiveDefinition>| -> BTreeSet<String> {
            d.locations.iter().map(|l| l.to_string()).collect()
        };
        eq(&mut out, &place, "locations", &locations(a), &locations(b));
        compare_inputs(&place, true, &a.arguments, &b.arguments, &mut out);
    }
    out
}

fn text(description: &Option<Node<str>>) -> Option<String> {
    description.as_deref().map(str::to_owned)
}

fn eq<T: PartialEq + std::fmt::Debug>(
    out: &mut Vec<String>,
    place: &str,
    what: &str,
    a: &T,
    b: &T,
) {
    if a != b {
        out.push(format!("{place}: {what} {a:?} vs {b:?}"));
    }
}

fn kind(t: &ExtendedType) -> &'static str {
    match t {
        ExtendedType::Scalar(_) => "SCALAR",
        ExtendedType::Object(_) => "OBJECT",
        ExtendedType::Interface(_) => "INTERFACE",
        ExtendedType::Union(_) => "UNION",
        ExtendedType::Enum(_) => "ENUM",
        ExtendedType::InputObject(_) => "INPUT_OBJECT",
    }
}

/// `Some(reason)` when deprecated (the default reason when none is given).
fn deprecation(directives: &DirectiveList) -> Option<String> {
    directives.get("deprecated").map(|d| {
        d.specified_argument_by_name("reason")
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| DEFAULT_REASON.to_owned())
    })
}

fn specified_by(t: &ExtendedType) -> Option<String> {
    t.directives()
        .get("specifiedBy")
        .and_then(|d| d.specified_argument_by_name("url"))
        .and_then(|v| v.as_str().map(str::to_owned))
}

fn compare_type(name: &str, a: &ExtendedType, b: &ExtendedType, out: &mut Vec<String>) {
    if kind(a) != kind(b) {
        out.push(format!("{name}: kind {} vs {}", kind(a), kind(b)));
        return;
    }
    let desc = |t: &ExtendedType| match t {
        ExtendedType::Scalar(n) => n.description.clone(),
        ExtendedType::Object(n) => n.description.clone(),
        ExtendedType::Interface(n) => n.description.clone(),
        ExtendedType::Union(n) => n.description.clone(),
        ExtendedType::Enum(n) => n.description.clone(),
        ExtendedType::InputObject(n) => n.description.clone(),
    };
    eq(out, name, "description", &text(&desc(a)), &text(&desc(b)));
    eq(out, name, "specifiedBy", &specified_by(a), &specified_by(b));
    eq(
        out,
        name,
        "oneOf",
        &a.directives().has("oneOf"),
        &b.directives().has("oneOf"),
    );
    match (a, b) {
        (ExtendedType::Object(x), ExtendedType::Object(y)) => {
            let set =
                |s: &apollo_compiler::collections::IndexSet<
                    apollo_compiler::schema::ComponentName,
                >|
                 -> BTreeSet<String> { s.iter().map(|n| n.to_string()).collect() };
            eq(
                out,
                name,
                "interfaces",
                &set(&x.implements_interfaces),
                &set(&y.implements_interfaces),
            );
            compare_fields(
                name,
                x.fields.values().map(|f| &f.node),
                y.fields.values().map(|f| &f.node),
                out,
            );
        }
        (ExtendedType::Interface(x), ExtendedType::Interface(y)) => {
            let set =
                |s: &apollo_compiler::collections::IndexSet<
                    apollo_compiler::schema::ComponentName,
                >|
                 -> BTreeSet<String> { s.iter().map(|n| n.to_string()).collect() };
            eq(
                out,
                name,
                "interfaces",
                &set(&x.implements_interfaces),
                &set(&y.implements_interfaces),
            );
            compare_fields(
                name,
                x.fields.values().map(|f| &f.node),
                y.fields.values().map(|f| &f.node),
                out,
            );
        }
        (ExtendedType::Union(x), ExtendedType::Union(y)) => {
            let set =
                |s: &apollo_compiler::collections::IndexSet<
                    apollo_compiler::schema::ComponentName,
                >|
                 -> BTreeSet<String> { s.iter().map(|n| n.to_string()).collect() };
            eq(out, name, "members", &set(&x.members), &set(&y.members));
        }
        (ExtendedType::Enum(x), ExtendedType::Enum(y)) => {
            let l: Vec<_> = x.values.keys().map(|k| k.to_string()).collect();
            let r: Vec<_> = y.values.keys().map(|k| k.to_string()).collect();
            eq(
                out,
                name,
                "values",
                &l.iter().collect::<BTreeSet<_>>(),
                &r.iter().collect::<BTreeSet<_>>(),
            );
            for (value, v) in &x.values {
                let Some(w) = y.values.get(value) else {
                    continue;
                };
                let place = format!("{name}.{value}");
                eq(
                    out,
                    &place,
                    "description",
                    &text(&v.description),
                    &text(&w.description),
                );
                eq(
                    out,
                    &place,
                    "deprecation",
                    &deprecation(&v.directives),
                    &deprecation(&w.directives),
                );
            }
        }
        (ExtendedType::InputObject(x), ExtendedType::InputObject(y)) => {
            let l: Vec<Node<InputValueDefinition>> =
                x.fields.values().map(|f| f.node.clone()).collect();
            let r: Vec<Node<InputValueDefinition>> =
                y.fields.values().map(|f| f.node.clone()).collect();
            compare_inputs(name, false, &l, &r, out);
        }
        _ => {}
    }
}

fn compare_fields<'a>(
    owner: &str,
    a: impl Iterator<Item = &'a Node<ast::FieldDefinition>>,
    b: impl Iterator<Item = &'a Node<ast::FieldDefinition>>,
    out: &mut Vec<String>,
) {
    let a: Vec<_> = a.collect();
    let b: Vec<_> = b.collect();
    let names = |v: &[&Node<ast::FieldDefinition>]| -> BTreeSet<String> {
        v.iter().map(|f| f.name.to_string()).collect()
    };
    for missing in names(&a).symmetric_difference(&names(&b)) {
        out.push(format!("{owner}.{missing}: field on one side only"));
    }
    for x in &a {
        let Some(y) = b.iter().find(|f| f.name == x.name) else {
            continue;
        };
        let place = format!("{owner}.{}", x.name);
        eq(
            out,
            &place,
            "description",
            &text(&x.description),
            &text(&y.description),
        );
        eq(out, &place, "type", &x.ty.to_string(), &y.ty.to_string());
        eq(
            out,
            &place,
            "deprecation",
            &deprecation(&x.directives),
            &deprecation(&y.directives),
        );
        compare_inputs(&place, true, &x.arguments, &y.arguments, out);
    }
}

fn compare_inputs(
    owner: &str,
    arguments: bool,
    a: &[Node<InputValueDefinition>],
    b: &[Node<InputValueDefinition>],
    out: &mut Vec<String>,
) {
    let names = |v: &[Node<InputValueDefinition>]| -> BTreeSet<String> {
        v.iter().map(|f| f.name.to_string()).collect()
    };
    for missing in names(a).symmetric_difference(&names(b)) {
        out.push(format!("{owner}: input value `{missing}` on one side only"));
    }
    for x in a {
        let Some(y) = b.iter().find(|f| f.name == x.name) else {
            continue;
        };
        let place = if arguments {
            format!("{owner}({}:)", x.name)
        } else {
            format!("{owner}.{}", x.name)
        };
        eq(
            out,
            &place,
            "description",
            &text(&x.description),
            &text(&y.description),
        );
        eq(out, &place, "type", &x.ty.to_string(), &y.ty.to_string());
        eq(
            out,
            &place,
            "deprecation",
            &deprecation(&x.directives),
            &deprecation(&y.directives),
        );
        let (l, r) = (
            x.default_value.as_deref().map(canonical),
            y.default_value.as_deref().map(canonical),
        );
        eq(out, &place, "default value", &l, &r);
    }
}

/// A value printed with object fields sorted (field order carries no meaning in a literal).
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(fields) => {
            let mut parts: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{k}: {}", canonical(v)))
                .collect();
            parts.sort();
            format!("{{{}}}", parts.join(", "))
        }
        Value::List(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|v| canonical(v))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.serialize().no_indent().to_string(),
    }
}
