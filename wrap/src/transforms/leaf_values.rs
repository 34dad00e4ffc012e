//! `TransformEnumValues` (renamed enum values) and `MapLeafValues` (any function over scalar and
//! enum values): input literals and variables are mapped back, results forward.

use std::collections::HashMap;

use apollo_compiler::ast::{self, EnumValueDefinition, Type};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Name, Node, Schema};
use serde_json::Value;

use crate::mapping::{Mapped, Mapper, NameMap, delegate_mapping};
use crate::type_info::new_name;
use crate::{Transform, TransformError};

type EnumRenamer = Box<dyn Fn(&str, &str, &EnumValueDefinition) -> Option<String> + Send + Sync>;

/// Renames enum values: the closure gets the enum's name, the value and its definition and
/// returns the new value (`None` keeps it). Argument and input field defaults follow; literals
/// and variables are mapped back to the old values, results forward to the new ones.
///
/// ```
/// use quilt_wrap::transforms::TransformEnumValues;
/// let t = TransformEnumValues::new(|_enum, value, _| Some(value.to_lowercase()));
/// ```
pub struct TransformEnumValues {
    renamer: EnumRenamer,
    mapped: Option<Mapped<NameMap>>,
}

impl TransformEnumValues {
    /// Renames the enum values the closure gives a new value.
    pub fn new(
        renamer: impl Fn(&str, &str, &EnumValueDefinition) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            renamer: Box::new(renamer),
            mapped: None,
        }
    }
}

impl Transform for TransformEnumValues {
    fn name(&self) -> &str {
        "TransformEnumValues"
    }

    fn transform_schema(&mut self, mut schema: Schema) -> Result<Schema, TransformError> {
        let mut map = NameMap::default();
        // enum -> old value -> new value
        let mut renames: HashMap<Name, HashMap<Name, Name>> = HashMap::new();
        for (type_name, ty) in schema.types.iter_mut() {
            let ExtendedType::Enum(enum_type) = ty else {
                continue;
            };
            if type_name.starts_with("__") {
                continue;
            }
            let mut these = HashMap::new();
            for (value, definition) in &enum_type.values {
                if let Some(new) = (self.renamer)(type_name, value, definition)
                    && new != value.as_str()
                {
                    these.insert(value.clone(), new_name(self.name(), &new)?);
                }
            }
            if these.is_empty() {
                continue;
            }
            let enum_type = enum_type.make_mut();
            let count = enum_type.values.len();
            enum_type.values = std::mem::take(&mut enum_type.values)
                .into_iter()
                .map(|(value, mut definition)| match these.get(&value) {
                    Some(new) => {
                        definition.make_mut().value = new.clone();
                        (new.clone(), definition)
                    }
                    None => (value, definition),
                })
                .collect();
            if enum_type.values.len() != count {
                return Err(TransformError::schema(
                    self.name(),
                    format!("two values of `{type_name}` would share a name"),
                ));
            }
            for (old, new) in &these {
                map.rename_enum_value(type_name.clone(), old.clone(), new.clone());
            }
            renames.insert(type_name.clone(), these);
        }
        rename_enum_defaults(&mut schema, &renames);
        self.mapped = Some(Mapped {
            outer: schema.clone(),
            mapper: map,
        });
        Ok(schema)
    }

    delegate_mapping!(mapped);
}

/// Renames enum values in the default values of arguments and input fields.
fn rename_enum_defaults(schema: &mut Schema, renames: &HashMap<Name, HashMap<Name, Name>>) {
    if renames.is_empty() {
        return;
    }
    let kinds: HashMap<Name, bool> = schema
        .types
        .iter()
        .map(|(name, ty)| (name.clone(), ty.is_input_object()))
        .collect();
    let inputs: HashMap<Name, HashMap<Name, Type>> = schema
        .types
        .iter()
        .filter_map(|(name, ty)| match ty {
            ExtendedType::InputObject(t) => Some((
                name.clone(),
                t.fields
                    .iter()
                    .map(|(f, d)| (f.clone(), (*d.ty).clone()))
                    .collect(),
            )),
            _ => None,
        })
        .collect();
    let fix = |value: &mut Node<ast::Value>, ty: &Type| {
        rename_literal(value, ty, renames, &inputs, &kinds)
    };
    for ty in schema.types.values_mut() {
        match ty {
            ExtendedType::Object(t) => {
                for field in t.make_mut().fields.values_mut() {
                    for argument in &mut field.make_mut().arguments {
                        let argument = argument.make_mut();
                        if let Some(default) = &mut argument.default_value {
                            fix(default, &argument.ty);
                        }
                    }
                }
            }
            ExtendedType::Interface(t) => {
                for field in t.make_mut().fields.values_mut() {
                    for argument in &mut field.make_mut().arguments {
                        let argument = argument.make_mut();
                        if let Some(default) = &mut argument.default_value {
                            fix(default, &argument.ty);
                        }
                    }
                }
            }
            ExtendedType::InputObject(t) => {
                for field in t.make_mut().fields.values_mut() {
                    let field = field.make_mut();
                    if let Some(default) = &mut field.default_value {
                        fix(default, &field.ty);
                    }
                }
            }
            _ => {}
        }
    }
}

fn rename_literal(
    value: &mut Node<ast::Value>,
    ty: &Type,
    renames: &HashMap<Name, HashMap<Name, Name>>,
    inputs: &HashMap<Name, HashMap<Name, Type>>,
    kinds: &HashMap<Name, bool>,
) {
    let named = ty.inner_named_type();
    match value.make_mut() {
        ast::Value::Enum(v) => {
            if let Some(new) = renames.get(named).and_then(|r| r.get(v)) {
                *v = new.clone();
            }
        }
        ast::Value::List(items) => {
            let item_type = if ty.is_list() {
                ty.item_type().clone()
            } else {
                ty.clone()
            };
            for item in items {
                rename_literal(item, &item_type, renames, inputs, kinds);
            }
        }
        ast::Value::Object(fields) if kinds.get(named).copied().unwrap_or(false) => {
            for (name, v) in fields {
                if let Some(field_type) = inputs.get(named).and_then(|f| f.get(name)) {
                    rename_literal(v, field_type, renames, inputs, kinds);
                }
            }
        }
        _ => {}
    }
}

type LeafFn = Box<dyn Fn(&str, Value) -> Value + Send + Sync>;

/// Maps leaf values (scalars and enums) with two functions of (type name, value): `input` for
/// argument literals and variables on their way to the wrapped service, `output` for result
/// values on their way back. The schema does not change.
///
/// ```
/// use quilt_wrap::transforms::MapLeafValues;
/// use serde_json::Value;
/// let t = MapLeafValues::new(
///     |_ty, value| value,
///     |ty, value| match (ty, value) {
///         ("String", Value::String(s)) => Value::String(s.to_uppercase()),
///         (_, value) => value,
///     },
/// );
/// ```
pub struct MapLeafValues {
    mapped: Option<Mapped<LeafMapper>>,
    functions: Option<LeafMapper>,
}

struct LeafMapper {
    input: LeafFn,
    output: LeafFn,
}

impl Mapper for LeafMapper {
    fn maps_input_leaves(&self) -> bool {
        true
    }
    fn input_leaf(&self, type_name: &str, value: Value) -> Value {
        (self.input)(type_name, value)
    }
    fn maps_results(&self) -> bool {
        true
    }
    fn output_leaf(&self, type_name: &str, value: Value) -> Value {
        (self.output)(type_name, value)
    }
}

impl MapLeafValues {
    /// Maps input leaves with `input` and output leaves with `output`.
    pub fn new(
        input: impl Fn(&str, Value) -> Value + Send + Sync + 'static,
        output: impl Fn(&str, Value) -> Value + Send + Sync + 'static,
    ) -> Self {
        Self {
            mapped: None,
            functions: Some(LeafMapper {
                input: Box::new(input),
                output: Box::new(output),
            }),
        }
    }
}

impl Transform for MapLeafValues {
    fn name(&self) -> &str {
        "MapLeafValues"
    }

    fn transform_schema(&mut self, schema: Schema) -> Result<Schema, TransformError> {
        let Some(mapper) = self.functions.take() else {
            return Err(TransformError::schema(
                self.name(),
                "the transform was already applied to a schema",
            ));
        };
        self.mapped = Some(Mapped {
            outer: schema.clone(),
            mapper,
        });
        Ok(schema)
    }

    delegate_mapping!(mapped);
}
