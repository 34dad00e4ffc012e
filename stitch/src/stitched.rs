//! `StitchedSchema`: the gateway over its subschemas, itself an [`Executor`].
//!
//! A request flows through the stages in this order: the plan cache or validation and planning
//! (`request`, `validate`, `plan`), variable coercion, introspection, the upstream steps
//! (`execute`), and shaping (`shape`).

use std::sync::Arc;

use apollo_compiler::ast::OperationType;
use apollo_compiler::collections::HashMap;
use apollo_compiler::schema::Implementers;
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Schema};
use quilt_executor::{ExecuteFuture, ExecutionResult, Executor, GraphQLError, Request, Response};

use crate::compose::compose;
use crate::config::{StitchLimits, Stitcher};
use crate::entities::{EntityIndex, ExtensionIndex, canonical_marks};
use crate::error::StitchError;
use crate::execute::{Execution, Fetched, Upstreams};
use crate::index::StitchIndex;
use crate::introspection::introspect;
use crate::plan::Prepared;
use crate::plan_cache::{PlanCache, PlanCacheStats};
use crate::request::{Preparer, prepare};
use crate::subscription::{self, CloseReason, Hub, SubscriptionStats};
use crate::type_merging::ValidationLevel;
use crate::upstream_errors::ErrorPolicy;

/// Many subschemas as one schema: validates, plans (once per document, cached), sends the
/// prepared documents to the subschemas' executors and shapes the merged result.
///
/// It is an [`Executor`], so it can be served, wrapped, or be a subschema of another stitched
/// schema.
#[derive(Clone)]
pub struct StitchedSchema {
    gateway: Arc<SchemaState>,
}

/// The shared state of a stitched schema.
pub(crate) struct SchemaState {
    /// Everything the subschemas define: what plans and results are made from.
    pub full: Arc<Valid<Schema>>,
    /// What clients see (validation, variables, introspection, SDL): `full` without the
    /// `@inaccessible` elements.
    pub public: Valid<Schema>,
    /// The implementers of `public`'s abstract types, for introspection.
    pub implementers: HashMap<Name, Implementers>,
    /// What execution needs of the subschemas: names, executors, metrics, error policy.
    pub upstreams: Arc<Upstreams>,
    pub index: StitchIndex,
    pub entities: EntityIndex,
    pub extensions: ExtensionIndex,
    /// The key chains planning has searched (see [`crate::plan::ReachCache`]).
    pub reaches: crate::plan::ReachCache,
    pub subschemas: Vec<Arc<Valid<Schema>>>,
    /// Which subschemas answer `@defer` themselves.
    pub incremental: Vec<bool>,
    pub cache: PlanCache,
    pub limits: StitchLimits,
    pub subscriptions: Arc<Hub>,
    /// Whether a client may ask for its operation's plan ([`Stitcher::expose_query_plan`]).
    pub expose_query_plan: bool,
    pub warnings: Vec<crate::BuildWarning>,
}

impl Stitcher {
    /// Merges the subschemas into one schema and builds the gateway over them.
    pub fn build(self) -> Result<StitchedSchema, StitchError> {
        StitchedSchema::build(self)
    }
}

impl StitchedSchema {
    /// A builder; see [`Stitcher`].
    pub fn builder() -> Stitcher {
        Stitcher::new()
    }

    pub(crate) fn build(stitcher: Stitcher) -> Result<Self, StitchError> {
        if stitcher.subschemas.is_empty() {
            return Err(StitchError::NoSubschemas);
        }
        let mut names: Vec<String> = Vec::new();
        for sub in &stitcher.subschemas {
            if names.contains(&sub.name) {
                return Err(StitchError::DuplicateName {
                    name: sub.name.clone(),
                });
            }
            names.push(sub.name.clone());
        }
        let mut subschemas = stitcher.subschemas;
        for sub in &mut subschemas {
            for mark in canonical_marks(&sub.schema) {
                if !sub.canonical.contains(&mark) {
                    sub.canonical.push(mark);
                }
            }
        }
        let merged = compose(
            &subschemas,
            &stitcher.type_defs,
            stitcher.on_type_conflict.as_ref(),
            &crate::compose::Options {
                type_merging: &stitcher.type_merging,
                merge_types: &stitcher.merge_types,
                merge_directives: !stitcher.skip_directives,
            },
        )?;
        let mut warnings = merged.warnings;
        let entities = EntityIndex::build(&subschemas, &merged.schema)?;
        let extensions = ExtensionIndex::build(&stitcher.resolvers, &subschemas, &merged.schema)?;
        let index = StitchIndex::build(&merged.schema, &subschemas, merged.root_owners);
        let schemas: Vec<_> = subschemas.iter().map(|s| s.schema.clone()).collect();
        if stitcher.key_validation != ValidationLevel::Off
            && let Err(error) =
                crate::plan::check_keys(&merged.schema, &schemas, &names, &index, &entities)
        {
            if stitcher.key_validation == ValidationLevel::Error {
                return Err(error);
            }
            tracing::warn!(%error, "stitched schema built with an unreachable merged field");
            if let StitchError::UnobtainableKey {
                type_name, field, ..
            } = &error
            {
                warnings.push(crate::BuildWarning {
                    coordinate: format!("{type_name}.{field}"),
                    message: error.to_string(),
                });
            }
        }
        Ok(Self {
            gateway: Arc::new(SchemaState {
                implementers: merged.public.implementers_map(),
                full: Arc::new(merged.schema),
                public: merged.public,
                upstreams: Arc::new(Upstreams {
                    metrics: names
                        .iter()
                        .map(|name| crate::metrics::Upstream::new(name))
                        .collect(),
                    names,
                    executors: subschemas.iter().map(|s| s.executor.clone()).collect(),
                    errors: ErrorPolicy {
                        expose_upstream_details: stitcher.expose_upstream_details,
                        subschemas: subschemas.iter().map(|s| s.errors.clone()).collect(),
                    },
                }),
                subschemas: schemas,
                incremental: subschemas.iter().map(|s| s.incremental_delivery).collect(),
                entities,
                extensions,
                index,
                reaches: Default::default(),
                cache: PlanCache::new(
                    stitcher.limits.plan_cache_capacity,
                    stitcher.limits.plan_cache_bytes,
                ),
                limits: stitcher.limits,
                subscriptions: Hub::new(stitcher.subscriptions),
                expose_query_plan: stitcher.expose_query_plan,
                warnings,
            }),
        })
    }

    /// The stitched schema, as clients see it (without `@inaccessible` elements).
    pub fn schema(&self) -> &Valid<Schema> {
        &self.gateway.public
    }

    /// What building found and let through: merged definitions that differ
    /// ([`TypeMergingOptions`](crate::TypeMergingOptions) at [`ValidationLevel::Warn`], the
    /// default) and unreachable merged fields ([`Stitcher::key_validation`] at `Warn`). Each is
    /// also logged as a warning.
    pub fn build_warnings(&self) -> &[crate::BuildWarning] {
        &self.gateway.warnings
    }

    /// The stitched schema as SDL: one flat definition per type (without `@inaccessible`
    /// elements).
    pub fn sdl(&self) -> String {
        self.gateway.public.to_string()
    }

    /// The plan of an operation, readable: one line per fetch, level by level, each entity
    /// step with its subschema, entry point, path, representation and selection. The
    /// operation is validated and planned as a request would be (and the plan cached).
    ///
    /// ```
    /// # async fn demo(gateway: quilt_stitch::StitchedSchema) {
    /// match gateway.explain("{ me { name } }", None) {
    ///     Ok(plan) => println!("{plan}"),
    ///     Err(errors) => eprintln!("{errors:?}"),
    /// }
    /// # }
    /// ```
    pub fn explain(
        &self,
        query: &str,
        operation_name: Option<&str>,
    ) -> Result<String, Vec<GraphQLError>> {
        let mut request = Request::new(query).map_err(|e| {
            vec![GraphQLError::new(e.to_string()).with_code("GRAPHQL_PARSE_FAILED")]
        })?;
        request.operation_name = operation_name.map(str::to_owned);
        let prepared = prepare(&self.gateway.preparer(), &request)?;
        Ok(crate::plan::Explain {
            plan: &prepared.plan,
            names: &self.gateway.upstreams.names,
        }
        .to_string())
    }

    /// The plan cache's counters: hits, misses, validations and plans done.
    pub fn plan_cache_stats(&self) -> PlanCacheStats {
        self.gateway.cache.stats()
    }

    /// The subscriptions' counters: open clients, upstream subscriptions, events dropped for
    /// slow clients, re-subscriptions, refusals.
    pub fn subscription_stats(&self) -> SubscriptionStats {
        self.gateway.subscriptions.stats()
    }

    /// Ends every active subscription of this schema: each client gets `reason`'s error as its
    /// last event, every upstream subscription is dropped, and later subscriptions to this
    /// schema are refused with the same error. A gateway that swaps in a new schema calls it on
    /// the old one with [`CloseReason::SchemaReload`].
    pub fn close_subscriptions(&self, reason: CloseReason) {
        self.gateway.subscriptions.close(reason);
    }
}

impl std::fmt::Debug for StitchedSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StitchedSchema")
            .field("subschemas", &self.gateway.upstreams.names)
            .finish_non_exhaustive()
    }
}

impl Executor for StitchedSchema {
    /// Asked for [`DataForm::Json`](quilt_executor::DataForm::Json), the response's data is
    /// written as JSON while it is completed and handed over as bytes
    /// ([`ResultData::Json`](quilt_executor::ResultData::Json)): no result tree is built for a
    /// caller that only serializes it.
    fn execute(&self, request: Request) -> ExecuteFuture {
        let gateway = self.gateway.clone();
        let serialized = request.data_form == quilt_executor::DataForm::Json;
        Box::pin(async move { Ok(gateway.run(request, serialized).await) })
    }
}

/// The request header with which a client asks for its operation's plan (when the schema
/// allows it: [`Stitcher::expose_query_plan`]), as Apollo Router names it.
pub const EXPOSE_QUERY_PLAN_HEADER: &str = "apollo-expose-query-plan";

/// Whether the request says `Apollo-Expose-Query-Plan: true`.
fn asks_for_plan(context: &quilt_executor::Context) -> bool {
    context
        .headers()
        .get(EXPOSE_QUERY_PLAN_HEADER)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
}

fn request_error(errors: Vec<GraphQLError>) -> Response {
    Response::Single(ExecutionResult {
        errors,
        ..ExecutionResult::default()
    })
}

impl SchemaState {
    /// What preparing a request reads.
    fn preparer(&self) -> Preparer<'_> {
        Preparer {
            cache: &self.cache,
            public: &self.public,
            limits: &self.limits,
            full: &self.full,
            subschemas: &self.subschemas,
            incremental: &self.incremental,
            names: &self.upstreams.names,
            index: &self.index,
            entities: &self.entities,
            extensions: &self.extensions,
            reaches: &self.reaches,
        }
    }

    /// Runs a request; with `serialized` a single result carries its data as JSON bytes.
    async fn run(self: Arc<Self>, mut request: Request, serialized: bool) -> Response {
        // Variables given as JSON text are coerced like the others.
        if let Err(error) = request.materialize_raw_variables() {
            return request_error(vec![GraphQLError::new(format!(
                "a variable given as JSON text could not be read: {error}"
            ))]);
        }
        let prepared = match prepare(&self.preparer(), &request) {
            Ok(prepared) => prepared,
            Err(errors) => return request_error(errors),
        };
        // With files, also keeps them in the context for the root steps that send them.
        let (variables, coerced) =
            match crate::uploads::coerce(&self.public, &prepared, &mut request) {
                Ok(v) => v,
                Err(errors) => return request_error(errors),
            };
        let Ok(operation) = prepared
            .document
            .operations
            .get(prepared.operation_name.as_deref())
        else {
            return request_error(vec![GraphQLError::new("the prepared operation is missing")]);
        };
        let incremental = prepared.plan.delivers_incrementally(&variables);
        if operation.operation_type == OperationType::Subscription {
            if incremental {
                return request_error(vec![
                    GraphQLError::new(
                        "`@defer` and `@stream` are not supported on subscriptions; turn them \
                         off with `if: false`",
                    )
                    .with_code("GRAPHQL_VALIDATION_FAILED"),
                ]);
            }
            return self.subscribe(prepared, variables, request).await;
        }
        let mut fetched = Fetched::default();
        if prepared.plan.introspection {
            match introspect(
                &self.public,
                &self.implementers,
                &prepared.document,
                operation,
                &coerced,
            ) {
                Ok((data, errors)) => {
                    fetched
                        .data
                        .extend(quilt_executor::data::Object::from(data));
                    fetched.errors.extend(errors);
                }
                Err(errors) => return request_error(errors),
            }
        }
        // The request's trace context, once for all its upstream calls when it is the same
        // for each (propagation without recorded spans).
        let context = quilt_executor::trace::for_request(request.context.clone());
        if incremental
            && request
                .context
                .get::<quilt_executor::SingleResponse>()
                .is_none()
        {
            return Response::Stream(self.deliver(prepared, variables, context, fetched));
        }
        let execution = Execution {
            upstreams: &self.upstreams,
            schema: &self.full,
            prepared: &prepared,
            variables: &variables,
            context: &context,
        };
        let mut result = execution.run(fetched, serialized).await;
        if self.expose_query_plan && asks_for_plan(&request.context) {
            let text = crate::plan::Explain {
                plan: &prepared.plan,
                names: &self.upstreams.names,
            }
            .to_string();
            let plan = quilt_executor::JsonMap::from_iter([(
                "text".to_owned(),
                serde_json::Value::String(text),
            )]);
            result
                .extensions
                .get_or_insert_with(quilt_executor::JsonMap::new)
                .insert(
                    "apolloQueryPlan".to_owned(),
                    serde_json::Value::Object(plan),
                );
        }
        Response::Single(result)
    }

    /// An operation delivered incrementally (`@defer`, `@stream`): its payloads as a stream,
    /// computed as the stream is polled (dropping it cancels the fetches).
    fn deliver(
        self: Arc<Self>,
        prepared: Arc<Prepared>,
        variables: quilt_executor::JsonMap,
        context: quilt_executor::Context,
        fetched: Fetched,
    ) -> quilt_executor::ResultStream {
        use futures::StreamExt;
        let (payloads, received) = futures::channel::mpsc::channel(4);
        let driver = async move {
            let execution = Execution {
                upstreams: &self.upstreams,
                schema: &self.full,
                prepared: &prepared,
                variables: &variables,
                context: &context,
            };
            execution.deliver(fetched, payloads).await;
        };
        let driver = futures::stream::once(driver).filter_map(|()| async { None });
        futures::stream::select(received.map(Ok), driver).boxed()
    }

    /// A subscription: joins (or starts) the upstream subscription shared by identical ones;
    /// see [`crate::subscription`].
    async fn subscribe(
        self: Arc<Self>,
        prepared: Arc<Prepared>,
        variables: quilt_executor::JsonMap,
        request: Request,
    ) -> Response {
        let upstreams = self.upstreams.clone();
        let schema = self.full.clone();
        let hub = self.subscriptions.clone();
        subscription::subscribe(hub, upstreams, schema, prepared, variables, request).await
    }
}
