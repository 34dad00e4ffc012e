//! A parsed GraphQL operation document, shared and printed once.

use std::fmt;
use std::sync::{Arc, OnceLock};

use apollo_compiler::ast;

use crate::result::{GraphQLError, Location};

/// The operation type of a GraphQL operation: query, mutation or subscription.
pub use apollo_compiler::ast::OperationType;

/// A parsed GraphQL document that is cheap to clone and printed at most once.
///
/// Cloning a `Document` clones an [`Arc`]. A document parsed from source keeps that source as its
/// printed form, so proxying a request never re-prints it; a document built from an AST is printed
/// lazily on first use and the text is cached.
///
/// ```
/// use quilt_executor::Document;
/// let doc = Document::parse("query Q { hello }").unwrap();
/// assert_eq!(doc.as_str(), "query Q { hello }");
/// assert_eq!(doc.ast().definitions.len(), 1);
/// ```
#[derive(Clone)]
pub struct Document(Arc<Inner>);

struct Inner {
    ast: ast::Document,
    printed: OnceLock<Arc<str>>,
    hash: OnceLock<u64>,
    /// Whether any definition uses `@defer` or `@stream`, found once.
    incremental: OnceLock<bool>,
    /// The printed text as a JSON string, escaped once for every request that sends it.
    json: OnceLock<Box<serde_json::value::RawValue>>,
}

impl Document {
    /// Parses `source`; the source text itself is kept as the printed form.
    pub fn parse(source: impl Into<Arc<str>>) -> Result<Self, ParseError> {
        let source: Arc<str> = source.into();
        let ast = ast::Document::parse(&*source, "request.graphql").map_err(|with_errors| {
            ParseError {
                errors: with_errors
                    .errors
                    .iter()
                    .map(|diagnostic| {
                        let json = diagnostic.to_json();
                        GraphQLError {
                            message: json.message,
                            locations: json
                                .locations
                                .iter()
                                .map(|l| Location {
                                    line: l.line,
                                    column: l.column,
                                })
                                .collect(),
                            ..GraphQLError::default()
                        }
                    })
                    .collect(),
            }
        })?;
        let printed = OnceLock::new();
        let _ = printed.set(source);
        Ok(Self(Arc::new(Inner {
            ast,
            printed,
            hash: OnceLock::new(),
            incremental: OnceLock::new(),
            json: OnceLock::new(),
        })))
    }

    /// Wraps an AST built in code; it is printed (compactly, on one line) when first needed.
    pub fn from_ast(ast: ast::Document) -> Self {
        Self(Arc::new(Inner {
            ast,
            printed: OnceLock::new(),
            hash: OnceLock::new(),
            incremental: OnceLock::new(),
            json: OnceLock::new(),
        }))
    }

    /// Wraps an AST built in code together with its printed text, for a caller that put the
    /// text together from parts it printed before (the batching executor: a merged document's
    /// text is its renamed parts' text, joined). `text` must be what the AST prints; it is
    /// what [`as_str`](Self::as_str) returns and what executors send.
    ///
    /// ```
    /// use apollo_compiler::ast;
    /// use quilt_executor::Document;
    /// let ast = ast::Document::parse("{ a }", "x").unwrap();
    /// let doc = Document::from_ast_with_text(ast, "{ a }".into());
    /// assert_eq!(doc.as_str(), "{ a }");
    /// ```
    pub fn from_ast_with_text(ast: ast::Document, text: String) -> Self {
        let printed = OnceLock::new();
        let _ = printed.set(Arc::from(text));
        Self(Arc::new(Inner {
            ast,
            printed,
            hash: OnceLock::new(),
            incremental: OnceLock::new(),
            json: OnceLock::new(),
        }))
    }

    /// Records whether the document uses `@defer` or `@stream`, for a caller that knows
    /// without a search (the batching executor: a merged document uses them where one of its
    /// parts does); [`uses_incremental_delivery`](Self::uses_incremental_delivery) answers it.
    /// A document that already answered keeps its answer.
    ///
    /// ```
    /// use quilt_executor::Document;
    /// let doc = Document::parse("{ a }").unwrap().with_incremental_delivery(false);
    /// assert!(!doc.uses_incremental_delivery());
    /// ```
    pub fn with_incremental_delivery(self, uses: bool) -> Self {
        let _ = self.0.incremental.set(uses);
        self
    }

    /// The syntax tree.
    pub fn ast(&self) -> &ast::Document {
        &self.0.ast
    }

    /// The document as text: the original source, or the AST printed once on one line.
    pub fn as_str(&self) -> &str {
        self.printed_arc()
    }

    /// The printed text as a shared string (no copy).
    pub fn printed_arc(&self) -> &Arc<str> {
        self.0
            .printed
            .get_or_init(|| Arc::from(self.0.ast.serialize().no_indent().to_string()))
    }

    /// The printed text as a JSON string (quoted and escaped), computed once.
    pub(crate) fn as_json(&self) -> &serde_json::value::RawValue {
        self.0.json.get_or_init(|| {
            serde_json::value::to_raw_value(self.as_str())
                .expect("a string always serializes to JSON")
        })
    }

    /// A 64-bit hash of the printed text, computed once; used as a cache and deduplication key.
    pub fn hash64(&self) -> u64 {
        *self.0.hash.get_or_init(|| {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            self.as_str().hash(&mut hasher);
            hasher.finish()
        })
    }

    /// Whether two handles share the same underlying document (pointer equality).
    pub fn ptr_eq(&self, other: &Document) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Finds the operation named `name`, or the only operation when `name` is `None`.
    pub fn operation(&self, name: Option<&str>) -> Option<&ast::OperationDefinition> {
        let mut operations = self.0.ast.definitions.iter().filter_map(|d| match d {
            ast::Definition::OperationDefinition(op) => Some(op),
            _ => None,
        });
        match name {
            Some(name) => operations
                .find(|op| op.name.as_ref().is_some_and(|n| n == name))
                .map(|op| &**op),
            None => {
                let first = operations.next()?;
                operations.next().is_none().then_some(&**first)
            }
        }
    }

    /// The type of the operation selected by `name` (see [`Document::operation`]); `Query`
    /// when no operation matches, so an invalid request still reaches the server that rejects it.
    pub fn operation_type(&self, name: Option<&str>) -> OperationType {
        self.operation(name)
            .map(|op| op.operation_type)
            .unwrap_or(OperationType::Query)
    }

    /// Whether the document uses the `@defer` or `@stream` directive anywhere (found on first
    /// use, then cached).
    pub fn uses_incremental_delivery(&self) -> bool {
        *self
            .0
            .incremental
            .get_or_init(|| self.find_incremental_delivery())
    }

    fn find_incremental_delivery(&self) -> bool {
        fn in_selections(selections: &[ast::Selection]) -> bool {
            selections.iter().any(|s| match s {
                ast::Selection::Field(f) => {
                    f.directives.get("stream").is_some() || in_selections(&f.selection_set)
                }
                ast::Selection::FragmentSpread(f) => f.directives.get("defer").is_some(),
                ast::Selection::InlineFragment(f) => {
                    f.directives.get("defer").is_some() || in_selections(&f.selection_set)
                }
            })
        }
        self.0.ast.definitions.iter().any(|d| match d {
            ast::Definition::OperationDefinition(op) => in_selections(&op.selection_set),
            ast::Definition::FragmentDefinition(f) => in_selections(&f.selection_set),
            _ => false,
        })
    }
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Document").field(&self.as_str()).finish()
    }
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for Document {
    fn eq(&self, other: &Self) -> bool {
        self.ptr_eq(other) || self.as_str() == other.as_str()
    }
}

impl Eq for Document {}

/// A document that could not be parsed, with spec-shaped errors carrying locations.
#[derive(Debug, Clone, thiserror::Error)]
#[error("could not parse the GraphQL document: {}", first_message(.errors))]
pub struct ParseError {
    /// One error per syntax problem, with its line and column.
    pub errors: Vec<GraphQLError>,
}

fn first_message(errors: &[GraphQLError]) -> &str {
    errors
        .first()
        .map_or("syntax error", |e| e.message.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keeps_source_as_printed_text() {
        let doc = Document::parse("{ a }").unwrap();
        assert_eq!(doc.as_str(), "{ a }");
    }

    #[test]
    fn from_ast_prints_on_one_line() {
        let ast = ast::Document::parse("query  Q {\n  a\n  b { c }\n}", "x").unwrap();
        let doc = Document::from_ast(ast);
        assert_eq!(doc.as_str(), "query Q { a b { c } }");
    }

    #[test]
    fn parse_error_has_locations() {
        let err = Document::parse("query {").unwrap_err();
        assert!(!err.errors.is_empty());
        assert!(!err.errors[0].locations.is_empty());
    }

    #[test]
    fn operation_selection_by_name() {
        let doc = Document::parse("query A { a } mutation B { b } subscription C { c }").unwrap();
        assert_eq!(doc.operation_type(Some("B")), OperationType::Mutation);
        assert_eq!(doc.operation_type(Some("C")), OperationType::Subscription);
        assert!(doc.operation(None).is_none(), "ambiguous without a name");
        let single = Document::parse("subscription { c }").unwrap();
        assert_eq!(single.operation_type(None), OperationType::Subscription);
    }

    #[test]
    fn detects_defer_and_stream() {
        assert!(
            Document::parse("{ a ... @defer { b } }")
                .unwrap()
                .uses_incremental_delivery()
        );
        assert!(
            Document::parse("{ list @stream(initialCount: 1) { id } }")
                .unwrap()
                .uses_incremental_delivery()
        );
        assert!(
            !Document::parse("{ a { b } }")
                .unwrap()
                .uses_incremental_delivery()
        );
    }
}
