//! Small lookups shared by the transforms: field definitions, fragments of a document, root
//! types, and conversions between GraphQL literals and JSON.

use std::collections::HashMap;

use apollo_compiler::ast::{self, FieldDefinition, OperationType};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Name, Node, Schema};
use serde_json::Value;

/// The definition of `field` on the object or interface type `parent`, if any.
pub(crate) fn field_definition<'s>(
    schema: &'s Schema,
    parent: &str,
    field: &str,
) -> Option<&'s FieldDefinition> {
    match schema.types.get(parent)? {
        ExtendedType::Object(object) => object.fields.get(field).map(|c| &***c),
        ExtendedType::Interface(interface) => interface.fields.get(field).map(|c| &***c),
        _ => None,
    }
}

/// The fragment definitions of a document, by name.
pub(crate) fn fragments(document: &ast::Document) -> HashMap<&str, &Node<ast::FragmentDefinition>> {
    document
        .definitions
        .iter()
        .filter_map(|d| match d {
            ast::Definition::FragmentDefinition(f) => Some((f.name.as_str(), f)),
            _ => None,
        })
        .collect()
}

/// The operation of a document selected by `name` (the only one when `name` is `None`).
pub(crate) fn operation<'d>(
    document: &'d ast::Document,
    name: Option<&str>,
) -> Option<&'d Node<ast::OperationDefinition>> {
    let mut operations = document.definitions.iter().filter_map(|d| match d {
        ast::Definition::OperationDefinition(op) => Some(op),
        _ => None,
    });
    match name {
        Some(name) => operations.find(|op| op.name.as_deref() == Some(name)),
        None => {
            let first = operations.next()?;
            operations.next().is_none().then_some(first)
        }
    }
}

/// The root type of `operation_type`, defaulting to the conventional name.
pub(crate) fn root_type(schema: &Schema, operation_type: OperationType) -> Option<Name> {
    schema.root_operation(operation_type).cloned()
}

/// Calls `rewrite(parent type, selections)` on the top selection set of every operation (its
/// parent is the operation's root type in `schema`) and of every fragment (its type condition).
/// Operations whose root type `schema` lacks are left alone.
pub(crate) fn rewrite_top_selection_sets(
    schema: &Schema,
    document: &mut ast::Document,
    mut rewrite: impl FnMut(&Name, &mut [ast::Selection]),
) {
    for definition in &mut document.definitions {
        match definition {
            ast::Definition::OperationDefinition(op) => {
                if let Some(root) = root_type(schema, op.operation_type) {
                    rewrite(&root, &mut op.make_mut().selection_set);
                }
            }
            ast::Definition::FragmentDefinition(fragment) => {
                let fragment = fragment.make_mut();
                let parent = fragment.type_condition.clone();
                rewrite(&parent, &mut fragment.selection_set);
            }
            _ => {}
        }
    }
}

/// The operation type whose root is `type_name`, if it is a root type.
pub(crate) fn root_operation_of(schema: &Schema, type_name: &str) -> Option<OperationType> {
    [
        OperationType::Query,
        OperationType::Mutation,
        OperationType::Subscription,
    ]
    .into_iter()
    .find(|op| schema.root_operation(*op).is_some_and(|n| n == type_name))
}

/// A leaf literal as JSON (variables are not leaves and become `null`).
pub(crate) fn literal_to_json(value: &ast::Value) -> Value {
    match value {
        ast::Value::Null | ast::Value::Variable(_) => Value::Null,
        ast::Value::Enum(name) => Value::String(name.to_string()),
        ast::Value::String(s) => Value::String(s.clone()),
        ast::Value::Boolean(b) => Value::Bool(*b),
        ast::Value::Int(i) => i
            .as_str()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(i.as_str().to_owned())),
        ast::Value::Float(f) => f
            .try_to_f64()
            .ok()
            .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
            .unwrap_or(Value::Null),
        ast::Value::List(items) => Value::Array(items.iter().map(|v| literal_to_json(v)).collect()),
        ast::Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.to_string(), literal_to_json(v)))
                .collect(),
        ),
    }
}

/// JSON as a literal; strings become enum values when `is_enum` and they are valid names.
pub(crate) fn json_to_literal(value: &Value, is_enum: bool) -> ast::Value {
    match value {
        Value::Null => ast::Value::Null,
        Value::Bool(b) => ast::Value::Boolean(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64().and_then(|i| i32::try_from(i).ok()) {
                ast::Value::Int(i.into())
            } else if n.is_i64() || n.is_u64() {
                ast::Value::Int(ast::IntValue::new_parsed(&n.to_string()))
            } else {
                ast::Value::Float(n.as_f64().unwrap_or_default().into())
            }
        }
        Value::String(s) => match (is_enum, Name::new(s)) {
            (true, Ok(name)) => ast::Value::Enum(name),
            _ => ast::Value::String(s.clone()),
        },
        Value::Array(items) => ast::Value::List(
            items
                .iter()
                .map(|v| Node::new(json_to_literal(v, is_enum)))
                .collect(),
        ),
        Value::Object(map) => ast::Value::Object(
            map.iter()
                .filter_map(|(k, v)| {
                    Some((Name::new(k).ok()?, Node::new(json_to_literal(v, is_enum))))
                })
                .collect(),
        ),
    }
}

/// A name for a string that a transform's user produced, or an error naming the transform.
pub(crate) fn new_name(transform: &str, value: &str) -> Result<Name, crate::TransformError> {
    Name::new(value).map_err(|_| {
        crate::TransformError::schema(transform, format!("`{value}` is not a valid GraphQL name"))
    })
}
