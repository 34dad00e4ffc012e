//! Checking a client document against the stitched schema before anything is sent upstream.

use std::collections::{HashMap, HashSet};

use apollo_compiler::ast;
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use quilt_executor::{Document, GraphQLError};

use crate::config::StitchLimits;
use crate::json_bytes::from_apollo_error;

/// Validates `document`: its size and nesting within `limits`, then the GraphQL validation
/// rules against `schema`. Errors are spec-shaped, with locations.
pub(crate) fn validate(
    schema: &Valid<Schema>,
    document: &Document,
    limits: &StitchLimits,
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

/// The deepest selection nesting of any operation, following fragment spreads. Each fragment's
/// depth is computed once (a fragment spread twice in each of twenty nested fragments costs
/// twenty steps, not a million), by an explicit walk across fragments so that a long chain of
/// them cannot exhaust the stack; a fragment inside itself (a cycle, rejected later by
/// validation) counts as empty where it recurses. Counts saturate at `limit + 1`.
///
/// Returns the selection depth (fields with subselections, for `max_depth`) and the nesting
/// (selection sets, inline fragments and fragment spreads together: how deep every walk over
/// the document recurses, for `max_nesting`).
fn max_depth(document: &ast::Document, limit: usize, max_nesting: usize) -> (usize, usize) {
    let limits = Limits2 {
        depth: limit,
        nesting: max_nesting,
    };
    let fragments: HashMap<&str, &ast::FragmentDefinition> = document
        .definitions
        .iter()
        .filter_map(|d| match d {
            ast::Definition::FragmentDefinition(f) => Some((f.name.as_str(), &**f)),
            _ => None,
        })
        .collect();
    let mut memo: HashMap<&str, (usize, usize)> = HashMap::new();
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
                memo.insert(name, depth_of(&fragment.selection_set, &memo, &limits));
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
                let (depth, nesting) = depth_of(&op.selection_set, &memo, &limits);
                Some((1 + depth, 1 + nesting))
            }
            _ => None,
        })
        .fold((0, 0), |(d, n), (d2, n2)| (d.max(d2), n.max(n2)))
}

/// The two limits `depth_of` saturates at.
struct Limits2 {
    depth: usize,
    nesting: usize,
}

/// How many levels below this one `selections` nest: fields with subselections (0 for leaf
/// fields only), and every level of selection sets, inline fragments and spreads; with the
/// depths of fragments from `fragments`; each at most its limit + 1.
fn depth_of(
    selections: &[ast::Selection],
    fragments: &HashMap<&str, (usize, usize)>,
    limits: &Limits2,
) -> (usize, usize) {
    let mut deepest = (0, 0);
    for selection in selections {
        let (d, n) = match selection {
            ast::Selection::Field(f) if !f.selection_set.is_empty() => {
                let (d, n) = depth_of(&f.selection_set, fragments, limits);
                (1 + d, 1 + n)
            }
            ast::Selection::Field(_) => (0, 0),
            ast::Selection::InlineFragment(f) => {
                let (d, n) = depth_of(&f.selection_set, fragments, limits);
                (d, 1 + n)
            }
            ast::Selection::FragmentSpread(s) => fragments
                .get(s.fragment_name.as_str())
                .map_or((0, 1), |(d, n)| (*d, 1 + n)),
        };
        deepest = (deepest.0.max(d), deepest.1.max(n));
        if deepest.0 > limits.depth || deepest.1 > limits.nesting {
            return (
                deepest.0.min(limits.depth + 1),
                deepest.1.min(limits.nesting + 1),
            );
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
        assert_eq!(max_depth(doc.ast(), 64, 256), (4, 5));
        let cyclic = Document::parse("{ ...F } fragment F on Q { a { ...F } }").unwrap();
        assert_eq!(max_depth(cyclic.ast(), 10, 256).0, 2);
        let fieldless =
            Document::parse("{ ...F } fragment F on Q { ...G } fragment G on Q { ...F }").unwrap();
        assert_eq!(max_depth(fieldless.ast(), 10, 256).0, 1);
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
        assert_eq!(max_depth(doc.ast(), 64, 256), (3, 64));
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
            .spawn(move || max_depth(Document::parse(query).unwrap().ast(), 64, 256))
            .unwrap();
        // Shallow, but nested past the nesting limit, which refuses it.
        let (depth, nesting) = handle.join().unwrap();
        assert_eq!(depth, 3);
        assert!(nesting > 256, "{nesting}");
    }

    #[test]
    fn chains_of_spreads_and_inline_fragments_count_as_nesting() {
        let mut chain = String::from("{ ...F0 }");
        for i in 0..300 {
            chain.push_str(&format!(" fragment F{i} on Q {{ ...F{} }}", i + 1));
        }
        chain.push_str(" fragment F300 on Q { a }");
        let doc = Document::parse(chain).unwrap();
        let (depth, nesting) = max_depth(doc.ast(), 64, 100);
        assert_eq!(depth, 1);
        // Past the limit (counts saturate near it: the walk stops early).
        assert!((101..=103).contains(&nesting), "{nesting}");
        let inline = format!("{{ {}a{} }}", "... on Q { ".repeat(150), " }".repeat(150));
        let doc = Document::parse(inline).unwrap();
        assert!(max_depth(doc.ast(), 64, 100).1 > 100);
    }
}
