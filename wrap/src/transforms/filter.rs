//! Filters: `FilterTypes`, `FilterRootFields`, `FilterObjectFields`, `FilterInterfaceFields`,
//! `FilterInputObjectFields`. They only remove parts of the schema; a request valid against the
//! filtered schema is valid against the original, so requests and results pass unchanged.
//! Whatever refers to a removed type is removed too (fields, arguments, union members), and types
//! left empty are removed, so the schema stays valid.

use apollo_compiler::Schema;
use apollo_compiler::ast::{FieldDefinition, InputValueDefinition, OperationType};
use apollo_compiler::schema::ExtendedType;

use crate::schema_edit::heal;
use crate::type_info::root_operation_of;
use crate::{Transform, TransformError};

/// Keeps the types the closure accepts (root types and built-in scalars are always kept).
///
/// ```
/// use quilt_wrap::transforms::FilterTypes;
/// let t = FilterTypes::new(|ty| ty.name() != "Post");
/// ```
pub struct FilterTypes(Box<dyn Fn(&ExtendedType) -> bool + Send + Sync>);

impl FilterTypes {
    /// Keeps the types `keep` returns `true` for.
    pub fn new(keep: impl Fn(&ExtendedType) -> bool + Send + Sync + 'static) -> Self {
        Self(Box::new(keep))
    }
}

impl Transform for FilterTypes {
    fn name(&self) -> &str {
        "FilterTypes"
    }
    fn transform_schema(&mut self, mut schema: Schema) -> Result<Schema, TransformError> {
        let roots: Vec<_> = schema
            .schema_definition
            .iter_root_operations()
            .map(|(_, n)| n.name.clone())
            .collect();
        schema.types.retain(|name, ty| {
            ty.is_built_in() || name.starts_with("__") || roots.contains(name) || (self.0)(ty)
        });
        Ok(heal(schema))
    }
}

type InputFieldFilter = Box<dyn Fn(&str, &str, &InputValueDefinition) -> bool + Send + Sync>;

type FieldFilter =
    Box<dyn Fn(&str, Option<OperationType>, &str, &FieldDefinition) -> bool + Send + Sync>;

#[derive(Clone, Copy)]
enum Scope {
    Root,
    Object,
    Interface,
}

fn filter_fields(mut schema: Schema, scope: Scope, keep: &FieldFilter) -> Schema {
    let roots: Vec<_> = schema
        .types
        .keys()
        .map(|name| root_operation_of(&schema, name))
        .collect();
    for ((type_name, ty), op) in schema.types.iter_mut().zip(roots) {
        if type_name.starts_with("__") {
            continue;
        }
        let fields = match (scope, ty) {
            (Scope::Root, ExtendedType::Object(t)) if op.is_some() => &mut t.make_mut().fields,
            (Scope::Object, ExtendedType::Object(t)) => &mut t.make_mut().fields,
            (Scope::Interface, ExtendedType::Interface(t)) => &mut t.make_mut().fields,
            _ => continue,
        };
        fields.retain(|name, field| name.starts_with("__") || keep(type_name, op, name, field));
    }
    heal(schema)
}

/// Keeps the root fields the closure accepts; it gets the operation type, the field name and
/// its definition.
///
/// ```
/// use quilt_wrap::transforms::FilterRootFields;
/// let t = FilterRootFields::new(|_op, field, _| field != "fail");
/// ```
pub struct FilterRootFields(FieldFilter);

impl FilterRootFields {
    /// Keeps the root fields `keep` returns `true` for.
    pub fn new(
        keep: impl Fn(OperationType, &str, &FieldDefinition) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self(Box::new(move |_, op, field, def| {
            op.is_none_or(|op| keep(op, field, def))
        }))
    }
}

impl Transform for FilterRootFields {
    fn name(&self) -> &str {
        "FilterRootFields"
    }
    fn transform_schema(&mut self, schema: Schema) -> Result<Schema, TransformError> {
        Ok(filter_fields(schema, Scope::Root, &self.0))
    }
}

/// Keeps the object type fields the closure accepts; it gets the type name, the field name and
/// its definition. Root types are object types too.
pub struct FilterObjectFields(FieldFilter);

impl FilterObjectFields {
    /// Keeps the fields `keep` returns `true` for.
    pub fn new(
        keep: impl Fn(&str, &str, &FieldDefinition) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self(Box::new(move |ty, _, field, def| keep(ty, field, def)))
    }
}

impl Transform for FilterObjectFields {
    fn name(&self) -> &str {
        "FilterObjectFields"
    }
    fn transform_schema(&mut self, schema: Schema) -> Result<Schema, TransformError> {
        Ok(filter_fields(schema, Scope::Object, &self.0))
    }
}

/// Keeps the interface fields the closure accepts; it gets the interface name, the field name
/// and its definition. The implementing types keep their fields.
pub struct FilterInterfaceFields(FieldFilter);

impl FilterInterfaceFields {
    /// Keeps the fields `keep` returns `true` for.
    pub fn new(
        keep: impl Fn(&str, &str, &FieldDefinition) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self(Box::new(move |ty, _, field, def| keep(ty, field, def)))
    }
}

impl Transform for FilterInterfaceFields {
    fn name(&self) -> &str {
        "FilterInterfaceFields"
    }
    fn transform_schema(&mut self, schema: Schema) -> Result<Schema, TransformError> {
        Ok(filter_fields(schema, Scope::Interface, &self.0))
    }
}

/// Keeps the input object fields the closure accepts; it gets the type name, the field name and
/// its definition. Removing a required field makes every request using the type fail upstream.
pub struct FilterInputObjectFields(InputFieldFilter);

impl FilterInputObjectFields {
    /// Keeps the input fields `keep` returns `true` for.
    pub fn new(
        keep: impl Fn(&str, &str, &InputValueDefinition) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self(Box::new(keep))
    }
}

impl Transform for FilterInputObjectFields {
    fn name(&self) -> &str {
        "FilterInputObjectFields"
    }
    fn transform_schema(&mut self, mut schema: Schema) -> Result<Schema, TransformError> {
        for (type_name, ty) in schema.types.iter_mut() {
            if let ExtendedType::InputObject(input) = ty {
                input
                    .make_mut()
                    .fields
                    .retain(|name, field| (self.0)(type_name, name, field));
            }
        }
        Ok(heal(schema))
    }
}
