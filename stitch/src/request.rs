//! From a client request to a prepared operation: the plan cache, or validation, operation
//! selection and planning; then the request's variables coerced.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use apollo_compiler::Schema;
use apollo_compiler::validation::Valid;
use quilt_executor::{GraphQLError, JsonMap, Request};

use crate::config::StitchLimits;
use crate::entities::{EntityIndex, ExtensionIndex};
use crate::index::StitchIndex;
use crate::json_bytes::{from_apollo_error, from_bytes_map, to_bytes_map};
use crate::plan::Prepared;
use crate::plan::{PlanInput, ReachCache, plan_operation};
use crate::plan_cache::PlanCache;
use crate::validate::validate;

/// What preparing a request reads of the stitched schema.
pub(crate) struct Preparer<'a> {
    /// The plan cache.
    pub cache: &'a PlanCache,
    /// What clients validate against.
    pub public: &'a Valid<Schema>,
    /// The document limits.
    pub limits: &'a StitchLimits,
    /// The stitched schema with every element, the subschemas' schemas and names, and the
    /// indexes the planner reads.
    pub full: &'a Valid<Schema>,
    pub subschemas: &'a [Arc<Valid<Schema>>],
    /// Which subschemas answer `@defer` themselves.
    pub incremental: &'a [bool],
    pub names: &'a [String],
    pub index: &'a StitchIndex,
    pub entities: &'a EntityIndex,
    pub extensions: &'a ExtensionIndex,
    pub reaches: &'a ReachCache,
}

/// The prepared operation for `request`, from the cache or validated and planned now.
pub(crate) fn prepare(
    gateway: &Preparer<'_>,
    request: &Request,
) -> Result<Arc<Prepared>, Vec<GraphQLError>> {
    let document = &request.document;
    let name = request.operation_name.as_deref();
    let span = tracing::info_span!(
        target: crate::metrics::TRACE_TARGET,
        "graphql.plan",
        cache = tracing::field::Empty,
    );
    let _entered = span.enter();
    if let Some(hit) = gateway
        .cache
        .get(document.hash64(), document.as_str(), name)
    {
        span.record("cache", "hit");
        return Ok(hit);
    }
    span.record("cache", "miss");
    gateway.cache.validations.fetch_add(1, Ordering::Relaxed);
    // Clients validate against the public schema; the plan is made on the full one, where
    // the `@inaccessible` keys and requirements it may need are.
    let valid = {
        let _validate =
            tracing::info_span!(target: crate::metrics::TRACE_TARGET, "graphql.validate").entered();
        validate(gateway.public, document, gateway.limits)?
    };
    let operation = valid.operations.get(name).map_err(|e| {
        vec![GraphQLError::new(e.message().to_string()).with_code("OPERATION_RESOLUTION_FAILURE")]
    })?;
    gateway.cache.plans.fetch_add(1, Ordering::Relaxed);
    let plan = plan_operation(&PlanInput {
        document: &valid,
        operation,
        index: gateway.index,
        entities: gateway.entities,
        extensions: gateway.extensions,
        schema: gateway.full,
        subschemas: gateway.subschemas,
        incremental: gateway.incremental,
        subschema_names: gateway.names,
        reaches: gateway.reaches,
    })
    .map_err(|e| vec![GraphQLError::new(e.to_string()).with_code("PLAN_FAILED")])?;
    if plan.defers.len() > gateway.limits.max_deferred_fragments {
        return Err(vec![
            GraphQLError::new(format!(
                "the operation defers {} fragments (counted at each place they apply), more \
                 than the limit of {}",
                plan.defers.len(),
                gateway.limits.max_deferred_fragments
            ))
            .with_code("TOO_MANY_DEFERRED_FRAGMENTS"),
        ]);
    }
    let groupings = crate::shape::Groupings::of(&valid, document.printed_arc().len());
    let prepared = Arc::new(Prepared {
        text: document.printed_arc().clone(),
        groupings,
        document: valid,
        operation_name: name.map(str::to_owned),
        plan,
        data_size: Default::default(),
    });
    gateway.cache.insert(document.hash64(), prepared.clone());
    Ok(prepared)
}

/// The request's variables coerced to the operation's variable types, defaults applied.
pub(crate) fn coerce_variables(
    public: &Valid<Schema>,
    prepared: &Prepared,
    variables: &JsonMap,
) -> Result<(JsonMap, Valid<apollo_compiler::response::JsonMap>), Vec<GraphQLError>> {
    let operation = prepared
        .document
        .operations
        .get(prepared.operation_name.as_deref())
        .map_err(|e| vec![GraphQLError::new(e.message().to_string())])?;
    let coerced = apollo_compiler::request::coerce_variable_values(
        public,
        operation,
        &to_bytes_map(variables),
    )
    .map_err(|e| {
        vec![
            from_apollo_error(&e.to_graphql_error(&prepared.document.sources))
                .with_code("BAD_USER_INPUT"),
        ]
    })?;
    Ok((from_bytes_map(&coerced), coerced))
}
