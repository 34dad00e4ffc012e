//! The [`Transform`] trait: how a wrapped schema differs from the schema it wraps, and how
//! requests and results cross that difference.

use std::any::Any;

use apollo_compiler::Schema;
use quilt_executor::{Document, ExecutionResult, JsonMap, Request};

use crate::transform_error::TransformError;

/// A schema transform, as in graphql-tools: it changes the schema a client sees, maps each
/// request from that schema back to the one it wraps, and maps each result forward.
///
/// A transform is applied to the schema once, when it is wrapped; transforms apply to the schema
/// in declaration order, to requests in reverse order and to results in declaration order again
/// (the reverse of requests), so each one sees requests and results in the names of the schema
/// it produced.
///
/// The request side is split in three so that the costly part can be cached:
/// - [`transform_document`](Transform::transform_document) is a pure function of the document
///   and operation name; a [`WrappedSchema`](crate::WrappedSchema) calls it once per distinct
///   document and caches the outcome;
/// - [`transform_variables`](Transform::transform_variables) maps the variables of each request;
/// - [`transform_request`](Transform::transform_request) may change anything else (extensions,
///   context) and stash per-request state in the [`TransformContext`] for
///   [`transform_result`](Transform::transform_result).
///
/// Every method has a default that changes nothing; a custom transform implements what it needs:
///
/// ```
/// use quilt_wrap::{Transform, TransformContext};
/// use quilt_executor::ExecutionResult;
///
/// /// Adds `extensions.wrapped = true` to every result.
/// struct MarkWrapped;
///
/// impl Transform for MarkWrapped {
///     fn name(&self) -> &str {
///         "MarkWrapped"
///     }
///     fn transform_result(&self, mut result: ExecutionResult, _: &TransformContext) -> ExecutionResult {
///         result.extensions.get_or_insert_with(Default::default).insert("wrapped".into(), true.into());
///         result
///     }
/// }
/// ```
pub trait Transform: Send + Sync + 'static {
    /// The transform's name, used in error messages.
    fn name(&self) -> &str {
        "custom transform"
    }

    /// Produces the schema clients see from the schema this transform wraps. Called once, before
    /// any request; a transform keeps here what it needs to map requests and results.
    fn transform_schema(&mut self, schema: Schema) -> Result<Schema, TransformError> {
        Ok(schema)
    }

    /// Maps a document written against the transformed schema to the wrapped one. Must depend on
    /// the document and operation name only: the result is cached.
    fn transform_document(
        &self,
        document: &Document,
        operation_name: Option<&str>,
    ) -> Result<Document, TransformError> {
        let _ = operation_name;
        Ok(document.clone())
    }

    /// Maps a request's variables to the wrapped schema; `context` holds the document and
    /// operation as this transform received them.
    fn transform_variables(
        &self,
        variables: JsonMap,
        context: &TransformContext,
    ) -> Result<JsonMap, TransformError> {
        let _ = context;
        Ok(variables)
    }

    /// Changes anything else in the request, after its document and variables are mapped, and
    /// may keep state for the result in `context`.
    fn transform_request(
        &self,
        request: Request,
        context: &mut TransformContext,
    ) -> Result<Request, TransformError> {
        let _ = context;
        Ok(request)
    }

    /// Maps a result (or one item of a result stream) from the wrapped schema's shape and names
    /// to this transform's.
    fn transform_result(
        &self,
        result: ExecutionResult,
        context: &TransformContext,
    ) -> ExecutionResult {
        let _ = context;
        result
    }
}

/// What one transform knows about one request: the document and operation as it received them
/// (in the names of the schema it produced) and any state it kept in
/// [`Transform::transform_request`].
pub struct TransformContext {
    document: Document,
    operation_name: Option<String>,
    state: Option<Box<dyn Any + Send + Sync>>,
}

impl TransformContext {
    /// A context for a request with `document` and `operation_name`.
    pub fn new(document: Document, operation_name: Option<String>) -> Self {
        Self {
            document,
            operation_name,
            state: None,
        }
    }

    /// The request document in the names of the transform's own (outer) schema.
    pub fn document(&self) -> &Document {
        &self.document
    }

    /// The operation name of the request.
    pub fn operation_name(&self) -> Option<&str> {
        self.operation_name.as_deref()
    }

    /// Keeps a value for [`Transform::transform_result`], replacing any earlier one.
    pub fn set_state<T: Any + Send + Sync>(&mut self, value: T) {
        self.state = Some(Box::new(value));
    }

    /// The value kept by [`TransformContext::set_state`], if it has type `T`.
    pub fn state<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.state.as_ref()?.downcast_ref::<T>()
    }
}

impl std::fmt::Debug for TransformContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransformContext")
            .field("document", &self.document)
            .field("operation_name", &self.operation_name)
            .field("has_state", &self.state.is_some())
            .finish()
    }
}
