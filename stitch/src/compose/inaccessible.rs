//! Federation's `@inaccessible`: what a subschema marks inaccessible is left out of the public
//! schema (the one clients validate against, introspect and see printed) but stays in the
//! full stitched schema the planner works on, so it can still be a key, a `@requires`
//! selection or part of a merged type's selection set.
//!
//! As in Apollo Federation, one subschema's mark hides the element for all: a type, a field
//! (root fields included), an argument, an enum value or an input field. A field, argument or
//! input field whose type is hidden is hidden too, and a union or interface loses hidden
//! members; a root type left without fields disappears.

use std::collections::HashSet;

use apollo_compiler::schema::{ExtendedType, FieldDefinition};
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Node, Schema};

use super::ROOTS;
use crate::config::SubschemaConfig;
use crate::error::StitchError;

/// The directive's names: bare (imported) and as Federation 2 prefixes it without an import.
const NAMES: [&str; 2] = ["inaccessible", "federation__inaccessible"];

fn marked(directives: &apollo_compiler::ast::DirectiveList) -> bool {
    NAMES.iter().any(|name| directives.has(name))
}

fn marked_type(ty: &ExtendedType) -> bool {
    NAMES.iter().any(|name| ty.directives().has(name))
}

/// What the subschemas mark `@inaccessible`, with the stitched schema's root type names.
#[derive(Debug, Default)]
pub(crate) struct Hidden {
    types: HashSet<Name>,
    /// (type, field): fields of objects and interfaces, enum values, input fields.
    members: HashSet<(Name, Name)>,
    /// (type, field, argument).
    arguments: HashSet<(Name, Name, Name)>,
}

impl Hidden {
    /// Reads the marks of every subschema.
    pub fn collect(subschemas: &[SubschemaConfig]) -> Self {
        let mut hidden = Hidden::default();
        for sub in subschemas {
            let schema = &sub.schema;
            for (name, ty) in &schema.types {
                if ty.is_built_in() {
                    continue;
                }
                // A subschema's root type counts under the stitched schema's name for it.
                let stitched = ROOTS
                    .iter()
                    .find(|(op, _)| schema.root_operation(*op) == Some(name))
                    .map_or_else(|| name.clone(), |(_, root)| Name::new_unchecked(root));
                if marked_type(ty) {
                    hidden.types.insert(stitched.clone());
                }
                let mut fields = |fields: &mut dyn Iterator<Item = &Node<FieldDefinition>>| {
                    for field in fields {
                        if marked(&field.directives) {
                            hidden
                                .members
                                .insert((stitched.clone(), field.name.clone()));
                        }
                        for argument in &field.arguments {
                            if marked(&argument.directives) {
                                hidden.arguments.insert((
                                    stitched.clone(),
                                    field.name.clone(),
                                    argument.name.clone(),
                                ));
                            }
                        }
                    }
                };
                match ty {
                    ExtendedType::Object(o) => fields(&mut o.fields.values().map(|f| &f.node)),
                    ExtendedType::Interface(i) => fields(&mut i.fields.values().map(|f| &f.node)),
                    ExtendedType::Enum(e) => {
                        for (value, definition) in &e.values {
                            if marked(&definition.directives) {
                                hidden.members.insert((stitched.clone(), value.clone()));
                            }
                        }
                    }
                    ExtendedType::InputObject(input) => {
                        for (field, definition) in &input.fields {
                            if marked(&definition.directives) {
                                hidden.members.insert((stitched.clone(), field.clone()));
                            }
                        }
                    }
                    ExtendedType::Scalar(_) | ExtendedType::Union(_) => {}
                }
            }
        }
        hidden
    }

    /// Whether nothing is hidden.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty() && self.members.is_empty() && self.arguments.is_empty()
    }

    fn member(&self, ty: &Name, member: &Name) -> bool {
        self.members.contains(&(ty.clone(), member.clone()))
    }

    /// Whether a field, argument or input field of this type is hidden by its type.
    fn hides_type(&self, ty: &apollo_compiler::ast::Type) -> bool {
        self.types.contains(ty.inner_named_type())
    }

    /// The public schema: `full` without what is hidden, validated.
    pub fn public(&self, full: &Valid<Schema>) -> Result<Valid<Schema>, StitchError> {
        if self.is_empty() {
            return Ok(full.clone());
        }
        let mut schema = full.clone().into_inner();
        schema.types.retain(|name, _| !self.types.contains(name));
        for (name, ty) in schema.types.iter_mut() {
            match ty {
                ExtendedType::Object(o) => {
                    let o = o.make_mut();
                    o.fields.retain(|field, definition| {
                        !self.member(name, field) && !self.hides_type(&definition.ty)
                    });
                    for (field, definition) in o.fields.iter_mut() {
                        self.strip_arguments(name, field, definition.make_mut());
                    }
                    o.implements_interfaces
                        .retain(|i| !self.types.contains(&i.name));
                }
                ExtendedType::Interface(i) => {
                    let i = i.make_mut();
                    i.fields.retain(|field, definition| {
                        !self.member(name, field) && !self.hides_type(&definition.ty)
                    });
                    for (field, definition) in i.fields.iter_mut() {
                        self.strip_arguments(name, field, definition.make_mut());
                    }
                    i.implements_interfaces
                        .retain(|i| !self.types.contains(&i.name));
                }
                ExtendedType::Union(u) => {
                    u.make_mut()
                        .members
                        .retain(|member| !self.types.contains(&member.name));
                }
                ExtendedType::Enum(e) => {
                    e.make_mut()
                        .values
                        .retain(|value, _| !self.member(name, value));
                }
                ExtendedType::InputObject(input) => {
                    input.make_mut().fields.retain(|field, definition| {
                        !self.member(name, field) && !self.hides_type(&definition.ty)
                    });
                }
                ExtendedType::Scalar(_) => {}
            }
        }
        // A root type with no field left (or hidden itself) is no root type.
        for (op, root) in ROOTS {
            let empty = match schema.types.get(root) {
                Some(ExtendedType::Object(o)) => o.fields.is_empty(),
                _ => true,
            };
            if empty {
                schema.types.shift_remove(root);
                let definition = schema.schema_definition.make_mut();
                match op {
                    apollo_compiler::ast::OperationType::Query => definition.query = None,
                    apollo_compiler::ast::OperationType::Mutation => definition.mutation = None,
                    apollo_compiler::ast::OperationType::Subscription => {
                        definition.subscription = None;
                    }
                }
            }
        }
        schema.validate().map_err(|e| StitchError::InvalidSchema {
            message: format!(
                "without its @inaccessible elements the schema is not valid: {}",
                e.errors
            ),
        })
    }

    fn strip_arguments(&self, ty: &Name, field: &Name, definition: &mut FieldDefinition) {
        definition.arguments.retain(|argument| {
            !self
                .arguments
                .contains(&(ty.clone(), field.clone(), argument.name.clone()))
                && !self.hides_type(&argument.ty)
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use quilt_executor::{ExecutorError, from_fn};

    fn sub(name: &str, sdl: &str) -> SubschemaConfig {
        let unused = from_fn(|_| async { Err(ExecutorError::other("not called")) });
        SubschemaConfig::from_sdl(name, sdl, unused).unwrap()
    }

    #[test]
    fn every_kind_of_element_is_hidden_and_what_uses_a_hidden_type_with_it() {
        let a = sub(
            "a",
            r#"
            directive @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION
            type Query {
              user(id: ID!, debug: Boolean @inaccessible): User
              secret: String @inaccessible
              internal: Internal
              search(filter: Filter): [Thing]
            }
            type User { id: ID! @inaccessible name: String role: Role }
            enum Role { ADMIN USER ROOT @inaccessible }
            input Filter { text: String trace: String @inaccessible }
            type Internal @inaccessible { x: Int }
            union Thing = User | Internal
            "#,
        );
        let hidden = Hidden::collect(std::slice::from_ref(&a));
        let full = a.schema.clone();
        let public = hidden.public(&full).unwrap();
        let sdl = public.to_string();
        for gone in [
            "debug",
            "secret",
            "internal",
            "Internal",
            "ROOT",
            "trace",
            "  id: ID!",
        ] {
            assert!(!sdl.contains(gone), "`{gone}` in {sdl}");
        }
        for kept in [
            "user(id: ID!)",
            "name: String",
            "ADMIN",
            "text: String",
            "union Thing = User",
        ] {
            assert!(sdl.contains(kept), "`{kept}` not in {sdl}");
        }
    }
}
