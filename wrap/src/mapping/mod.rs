//! The name-and-value mapping engine shared by the rename, enum and leaf transforms.
//!
//! A [`Mapper`] says, in the names of the transformed (outer) schema, what each type, field,
//! argument, input field and leaf value is called in the wrapped (inner) schema, and how inner
//! `__typename`s and leaf values read in the outer schema. [`request`] rewrites documents,
//! [`variables`] rewrites variable values and [`result`] rewrites result data, each by walking
//! the outer schema's types.

pub(crate) mod name_map;
pub(crate) mod request;
pub(crate) mod result;
pub(crate) mod variables;

use apollo_compiler::{Name, Schema};
use quilt_executor::{Document, ExecutionResult, JsonMap};
use serde_json::Value;

use crate::transform::TransformContext;

pub(crate) use name_map::NameMap;

/// How outer names and values map to inner ones; every method defaults to "unchanged".
pub(crate) trait Mapper: Send + Sync {
    /// The inner name of the outer type `outer`, when renamed.
    fn type_name(&self, outer: &str) -> Option<&Name> {
        let _ = outer;
        None
    }
    /// The outer name of the inner type `inner`, when renamed (for `__typename`).
    fn typename_to_outer(&self, inner: &str) -> Option<&Name> {
        let _ = inner;
        None
    }
    /// The inner name of field `field` of the outer type `parent`, when renamed.
    fn field_name(&self, parent: &str, field: &str) -> Option<&Name> {
        let _ = (parent, field);
        None
    }
    /// The inner name of argument `argument` of `parent.field` (outer names), when renamed.
    fn argument_name(&self, parent: &str, field: &str, argument: &str) -> Option<&Name> {
        let _ = (parent, field, argument);
        None
    }
    /// The inner name of field `field` of the outer input type `input_type`, when renamed.
    fn input_field_name(&self, input_type: &str, field: &str) -> Option<&Name> {
        let _ = (input_type, field);
        None
    }
    /// Changes an input object literal of the outer type `input_type` after its fields were
    /// mapped (so in inner names).
    fn input_object(
        &self,
        input_type: &str,
        fields: &mut Vec<(Name, apollo_compiler::Node<apollo_compiler::ast::Value>)>,
    ) {
        let _ = (input_type, fields);
    }
    /// Whether [`Mapper::input_leaf`] changes anything (so literals must be visited).
    fn maps_input_leaves(&self) -> bool {
        false
    }
    /// Maps an input leaf value (enum or scalar) of the outer type `type_name`.
    fn input_leaf(&self, type_name: &str, value: Value) -> Value {
        let _ = type_name;
        value
    }
    /// Whether results must be walked: `__typename`s or output leaves change.
    fn maps_results(&self) -> bool {
        false
    }
    /// Maps an output leaf value (enum or scalar) to the outer type `type_name`.
    fn output_leaf(&self, type_name: &str, value: Value) -> Value {
        let _ = type_name;
        value
    }
}

/// A mapper with the outer schema it reads: the request and result side of a mapping
/// transform, set up by its `transform_schema`.
pub(crate) struct Mapped<M> {
    /// The transformed schema.
    pub(crate) outer: Schema,
    /// The mapping.
    pub(crate) mapper: M,
}

impl<M: Mapper> Mapped<M> {
    /// Maps a document to the inner names.
    pub(crate) fn document(&self, document: &Document) -> Document {
        Document::from_ast(request::map_document(
            &self.outer,
            &self.mapper,
            document.ast(),
        ))
    }

    /// Maps variables to the inner names and values.
    pub(crate) fn variables(&self, variables: JsonMap, context: &TransformContext) -> JsonMap {
        variables::map_variables(
            &self.outer,
            &self.mapper,
            context.document().ast(),
            context.operation_name(),
            variables,
        )
    }

    /// Maps a result's `__typename`s and leaf values to the outer schema.
    pub(crate) fn result(
        &self,
        mut result: ExecutionResult,
        context: &TransformContext,
    ) -> ExecutionResult {
        if self.mapper.maps_results() {
            result::map_result(&self.outer, &self.mapper, context, &mut result);
        }
        result
    }
}

/// Implements the request and result methods of [`crate::Transform`] for a transform whose
/// field `$field` is an `Option<Mapped<_>>` set by its `transform_schema`.
macro_rules! delegate_mapping {
    ($field:ident) => {
        fn transform_document(
            &self,
            document: &quilt_executor::Document,
            _operation_name: Option<&str>,
        ) -> Result<quilt_executor::Document, $crate::TransformError> {
            match &self.$field {
                Some(mapped) => Ok(mapped.document(document)),
                None => Err($crate::TransformError::request(
                    self.name(),
                    "the transform was not applied to a schema",
                )),
            }
        }

        fn transform_variables(
            &self,
            variables: quilt_executor::JsonMap,
            context: &$crate::TransformContext,
        ) -> Result<quilt_executor::JsonMap, $crate::TransformError> {
            Ok(match &self.$field {
                Some(mapped) => mapped.variables(variables, context),
                None => variables,
            })
        }

        fn transform_result(
            &self,
            result: quilt_executor::ExecutionResult,
            context: &$crate::TransformContext,
        ) -> quilt_executor::ExecutionResult {
            match &self.$field {
                Some(mapped) => mapped.result(result, context),
                None => result,
            }
        }
    };
}
pub(crate) use delegate_mapping;
