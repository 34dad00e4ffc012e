//! Stage 4: the executor's [`Request`]: the token limit, the document parsed once with
//! [`Document::parse`], the limits on its shape, and the [`Context`] attached.

use quilt_executor::{Context, Document, ExecutionResult, GraphQLError, Request};

use crate::config::Limits;
use crate::pipeline::documents::DocumentCache;
use crate::pipeline::limits::check_limits;
use crate::pipeline::params::GraphQLParams;
use crate::pipeline::tokens::count_tokens;

/// Builds the request, or the GraphQL request error (no `data`) that answers it instead.
pub fn prepare(
    params: GraphQLParams,
    limits: &Limits,
    context: Context,
) -> Result<Request, Box<ExecutionResult>> {
    prepare_with(params, limits, context, None)
}

/// [`prepare`], taking the document from `documents` when it was parsed before.
pub fn prepare_with(
    params: GraphQLParams,
    limits: &Limits,
    context: Context,
    documents: Option<&DocumentCache>,
) -> Result<Request, Box<ExecutionResult>> {
    // A document in the cache passed the token limit when it was parsed: only new texts are
    // counted.
    let parsed = match documents.and_then(|cache| cache.get(&params.query)) {
        Some(document) => Ok(document),
        None => {
            if let Some(max) = limits.max_tokens {
                let tokens = count_tokens(&params.query, max);
                if tokens > max {
                    return Err(Box::new(ExecutionResult::from_error(
                        GraphQLError::new(format!(
                            "the document has more than {max} tokens; the limit is {max}"
                        ))
                        .with_code("MAX_TOKENS_EXCEEDED"),
                    )));
                }
            }
            match documents {
                Some(cache) => cache.get_or_parse(params.query),
                None => Document::parse(params.query),
            }
        }
    };
    let document = parsed.map_err(|error| {
        Box::new(ExecutionResult {
            errors: error
                .errors
                .into_iter()
                .map(|e| e.with_code("GRAPHQL_PARSE_FAILED"))
                .collect(),
            ..ExecutionResult::default()
        })
    })?;
    check_limits(&document, params.operation_name.as_deref(), limits)
        .map_err(|error| Box::new(ExecutionResult::from_error(*error)))?;
    let mut request = Request::from_document(document)
        .variables(params.variables)
        .context(context);
    request.operation_name = params.operation_name;
    request.extensions = params.extensions;
    Ok(request)
}
