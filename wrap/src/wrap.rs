//! [`wrap_schema`]: a schema with transforms applied, served by the executor of the schema it
//! wraps, mapping each request back and each result forward.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use apollo_compiler::Schema;
use apollo_compiler::validation::Valid;
use futures::StreamExt;
use quilt_executor::{
    Document, ExecuteFuture, ExecutionResult, Executor, GraphQLError, Request, Response,
    SharedExecutor,
};

use crate::transform::{Transform, TransformContext};
use crate::transform_error::TransformError;

/// How many distinct (document, operation) mappings a wrapped schema keeps.
const DOCUMENT_CACHE_CAPACITY: usize = 1024;

/// A schema to wrap: its schema, the executor that serves it, and the transforms to apply.
pub struct WrapSchemaConfig {
    /// The schema of the service, in its own names.
    pub schema: Schema,
    /// The executor that serves `schema`.
    pub executor: SharedExecutor,
    /// The transforms, applied to the schema in this order.
    pub transforms: Vec<Box<dyn Transform>>,
    /// A name for error messages (the service's name or URL).
    pub name: Option<String>,
}

impl WrapSchemaConfig {
    /// A config with no transforms.
    pub fn new(schema: Schema, executor: impl Executor) -> Self {
        Self {
            schema,
            executor: Arc::new(executor),
            transforms: Vec::new(),
            name: None,
        }
    }

    /// Adds a transform after the ones already added.
    pub fn transform(mut self, transform: impl Transform) -> Self {
        self.transforms.push(Box::new(transform));
        self
    }

    /// Names the subschema.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

impl std::fmt::Debug for WrapSchemaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrapSchemaConfig")
            .field("name", &self.name)
            .field(
                "transforms",
                &self.transforms.iter().map(|t| t.name()).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Applies the transforms of `config` to its schema, in order, validating the schema after
/// each one, and returns the wrapped schema.
///
/// ```
/// use quilt_executor::{from_fn, ExecutionResult, Response, Request};
/// use quilt_wrap::{wrap_schema, WrapSchemaConfig, transforms::RenameTypes};
///
/// let schema = apollo_compiler::Schema::parse_and_validate(
///     "type Query { me: User } type User { id: ID }", "s.graphql").unwrap().into_inner();
/// let executor = from_fn(|_r: Request| async { Ok(Response::Single(ExecutionResult::default())) });
/// let wrapped = wrap_schema(
///     WrapSchemaConfig::new(schema, executor).transform(RenameTypes::new(|name| Some(format!("Gh{name}")))),
/// ).unwrap();
/// assert!(wrapped.schema().types.contains_key("GhUser"));
/// ```
pub fn wrap_schema(config: WrapSchemaConfig) -> Result<WrappedSchema, TransformError> {
    let WrapSchemaConfig {
        schema,
        executor,
        mut transforms,
        name,
    } = config;
    let original = schema
        .validate()
        .map_err(|e| TransformError::InvalidSchema {
            index: 0,
            transform: "(the schema given to wrap_schema)".into(),
            diagnostics: e.errors.to_string(),
        })?;
    let mut schema = original.clone().into_inner();
    for (index, transform) in transforms.iter_mut().enumerate() {
        let transformed = transform.transform_schema(schema)?;
        schema = transformed
            .validate()
            .map_err(|e| TransformError::InvalidSchema {
                index,
                transform: transform.name().to_owned(),
                diagnostics: e.errors.to_string(),
            })?
            .into_inner();
    }
    let schema = Valid::assume_valid(schema);
    Ok(WrappedSchema {
        inner: Arc::new(Inner {
            schema,
            original,
            executor,
            transforms,
            name,
            cache: Mutex::new(HashMap::new()),
        }),
    })
}

/// A schema with transforms applied. It is an [`Executor`]: a request against
/// [`WrappedSchema::schema`] is mapped back through the transforms, executed by the wrapped
/// executor, and its result (or each item of its stream) mapped forward.
///
/// Cloning is cheap (an [`Arc`]).
#[derive(Clone)]
pub struct WrappedSchema {
    inner: Arc<Inner>,
}

type CacheKey = (Arc<str>, Option<String>);

struct Inner {
    schema: Valid<Schema>,
    original: Valid<Schema>,
    executor: SharedExecutor,
    transforms: Vec<Box<dyn Transform>>,
    name: Option<String>,
    cache: Mutex<HashMap<CacheKey, Arc<Vec<Document>>>>,
}

/// The per-request state of a request mapped by [`WrappedSchema::map_request`], needed to map
/// its results with [`WrappedSchema::map_result`].
pub struct MappedRequest {
    contexts: Vec<TransformContext>,
}

impl std::fmt::Debug for MappedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedRequest")
            .field("contexts", &self.contexts)
            .finish()
    }
}

impl WrappedSchema {
    /// The transformed schema, which clients see.
    pub fn schema(&self) -> &Valid<Schema> {
        &self.inner.schema
    }

    /// The schema as the wrapped service has it.
    pub fn original_schema(&self) -> &Valid<Schema> {
        &self.inner.original
    }

    /// The wrapped executor.
    pub fn executor(&self) -> &SharedExecutor {
        &self.inner.executor
    }

    /// The subschema's name, if it was given one.
    pub fn name(&self) -> Option<&str> {
        self.inner.name.as_deref()
    }

    /// The document as the wrapped service must receive it (cached per document and operation).
    pub fn transform_document(
        &self,
        document: &Document,
        operation_name: Option<&str>,
    ) -> Result<Document, TransformError> {
        let stages = self.inner.stages(document, operation_name)?;
        Ok(stages[0].clone())
    }

    /// Maps a request against [`WrappedSchema::schema`] to the wrapped schema.
    pub fn map_request(
        &self,
        request: Request,
    ) -> Result<(Request, MappedRequest), TransformError> {
        self.inner.map_request(request)
    }

    /// Maps a result of a request mapped by [`WrappedSchema::map_request`] forward.
    pub fn map_result(&self, result: ExecutionResult, mapped: &MappedRequest) -> ExecutionResult {
        self.inner.map_result(result, mapped)
    }
}

impl Inner {
    /// The documents at each stage: `[inner, after transform 1, ..., as the client sent it]`.
    fn stages(
        &self,
        document: &Document,
        operation_name: Option<&str>,
    ) -> Result<Arc<Vec<Document>>, TransformError> {
        if self.transforms.is_empty() {
            return Ok(Arc::new(vec![document.clone()]));
        }
        let key: CacheKey = (
            document.printed_arc().clone(),
            operation_name.map(str::to_owned),
        );
        if let Some(stages) = self
            .cache
            .lock()
            .ok()
            .and_then(|cache| cache.get(&key).cloned())
        {
            return Ok(stages);
        }
        let mut stages = vec![document.clone()];
        for transform in self.transforms.iter().rev() {
            let outer = stages.last().unwrap_or(document);
            let mapped = transform.transform_document(outer, operation_name)?;
            stages.push(mapped);
        }
        stages.reverse();
        let stages = Arc::new(stages);
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= DOCUMENT_CACHE_CAPACITY {
                cache.clear();
            }
            cache.insert(key, stages.clone());
        }
        Ok(stages)
    }

    fn map_request(
        &self,
        mut request: Request,
    ) -> Result<(Request, MappedRequest), TransformError> {
        let stages = self.stages(&request.document, request.operation_name.as_deref())?;
        // Transforms read and rename variables by value.
        request.materialize_raw_variables().map_err(|e| {
            TransformError::request("wrap_schema", format!("a variable given as JSON text: {e}"))
        })?;
        // Files are followed through the variables' mapping (an input field renamed moves
        // its file's path with it).
        let marks = (!request.uploads.is_empty() && !self.transforms.is_empty()).then(|| {
            let marks = quilt_executor::UploadMarks::new();
            marks.mark(&mut request.variables, &request.uploads);
            marks
        });
        let mut contexts: Vec<TransformContext> = Vec::with_capacity(self.transforms.len());
        for (index, transform) in self.transforms.iter().enumerate().rev() {
            let mut context =
                TransformContext::new(stages[index + 1].clone(), request.operation_name.clone());
            let variables = std::mem::take(&mut request.variables);
            request.variables = transform.transform_variables(variables, &context)?;
            request.document = stages[index].clone();
            request = transform.transform_request(request, &mut context)?;
            contexts.push(context);
        }
        if let Some(marks) = marks {
            request.uploads = marks
                .unmark(&mut request.variables, &request.uploads)
                .map_err(|lost| TransformError::request("wrap_schema", lost.to_string()))?;
        }
        contexts.reverse();
        Ok((request, MappedRequest { contexts }))
    }

    fn map_result(&self, mut result: ExecutionResult, mapped: &MappedRequest) -> ExecutionResult {
        for (transform, context) in self.transforms.iter().zip(&mapped.contexts) {
            result = transform.transform_result(result, context);
        }
        result
    }
}

impl Executor for WrappedSchema {
    /// Transforms read and change the data as a value: the wrapped executor is asked for that
    /// form, and a single result is answered in the form the caller asked for.
    fn execute(&self, mut request: Request) -> ExecuteFuture {
        let inner = self.inner.clone();
        let form = std::mem::take(&mut request.data_form);
        Box::pin(async move {
            let (request, mapped) = match inner.map_request(request) {
                Ok(mapped) => mapped,
                Err(error) => {
                    let error = GraphQLError::new(error.to_string()).with_code("TRANSFORM_FAILED");
                    return Ok(Response::Single(ExecutionResult::from_error(error)));
                }
            };
            match inner.executor.execute(request).await? {
                Response::Single(result) => Ok(Response::Single(
                    inner.map_result(result, &mapped).into_form(form),
                )),
                Response::Stream(stream) => {
                    let mapped = Arc::new(mapped);
                    Ok(Response::Stream(
                        stream
                            .map(move |item| item.map(|result| inner.map_result(result, &mapped)))
                            .boxed(),
                    ))
                }
            }
        })
    }
}

impl std::fmt::Debug for WrappedSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrappedSchema")
            .field("name", &self.inner.name)
            .field(
                "transforms",
                &self
                    .inner
                    .transforms
                    .iter()
                    .map(|t| t.name())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}
