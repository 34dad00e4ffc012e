//! Stage 5b: the introspection switch. With introspection off, an operation that selects
//! `__schema` or `__type` (directly, or through any fragment it spreads) is refused with
//! `INTROSPECTION_DISABLED` before it runs; `__typename` is not introspection of the schema
//! and always works. The walk visits each fragment once, so it is linear in the document.

use std::collections::HashSet;

use apollo_compiler::ast::{self, Definition, Selection};
use quilt_executor::{Document, GraphQLError};

/// The fields that reveal the schema.
const SCHEMA_FIELDS: [&str; 2] = ["__schema", "__type"];

/// The introspection field the operation `operation_name` selects (every operation when none
/// is selected), if any.
pub fn introspection_field(document: &Document, operation_name: Option<&str>) -> Option<String> {
    let ast = document.ast();
    let operations: Vec<&ast::OperationDefinition> = match document.operation(operation_name) {
        Some(op) => vec![op],
        None => ast
            .definitions
            .iter()
            .filter_map(|d| match d {
                Definition::OperationDefinition(op) => Some(&**op),
                _ => None,
            })
            .collect(),
    };
    let fragments: std::collections::HashMap<&str, &ast::FragmentDefinition> = ast
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::FragmentDefinition(f) => Some((f.name.as_str(), &**f)),
            _ => None,
        })
        .collect();
    let mut visited: HashSet<&str> = HashSet::new();
    let mut stack: Vec<&[Selection]> = operations
        .iter()
        .map(|op| op.selection_set.as_slice())
        .collect();
    while let Some(selections) = stack.pop() {
        for selection in selections {
            match selection {
                Selection::Field(field) => {
                    if SCHEMA_FIELDS.contains(&field.name.as_str()) {
                        return Some(field.name.to_string());
                    }
                    stack.push(&field.selection_set);
                }
                Selection::InlineFragment(inline) => stack.push(&inline.selection_set),
                Selection::FragmentSpread(spread) => {
                    let name = spread.fragment_name.as_str();
                    if visited.insert(name)
                        && let Some(fragment) = fragments.get(name)
                    {
                        stack.push(&fragment.selection_set);
                    }
                }
            }
        }
    }
    None
}

/// The error of an operation refused because introspection is off.
pub fn introspection_disabled(field: &str) -> GraphQLError {
    GraphQLError::new(format!(
        "introspection is disabled on this server: the operation selects `{field}`"
    ))
    .with_code("INTROSPECTION_DISABLED")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(query: &str, operation: Option<&str>) -> Option<String> {
        introspection_field(&Document::parse(query).unwrap(), operation)
    }

    #[test]
    fn finds_schema_fields_through_fragments_and_aliases() {
        assert_eq!(field("{ __typename a }", None), None);
        assert_eq!(
            field("{ __schema { types { name } } }", None).as_deref(),
            Some("__schema")
        );
        assert_eq!(
            field("{ t: __type(name: \"A\") { name } }", None).as_deref(),
            Some("__type")
        );
        assert_eq!(
            field("{ ...F } fragment F on Query { ... on Query { ...G } } fragment G on Query { __schema { queryType { name } } }", None).as_deref(),
            Some("__schema")
        );
        // A cycle ends.
        assert_eq!(field("{ ...F } fragment F on Query { ...F }", None), None);
        // Only the selected operation counts; without a name, every one.
        let two = "query A { a } query B { __schema { description } }";
        assert_eq!(field(two, Some("A")), None);
        assert!(field(two, Some("B")).is_some());
        assert!(field(two, None).is_some());
    }
}
