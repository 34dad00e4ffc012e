//! Rewriting variable values from outer to inner names and leaf values.

use apollo_compiler::Schema;
use apollo_compiler::ast::{self, Type};
use apollo_compiler::schema::ExtendedType;
use quilt_executor::JsonMap;
use serde_json::Value;

use super::Mapper;
use crate::type_info::operation;

/// Maps the values of the selected operation's variables by their declared (outer) types:
/// input object keys are renamed and leaf values mapped. Unknown variables pass unchanged.
pub(crate) fn map_variables(
    outer: &Schema,
    mapper: &dyn Mapper,
    document: &ast::Document,
    operation_name: Option<&str>,
    mut variables: JsonMap,
) -> JsonMap {
    if variables.is_empty() {
        return variables;
    }
    let Some(op) = operation(document, operation_name) else {
        return variables;
    };
    for definition in &op.variables {
        if let Some(value) = variables.get_mut(definition.name.as_str()) {
            let taken = std::mem::take(value);
            *value = map_value(outer, mapper, &definition.ty, taken);
        }
    }
    variables
}

/// Maps one input value of the outer type `ty`.
pub(crate) fn map_value(outer: &Schema, mapper: &dyn Mapper, ty: &Type, value: Value) -> Value {
    match (ty, value) {
        (_, Value::Null) => Value::Null,
        (Type::List(item) | Type::NonNullList(item), Value::Array(items)) => Value::Array(
            items
                .into_iter()
                .map(|v| map_value(outer, mapper, item, v))
                .collect(),
        ),
        (Type::List(item) | Type::NonNullList(item), value) => {
            map_value(outer, mapper, item, value)
        }
        (Type::Named(name) | Type::NonNullNamed(name), value) => match outer.types.get(name) {
            Some(ExtendedType::InputObject(input)) => match value {
                Value::Object(fields) => Value::Object(
                    fields
                        .into_iter()
                        .map(|(key, v)| {
                            let v = match input.fields.get(key.as_str()) {
                                Some(definition) => map_value(outer, mapper, &definition.ty, v),
                                None => v,
                            };
                            match mapper.input_field_name(name, &key) {
                                Some(inner) => (inner.to_string(), v),
                                None => (key, v),
                            }
                        })
                        .collect(),
                ),
                other => other,
            },
            Some(ExtendedType::Enum(_) | ExtendedType::Scalar(_)) if mapper.maps_input_leaves() => {
                mapper.input_leaf(name, value)
            }
            _ => value,
        },
    }
}
