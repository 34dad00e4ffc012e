//! One remote subschema: the executor that reaches it (HTTP for queries and mutations, batched;
//! WebSocket or HTTP callbacks for subscriptions) and how its schema is loaded and reshaped.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use apollo_compiler::Schema;
use apollo_compiler::validation::Valid;
use http::{HeaderMap, HeaderName, HeaderValue, header::AUTHORIZATION};
use quilt_batch::{BatchExt, BatchOptions, scope_key_of_headers};
use quilt_executor::{
    CallbackExecutor, CallbackRegistry, ExecutorExt, HeaderRules, HttpExecutor, SharedExecutor,
    WsExecutor,
};
use quilt_wrap::transforms::{FilterRootFields, RenameRootFields, RenameTypes};
use quilt_wrap::{SchemaSource, WrapError, load_schema, wrap_schema};

use crate::spec::{
    ForwardedHeaders, HeadersSpec, SubschemaSpec, SubscriptionTransport, TransformSpec,
};

/// The default time a request to a subschema may take.
/// Below the server's request timeout (30 s), so a slow service ends in a timeout error at its
/// fields while the others' data is still answered.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A subschema's executors, built once and kept across schema reloads (so connections and
/// sockets are reused).
#[derive(Clone)]
pub struct Remote {
    spec: Arc<SubschemaSpec>,
    /// Plain HTTP, for loading the schema.
    http: HttpExecutor,
    /// HTTP (batched) for queries and mutations, WebSocket or HTTP callbacks for
    /// subscriptions.
    hybrid: SharedExecutor,
    /// The same without batching, for wrapped subschemas (which batch inside the wrap).
    hybrid_batched_inside: SharedExecutor,
}

impl Remote {
    /// Builds the executors of `spec`; `callback` is the gateway's callback registry, needed
    /// when the subschema's subscriptions use the HTTP callback protocol.
    pub fn new(spec: SubschemaSpec, callback: Option<&CallbackRegistry>) -> anyhow::Result<Self> {
        let headers = static_headers(&spec)?;
        let rules = header_rules(&spec);
        let timeout = match spec.timeout {
            Some(secs) if secs.is_finite() && secs > 0.0 => Duration::from_secs_f64(secs),
            Some(secs) => {
                anyhow::bail!("subschema `{}`: timeout {secs} is not positive", spec.name)
            }
            None => DEFAULT_TIMEOUT,
        };
        let mut http = HttpExecutor::builder(spec.url.as_str())
            .timeout(timeout)
            .headers(headers.clone())
            .deduplicate_inflight(spec.dedup)
            .metrics_label(spec.name.as_str());
        if !rules.is_empty() {
            http = http.header_rules(rules.clone());
        }
        let http = http
            .build()
            .with_context(|| format!("subschema `{}`: {}", spec.name, spec.url))?;
        let subscriptions: SharedExecutor = match spec.subscriptions {
            SubscriptionTransport::Ws => Arc::new(
                WsExecutor::builder(spec.ws_url())
                    .subprotocol(spec.ws_protocol.into())
                    .headers(headers)
                    .request_timeout(timeout)
                    .forward_authorization(forwards_authorization(&rules))
                    .build(),
            ),
            SubscriptionTransport::Callback => {
                let registry = callback.with_context(|| {
                    format!(
                        "subschema `{}`: callback subscriptions need the gateway's callback URL",
                        spec.name
                    )
                })?;
                // The same HTTP executor: its headers (and the client's `Authorization`),
                // timeout and connection pool.
                Arc::new(CallbackExecutor::new(http.clone(), registry.clone()))
            }
        };
        let hybrid = http
            .clone()
            .route_subscriptions(subscriptions.clone())
            .boxed();
        let hybrid_batched_inside = http
            .clone()
            .batched(batch_options(&spec))
            .route_subscriptions(subscriptions)
            .boxed();
        Ok(Self {
            spec: Arc::new(spec),
            http,
            hybrid,
            hybrid_batched_inside,
        })
    }

    /// Batching as configured: identical queries in one batch share a field unless upstream
    /// deduplication is off for this subschema.
    fn batch_options(&self) -> BatchOptions {
        batch_options(&self.spec)
    }

    /// The upstream deduplication counters of this subschema's HTTP executor.
    pub fn dedup_stats(&self) -> quilt_executor::DedupStats {
        self.http.dedup_stats()
    }

    /// The spec.
    pub fn spec(&self) -> &SubschemaSpec {
        &self.spec
    }

    /// Loads the schema: `{ _sdl }` (stitching directives) if the service has it, else
    /// `{ _service { sdl } }` (Apollo Federation), else introspection. A transport or
    /// authorization failure stops at once; "no such field" moves on to the next source.
    pub async fn load(&self) -> anyhow::Result<Valid<Schema>> {
        let name = &self.spec.name;
        let sources = [
            SchemaSource::sdl(),
            SchemaSource::federation(),
            SchemaSource::introspection(),
        ];
        let mut failures = Vec::new();
        for source in sources {
            let source = source.endpoint(self.spec.url.clone());
            match load_schema(&self.http, source).await {
                Ok(schema) => return Ok(schema),
                Err(error @ (WrapError::ServiceErrors { .. } | WrapError::InvalidSdl { .. })) => {
                    failures.push(error.to_string());
                }
                Err(error) => {
                    return Err(error).with_context(|| format!("subschema `{name}`"));
                }
            }
        }
        anyhow::bail!(
            "subschema `{name}`: no schema from _sdl, _service or introspection: {}",
            failures.join("; ")
        )
    }

    /// The subschema to stitch from a loaded schema: batched, and wrapped when transforms are
    /// configured.
    pub fn subschema(
        &self,
        schema: Valid<Schema>,
    ) -> anyhow::Result<quilt_stitch::SubschemaConfig> {
        let name = self.spec.name.clone();
        let transforms = &self.spec.transforms;
        let errors = self.spec.errors.to_stitch();
        if transforms.is_empty() {
            return Ok(
                quilt_stitch::SubschemaConfig::new(name, schema, self.hybrid.clone())
                    .batch(self.batch_options())
                    .errors(errors)
                    .incremental_delivery(self.spec.incremental_delivery),
            );
        }
        let roots: Vec<String> = schema
            .schema_definition
            .iter_root_operations()
            .map(|(_, name)| name.name.to_string())
            .collect();
        let config = quilt_wrap::WrapSchemaConfig::new(
            schema.into_inner(),
            self.hybrid_batched_inside.clone(),
        )
        .name(name.clone());
        let wrapped = wrap_schema(with_transforms(config, transforms, roots))
            .with_context(|| format!("subschema `{name}`: transforms"))?;
        Ok(quilt_stitch::SubschemaConfig::wrapped(name, wrapped)
            .errors(errors)
            .incremental_delivery(self.spec.incremental_delivery))
    }
}

/// Adds the configured transforms in their order: filter (by the service's names), then
/// rename.
fn with_transforms(
    mut config: quilt_wrap::WrapSchemaConfig,
    spec: &TransformSpec,
    roots: Vec<String>,
) -> quilt_wrap::WrapSchemaConfig {
    if let Some(keep) = spec.keep_root_fields.clone() {
        config = config.transform(FilterRootFields::new(move |_, field, _| {
            keep.iter().any(|kept| kept == field)
        }));
    }
    if !spec.remove_root_fields.is_empty() {
        let remove = spec.remove_root_fields.clone();
        config = config.transform(FilterRootFields::new(move |_, field, _| {
            !remove.iter().any(|removed| removed == field)
        }));
    }
    if let Some(prefix) = spec.type_prefix.clone() {
        // Root types keep their names: they are merged with the other subschemas' roots.
        config = config.transform(RenameTypes::new(move |name| {
            (!roots.iter().any(|root| root == name)).then(|| format!("{prefix}{name}"))
        }));
    }
    if let Some(prefix) = spec.root_field_prefix.clone() {
        config = config.transform(RenameRootFields::new(move |_, field, _| {
            Some(format!("{prefix}{field}"))
        }));
    }
    config
}

/// The fixed headers: the table form of `headers` (checked once), or what the rules send
/// whatever the client sent (inserted values and defaults), for the WebSocket upgrade.
fn static_headers(spec: &SubschemaSpec) -> anyhow::Result<HeaderMap> {
    let table = match &spec.headers {
        HeadersSpec::Static(table) => table,
        HeadersSpec::Rules(rules) => return Ok(rules.apply(&HeaderMap::new())),
    };
    let mut headers = HeaderMap::new();
    for (name, value) in table {
        let header = HeaderName::try_from(name.as_str())
            .with_context(|| format!("subschema `{}`: invalid header name `{name}`", spec.name))?;
        let value = HeaderValue::try_from(value.as_str()).with_context(|| {
            format!(
                "subschema `{}`: invalid value of header `{name}`",
                spec.name
            )
        })?;
        headers.insert(header, value);
    }
    Ok(headers)
}

/// The rules computing each request's headers from the client's: the client's
/// `Authorization` while `forward_authorization` is on, then the configured rules (the table
/// form's fixed headers are the executor's own, not rules).
fn header_rules(spec: &SubschemaSpec) -> HeaderRules {
    let rules = if spec.forward_authorization {
        HeaderRules::forward_authorization()
    } else {
        HeaderRules::new()
    };
    match &spec.headers {
        HeadersSpec::Static(_) => rules,
        HeadersSpec::Rules(configured) => rules.extend(configured.rules().iter().cloned()),
    }
}

/// Whether the rules send the client's `Authorization` on (then the WebSocket executor, whose
/// upgrade carries no per-client headers, sends it as `connectionParams.token`).
fn forwards_authorization(rules: &HeaderRules) -> bool {
    let mut client = HeaderMap::new();
    client.insert(AUTHORIZATION, HeaderValue::from_static("probe"));
    rules.apply(&client).get(AUTHORIZATION) == client.get(AUTHORIZATION)
}

/// Batching for `spec`: identical queries in one batch share a field unless upstream
/// deduplication is off, and requests are merged when everything this subschema sends besides
/// the document is equal — the client headers its rules forward by name (`Authorization`
/// unless turned off), not every header of the client's request (a request id, a trace
/// context or a user agent differs on every request and would keep any two apart). A rule that
/// forwards headers by pattern keeps the default scope (every client header).
fn batch_options(spec: &SubschemaSpec) -> BatchOptions {
    let options = BatchOptions::default().dedup(spec.dedup);
    let forwarded = ForwardedHeaders::of([spec]);
    if forwarded.by_pattern {
        return options;
    }
    let names = forwarded.names;
    options.scope(move |request| scope_key_of_headers(request, &names))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> quilt_executor::Request {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let mut request = quilt_executor::Request::new("{ a }").unwrap();
        request.context = quilt_executor::Context::from_headers(map);
        request
    }

    #[test]
    fn requests_differing_only_in_headers_not_forwarded_share_a_batch() {
        let names = [AUTHORIZATION];
        let a = request(&[
            ("authorization", "Bearer 1"),
            ("x-request-id", "a"),
            ("user-agent", "curl"),
            ("content-length", "10"),
        ]);
        let b = request(&[
            ("user-agent", "firefox"),
            ("authorization", "Bearer 1"),
            ("x-request-id", "b"),
            (
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        ]);
        let other = request(&[("authorization", "Bearer 2")]);
        let none = request(&[]);
        let key = |r: &quilt_executor::Request| scope_key_of_headers(r, &names).unwrap();
        assert_eq!(key(&a), key(&b));
        assert_ne!(key(&a), key(&other), "another credential, another batch");
        assert_ne!(key(&other), key(&none));
        let upload = request(&[]).upload("file", quilt_executor::Upload::new("a.txt", "A"));
        assert!(
            scope_key_of_headers(&upload, &names).is_none(),
            "uploads go alone"
        );
    }
}
