//! Directive definitions several subschemas define, merged as graphql-tools merges them; and,
//! when they are not merged (`Stitcher::merge_directives(false)`), the applications of custom
//! directives removed from the stitched schema.

use apollo_compiler::ast::{self, DirectiveDefinition};
use apollo_compiler::schema::{Component, DirectiveList, ExtendedType};
use apollo_compiler::{Node, Schema};

/// Merges `new` into `existing`: the last description given, the union of the locations (in
/// the order first seen) and of the arguments (a later definition of an argument replaces an
/// earlier one in its place), repeatable when any is.
pub(super) fn merge_definition(
    existing: &mut Node<DirectiveDefinition>,
    new: &DirectiveDefinition,
) {
    let existing = existing.make_mut();
    if new.description.is_some() {
        existing.description = new.description.clone();
    }
    for location in &new.locations {
        if !existing.locations.contains(location) {
            existing.locations.push(*location);
        }
    }
    for argument in &new.arguments {
        match existing
            .arguments
            .iter_mut()
            .find(|a| a.name == argument.name)
        {
            Some(earlier) => *earlier = argument.clone(),
            None => existing.arguments.push(argument.clone()),
        }
    }
    existing.repeatable |= new.repeatable;
}

/// Removes every application of a directive that is not built in from `schema`'s types,
/// fields, arguments, input fields and enum values.
pub(super) fn strip_custom(schema: &mut Schema) {
    let built_in = Schema::new().directive_definitions;
    let keep = |name: &str| built_in.contains_key(name);
    let schema_list = |list: &mut DirectiveList| list.0.retain(|d| keep(&d.name));
    let ast_list = |list: &mut ast::DirectiveList| list.0.retain(|d| keep(&d.name));
    let field = |f: &mut Component<ast::FieldDefinition>| {
        let f = f.make_mut();
        ast_list(&mut f.directives);
        for argument in &mut f.arguments {
            ast_list(&mut argument.make_mut().directives);
        }
    };
    for ty in schema.types.values_mut() {
        match ty {
            ExtendedType::Object(t) => {
                let t = t.make_mut();
                schema_list(&mut t.directives);
                t.fields.values_mut().for_each(field);
            }
            ExtendedType::Interface(t) => {
                let t = t.make_mut();
                schema_list(&mut t.directives);
                t.fields.values_mut().for_each(field);
            }
            ExtendedType::Union(t) => schema_list(&mut t.make_mut().directives),
            ExtendedType::Scalar(t) => schema_list(&mut t.make_mut().directives),
            ExtendedType::Enum(t) => {
                let t = t.make_mut();
                schema_list(&mut t.directives);
                for value in t.values.values_mut() {
                    ast_list(&mut value.make_mut().directives);
                }
            }
            ExtendedType::InputObject(t) => {
                let t = t.make_mut();
                schema_list(&mut t.directives);
                for f in t.fields.values_mut() {
                    ast_list(&mut f.make_mut().directives);
                }
            }
        }
    }
}

/// `@defer` and `@stream` as the incremental delivery RFC (and graphql-js 17) define them: the
/// stitched schema answers them itself, whatever its subschemas declare.
const INCREMENTAL_DIRECTIVES: &str = "\
directive @defer(label: String, if: Boolean! = true) on FRAGMENT_SPREAD | INLINE_FRAGMENT
directive @stream(label: String, if: Boolean! = true, initialCount: Int = 0) on FIELD
";

/// Adds the definitions of `@defer` and `@stream` to `schema` (replacing a subschema's: the
/// gateway, not the subschema, interprets them).
pub(super) fn add_incremental(schema: &mut Schema) {
    let Ok(document) = ast::Document::parse(INCREMENTAL_DIRECTIVES, "incremental.graphql") else {
        return;
    };
    for definition in &document.definitions {
        if let ast::Definition::DirectiveDefinition(directive) = definition {
            schema
                .directive_definitions
                .insert(directive.name.clone(), directive.clone());
        }
    }
}
