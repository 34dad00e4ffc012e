//! The HTTP executor: GraphQL over HTTP (POST or GET), file uploads, automatic persisted
//! queries, in-flight deduplication, retries, and streamed results (subscriptions over SSE or
//! Apollo multipart, @defer/@stream over `multipart/mixed`). The counterpart of graphql-tools'
//! `buildHTTPExecutor`.
//!
//! ```no_run
//! use quilt_executor::{Executor, Request};
//! use quilt_executor::http::HttpExecutor;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let executor = HttpExecutor::new("http://127.0.0.1:4000/graphql")?;
//! let response = executor.execute(Request::new("{ hello }")?).await?;
//! let result = response.into_single().await?;
//! println!("{:?}", result.data);
//! # Ok(())
//! # }
//! ```
//!
//! How a request is sent:
//! - Queries and subscriptions go by the configured [`HttpMethod`] (POST by default, or GET
//!   with [`HttpExecutorBuilder::use_get_for_queries`] for queries only); **mutations and
//!   uploads always go over POST**, even when GET is configured, since GraphQL over HTTP
//!   forbids mutations over GET.
//! - Headers, later ones replacing earlier ones of the same name: `accept` and `content-type`,
//!   the static headers, the [`header_fn`](HttpExecutorBuilder::header_fn) headers, then the
//!   request's `extensions.headers` (an object of strings). `extensions.endpoint` (a URL)
//!   replaces the endpoint for that request. Both keys are removed from the forwarded
//!   extensions.
//! - The timeout of one attempt is the executor's, or a [`RequestTimeout`] found in the
//!   request's [`Context`](crate::Context).
//! - JSON requests and GETs to an `http://` endpoint go on hyper's pooled HTTP/1.1 client
//!   directly; everything else (TLS, uploads, credentials in the URL, a proxy named by the
//!   environment, an executor given its own [`reqwest::Client`]) goes through reqwest, which
//!   also follows redirects for both. The bytes on the wire and the errors are the same.

mod builder;
mod coalesce;
mod deadline;
mod decode;
mod direct;
mod encode;
pub(crate) use encode::request_json;
mod multipart;
mod send;
mod sse;

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use url::Url;

pub use builder::{
    DEFAULT_MAX_RESPONSE_SIZE, DEFAULT_TIMEOUT, HeaderFn, HttpExecutorBuilder, HttpMethod,
    RequestTimeout, SubscriptionProtocol,
};

use crate::executor::{ExecuteFuture, Executor};
use crate::request::Request;
use crate::retry::RetryPolicy;
use coalesce::Coalescer;

/// An executor that sends GraphQL requests to a service over HTTP; see the
/// [module documentation](self) for the wire behaviour.
///
/// Cloning is cheap (an [`Arc`]); clones share the connection pool and the in-flight
/// deduplication.
///
/// Dropping the future of [`execute`](Executor::execute), or the stream of a streamed response,
/// aborts the HTTP request.
#[derive(Clone)]
pub struct HttpExecutor {
    shared: Arc<Shared>,
}

/// The options the builder collects.
pub(crate) struct Options {
    pub(crate) method: HttpMethod,
    pub(crate) use_get_for_queries: bool,
    pub(crate) headers: HeaderMap,
    pub(crate) header_fn: Option<HeaderFn>,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) subscription_protocol: SubscriptionProtocol,
    pub(crate) apq: bool,
    pub(crate) deduplicate: bool,
    pub(crate) max_response_size: usize,
}

/// What every clone of an executor shares.
struct Shared {
    endpoint: Url,
    /// The endpoint as given.
    endpoint_str: Arc<str>,
    /// The endpoint as parsed (normalized) and sent.
    endpoint_url: Arc<str>,
    options: Options,
    client: reqwest::Client,
    /// The client for plain `http://` JSON requests, where it sends what `client` would
    /// ([`direct`]); `None` for a given reqwest client or where a proxy is configured.
    direct: Option<direct::DirectClient>,
    /// `endpoint` as an [`http::Uri`] for `direct`, when it is an `http://` URL without
    /// credentials.
    endpoint_uri: Option<http::Uri>,
    coalescer: Coalescer,
}

impl HttpExecutor {
    /// An executor for `endpoint` with the default options; fails on an invalid URL.
    pub fn new(endpoint: impl Into<String>) -> Result<Self, crate::ExecutorError> {
        Self::builder(endpoint).build()
    }

    /// A builder for an executor of `endpoint`.
    pub fn builder(endpoint: impl Into<String>) -> HttpExecutorBuilder {
        HttpExecutorBuilder::new(endpoint)
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> &str {
        &self.shared.endpoint_str
    }

    /// How many queries were answered (or are waiting to be answered) by an identical
    /// in-flight query's result instead of being sent (see [`HttpExecutorBuilder::deduplicate_inflight`]).
    pub fn deduplicated_requests(&self) -> u64 {
        self.shared.coalescer.deduplicated()
    }

    /// The in-flight deduplication counters: `executions` is how many deduplicable queries
    /// were sent, `shared` how many were answered by one of those instead of being sent.
    /// Clones of an executor share their counters.
    pub fn dedup_stats(&self) -> crate::DedupStats {
        crate::DedupStats {
            executions: self.shared.coalescer.sent(),
            shared: self.shared.coalescer.deduplicated(),
        }
    }
}

impl Executor for HttpExecutor {
    /// Asked for a [`DataForm::Tree`](crate::DataForm::Tree), a JSON answer's data is parsed
    /// straight into a [`Data`](crate::data::Data) tree; otherwise, and for streamed answers
    /// (SSE, multipart), the data is a value. Variables given as JSON text go out as they are
    /// (in the JSON body, the GET URL and the multipart `operations`).
    fn execute(&self, request: Request) -> ExecuteFuture {
        let shared = self.shared.clone();
        let tree = request.data_form == crate::DataForm::Tree;
        Box::pin(send::execute(shared, request, send::Mode::Configured, tree))
    }
}

impl HttpExecutor {
    /// Sends a subscription of the HTTP callback protocol (for
    /// [`CallbackExecutor`](crate::callback::CallbackExecutor)): over POST whatever the
    /// method option, with `Accept: application/json;callbackSpec=1.0`, and every other option
    /// (headers, timeout, size limit) as configured. The answer is one JSON result.
    pub(crate) fn execute_callback(&self, request: Request) -> ExecuteFuture {
        let shared = self.shared.clone();
        Box::pin(send::execute(shared, request, send::Mode::Callback, false))
    }
}

impl std::fmt::Debug for HttpExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let o = &self.shared.options;
        f.debug_struct("HttpExecutor")
            .field("endpoint", &self.shared.endpoint_str)
            .field("method", &o.method)
            .field("use_get_for_queries", &o.use_get_for_queries)
            .field("timeout", &o.timeout)
            .field("subscription_protocol", &o.subscription_protocol)
            .field("apq", &o.apq)
            .field("deduplicate", &o.deduplicate)
            .field("max_response_size", &o.max_response_size)
            .finish_non_exhaustive()
    }
}
