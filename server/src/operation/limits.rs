//! Stage 5: the document's shape against the configured limits (depth, aliases, root fields,
//! expanded selections). Fragments are expanded with a memo per fragment and a guard against
//! cycles, so the check is linear in the document's size however fragments are nested: a
//! fragment spread twice in each of twenty nested fragments (a "fragment bomb", a million
//! selections once expanded from a kilobyte of text) costs twenty memo lookups here, and is
//! refused by [`Limits::max_selections`] before any work is done for it.

use std::collections::{HashMap, HashSet};

use apollo_compiler::ast::{self, Definition, Selection};
use quilt_executor::{Document, GraphQLError};

use crate::config::Limits;

/// Checks `document` (the operation `operation_name` selects, or every operation when none is
/// selected) against `limits`; the error names the limit and the value found.
pub fn check_limits(
    document: &Document,
    operation_name: Option<&str>,
    limits: &Limits,
) -> Result<(), Box<GraphQLError>> {
    let ast = document.ast();
    if limits.max_depth.is_none()
        && limits.max_root_fields.is_none()
        && limits.max_aliases.is_none()
        && limits.max_selections.is_none()
    {
        return Ok(());
    }
    let mut walker = Walker::new(ast);
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
    for op in operations {
        let shape = walker.operation(&op.selection_set);
        if let Some(max) = limits.max_selections
            && shape.selections > max
        {
            return Err(exceeded(
                "MAX_SELECTIONS_EXCEEDED",
                format!(
                    "the operation selects {} fields once its fragments are expanded; the limit \
                     is {max}",
                    shown(shape.selections)
                ),
            ));
        }
        if let Some(max) = limits.max_aliases
            && shape.aliases > max
        {
            return Err(exceeded(
                "MAX_ALIASES_EXCEEDED",
                format!(
                    "the operation has {} aliases once its fragments are expanded; the limit is \
                     {max}",
                    shown(shape.aliases)
                ),
            ));
        }
        if let Some(max) = limits.max_root_fields
            && shape.roots > max
        {
            return Err(exceeded(
                "MAX_ROOT_FIELDS_EXCEEDED",
                format!(
                    "the operation selects {} root fields; the limit is {max}",
                    shown(shape.roots)
                ),
            ));
        }
        if let Some(max) = limits.max_depth
            && shape.depth > max
        {
            return Err(exceeded(
                "MAX_DEPTH_EXCEEDED",
                format!(
                    "the operation is {} fields deep; the limit is {max}",
                    shape.depth
                ),
            ));
        }
    }
    Ok(())
}

/// A count for a message: counts saturate, and a saturated one is "more than" the largest.
fn shown(count: usize) -> String {
    if count == usize::MAX {
        format!("more than {}", usize::MAX - 1)
    } else {
        count.to_string()
    }
}

fn exceeded(code: &str, message: String) -> Box<GraphQLError> {
    Box::new(GraphQLError::new(message).with_code(code))
}

/// What a selection set amounts to with its fragments expanded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Shape {
    /// The deepest field nesting (0 for an empty set, 1 for leaf fields).
    depth: usize,
    /// Field selections at every level (saturating).
    selections: usize,
    /// Aliased field selections at every level (saturating).
    aliases: usize,
    /// Field selections at this level only (saturating).
    roots: usize,
}

impl Shape {
    fn add(&mut self, other: Shape) {
        self.depth = self.depth.max(other.depth);
        self.selections = self.selections.saturating_add(other.selections);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.roots = self.roots.saturating_add(other.roots);
    }
}

/// Walks selections with fragments expanded, each fragment's shape computed once.
///
/// Fragments are resolved by an explicit depth-first walk (a chain of a thousand fragments
/// spreading each other must not exhaust the stack); a fragment that spreads itself, directly
/// or not, counts as empty where it recurses (validation rejects it anyway), and so does an
/// unknown one. Within one fragment or operation the recursion follows the text's own nesting,
/// which the parser bounds.
struct Walker<'a> {
    fragments: HashMap<&'a str, &'a ast::FragmentDefinition>,
    memo: HashMap<&'a str, Shape>,
}

impl<'a> Walker<'a> {
    fn new(ast: &'a ast::Document) -> Self {
        let fragments = ast
            .definitions
            .iter()
            .filter_map(|d| match d {
                Definition::FragmentDefinition(f) => Some((f.name.as_str(), &**f)),
                _ => None,
            })
            .collect();
        Self {
            fragments,
            memo: HashMap::new(),
        }
    }

    /// The shape of an operation's selection set.
    fn operation(&mut self, selections: &'a [Selection]) -> Shape {
        let mut spreads = Vec::new();
        spreads_in(selections, &mut spreads);
        for name in spreads {
            self.resolve(name);
        }
        self.shape(selections)
    }

    /// Computes the shape of `root` and of every fragment it spreads, innermost first.
    fn resolve(&mut self, root: &'a str) {
        let mut visiting: HashSet<&'a str> = HashSet::new();
        let mut stack = vec![(root, false)];
        let mut spreads = Vec::new();
        while let Some((name, children_done)) = stack.pop() {
            if self.memo.contains_key(name) {
                continue;
            }
            let Some(fragment) = self.fragments.get(name).copied() else {
                continue;
            };
            if children_done {
                visiting.remove(name);
                let shape = self.shape(&fragment.selection_set);
                self.memo.insert(name, shape);
                continue;
            }
            if !visiting.insert(name) {
                continue; // a cycle
            }
            stack.push((name, true));
            spreads.clear();
            spreads_in(&fragment.selection_set, &mut spreads);
            for &spread in &spreads {
                if !self.memo.contains_key(spread) && !visiting.contains(spread) {
                    stack.push((spread, false));
                }
            }
        }
    }

    /// The shape of a selection set whose fragments are resolved (or cyclic: empty).
    fn shape(&self, selections: &'a [Selection]) -> Shape {
        let mut total = Shape::default();
        for selection in selections {
            let shape = match selection {
                Selection::Field(f) => {
                    let inner = self.shape(&f.selection_set);
                    Shape {
                        depth: inner.depth.saturating_add(1),
                        selections: inner.selections.saturating_add(1),
                        aliases: inner.aliases.saturating_add(usize::from(f.alias.is_some())),
                        roots: 1,
                    }
                }
                Selection::InlineFragment(f) => self.shape(&f.selection_set),
                Selection::FragmentSpread(spread) => self
                    .memo
                    .get(spread.fragment_name.as_str())
                    .copied()
                    .unwrap_or_default(),
            };
            total.add(shape);
        }
        total
    }
}

/// The names of the fragments spread in `selections`, at any level.
fn spreads_in<'a>(selections: &'a [Selection], out: &mut Vec<&'a str>) {
    for selection in selections {
        match selection {
            Selection::Field(f) => spreads_in(&f.selection_set, out),
            Selection::InlineFragment(f) => spreads_in(&f.selection_set, out),
            Selection::FragmentSpread(spread) => out.push(spread.fragment_name.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_depth: Some(3),
            max_aliases: Some(2),
            max_root_fields: Some(2),
            max_selections: Some(10),
            ..Limits::default()
        }
    }

    fn check(query: &str) -> Result<(), String> {
        let doc = Document::parse(query).unwrap();
        check_limits(&doc, None, &limits()).map_err(|e| e.code().unwrap_or_default().to_owned())
    }

    fn shape(query: &str) -> Shape {
        let doc = Document::parse(query).unwrap();
        let op = doc.operation(None).unwrap();
        Walker::new(doc.ast()).operation(&op.selection_set)
    }

    /// `{ me { ...F0 } }` where each of `levels` fragments spreads the next one twice.
    fn bomb(levels: usize) -> String {
        let mut query = String::from("{ me { ...F0 } }");
        for i in 0..levels {
            query.push_str(&format!(
                " fragment F{i} on User {{ ...F{n} ...F{n} }}",
                n = i + 1
            ));
        }
        query.push_str(&format!(" fragment F{levels} on User {{ name }}"));
        query
    }

    #[test]
    fn depth_counts_through_fragments() {
        assert!(check("{ a { b { c } } }").is_ok());
        assert_eq!(
            check("{ a { ...F } } fragment F on T { b { c { d } } }"),
            Err("MAX_DEPTH_EXCEEDED".into())
        );
        // A cycle does not hang.
        assert!(check("{ a { ...F } } fragment F on T { ...F }").is_ok());
        assert!(
            check("{ a { ...F } } fragment F on T { ...G } fragment G on T { b ...F }").is_ok()
        );
    }

    #[test]
    fn aliases_and_root_fields() {
        assert_eq!(
            check("{ x: a y: a z: a }"),
            Err("MAX_ALIASES_EXCEEDED".into())
        );
        assert_eq!(
            check("{ a b ...F } fragment F on Query { c }"),
            Err("MAX_ROOT_FIELDS_EXCEEDED".into())
        );
        assert!(check("{ a b }").is_ok());
    }

    #[test]
    fn aliases_are_counted_after_fragment_expansion() {
        // One alias in the text, three once the fragment is spread three times.
        assert_eq!(
            check("{ a { ...F } b { ...F } } fragment F on T { x: y }"),
            Ok(())
        );
        assert_eq!(
            check(
                "{ a { ...F ...G } b { ...F } } fragment F on T { x: y } fragment G on T { ...F }"
            ),
            Err("MAX_ALIASES_EXCEEDED".into())
        );
    }

    #[test]
    fn selections_are_counted_once_per_spread() {
        assert_eq!(shape("{ a { b c } d }").selections, 4);
        assert_eq!(
            shape("{ a { ...F ... on T { ...F } } } fragment F on T { b { c } }").selections,
            5
        );
        assert_eq!(shape(&bomb(3)).selections, 1 + 8);
        // Twenty levels: a million selections, computed from twenty memo entries.
        assert_eq!(shape(&bomb(20)).selections, 1 + (1 << 20));
        // A hundred levels overflow any counter: the count saturates.
        assert_eq!(shape(&bomb(100)).selections, usize::MAX);
        assert_eq!(check(&bomb(3)), Ok(()));
        assert_eq!(check(&bomb(4)), Err("MAX_SELECTIONS_EXCEEDED".into()));
        let error = check_limits(
            &Document::parse(bomb(100)).unwrap(),
            None,
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(error.code(), Some("MAX_SELECTIONS_EXCEEDED"));
        assert!(error.message.contains("more than"), "{}", error.message);
    }

    #[test]
    fn a_long_chain_of_fragments_does_not_exhaust_the_stack() {
        // Resolved without recursion across fragments, on a small stack.
        let mut query = String::from("{ a { ...F0 } }");
        for i in 0..5_000 {
            query.push_str(&format!(" fragment F{i} on T {{ ...F{} }}", i + 1));
        }
        query.push_str(" fragment F5000 on T { b }");
        let handle = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || shape(&query))
            .unwrap();
        assert_eq!(handle.join().unwrap().selections, 2);
    }

    #[test]
    fn the_benchmark_and_introspection_queries_pass_the_defaults() {
        let introspection = quilt_wrap::IntrospectionOptions::default().query();
        for query in [quilt_test_support::federation::HEAVY_QUERY, &introspection] {
            let doc = Document::parse(query).unwrap();
            let shape =
                Walker::new(doc.ast()).operation(&doc.operation(None).unwrap().selection_set);
            assert!(shape.selections < 1_000, "{shape:?}");
            assert_eq!(check_limits(&doc, None, &Limits::default()), Ok(()));
        }
    }
}
