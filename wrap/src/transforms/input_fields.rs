//! `TransformInputObjectFields`: the general input field transform (keep, remove or replace
//! each input object field; a new name is mapped back in literals and variable values), with
//! an optional closure over each input object literal of a request.

use apollo_compiler::ast::{InputValueDefinition, Value};
use apollo_compiler::schema::{Component, ExtendedType};
use apollo_compiler::{Name, Node, Schema};
use serde_json::Value as Json;

use crate::mapping::{Mapped, Mapper, NameMap, delegate_mapping};
use crate::schema_edit::heal;
use crate::{Transform, TransformError};

/// What an input field transformer does with one field of an input object type.
#[derive(Debug, Clone)]
pub enum InputFieldChange {
    /// Leaves it as it is.
    Keep,
    /// Removes it.
    Remove,
    /// Replaces its definition; another name renames it (requests use the old name).
    Replace(InputValueDefinition),
}

impl InputFieldChange {
    /// `definition` renamed to `name`.
    pub fn rename(definition: &InputValueDefinition, name: Name) -> Self {
        let mut definition = definition.clone();
        definition.name = name;
        Self::Replace(definition)
    }
}

type InputFieldFn =
    Box<dyn Fn(&str, &str, &InputValueDefinition) -> InputFieldChange + Send + Sync>;
/// An input object literal transformer: (input type, its fields in the wrapped schema's names).
pub type InputObjectFn = Box<dyn Fn(&str, &mut Vec<(Name, Node<Value>)>) + Send + Sync>;

/// Maps the fields of input object types with a closure over (type name, field name,
/// definition); as graphql-tools' `TransformInputObjectFields(inputFieldTransformer, _,
/// inputObjectNodeTransformer)`.
///
/// ```
/// use apollo_compiler::name;
/// use quilt_wrap::transforms::{InputFieldChange, TransformInputObjectFields};
///
/// let t = TransformInputObjectFields::new(|type_name, field, definition| {
///     match (type_name, field) {
///         ("ProductFilter", "upcs") => InputFieldChange::rename(definition, name!("codes")),
///         ("ProductFilter", "nameContains") => InputFieldChange::Remove,
///         _ => InputFieldChange::Keep,
///     }
/// });
/// # let _ = t;
/// ```
pub struct TransformInputObjectFields {
    fields: InputFieldFn,
    objects: Option<std::sync::Arc<InputObjectFn>>,
    mapped: Option<Mapped<InputMap>>,
}

impl TransformInputObjectFields {
    /// Maps the input fields with `fields`.
    pub fn new(
        fields: impl Fn(&str, &str, &InputValueDefinition) -> InputFieldChange + Send + Sync + 'static,
    ) -> Self {
        Self {
            fields: Box::new(fields),
            objects: None,
            mapped: None,
        }
    }

    /// Changes each input object literal of a request (type name, fields), after its fields
    /// are renamed to the wrapped schema's names; literals inside it are changed first.
    pub fn object_nodes(
        mut self,
        objects: impl Fn(&str, &mut Vec<(Name, Node<Value>)>) + Send + Sync + 'static,
    ) -> Self {
        self.objects = Some(std::sync::Arc::new(Box::new(objects)));
        self
    }
}

/// The renames, and the literal transformer.
struct InputMap {
    names: NameMap,
    objects: Option<std::sync::Arc<InputObjectFn>>,
}

impl Mapper for InputMap {
    fn input_field_name(&self, input_type: &str, field: &str) -> Option<&Name> {
        self.names.input_field_name(input_type, field)
    }
    fn input_object(&self, input_type: &str, fields: &mut Vec<(Name, Node<Value>)>) {
        if let Some(objects) = &self.objects {
            objects(input_type, fields);
        }
    }
    fn maps_input_leaves(&self) -> bool {
        false
    }
    fn input_leaf(&self, _type_name: &str, value: Json) -> Json {
        value
    }
}

impl Transform for TransformInputObjectFields {
    fn name(&self) -> &str {
        "TransformInputObjectFields"
    }

    fn transform_schema(&mut self, mut schema: Schema) -> Result<Schema, TransformError> {
        let mut names = NameMap::default();
        for (type_name, ty) in schema.types.iter_mut() {
            let ExtendedType::InputObject(input) = ty else {
                continue;
            };
            if type_name.starts_with("__") {
                continue;
            }
            let mut changes = Vec::new();
            for (field_name, field) in &input.fields {
                match (self.fields)(type_name, field_name, field) {
                    InputFieldChange::Keep => {}
                    change => changes.push((field_name.clone(), change)),
                }
            }
            if changes.is_empty() {
                continue;
            }
            let input = input.make_mut();
            for (field_name, change) in changes {
                match change {
                    InputFieldChange::Keep => {}
                    InputFieldChange::Remove => {
                        input.fields.shift_remove(&field_name);
                    }
                    InputFieldChange::Replace(definition) => {
                        let new = definition.name.clone();
                        if new != field_name && input.fields.contains_key(&new) {
                            return Err(TransformError::schema(
                                "TransformInputObjectFields",
                                format!("two fields of `{type_name}` would be called `{new}`"),
                            ));
                        }
                        let component: Component<InputValueDefinition> =
                            Component::from(Node::new(definition));
                        input.fields = std::mem::take(&mut input.fields)
                            .into_iter()
                            .map(|(name, f)| {
                                if name == field_name {
                                    (new.clone(), component.clone())
                                } else {
                                    (name, f)
                                }
                            })
                            .collect();
                        if new != field_name {
                            names.rename_input_field(type_name.clone(), field_name, new);
                        }
                    }
                }
            }
        }
        let schema = heal(schema);
        self.mapped = Some(Mapped {
            outer: schema.clone(),
            mapper: InputMap {
                names,
                objects: self.objects.clone(),
            },
        });
        Ok(schema)
    }

    delegate_mapping!(mapped);
}
