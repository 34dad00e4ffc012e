//! Stage 4: the executor's [`Request`]: the token limit, the document parsed once with
//! [`Document::parse`], the limits on its shape, the introspection switch, and the
//! [`Context`] attached.

use quilt_executor::{Context, Document, ExecutionResult, GraphQLError, Request};

use crate::config::Limits;
use crate::operation::documents::DocumentCache;
use crate::operation::introspection::{introspection_disabled, introspection_field};
use crate::operation::limits::check_limits;
use crate::operation::params::GraphQLParams;
use crate::operation::tokens::count_tokens;

/// What a document must pass before it runs.
#[derive(Debug, Clone, Copy)]
pub struct Checks<'a> {
    /// The limits on its size and shape.
    pub limits: &'a Limits,
    /// Whether it may select `__schema` and `__type`.
    pub introspection: bool,
}

/// [`prepare_checked`] with introspection allowed (for the tests of the cache).
#[cfg(test)]
fn prepare_with(
    params: GraphQLParams,
    limits: &Limits,
    context: Context,
    documents: Option<&DocumentCache>,
) -> Result<Request, Box<ExecutionResult>> {
    let checks = Checks {
        limits,
        introspection: true,
    };
    prepare_checked(params, checks, context, documents)
}

/// Builds the request under `checks`, or the GraphQL request error (no `data`) that answers it
/// instead, taking the document from `documents` when it was parsed before. One cache must always be used with the same checks: a
/// document it holds is not checked again.
pub fn prepare_checked(
    params: GraphQLParams,
    checks: Checks<'_>,
    context: Context,
    documents: Option<&DocumentCache>,
) -> Result<Request, Box<ExecutionResult>> {
    let limits = checks.limits;
    // A document in the cache passed the token limit and, for every operation in it, the
    // limits on its shape when it was parsed: only new texts are counted and walked (the walk
    // was a measurable part of a deduplicated answer's cost). A new document is kept only once
    // every operation in it passed every limit.
    let span = tracing::info_span!(
        target: crate::metrics::TRACE_TARGET,
        "graphql.parse",
        cache = tracing::field::Empty,
    );
    let _entered = span.enter();
    let cached = documents.and_then(|cache| cache.get(&params.query));
    let fresh = cached.is_none();
    if let Some(cache) = documents
        && cache.is_enabled()
    {
        let result = if fresh { "miss" } else { "hit" };
        span.record("cache", result);
        metrics::counter!(crate::metrics::CACHE_REQUESTS, "cache" => "document", "result" => result)
            .increment(1);
    }
    let document = match cached {
        Some(document) => document,
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
            Document::parse(params.query).map_err(|error| {
                Box::new(ExecutionResult {
                    errors: error
                        .errors
                        .into_iter()
                        .map(|e| e.with_code("GRAPHQL_PARSE_FAILED"))
                        .collect(),
                    ..ExecutionResult::default()
                })
            })?
        }
    };
    if fresh {
        let operation = params.operation_name.as_deref();
        check_limits(&document, operation, limits)
            .map_err(|error| Box::new(ExecutionResult::from_error(*error)))?;
        if !checks.introspection
            && let Some(field) = introspection_field(&document, operation)
        {
            return Err(Box::new(ExecutionResult::from_error(
                introspection_disabled(&field),
            )));
        }
        // With an operation name only that operation was checked (the others may be refused
        // later under their own names): the document is kept only when every operation in it
        // passes, so that a hit, which skips the checks, cannot let a refused one through.
        if let Some(cache) = documents
            && (operation.is_none()
                || (check_limits(&document, None, limits).is_ok()
                    && (checks.introspection || introspection_field(&document, None).is_none())))
        {
            cache.insert(&document);
        }
    }
    let mut request = Request::from_document(document)
        .variables(params.variables)
        .context(context);
    request.operation_name = params.operation_name;
    request.extensions = params.extensions;
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> GraphQLParams {
        GraphQLParams {
            query: query.to_owned(),
            operation_name: None,
            ..GraphQLParams::default()
        }
    }

    #[test]
    fn only_documents_that_pass_the_limits_are_cached() {
        let cache = DocumentCache::new(16, 1 << 20);
        let limits = Limits {
            max_depth: Some(2),
            ..Limits::default()
        };
        let deep = "{ a { b { c } } }";
        assert!(prepare_with(params(deep), &limits, Context::default(), Some(&cache)).is_err());
        assert!(cache.get(deep).is_none());
        let shallow = "{ a { b } }";
        assert!(prepare_with(params(shallow), &limits, Context::default(), Some(&cache)).is_ok());
        assert!(cache.get(shallow).is_some());
    }

    #[test]
    fn an_operation_that_passes_does_not_let_a_deep_one_of_the_same_document_through() {
        let cache = DocumentCache::new(16, 1 << 20);
        let limits = Limits {
            max_depth: Some(2),
            ..Limits::default()
        };
        let both = "query Ok { a { b } } query Deep { a { b { c } } }";
        let named = |name: &str| GraphQLParams {
            operation_name: Some(name.to_owned()),
            ..params(both)
        };
        assert!(prepare_with(named("Ok"), &limits, Context::default(), Some(&cache)).is_ok());
        // Not kept: a hit skips the checks, and `Deep` would pass unchecked.
        assert!(cache.get(both).is_none());
        assert!(prepare_with(named("Deep"), &limits, Context::default(), Some(&cache)).is_err());
    }

    #[test]
    fn introspection_off_is_checked_before_the_cache_keeps_a_document() {
        let cache = DocumentCache::new(16, 1 << 20);
        let limits = Limits::default();
        let off = Checks {
            limits: &limits,
            introspection: false,
        };
        let both = "query Ok { __typename } query Schema { __schema { description } }";
        let named = |name: &str| GraphQLParams {
            operation_name: Some(name.to_owned()),
            ..params(both)
        };
        assert!(prepare_checked(named("Ok"), off, Context::default(), Some(&cache)).is_ok());
        assert!(cache.get(both).is_none());
        let refused =
            prepare_checked(named("Schema"), off, Context::default(), Some(&cache)).unwrap_err();
        assert_eq!(refused.errors[0].code(), Some("INTROSPECTION_DISABLED"));
        let typename = "{ __typename }";
        assert!(prepare_checked(params(typename), off, Context::default(), Some(&cache)).is_ok());
        assert!(cache.get(typename).is_some());
    }
}
