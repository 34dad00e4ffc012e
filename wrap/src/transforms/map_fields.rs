//! `MapFields`: maps the requests and results of named fields and types without changing the
//! schema, on the engine of [`TransformCompositeFields`].

use std::collections::HashMap;

use apollo_compiler::{Schema, ast};
use quilt_executor::{Document, ExecutionResult, GraphQLError, JsonMap};

use super::composite_fields::{
    ErrorsFn, FieldChange, FieldNodeChange, Scope, TransformCompositeFields,
};
use crate::{Transform, TransformContext, TransformError};

/// Maps the requests and results of named fields and types without changing the schema; as
/// graphql-tools' `MapFields(fieldNodeTransformerMap, objectValueTransformerMap,
/// errorsTransformer)`.
///
/// ```
/// use apollo_compiler::{ast, name, Node};
/// use quilt_wrap::transforms::{FieldNodeChange, MapFields};
///
/// // Prices are always asked in euros; every product's `upc` gets a prefix.
/// let t = MapFields::new()
///     .field_node("Product", "price", |field| {
///         let mut field = field.clone();
///         field.arguments = vec![Node::new(ast::Argument {
///             name: name!("currency"),
///             value: Node::new(ast::Value::Enum(name!("EUR"))),
///         })];
///         FieldNodeChange::Field(field)
///     })
///     .object("Product", |product| {
///         if let Some(serde_json::Value::String(upc)) = product.get_mut("upc") {
///             *upc = format!("upc-{upc}");
///         }
///     });
/// # let _ = t;
/// ```
#[derive(Default)]
pub struct MapFields {
    nodes: HashMap<(String, String), FieldNodeMapFn>,
    objects: HashMap<String, ObjectMapFn>,
    errors: Option<ErrorsFn>,
    inner: Option<TransformCompositeFields>,
}

type FieldNodeMapFn = std::sync::Arc<dyn Fn(&ast::Field) -> FieldNodeChange + Send + Sync>;
type ObjectMapFn = std::sync::Arc<dyn Fn(&mut JsonMap) + Send + Sync>;

impl MapFields {
    /// Maps nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps the selections of `type_name.field`.
    pub fn field_node(
        mut self,
        type_name: impl Into<String>,
        field: impl Into<String>,
        map: impl Fn(&ast::Field) -> FieldNodeChange + Send + Sync + 'static,
    ) -> Self {
        self.nodes
            .insert((type_name.into(), field.into()), std::sync::Arc::new(map));
        self
    }

    /// Maps every result object of type `type_name`.
    pub fn object(
        mut self,
        type_name: impl Into<String>,
        map: impl Fn(&mut JsonMap) + Send + Sync + 'static,
    ) -> Self {
        self.objects
            .insert(type_name.into(), std::sync::Arc::new(map));
        self
    }

    /// Maps each result's errors.
    pub fn errors(
        mut self,
        errors: impl Fn(Vec<GraphQLError>) -> Vec<GraphQLError> + Send + Sync + 'static,
    ) -> Self {
        self.errors = Some(Box::new(errors));
        self
    }
}

impl Transform for MapFields {
    fn name(&self) -> &str {
        "MapFields"
    }

    fn transform_schema(&mut self, schema: Schema) -> Result<Schema, TransformError> {
        let nodes = std::mem::take(&mut self.nodes);
        let mut inner = TransformCompositeFields::scoped(
            "MapFields",
            Scope::Composite,
            Box::new(|_, _, _, _| FieldChange::Keep),
        );
        if !nodes.is_empty() {
            inner = inner.field_nodes(move |type_name, field, node| {
                match nodes.get(&(type_name.to_owned(), field.to_owned())) {
                    Some(map) => map(node),
                    None => FieldNodeChange::Keep,
                }
            });
        }
        let objects = std::mem::take(&mut self.objects);
        if !objects.is_empty() {
            inner = inner.objects(move |type_name, object| {
                if let Some(map) = objects.get(type_name) {
                    map(object);
                }
            });
        }
        if let Some(errors) = self.errors.take() {
            inner = inner.errors(errors);
        }
        let schema = inner.transform_schema(schema)?;
        self.inner = Some(inner);
        Ok(schema)
    }

    fn transform_document(
        &self,
        document: &Document,
        operation_name: Option<&str>,
    ) -> Result<Document, TransformError> {
        match &self.inner {
            Some(inner) => inner.transform_document(document, operation_name),
            None => Err(TransformError::request(
                "MapFields",
                "the transform was not applied to a schema",
            )),
        }
    }

    fn transform_result(
        &self,
        result: ExecutionResult,
        context: &TransformContext,
    ) -> ExecutionResult {
        match &self.inner {
            Some(inner) => inner.transform_result(result, context),
            None => result,
        }
    }
}
