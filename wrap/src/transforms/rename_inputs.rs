//! `RenameObjectFieldArguments` and `RenameInputObjectFields`: new names for arguments and input
//! object fields, mapped back in literals and variable values.

use std::collections::HashSet;

use apollo_compiler::ast::InputValueDefinition;
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Name, Schema};

use crate::mapping::{Mapped, NameMap, delegate_mapping};
use crate::type_info::new_name;
use crate::{Transform, TransformError};

type ArgumentRenamer = Box<dyn Fn(&str, &str, &str) -> Option<String> + Send + Sync>;
type InputFieldRenamer =
    Box<dyn Fn(&str, &str, &InputValueDefinition) -> Option<String> + Send + Sync>;

/// Renames arguments of object type fields: the closure gets the type name, the field name and
/// the argument name and returns the new name (`None` keeps it).
///
/// ```
/// use quilt_wrap::transforms::RenameObjectFieldArguments;
/// let t = RenameObjectFieldArguments::new(|_, field, arg| (field == "user" && arg == "id").then(|| "userId".to_owned()));
/// ```
pub struct RenameObjectFieldArguments {
    renamer: ArgumentRenamer,
    mapped: Option<Mapped<NameMap>>,
}

impl RenameObjectFieldArguments {
    /// Renames the arguments the closure gives a new name.
    pub fn new(
        renamer: impl Fn(&str, &str, &str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            renamer: Box::new(renamer),
            mapped: None,
        }
    }
}

impl Transform for RenameObjectFieldArguments {
    fn name(&self) -> &str {
        "RenameObjectFieldArguments"
    }

    fn transform_schema(&mut self, mut schema: Schema) -> Result<Schema, TransformError> {
        let mut map = NameMap::default();
        for (type_name, ty) in schema.types.iter_mut() {
            let ExtendedType::Object(object) = ty else {
                continue;
            };
            if type_name.starts_with("__") {
                continue;
            }
            let mut renames: Vec<(Name, Name, Name)> = Vec::new();
            for (field_name, field) in &object.fields {
                for argument in &field.arguments {
                    if let Some(new) = (self.renamer)(type_name, field_name, &argument.name)
                        && new != argument.name.as_str()
                    {
                        let new = new_name(self.name(), &new)?;
                        renames.push((field_name.clone(), argument.name.clone(), new));
                    }
                }
            }
            if renames.is_empty() {
                continue;
            }
            let object = object.make_mut();
            for (field_name, old, new) in renames {
                let Some(field) = object.fields.get_mut(&field_name) else {
                    continue;
                };
                let field = field.make_mut();
                if field.arguments.iter().any(|a| a.name == new) {
                    return Err(TransformError::schema(
                        self.name(),
                        format!("`{type_name}.{field_name}` already has an argument `{new}`"),
                    ));
                }
                for argument in &mut field.arguments {
                    if argument.name == old {
                        argument.make_mut().name = new.clone();
                    }
                }
                map.rename_argument(type_name.clone(), field_name, old, new);
            }
        }
        self.mapped = Some(Mapped {
            outer: schema.clone(),
            mapper: map,
        });
        Ok(schema)
    }

    delegate_mapping!(mapped);
}

/// Renames fields of input object types: the closure gets the type name, the field name and
/// its definition and returns the new name (`None` keeps it). Literals and variable values are
/// mapped back.
pub struct RenameInputObjectFields {
    renamer: InputFieldRenamer,
    mapped: Option<Mapped<NameMap>>,
}

impl RenameInputObjectFields {
    /// Renames the input fields the closure gives a new name.
    pub fn new(
        renamer: impl Fn(&str, &str, &InputValueDefinition) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            renamer: Box::new(renamer),
            mapped: None,
        }
    }
}

impl Transform for RenameInputObjectFields {
    fn name(&self) -> &str {
        "RenameInputObjectFields"
    }

    fn transform_schema(&mut self, mut schema: Schema) -> Result<Schema, TransformError> {
        let mut map = NameMap::default();
        for (type_name, ty) in schema.types.iter_mut() {
            let ExtendedType::InputObject(input) = ty else {
                continue;
            };
            let mut renames = Vec::new();
            for (field_name, field) in &input.fields {
                if let Some(new) = (self.renamer)(type_name, field_name, field)
                    && new != field_name.as_str()
                {
                    renames.push((field_name.clone(), new_name(self.name(), &new)?));
                }
            }
            if renames.is_empty() {
                continue;
            }
            let input = input.make_mut();
            let mut fields = std::mem::take(&mut input.fields);
            let count = fields.len();
            let mut seen = HashSet::new();
            input.fields = fields
                .drain(..)
                .map(
                    |(name, mut field)| match renames.iter().find(|(old, _)| *old == name) {
                        Some((_, new)) => {
                            field.make_mut().name = new.clone();
                            (new.clone(), field)
                        }
                        None => (name, field),
                    },
                )
                .filter(|(name, _)| seen.insert(name.clone()))
                .collect();
            if input.fields.len() != count {
                return Err(TransformError::schema(
                    self.name(),
                    format!("two fields of `{type_name}` would share a name"),
                ));
            }
            for (old, new) in renames {
                map.rename_input_field(type_name.clone(), old, new);
            }
        }
        self.mapped = Some(Mapped {
            outer: schema.clone(),
            mapper: map,
        });
        Ok(schema)
    }

    delegate_mapping!(mapped);
}
