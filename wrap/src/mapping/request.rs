//! Rewriting a document from outer to inner names and literal values.

use apollo_compiler::ast::{self, Type};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Name, Node, Schema};

use super::Mapper;
use crate::type_info::{field_definition, json_to_literal, literal_to_json, root_type};

/// Maps every operation and fragment of `document` (written against `outer`) to inner names:
/// type conditions, variable types, field names (a renamed field keeps its response key through
/// an alias), argument names, input object field names and leaf literals.
pub(crate) fn map_document(
    outer: &Schema,
    mapper: &dyn Mapper,
    document: &ast::Document,
) -> ast::Document {
    let mut mapped = document.clone();
    let walker = Walker {
        schema: outer,
        mapper,
    };
    for definition in &mut mapped.definitions {
        match definition {
            ast::Definition::OperationDefinition(op) => {
                let op = op.make_mut();
                for variable in &mut op.variables {
                    let variable = variable.make_mut();
                    if let Some(default) = &mut variable.default_value {
                        walker.literal(&variable.ty, default);
                    }
                    walker.rename_type_ref(variable.ty.make_mut());
                }
                if let Some(root) = root_type(outer, op.operation_type) {
                    walker.selections(&root, &mut op.selection_set);
                }
            }
            ast::Definition::FragmentDefinition(fragment) => {
                let fragment = fragment.make_mut();
                let parent = fragment.type_condition.clone();
                walker.selections(&parent, &mut fragment.selection_set);
                if let Some(inner) = mapper.type_name(&parent) {
                    fragment.type_condition = inner.clone();
                }
            }
            _ => {}
        }
    }
    mapped
}

struct Walker<'a> {
    schema: &'a Schema,
    mapper: &'a dyn Mapper,
}

impl Walker<'_> {
    fn rename_type_ref(&self, ty: &mut Type) {
        match ty {
            Type::Named(name) | Type::NonNullNamed(name) => {
                if let Some(inner) = self.mapper.type_name(name) {
                    *name = inner.clone();
                }
            }
            Type::List(item) | Type::NonNullList(item) => self.rename_type_ref(item),
        }
    }

    fn selections(&self, parent: &Name, selections: &mut [ast::Selection]) {
        for selection in selections {
            match selection {
                ast::Selection::Field(field) => self.field(parent, field.make_mut()),
                ast::Selection::InlineFragment(inline) => {
                    let inline = inline.make_mut();
                    let condition = inline
                        .type_condition
                        .clone()
                        .unwrap_or_else(|| parent.clone());
                    self.selections(&condition, &mut inline.selection_set);
                    if let Some(type_condition) = &mut inline.type_condition
                        && let Some(inner) = self.mapper.type_name(type_condition)
                    {
                        *type_condition = inner.clone();
                    }
                }
                ast::Selection::FragmentSpread(_) => {}
            }
        }
    }

    fn field(&self, parent: &Name, field: &mut ast::Field) {
        if field.name.starts_with("__") {
            return;
        }
        let Some(definition) = field_definition(self.schema, parent, &field.name) else {
            return;
        };
        for argument in &mut field.arguments {
            let argument = argument.make_mut();
            if let Some(argument_definition) = definition.argument_by_name(&argument.name) {
                self.literal(&argument_definition.ty, &mut argument.value);
            }
            if let Some(inner) = self
                .mapper
                .argument_name(parent, &field.name, &argument.name)
            {
                argument.name = inner.clone();
            }
        }
        if !field.selection_set.is_empty() {
            let field_type = definition.ty.inner_named_type().clone();
            self.selections(&field_type, &mut field.selection_set);
        }
        if let Some(inner) = self.mapper.field_name(parent, &field.name) {
            if field.alias.is_none() {
                field.alias = Some(field.name.clone());
            }
            field.name = inner.clone();
        }
    }

    /// Maps a literal of the outer type `ty`.
    fn literal(&self, ty: &Type, value: &mut Node<ast::Value>) {
        match (ty, value.as_ref()) {
            (_, ast::Value::Null | ast::Value::Variable(_)) => {}
            (Type::List(item) | Type::NonNullList(item), ast::Value::List(_)) => {
                if let ast::Value::List(items) = value.make_mut() {
                    for v in items {
                        self.literal(item, v);
                    }
                }
            }
            (Type::List(item) | Type::NonNullList(item), _) => self.literal(item, value),
            (Type::Named(name) | Type::NonNullNamed(name), _) => {
                match self.schema.types.get(name) {
                    Some(ExtendedType::InputObject(input)) => {
                        if let ast::Value::Object(fields) = value.make_mut() {
                            for (field_name, field_value) in fields.iter_mut() {
                                if let Some(definition) = input.fields.get(field_name) {
                                    self.literal(&definition.ty, field_value);
                                }
                                if let Some(inner) = self.mapper.input_field_name(name, field_name)
                                {
                                    *field_name = inner.clone();
                                }
                            }
                            self.mapper.input_object(name, fields);
                        }
                    }
                    Some(leaf @ (ExtendedType::Enum(_) | ExtendedType::Scalar(_)))
                        if self.mapper.maps_input_leaves() && !contains_variable(value) =>
                    {
                        let json = literal_to_json(value);
                        let mapped = self.mapper.input_leaf(name, json);
                        *value = Node::new(json_to_literal(&mapped, leaf.is_enum()));
                    }
                    _ => {}
                }
            }
        }
    }
}

fn contains_variable(value: &ast::Value) -> bool {
    match value {
        ast::Value::Variable(_) => true,
        ast::Value::List(items) => items.iter().any(|v| contains_variable(v)),
        ast::Value::Object(fields) => fields.iter().any(|(_, v)| contains_variable(v)),
        _ => false,
    }
}
