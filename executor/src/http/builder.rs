//! The builder of [`HttpExecutor`]: every option with its default.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use super::coalesce::Coalescer;
use super::{HttpExecutor, Options, Shared};
use crate::error::ExecutorError;
use crate::request::Request;
use crate::retry::RetryPolicy;

/// The default time allowed for one attempt: sending the request and reading a whole response
/// (for streams: until the response headers arrive).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The default response size limit: 64 MiB for a whole response, and for each SSE event or
/// multipart part of a stream.
pub const DEFAULT_MAX_RESPONSE_SIZE: usize = 64 * 1024 * 1024;

/// A function computing extra headers for each request (from its context, say).
pub type HeaderFn = Arc<dyn Fn(&Request) -> HeaderMap + Send + Sync>;

/// The HTTP method used for queries (and subscriptions); mutations always go over POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpMethod {
    /// A JSON body (the default).
    #[default]
    Post,
    /// The operation in the URL's query string (cacheable by HTTP caches). Mutations and
    /// uploads still go over POST, since GraphQL over HTTP forbids mutations over GET.
    Get,
}

/// How subscriptions travel over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubscriptionProtocol {
    /// GraphQL over SSE, distinct connections mode (`Accept: text/event-stream`;
    /// `event: next` / `event: complete`). The default, as in graphql-tools.
    #[default]
    Sse,
    /// Apollo's multipart HTTP subscriptions (`Accept: multipart/mixed;subscriptionSpec=1.0`;
    /// each event a `{"payload": ...}` part, `{}` heartbeats).
    ApolloMultipart,
}

/// A per-request timeout: put it in the request's [`Context`](crate::Context) to override the
/// executor's timeout for that request.
///
/// ```
/// use std::time::Duration;
/// use quilt_executor::{Context, Request};
/// use quilt_executor::http::RequestTimeout;
/// let request = Request::new("{ slow(ms: 10) }")?
///     .context(Context::default().insert(RequestTimeout(Duration::from_secs(2))));
/// # Ok::<(), quilt_executor::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTimeout(pub Duration);

/// Configures an [`HttpExecutor`]; see [`HttpExecutor::builder`].
///
/// ```
/// use std::time::Duration;
/// use quilt_executor::http::{HttpExecutor, HttpMethod};
/// use quilt_executor::RetryPolicy;
/// let executor = HttpExecutor::builder("http://127.0.0.1:4000/graphql")
///     .timeout(Duration::from_secs(5))
///     .use_get_for_queries(true)
///     .header("authorization", "Bearer token")
///     .retry(RetryPolicy::new(3))
///     .build()?;
/// # Ok::<(), quilt_executor::ExecutorError>(())
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct HttpExecutorBuilder {
    endpoint: String,
    options: Options,
    client: Option<reqwest::Client>,
    error: Option<ExecutorError>,
    metrics_label: Option<Arc<str>>,
}

impl HttpExecutorBuilder {
    pub(super) fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            options: Options {
                method: HttpMethod::Post,
                use_get_for_queries: false,
                headers: HeaderMap::new(),
                header_fn: None,
                timeout: DEFAULT_TIMEOUT,
                retry: RetryPolicy::never(),
                subscription_protocol: SubscriptionProtocol::Sse,
                apq: false,
                deduplicate: true,
                max_response_size: DEFAULT_MAX_RESPONSE_SIZE,
            },
            client: None,
            error: None,
            metrics_label: None,
        }
    }

    /// The HTTP method for queries and subscriptions (default POST). Mutations and uploads
    /// always go over POST, whatever this says.
    pub fn method(mut self, method: HttpMethod) -> Self {
        self.options.method = method;
        self
    }

    /// Sends queries (not mutations) over GET, keeping POST as the method otherwise.
    pub fn use_get_for_queries(mut self, yes: bool) -> Self {
        self.options.use_get_for_queries = yes;
        self
    }

    /// Adds a static header sent with every request. An invalid name or value makes
    /// [`build`](Self::build) fail with [`ExecutorError::InvalidRequest`].
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => {
                self.options.headers.append(name, value);
            }
            _ => {
                self.error.get_or_insert(ExecutorError::InvalidRequest {
                    endpoint: self.endpoint.clone(),
                    message: format!("invalid static header `{name}`"),
                });
            }
        }
        self
    }

    /// Adds static headers sent with every request.
    pub fn headers(mut self, headers: HeaderMap) -> Self {
        self.options.headers.extend(headers);
        self
    }

    /// Computes extra headers for each request (after the static ones, before the request's
    /// `extensions.headers`, each replacing earlier values of the same name).
    pub fn header_fn(mut self, f: impl Fn(&Request) -> HeaderMap + Send + Sync + 'static) -> Self {
        self.options.header_fn = Some(Arc::new(f));
        self
    }

    /// Computes each request's extra headers from the client's headers (the request's
    /// [`Context`](crate::Context)) by `rules`: the header function (replacing one set
    /// before). Requests whose rules give different headers are never deduplicated together.
    pub fn header_rules(self, rules: crate::HeaderRules) -> Self {
        self.header_fn(move |request| rules.apply(request.context.headers()))
    }

    /// The time allowed for one attempt (default 30 s): sending and reading a whole response;
    /// for subscriptions and incremental delivery, until the response headers arrive. A
    /// [`RequestTimeout`] in the request's context overrides it.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = timeout;
        self
    }

    /// Retries failed queries by `policy` (default: no retry). Only queries are retried
    /// (unless the policy allows mutations), only on transient failures (connect errors,
    /// timeouts, 5xx and 429), and only until a response starts: a stream is never restarted.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.options.retry = policy;
        self
    }

    /// How subscriptions travel (default SSE).
    pub fn subscription_protocol(mut self, protocol: SubscriptionProtocol) -> Self {
        self.options.subscription_protocol = protocol;
        self
    }

    /// Automatic persisted queries (default off): the query's SHA-256 hash is sent first, and
    /// the full query only when the service answers `PERSISTED_QUERY_NOT_FOUND`.
    pub fn apq(mut self, enabled: bool) -> Self {
        self.options.apq = enabled;
        self
    }

    /// The `subschema` label of this executor's metrics (`quilt_upstream_dedup_shared_total`,
    /// recorded through the [`metrics`] facade; registered when the executor is built).
    pub fn metrics_label(mut self, label: impl Into<Arc<str>>) -> Self {
        self.metrics_label = Some(label.into());
        self
    }

    /// In-flight deduplication of identical queries (default on): while a query is on the
    /// wire, an identical one (same URL, method, body and headers) waits for its result
    /// instead of sending again; every waiter gets its own copy. Mutations, subscriptions,
    /// uploads and @defer/@stream queries are never deduplicated. A waiter shares the first
    /// request's fate: its timeout, its retries, its error.
    pub fn deduplicate_inflight(mut self, enabled: bool) -> Self {
        self.options.deduplicate = enabled;
        self
    }

    /// The largest response accepted, in bytes (default 64 MiB); for streams, the largest
    /// SSE event or multipart part. Larger responses fail with
    /// [`ExecutorError::ResponseTooLarge`] as soon as the limit is crossed, without buffering
    /// the rest.
    pub fn max_response_size(mut self, bytes: usize) -> Self {
        self.options.max_response_size = bytes;
        self
    }

    /// Uses this reqwest client (to share a connection pool, or for custom TLS or proxies)
    /// instead of the executor's own.
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Builds the executor; fails on an invalid URL or header, or when the HTTP client cannot
    /// be built.
    pub fn build(self) -> Result<HttpExecutor, ExecutorError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let invalid = |message: String| ExecutorError::InvalidRequest {
            endpoint: self.endpoint.clone(),
            message,
        };
        let url = Url::parse(&self.endpoint)
            .map_err(|e| invalid(format!("invalid endpoint URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "the endpoint must be an http or https URL, not `{}`",
                url.scheme()
            )));
        }
        let (client, direct) = match self.client {
            Some(client) => (client, None),
            None => (
                reqwest::Client::builder()
                    .tcp_nodelay(true)
                    .connect_timeout(self.options.timeout)
                    .build()
                    .map_err(|e| invalid(format!("could not build the HTTP client: {e}")))?,
                super::direct::client(self.options.timeout),
            ),
        };
        let endpoint_uri = super::direct::uri(&url);
        Ok(HttpExecutor {
            shared: Arc::new(Shared {
                endpoint_str: Arc::from(self.endpoint.as_str()),
                endpoint_url: Arc::from(url.as_str()),
                endpoint: url,
                options: self.options,
                client,
                direct,
                endpoint_uri,
                coalescer: Coalescer::new(self.metrics_label.as_ref()),
            }),
        })
    }
}

impl std::fmt::Debug for HttpExecutorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpExecutorBuilder")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}
