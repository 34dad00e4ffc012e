//! `__schema` and `__type` answered from the stitched schema, never forwarded.

use apollo_compiler::collections::HashMap;
use apollo_compiler::executable::Operation;
use apollo_compiler::response::JsonMap as BytesMap;
use apollo_compiler::schema::Implementers;
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Name, Schema};
use quilt_executor::{GraphQLError, JsonMap};

use crate::json_bytes::{from_apollo_error, from_bytes_map};

/// Executes the introspection root fields of `operation`; the data holds only those fields
/// (by response key), the errors are field errors. Too deep an introspection query is a
/// request error.
pub(crate) fn introspect(
    schema: &Valid<Schema>,
    implementers: &HashMap<Name, Implementers>,
    document: &Valid<ExecutableDocument>,
    operation: &Operation,
    variables: &Valid<BytesMap>,
) -> Result<(JsonMap, Vec<GraphQLError>), Vec<GraphQLError>> {
    let request_error = |e: apollo_compiler::request::RequestError| {
        vec![from_apollo_error(&e.to_graphql_error(&document.sources))]
    };
    apollo_compiler::introspection::check_max_depth(document, operation).map_err(request_error)?;
    let response = apollo_compiler::introspection::partial_execute(
        schema,
        implementers,
        document,
        operation,
        variables,
    )
    .map_err(request_error)?;
    let data = response
        .data
        .as_ref()
        .map(from_bytes_map)
        .unwrap_or_default();
    let errors = response.errors.iter().map(from_apollo_error).collect();
    Ok((data, errors))
}
