//! Schemas from SDL: the stitching-directives `{ _sdl }` convention and Apollo Federation's
//! `{ _service { sdl } }`. Unlike introspection, SDL keeps every applied directive.
//!
//! The schema is flattened: what the SDL wrote as `extend type` becomes part of the type's
//! definition (apollo-compiler would otherwise print it back as separate `extend` blocks), so
//! consumers see one plain definition per type.

use std::collections::HashMap;

use apollo_compiler::collections::IndexSet;
use apollo_compiler::schema::{ComponentOrigin, ExtendedType};
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Node, Schema, ast};

use crate::error::WrapError;
use crate::federation;
use crate::sdl_fixups::strip_extension_descriptions;

/// The stitching directives of graphql-tools' `stitchingDirectivesTypeDefs`, added when an SDL
/// applies them without defining them.
const STITCHING_DIRECTIVES: [(&str, &str); 4] = [
    ("key", "directive @key(selectionSet: String!) on OBJECT"),
    (
        "computed",
        "directive @computed(selectionSet: String!) on FIELD_DEFINITION",
    ),
    (
        "merge",
        "directive @merge(argsExpr: String, keyArg: String, keyField: String, key: [String!], \
         additionalArgs: String) on FIELD_DEFINITION",
    ),
    (
        "canonical",
        "directive @canonical on OBJECT | INTERFACE | INPUT_OBJECT | UNION | ENUM | SCALAR | \
         FIELD_DEFINITION | INPUT_FIELD_DEFINITION",
    ),
];

/// Directives of the GraphQL spec that apollo-compiler 1.x does not define, added when an SDL
/// applies them without defining them (graphql-js prints no definition for its built-ins).
pub(crate) const SPEC_DIRECTIVES: [(&str, &str); 1] =
    [("oneOf", "directive @oneOf on INPUT_OBJECT")];

/// Builds a validated schema from SDL as the stitching-directives convention serves it
/// (`{ _sdl }`): the directives stay applied; the stitching directives (`@key`, `@computed`,
/// `@merge`, `@canonical`) are defined when the SDL uses them without defining them.
///
/// ```
/// let schema = quilt_wrap::schema_from_sdl(
///     r#"type Query { user(id: ID!): User @merge(keyField: "id") }
///        type User @key(selectionSet: "{ id }") { id: ID! }"#,
/// ).unwrap();
/// assert_eq!(schema.get_object("User").unwrap().directives[0].name, "key");
/// ```
pub fn schema_from_sdl(sdl: &str) -> Result<Valid<Schema>, WrapError> {
    schema_from_sdl_named(sdl, "the SDL")
}

/// Builds a validated schema from an Apollo Federation subgraph's SDL (what `{ _service { sdl
/// } }` answers): federation directives, `@link` and the subgraph types (`_Any`, `_Entity`,
/// `_Service`, `FieldSet`) are defined when missing, the `_entities` and `_service` root fields
/// are added, and types the SDL only extends (`extend type User @key(...)`) become definitions
/// marked `@extends`, as the federation spec makes them equivalent.
pub fn schema_from_federation_sdl(sdl: &str) -> Result<Valid<Schema>, WrapError> {
    schema_from_federation_sdl_named(sdl, "the federation SDL")
}

pub(crate) fn schema_from_sdl_named(sdl: &str, endpoint: &str) -> Result<Valid<Schema>, WrapError> {
    let (mut schema, _) = parse(sdl, endpoint)?;
    let applied = applied_directives(&schema);
    let mut extra = String::new();
    for (name, definition) in STITCHING_DIRECTIVES.into_iter().chain(SPEC_DIRECTIVES) {
        if applied.contains_key(name) && !schema.directive_definitions.contains_key(name) {
            extra.push_str(definition);
            extra.push('\n');
        }
    }
    merge_definitions(&mut schema, &extra, endpoint)?;
    validate(schema, endpoint)
}

pub(crate) fn schema_from_federation_sdl_named(
    sdl: &str,
    endpoint: &str,
) -> Result<Valid<Schema>, WrapError> {
    let (mut schema, orphans) = parse(sdl, endpoint)?;
    federation::complete(&mut schema, &orphans, endpoint)?;
    validate(schema, endpoint)
}

/// Parses SDL into a flat schema (orphan extensions adopted, built-in redefinitions ignored) and
/// the names of the types the SDL only extended.
fn parse(sdl: &str, endpoint: &str) -> Result<(Schema, IndexSet<Name>), WrapError> {
    if sdl.trim().is_empty() {
        return Err(WrapError::InvalidSdl {
            endpoint: endpoint.to_owned(),
            message: "the SDL is empty".into(),
        });
    }
    let builder = Schema::builder()
        .adopt_orphan_extensions()
        .ignore_builtin_redefinitions()
        .parse(
            strip_extension_descriptions(sdl),
            format!("{endpoint}.graphql"),
        );
    let orphans: IndexSet<Name> = builder.iter_orphan_extension_types().cloned().collect();
    let mut schema = builder
        .build()
        .map_err(|with_errors| WrapError::InvalidSdl {
            endpoint: endpoint.to_owned(),
            message: with_errors.errors.to_string(),
        })?;
    flatten(&mut schema);
    Ok((schema, orphans))
}

fn validate(schema: Schema, endpoint: &str) -> Result<Valid<Schema>, WrapError> {
    schema
        .validate()
        .map_err(|with_errors| WrapError::InvalidSchema {
            endpoint: endpoint.to_owned(),
            diagnostics: with_errors.errors.to_string(),
        })
}

/// Parses `extra` (definitions Quilt supplies) and adds its directive definitions and types to
/// `schema`, keeping any the schema already has.
pub(crate) fn merge_definitions(
    schema: &mut Schema,
    extra: &str,
    endpoint: &str,
) -> Result<(), WrapError> {
    if extra.is_empty() {
        return Ok(());
    }
    let parsed = Schema::builder()
        .parse(extra, "quilt-definitions.graphql")
        .build()
        .map_err(|with_errors| WrapError::InvalidSdl {
            endpoint: endpoint.to_owned(),
            message: format!(
                "the definitions Quilt adds do not build (are names clashing?): {}",
                with_errors.errors
            ),
        })?;
    for (name, definition) in parsed.directive_definitions {
        schema
            .directive_definitions
            .entry(name)
            .or_insert(definition);
    }
    for (name, ty) in parsed.types {
        if !ty.is_built_in() {
            schema.types.entry(name).or_insert(ty);
        }
    }
    Ok(())
}

/// Marks every component of every type (and of the schema definition) as part of the main
/// definition.
fn flatten(schema: &mut Schema) {
    let definition = schema.schema_definition.make_mut();
    for directive in &mut definition.directives.0 {
        directive.origin = ComponentOrigin::Definition;
    }
    for root in [
        &mut definition.query,
        &mut definition.mutation,
        &mut definition.subscription,
    ]
    .into_iter()
    .flatten()
    {
        root.origin = ComponentOrigin::Definition;
    }
    for ty in schema.types.values_mut() {
        if ty.is_built_in() {
            continue;
        }
        macro_rules! flat {
            ($node:expr, $($member:ident),*) => {{
                let node = $node.make_mut();
                for directive in &mut node.directives.0 {
                    directive.origin = ComponentOrigin::Definition;
                }
                $(for (_, component) in node.$member.iter_mut() {
                    component.origin = ComponentOrigin::Definition;
                })*
            }};
        }
        match ty {
            ExtendedType::Scalar(node) => flat!(node,),
            ExtendedType::Object(node) => {
                flat!(node, fields);
                let node = node.make_mut();
                node.implements_interfaces = flat_names(&node.implements_interfaces);
            }
            ExtendedType::Interface(node) => {
                flat!(node, fields);
                let node = node.make_mut();
                node.implements_interfaces = flat_names(&node.implements_interfaces);
            }
            ExtendedType::Union(node) => {
                flat!(node,);
                let node = node.make_mut();
                node.members = flat_names(&node.members);
            }
            ExtendedType::Enum(node) => flat!(node, values),
            ExtendedType::InputObject(node) => flat!(node, fields),
        }
    }
}

fn flat_names(
    names: &IndexSet<apollo_compiler::schema::ComponentName>,
) -> IndexSet<apollo_compiler::schema::ComponentName> {
    names.iter().map(|name| name.name.clone().into()).collect()
}

/// Every directive applied anywhere in the schema, with the argument names it is given.
pub(crate) fn applied_directives(schema: &Schema) -> HashMap<Name, IndexSet<Name>> {
    let mut applied: HashMap<Name, IndexSet<Name>> = HashMap::new();
    let mut note = |directive: &ast::Directive| {
        let arguments = applied.entry(directive.name.clone()).or_default();
        arguments.extend(directive.arguments.iter().map(|a| a.name.clone()));
    };
    let note_list = |list: &ast::DirectiveList, note: &mut dyn FnMut(&ast::Directive)| {
        list.iter().for_each(|d| note(d));
    };
    fn args(arguments: &[Node<ast::InputValueDefinition>], note: &mut dyn FnMut(&ast::Directive)) {
        for argument in arguments {
            argument.directives.iter().for_each(|d| note(d));
        }
    }
    schema
        .schema_definition
        .directives
        .iter()
        .for_each(|d| note(d));
    for definition in schema.directive_definitions.values() {
        args(&definition.arguments, &mut note);
    }
    for ty in schema.types.values() {
        ty.directives().iter().for_each(|d| note(d));
        match ty {
            ExtendedType::Object(node) => {
                for field in node.fields.values() {
                    note_list(&field.directives, &mut note);
                    args(&field.arguments, &mut note);
                }
            }
            ExtendedType::Interface(node) => {
                for field in node.fields.values() {
                    note_list(&field.directives, &mut note);
                    args(&field.arguments, &mut note);
                }
            }
            ExtendedType::Enum(node) => {
                for value in node.values.values() {
                    note_list(&value.directives, &mut note);
                }
            }
            ExtendedType::InputObject(node) => {
                for field in node.fields.values() {
                    note_list(&field.directives, &mut note);
                }
            }
            ExtendedType::Scalar(_) | ExtendedType::Union(_) => {}
        }
    }
    applied
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_flattened_and_stitching_directives_defined() {
        let schema = schema_from_sdl(
            r#"type Query { a: Int }
               extend type Query { b: Int @computed(selectionSet: "{ a }") }"#,
        )
        .unwrap();
        let printed = schema.to_string();
        assert!(!printed.contains("extend"), "{printed}");
        assert!(
            printed.contains("directive @computed(selectionSet: String!)"),
            "{printed}"
        );
    }

    #[test]
    fn bad_sdl_is_an_error_naming_the_endpoint() {
        let err = schema_from_sdl_named("type Query {", "http://svc").unwrap_err();
        assert!(matches!(err, WrapError::InvalidSdl { .. }), "{err}");
        assert!(err.to_string().contains("http://svc"));
        let err = schema_from_sdl_named("type Query { a: Nope }", "http://svc").unwrap_err();
        assert!(matches!(err, WrapError::InvalidSchema { .. }), "{err}");
        assert!(err.to_string().contains("Nope"), "{err}");
    }
}
