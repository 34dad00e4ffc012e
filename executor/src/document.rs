//! A GraphQL operation document, shared, printed once and parsed at most once.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};

use apollo_compiler::ast;

use crate::result::{GraphQLError, Location};

/// The operation type of a GraphQL operation: query, mutation or subscription.
pub use apollo_compiler::ast::OperationType;

/// A GraphQL document that is cheap to clone, printed at most once and parsed at most once.
///
/// Cloning a `Document` clones an [`Arc`]. A document parsed from source keeps that source as its
/// printed form, so proxying a request never re-prints it; a document built from an AST is printed
/// lazily on first use and the text is cached. A document printed by code that knows what it
/// holds ([`Document::from_printed`]: a gateway's planned and merged upstream documents) is not
/// parsed at all until its syntax tree is asked for.
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
    /// The syntax tree: set when parsed or built, parsed from `printed` on first use otherwise.
    ast: OnceLock<ast::Document>,
    /// The one operation's type and name, for a document made by [`Document::from_printed`].
    known: Option<Known>,
    printed: OnceLock<Arc<str>>,
    hash: OnceLock<u64>,
    /// The hash of the operation's type and the text after its name (`body_hash64`).
    body_hash: OnceLock<Option<u64>>,
    /// Whether any definition uses `@defer` or `@stream`, found once.
    incremental: OnceLock<bool>,
    /// The printed text as a JSON string, escaped once for every request that sends it.
    json: OnceLock<Box<serde_json::value::RawValue>>,
}

/// What [`Document::from_printed`]'s caller states about its text.
struct Known {
    operation_type: OperationType,
    operation_name: Option<Box<str>>,
}

impl Inner {
    fn new(
        ast: OnceLock<ast::Document>,
        printed: OnceLock<Arc<str>>,
        known: Option<Known>,
    ) -> Self {
        Self {
            ast,
            known,
            printed,
            hash: OnceLock::new(),
            body_hash: OnceLock::new(),
            incremental: OnceLock::new(),
            json: OnceLock::new(),
        }
    }
}

/// `value` in a set cell.
fn set<T>(value: T) -> OnceLock<T> {
    let cell = OnceLock::new();
    let _ = cell.set(value);
    cell
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
        Ok(Self(Arc::new(Inner::new(set(ast), set(source), None))))
    }

    /// Wraps text printed by code that holds exactly one operation, of `operation_type` and
    /// named `operation_name`, with the fragments it spreads: nothing is parsed now.
    /// [`as_str`](Self::as_str) is `text`, [`operation_type`](Self::operation_type) is
    /// answered from what is stated here, and the syntax tree is parsed from the text only
    /// when [`ast`](Self::ast) is first called ([`syntax`](Self::syntax) parses without
    /// keeping it). State [`with_incremental_delivery`](Self::with_incremental_delivery) too,
    /// or asking it parses the text.
    ///
    /// For a gateway's own upstream documents, which executors send as text: keeping only the
    /// text of a plan's documents takes a fraction of the memory, and printing without parsing
    /// back a fraction of the time. `text` must be a valid document; if it is not, the tree is
    /// what the parser recovered from it.
    ///
    /// ```
    /// use quilt_executor::{Document, OperationType};
    /// let doc = Document::from_printed("query Q { a }", OperationType::Query, Some("Q"))
    ///     .with_incremental_delivery(false);
    /// assert_eq!(doc.as_str(), "query Q { a }");
    /// assert_eq!(doc.operation_type(Some("Q")), OperationType::Query);
    /// assert_eq!(doc.ast().definitions.len(), 1);
    /// ```
    pub fn from_printed(
        text: impl Into<Arc<str>>,
        operation_type: OperationType,
        operation_name: Option<&str>,
    ) -> Self {
        let known = Known {
            operation_type,
            operation_name: operation_name.map(Box::from),
        };
        Self(Arc::new(Inner::new(
            OnceLock::new(),
            set(text.into()),
            Some(known),
        )))
    }

    /// Wraps an AST built in code; it is printed (compactly, on one line) when first needed.
    pub fn from_ast(ast: ast::Document) -> Self {
        Self(Arc::new(Inner::new(set(ast), OnceLock::new(), None)))
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
        Self(Arc::new(Inner::new(set(ast), set(Arc::from(text)), None)))
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

    /// The syntax tree (parsed now and kept, for a document made by
    /// [`from_printed`](Self::from_printed) whose tree nobody asked for before).
    pub fn ast(&self) -> &ast::Document {
        self.0.ast.get_or_init(|| parse_printed(self.as_str()))
    }

    /// The syntax tree, without keeping it when it has to be parsed now: for a caller that
    /// reads a document once and keeps what it derives (the batching executor's renaming).
    pub fn syntax(&self) -> Cow<'_, ast::Document> {
        match self.0.ast.get() {
            Some(ast) => Cow::Borrowed(ast),
            None => Cow::Owned(parse_printed(self.as_str())),
        }
    }

    /// The document as text: the original source, or the AST printed once on one line.
    pub fn as_str(&self) -> &str {
        self.printed_arc()
    }

    /// The printed text as a shared string (no copy).
    pub fn printed_arc(&self) -> &Arc<str> {
        self.0
            .printed
            .get_or_init(|| Arc::from(self.ast().serialize().no_indent().to_string()))
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
        Self::select_operation(self.ast(), name)
    }

    /// The operation named `name` in a syntax tree, or its only operation when `name` is
    /// `None` (what [`operation`](Self::operation) finds, for a tree from
    /// [`syntax`](Self::syntax)).
    pub fn select_operation<'a>(
        document: &'a ast::Document,
        name: Option<&str>,
    ) -> Option<&'a ast::OperationDefinition> {
        find_operation(document, name)
    }

    /// For a document made by [`from_printed`](Self::from_printed) with a named operation
    /// whose text begins with its type and that name: the name, and the text after it.
    /// Operations that differ only in their name have the same text after it (a gateway plans
    /// each client operation's upstream documents under the client's operation name), so what
    /// is derived from that text alone can be shared between them.
    ///
    /// ```
    /// use quilt_executor::{Document, OperationType};
    /// let doc = Document::from_printed("query Q1($id: ID) { a }", OperationType::Query, Some("Q1"));
    /// assert_eq!(doc.operation_name_and_body(), Some(("Q1", "($id: ID) { a }")));
    /// let anonymous = Document::from_printed("{ a }", OperationType::Query, None);
    /// assert_eq!(anonymous.operation_name_and_body(), None);
    /// ```
    pub fn operation_name_and_body(&self) -> Option<(&str, &str)> {
        let known = self.0.known.as_ref()?;
        let name = known.operation_name.as_deref()?;
        let body = self
            .as_str()
            .strip_prefix(known.operation_type.name())?
            .strip_prefix(' ')?
            .strip_prefix(name)?;
        // The name ends where the text stops being a name (`Q` is not the name of `Q1 {`).
        let continues_name = body
            .bytes()
            .next()
            .is_some_and(|b| b == b'_' || b.is_ascii_alphanumeric());
        (!continues_name).then_some((name, body))
    }

    /// A hash of the operation's type and of [`operation_name_and_body`](Self::operation_name_and_body)'s
    /// text (computed once): equal for documents that differ only in their operation's name.
    /// `None` where there is no such text.
    pub fn body_hash64(&self) -> Option<u64> {
        *self.0.body_hash.get_or_init(|| {
            use std::hash::{Hash, Hasher};
            let (_, body) = self.operation_name_and_body()?;
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            self.operation_type(None).hash(&mut hasher);
            body.hash(&mut hasher);
            Some(hasher.finish())
        })
    }

    /// Whether a request of this document selecting the operation `name` runs the document's
    /// one operation whatever its name: the document was made by [`Document::from_printed`]
    /// with an operation name, its text is that operation alone (checked as
    /// [`operation_name_and_body`](Self::operation_name_and_body) does), and `name` is `None`
    /// or that name. Two such requests whose documents differ only in the name give the same
    /// answer, so deduplication may share one execution between them
    /// ([`same_operation`](Self::same_operation)).
    ///
    /// ```
    /// use quilt_executor::{Document, OperationType};
    /// let a = Document::from_printed("query A { a }", OperationType::Query, Some("A"));
    /// let b = Document::from_printed("query B { a }", OperationType::Query, Some("B"));
    /// assert!(a.runs_unnamed(Some("A")) && b.runs_unnamed(None));
    /// assert!(a.same_operation(Some("A"), &b, Some("B")));
    /// assert!(!a.runs_unnamed(Some("B")));
    /// let parsed = Document::parse("query A { a }").unwrap();
    /// assert!(!parsed.runs_unnamed(Some("A")), "only a printed document states its one operation");
    /// ```
    pub fn runs_unnamed(&self, name: Option<&str>) -> bool {
        match self.operation_name_and_body() {
            Some((own, _)) => name.is_none_or(|name| name == own),
            None => false,
        }
    }

    /// Whether a request of this document naming the operation `name` and a request of
    /// `other` naming `other_name` run the same operation: the same document and name, or two
    /// documents that each [`runs_unnamed`](Self::runs_unnamed) and are equal after their
    /// names. [`hash_operation`](Self::hash_operation) agrees with it.
    pub fn same_operation(
        &self,
        name: Option<&str>,
        other: &Document,
        other_name: Option<&str>,
    ) -> bool {
        match (self.runs_unnamed(name), other.runs_unnamed(other_name)) {
            (true, true) => self.same_unnamed(other),
            (false, false) => name == other_name && self == other,
            _ => false,
        }
    }

    /// Feeds what [`same_operation`](Self::same_operation) compares into `state`: the text
    /// after the name ([`body_hash64`](Self::body_hash64)) for a request that
    /// [`runs_unnamed`](Self::runs_unnamed), else the document's hash and `name`.
    pub fn hash_operation<H: std::hash::Hasher>(&self, name: Option<&str>, state: &mut H) {
        use std::hash::Hash;
        match self.body_hash64().filter(|_| self.runs_unnamed(name)) {
            Some(body) => body.hash(state),
            None => {
                self.hash64().hash(state);
                name.hash(state);
            }
        }
    }

    /// Whether two documents are the same but for their operation's name: the same type and
    /// the same text after the name. Their [`body_hash64`](Self::body_hash64)s are then equal.
    fn same_unnamed(&self, other: &Document) -> bool {
        match (
            self.operation_name_and_body(),
            other.operation_name_and_body(),
        ) {
            (Some((_, a)), Some((_, b))) => {
                a == b && self.operation_type(None) == other.operation_type(None)
            }
            _ => false,
        }
    }

    /// The type of the operation selected by `name` (see [`Document::operation`]); `Query`
    /// when no operation matches, so an invalid request still reaches the server that rejects it.
    pub fn operation_type(&self, name: Option<&str>) -> OperationType {
        if let Some(known) = &self.0.known {
            let matches = match name {
                Some(name) => known.operation_name.as_deref() == Some(name),
                None => true,
            };
            return if matches {
                known.operation_type
            } else {
                OperationType::Query
            };
        }
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
        self.ast().definitions.iter().any(|d| match d {
            ast::Definition::OperationDefinition(op) => in_selections(&op.selection_set),
            ast::Definition::FragmentDefinition(f) => in_selections(&f.selection_set),
            _ => false,
        })
    }
}

/// The operation named `name` in `document`, or its only operation when `name` is `None`.
fn find_operation<'a>(
    document: &'a ast::Document,
    name: Option<&str>,
) -> Option<&'a ast::OperationDefinition> {
    let mut operations = document.definitions.iter().filter_map(|d| match d {
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

/// The tree of text printed by code: what the parser made of it, errors or not (the text is
/// the caller's own, see [`Document::from_printed`]).
fn parse_printed(text: &str) -> ast::Document {
    match ast::Document::parse(text, "request.graphql") {
        Ok(document) => document,
        Err(with_errors) => {
            tracing::error!(
                errors = %with_errors.errors,
                "a document printed by the gateway does not parse"
            );
            with_errors.partial
        }
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
    fn a_printed_document_is_parsed_only_when_its_tree_is_asked_for() {
        let doc = Document::from_printed(
            "mutation M($a: Int) { set(a: $a) }",
            OperationType::Mutation,
            Some("M"),
        )
        .with_incremental_delivery(false);
        assert_eq!(doc.as_str(), "mutation M($a: Int) { set(a: $a) }");
        assert_eq!(doc.operation_type(Some("M")), OperationType::Mutation);
        assert_eq!(doc.operation_type(None), OperationType::Mutation);
        assert_eq!(doc.operation_type(Some("N")), OperationType::Query);
        assert!(!doc.uses_incremental_delivery());
        let _ = doc.hash64();
        assert!(doc.0.ast.get().is_none(), "nothing above parses");
        let tree = doc.syntax();
        assert!(matches!(tree, Cow::Owned(_)));
        let op = Document::select_operation(&tree, Some("M")).unwrap();
        assert_eq!(op.variables.len(), 1);
        assert!(doc.0.ast.get().is_none(), "syntax() does not keep the tree");
        assert_eq!(
            doc.operation(Some("M")).unwrap().operation_type,
            OperationType::Mutation
        );
        assert!(doc.0.ast.get().is_some(), "ast() keeps it");
        assert!(matches!(doc.syntax(), Cow::Borrowed(_)));
        // Not stated: found in the tree.
        let deferred = Document::from_printed("{ a ... @defer { b } }", OperationType::Query, None);
        assert!(deferred.uses_incremental_delivery());
        // Not a document: the tree is what the parser recovered, nothing panics.
        let broken = Document::from_printed("query { a", OperationType::Query, None);
        assert_eq!(broken.as_str(), "query { a");
        let _ = broken.ast();
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
