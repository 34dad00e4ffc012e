//! Checking a client document against the stitched schema before anything is sent upstream.

use std::collections::HashMap;

use apollo_compiler::ast;
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use quilt_executor::{Document, GraphQLError};

use crate::config::Limits;
use crate::json_bytes::from_apollo_error;

/// Validates `document`: its size and nesting within `limits`, then the GraphQL validation
/// rules against `schema`. Errors are spec-shaped, with locations.
pub(crate) fn validate(
    schema: &Valid<Schema>,
    document: &Document,
    limits: &Limits,
) -> Result<Valid<ExecutableDocument>, Vec<GraphQLError>> {
    let length = document.as_str().len();
    if length > limits.max_document_bytes {
        return Err(vec![
            GraphQLError::new(format!(
                "the document is {length} bytes long, more than the limit of {} bytes",
                limits.max_document_bytes
            ))
            .with_code("DOCUMENT_TOO_LARGE"),
        ]);
    }
    let depth = max_depth(document.ast(), limits.max_depth);
    if depth > limits.max_depth {
        return Err(vec![
            GraphQLError::new(format!(
                "the document nests selections more than {} levels deep",
                limits.max_depth
            ))
            .with_code("DOCUMENT_TOO_DEEP"),
        ]);
    }
    document.ast().to_executable_validate(schema).map_err(|e| {
        e.errors
            .iter()
            .map(|d| from_apollo_error(&d.to_json()).with_code("GRAPHQL_VALIDATION_FAILED"))
            .collect()
    })
}

/// The deepest selection nesting of any operation, following fragment spreads; stops counting
/// past `limit`, so fragment cycles (rejected later by validation) terminate.
fn max_depth(document: &ast::Document, limit: usize) -> usize {
    let fragments: HashMap<&str, &ast::FragmentDefinition> = document
        .definitions
        .iter()
        .filter_map(|d| match d {
            ast::Definition::FragmentDefinition(f) => Some((f.name.as_str(), &**f)),
            _ => None,
        })
        .collect();
    document
        .definitions
        .iter()
        .filter_map(|d| match d {
            ast::Definition::OperationDefinition(op) => Some(depth_of(
                &op.selection_set,
                &fragments,
                &mut Vec::new(),
                1,
                limit,
            )),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

fn depth_of<'d>(
    selections: &'d [ast::Selection],
    fragments: &HashMap<&str, &'d ast::FragmentDefinition>,
    spreading: &mut Vec<&'d str>,
    depth: usize,
    limit: usize,
) -> usize {
    if depth > limit {
        return depth;
    }
    let mut deepest = depth;
    for selection in selections {
        let d = match selection {
            ast::Selection::Field(f) if !f.selection_set.is_empty() => {
                depth_of(&f.selection_set, fragments, spreading, depth + 1, limit)
            }
            ast::Selection::Field(_) => depth,
            ast::Selection::InlineFragment(f) => {
                depth_of(&f.selection_set, fragments, spreading, depth, limit)
            }
            ast::Selection::FragmentSpread(s) => {
                let name = s.fragment_name.as_str();
                match fragments.get(name) {
                    // A spread inside itself is a cycle (a validation error); stop here.
                    Some(f) if !spreading.contains(&name) => {
                        spreading.push(name);
                        let d = depth_of(&f.selection_set, fragments, spreading, depth, limit);
                        spreading.pop();
                        d
                    }
                    _ => depth,
                }
            }
        };
        deepest = deepest.max(d);
        if deepest > limit {
            break;
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_follows_fragments_and_stops_on_cycles() {
        let doc = Document::parse("{ a { b { c } } ...F } fragment F on Q { x { y { z { w } } } }")
            .unwrap();
        assert_eq!(max_depth(doc.ast(), 64), 4);
        let cyclic = Document::parse("{ ...F } fragment F on Q { a { ...F } }").unwrap();
        assert_eq!(max_depth(cyclic.ast(), 10), 2);
        let fieldless =
            Document::parse("{ ...F } fragment F on Q { ...G } fragment G on Q { ...F }").unwrap();
        assert_eq!(max_depth(fieldless.ast(), 10), 1);
    }
}
