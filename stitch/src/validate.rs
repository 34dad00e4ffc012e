//! Checking a client document against the stitched schema before anything is sent upstream.

use std::collections::{HashMap, HashSet};

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

/// The deepest selection nesting of any operation, following fragment spreads. Each fragment's
/// depth is computed once (a fragment spread twice in each of twenty nested fragments costs
/// twenty steps, not a million), by an explicit walk across fragments so that a long chain of
/// them cannot exhaust the stack; a fragment inside itself (a cycle, rejected later by
/// validation) counts as empty where it recurses. Counts saturate at `limit + 1`.
fn max_depth(document: &ast::Document, limit: usize) -> usize {
    let fragments: HashMap<&str, &ast::FragmentDefinition> = document
        .definitions
        .iter()
        .filter_map(|d| match d {
            ast::Definition::FragmentDefinition(f) => Some((f.name.as_str(), &**f)),
            _ => None,
        })
        .collect();
    let mut memo: HashMap<&str, usize> = HashMap::new();
    // Innermost fragments first: a fragment is computed once every fragment it spreads is.
    let mut visiting: HashSet<&str> = HashSet::new();
    let mut spreads = Vec::new();
    for root in fragments.keys().copied() {
        let mut stack = vec![(root, false)];
        while let Some((name, children_done)) = stack.pop() {
            if memo.contains_key(name) {
                continue;
            }
            let Some(fragment) = fragments.get(name) else {
                continue;
            };
            if children_done {
                visiting.remove(name);
                memo.insert(name, depth_of(&fragment.selection_set, &memo, limit));
                continue;
            }
            if !visiting.insert(name) {
                continue;
            }
            stack.push((name, true));
            spreads.clear();
            spreads_in(&fragment.selection_set, &mut spreads);
            for &spread in &spreads {
                if !memo.contains_key(spread) && !visiting.contains(spread) {
                    stack.push((spread, false));
                }
            }
        }
    }
    document
        .definitions
        .iter()
        .filter_map(|d| match d {
            ast::Definition::OperationDefinition(op) => {
                Some(1 + depth_of(&op.selection_set, &memo, limit))
            }
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// How many levels below this one `selections` nest (0 for leaf fields only), with the depths
/// of fragments from `fragments`; at most `limit + 1`.
fn depth_of(
    selections: &[ast::Selection],
    fragments: &HashMap<&str, usize>,
    limit: usize,
) -> usize {
    let mut deepest = 0;
    for selection in selections {
        let d = match selection {
            ast::Selection::Field(f) if !f.selection_set.is_empty() => {
                1 + depth_of(&f.selection_set, fragments, limit)
            }
            ast::Selection::Field(_) => 0,
            ast::Selection::InlineFragment(f) => depth_of(&f.selection_set, fragments, limit),
            ast::Selection::FragmentSpread(s) => fragments
                .get(s.fragment_name.as_str())
                .copied()
                .unwrap_or(0),
        };
        deepest = deepest.max(d);
        if deepest > limit {
            return limit + 1;
        }
    }
    deepest
}

/// The names of the fragments spread in `selections`, at any level.
fn spreads_in<'a>(selections: &'a [ast::Selection], out: &mut Vec<&'a str>) {
    for selection in selections {
        match selection {
            ast::Selection::Field(f) => spreads_in(&f.selection_set, out),
            ast::Selection::InlineFragment(f) => spreads_in(&f.selection_set, out),
            ast::Selection::FragmentSpread(s) => out.push(s.fragment_name.as_str()),
        }
    }
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

    #[test]
    fn depth_of_a_fragment_bomb_is_computed_once_per_fragment() {
        // Each of 60 fragments spreads the next twice: 2^60 paths, 61 fragments to compute.
        let mut query = String::from("{ me { ...F0 } }");
        for i in 0..60 {
            query.push_str(&format!(
                " fragment F{i} on User {{ ...F{n} ...F{n} }}",
                n = i + 1
            ));
        }
        query.push_str(" fragment F60 on User { friend { name } }");
        let doc = Document::parse(query).unwrap();
        assert_eq!(max_depth(doc.ast(), 64), 3);
    }

    #[test]
    fn a_long_chain_of_fragments_does_not_exhaust_the_stack() {
        let mut query = String::from("{ a { ...F0 } }");
        for i in 0..5_000 {
            query.push_str(&format!(" fragment F{i} on T {{ ...F{} }}", i + 1));
        }
        query.push_str(" fragment F5000 on T { b { c } }");
        let handle = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || max_depth(Document::parse(query).unwrap().ast(), 64))
            .unwrap();
        assert_eq!(handle.join().unwrap(), 3);
    }
}
