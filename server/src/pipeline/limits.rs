//! Stage 5: the document's shape against the configured limits (depth, aliases, root fields).
//! Fragments are expanded with a memo per fragment and a guard against cycles, so the check is
//! linear in the document's size however fragments are nested.

use std::collections::HashMap;

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
    if let Some(max) = limits.max_aliases {
        let aliases = count_aliases(ast);
        if aliases > max {
            return Err(exceeded(
                "MAX_ALIASES_EXCEEDED",
                format!("the document has {aliases} aliases; the limit is {max}"),
            ));
        }
    }
    if limits.max_depth.is_none() && limits.max_root_fields.is_none() {
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
        if let Some(max) = limits.max_root_fields {
            let roots = walker.root_fields(&op.selection_set);
            if roots > max {
                return Err(exceeded(
                    "MAX_ROOT_FIELDS_EXCEEDED",
                    format!("the operation selects {roots} root fields; the limit is {max}"),
                ));
            }
        }
        if let Some(max) = limits.max_depth {
            let depth = walker.depth(&op.selection_set);
            if depth > max {
                return Err(exceeded(
                    "MAX_DEPTH_EXCEEDED",
                    format!("the operation is {depth} fields deep; the limit is {max}"),
                ));
            }
        }
    }
    Ok(())
}

fn exceeded(code: &str, message: String) -> Box<GraphQLError> {
    Box::new(GraphQLError::new(message).with_code(code))
}

fn count_aliases(ast: &ast::Document) -> usize {
    fn in_selections(selections: &[Selection]) -> usize {
        selections
            .iter()
            .map(|s| match s {
                Selection::Field(f) => {
                    usize::from(f.alias.is_some()) + in_selections(&f.selection_set)
                }
                Selection::InlineFragment(f) => in_selections(&f.selection_set),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    ast.definitions
        .iter()
        .map(|d| match d {
            Definition::OperationDefinition(op) => in_selections(&op.selection_set),
            Definition::FragmentDefinition(f) => in_selections(&f.selection_set),
            _ => 0,
        })
        .sum()
}

/// Walks selections with fragments expanded, memoising each fragment's result.
struct Walker<'a> {
    fragments: HashMap<&'a str, &'a ast::FragmentDefinition>,
    depth_memo: HashMap<&'a str, usize>,
    roots_memo: HashMap<&'a str, usize>,
    visiting: Vec<&'a str>,
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
            depth_memo: HashMap::new(),
            roots_memo: HashMap::new(),
            visiting: Vec::new(),
        }
    }

    /// The depth of a selection set: 0 for an empty one, 1 for leaf fields.
    fn depth(&mut self, selections: &'a [Selection]) -> usize {
        let mut max = 0;
        for selection in selections {
            let depth = match selection {
                Selection::Field(f) => 1 + self.depth(&f.selection_set),
                Selection::InlineFragment(f) => self.depth(&f.selection_set),
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.fragment_name.as_str(), true)
                }
            };
            max = max.max(depth);
        }
        max
    }

    fn root_fields(&mut self, selections: &'a [Selection]) -> usize {
        selections
            .iter()
            .map(|selection| match selection {
                Selection::Field(_) => 1,
                Selection::InlineFragment(f) => self.root_fields(&f.selection_set),
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.fragment_name.as_str(), false)
                }
            })
            .sum()
    }

    /// A fragment's depth (`depth == true`) or root-field count, memoised; a fragment that
    /// spreads itself counts as empty where it recurses (validation rejects it anyway).
    fn fragment(&mut self, name: &'a str, depth: bool) -> usize {
        let memo = if depth {
            &self.depth_memo
        } else {
            &self.roots_memo
        };
        if let Some(value) = memo.get(name) {
            return *value;
        }
        let Some(fragment) = self.fragments.get(name).copied() else {
            return 0;
        };
        if self.visiting.contains(&name) {
            return 0;
        }
        self.visiting.push(name);
        let value = if depth {
            self.depth(&fragment.selection_set)
        } else {
            self.root_fields(&fragment.selection_set)
        };
        self.visiting.pop();
        if depth {
            self.depth_memo.insert(name, value);
        } else {
            self.roots_memo.insert(name, value);
        }
        value
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
            ..Limits::default()
        }
    }

    fn check(query: &str) -> Result<(), String> {
        let doc = Document::parse(query).unwrap();
        check_limits(&doc, None, &limits()).map_err(|e| e.code().unwrap_or_default().to_owned())
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
}
