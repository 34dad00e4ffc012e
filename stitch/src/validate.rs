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
    let (depth, nesting) = max_depth(document.ast(), limits.max_depth, limits.max_nesting);
    if nesting > limits.max_nesting {
        return Err(vec![
            GraphQLError::new(format!(
                "the document nests selections, inline fragments and fragment spreads more than \
                 {} levels deep",
                limits.max_nesting
            ))
            .with_code("DOCUMENT_TOO_DEEP"),
        ]);
    }
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

/// The deepest selection nesting of any operation, following fragment spreads, and the
/// deepest nesting of selection sets, inline fragments and spreads together (how deep every
/// walk over the document recurses). Stops counting past the limits, so fragment cycles
/// (rejected later by validation) and long chains of spreads terminate early.
fn max_depth(document: &ast::Document, max_depth: usize, max_nesting: usize) -> (usize, usize) {
    let fragments: HashMap<&str, &ast::FragmentDefinition> = document
        .definitions
        .iter()
        .filter_map(|d| match d {
            ast::Definition::FragmentDefinition(f) => Some((f.name.as_str(), &**f)),
            _ => None,
        })
        .collect();
    let mut walk = Walk {
        fragments,
        spreading: Vec::new(),
        max_depth,
        max_nesting,
        nesting: 0,
    };
    let mut deepest = 0;
    for definition in &document.definitions {
        if let ast::Definition::OperationDefinition(op) = definition {
            deepest = deepest.max(walk.depth_of(&op.selection_set, 1, 1));
        }
    }
    (deepest, walk.nesting)
}

struct Walk<'d> {
    fragments: HashMap<&'d str, &'d ast::FragmentDefinition>,
    spreading: Vec<&'d str>,
    max_depth: usize,
    max_nesting: usize,
    /// The deepest nesting seen.
    nesting: usize,
}

impl<'d> Walk<'d> {
    fn depth_of(
        &mut self,
        selections: &'d [ast::Selection],
        depth: usize,
        nesting: usize,
    ) -> usize {
        self.nesting = self.nesting.max(nesting);
        if depth > self.max_depth || nesting > self.max_nesting {
            return depth;
        }
        let mut deepest = depth;
        for selection in selections {
            let d = match selection {
                ast::Selection::Field(f) if !f.selection_set.is_empty() => {
                    self.depth_of(&f.selection_set, depth + 1, nesting + 1)
                }
                ast::Selection::Field(_) => depth,
                ast::Selection::InlineFragment(f) => {
                    self.depth_of(&f.selection_set, depth, nesting + 1)
                }
                ast::Selection::FragmentSpread(s) => {
                    let name = s.fragment_name.as_str();
                    match self.fragments.get(name) {
                        // A spread inside itself is a cycle (a validation error); stop here.
                        Some(f) if !self.spreading.contains(&name) => {
                            self.spreading.push(name);
                            let d = self.depth_of(&f.selection_set, depth, nesting + 1);
                            self.spreading.pop();
                            d
                        }
                        _ => depth,
                    }
                }
            };
            deepest = deepest.max(d);
            if deepest > self.max_depth || self.nesting > self.max_nesting {
                break;
            }
        }
        deepest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_follows_fragments_and_stops_on_cycles() {
        let doc = Document::parse("{ a { b { c } } ...F } fragment F on Q { x { y { z { w } } } }")
            .unwrap();
        assert_eq!(max_depth(doc.ast(), 64, 256), (4, 5));
        let cyclic = Document::parse("{ ...F } fragment F on Q { a { ...F } }").unwrap();
        assert_eq!(max_depth(cyclic.ast(), 10, 256).0, 2);
        let fieldless =
            Document::parse("{ ...F } fragment F on Q { ...G } fragment G on Q { ...F }").unwrap();
        assert_eq!(max_depth(fieldless.ast(), 10, 256), (1, 3));
    }

    #[test]
    fn chains_of_spreads_and_inline_fragments_count_as_nesting() {
        let mut chain = String::from("{ ...F0 }");
        for i in 0..300 {
            chain.push_str(&format!(" fragment F{i} on Q {{ ...F{} }}", i + 1));
        }
        chain.push_str(" fragment F300 on Q { a }");
        let doc = Document::parse(chain).unwrap();
        // The walk stops one past the limit, however long the chain.
        assert_eq!(max_depth(doc.ast(), 64, 100), (1, 101));
        let inline = format!("{{ {}a{} }}", "... on Q { ".repeat(150), " }".repeat(150));
        let doc = Document::parse(inline).unwrap();
        assert_eq!(max_depth(doc.ast(), 64, 100).1, 101);
    }
}
