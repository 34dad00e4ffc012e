//! One request from start to finish: prepare what goes on the wire, deduplicate, send with a
//! deadline, retry, fall back from an APQ hash to the full query, decode.

use std::sync::Arc;
use std::time::Duration;

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::Value;
use url::Url;

use super::coalesce::WireKey;
use super::decode::{decode, error_chain};
use super::encode::{self, Payload, Target};
use super::{HttpMethod, RequestTimeout, Shared, SubscriptionProtocol};
use super::{deadline, direct};
use crate::document::OperationType;
use crate::error::ExecutorError;
use crate::executor::{Response, first_result};
use crate::request::Request;
use crate::result::ExecutionResult;
use crate::trace::TraceContext;

/// What GraphQL over HTTP clients accept for a query or mutation.
const ACCEPT_DEFAULT: &str =
    "application/graphql-response+json, application/json;q=0.9, multipart/mixed;q=0.5";
/// For operations using @defer or @stream: incremental delivery first.
const ACCEPT_INCREMENTAL: &str = "multipart/mixed;deferSpec=20220824, application/graphql-response+json;q=0.9, application/json;q=0.8";
/// For subscriptions over SSE.
const ACCEPT_SSE: &str = "text/event-stream";
/// For Apollo multipart subscriptions.
const ACCEPT_APOLLO: &str = "multipart/mixed;subscriptionSpec=1.0, application/json;q=0.9";
const JSON: &str = "application/json";

/// A request ready to send.
struct Outgoing {
    /// The endpoint, for errors.
    endpoint: Arc<str>,
    method: Method,
    headers: HeaderMap,
    /// The first way of sending (with APQ: the hash alone).
    first: Target,
    /// With APQ: the full query, sent when the service does not know the hash (boxed: rarely
    /// there, and the request's future holds an `Outgoing`).
    fallback: Option<Box<Target>>,
    timeout: Duration,
    /// Whether the retry policy applies to this operation.
    retry: bool,
    /// Whether identical in-flight requests may share this one's result.
    dedup: bool,
    /// The URL `first` and `fallback` are sent to, before any GET parameters.
    url: Arc<str>,
    /// Whether `headers` are the executor's own (neither a header function nor
    /// `extensions.headers` added any): then they follow from the method alone, and the
    /// deduplication key leaves them out. (A request whose added headers only repeat the
    /// executor's own is not shared with one that added none; requests whose headers differ
    /// are never shared.)
    own_headers: bool,
    /// Whether the caller takes the data as a [`Data`](crate::data::Data) tree
    /// ([`Executor::execute_tree`](crate::Executor::execute_tree)).
    tree: bool,
    /// The trace context to send (`traceparent`, `tracestate`), added at sending: it is not
    /// part of the deduplication key.
    trace: Option<TraceContext>,
}

/// How a request is sent, where the executor's options are overridden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// As the options say.
    Configured,
    /// A subscription of the HTTP callback protocol: always POST, answered with one JSON
    /// result (`Accept: application/json;callbackSpec=1.0`).
    Callback,
}

/// For subscriptions of the HTTP callback protocol.
const ACCEPT_CALLBACK: &str = "application/json;callbackSpec=1.0";

/// Executes one request.
pub(super) async fn execute(
    shared: Arc<Shared>,
    request: Request,
    mode: Mode,
    tree: bool,
) -> Result<Response, ExecutorError> {
    let outgoing = prepare(&shared, request, mode, tree)?;
    if !outgoing.dedup {
        return send_with_retry(&shared, &outgoing).await;
    }
    let body = match &outgoing.first.payload {
        Payload::Json(body) => body.clone(),
        _ => bytes::Bytes::new(),
    };
    let url = match outgoing.first.payload {
        // The GET parameters are in the URL.
        Payload::None => Arc::from(outgoing.first.url.as_str()),
        _ => outgoing.url.clone(),
    };
    let key = WireKey::new(
        outgoing.method.clone(),
        url,
        body,
        (!outgoing.own_headers).then_some(&outgoing.headers),
        outgoing.tree,
    );
    let result = shared
        .coalescer
        .run(key, || async {
            match send_with_retry(&shared, &outgoing).await? {
                Response::Single(result) => Ok(result),
                // Only the stream is kept while waiting for its first result.
                Response::Stream(stream) => first_result(stream).await,
            }
        })
        .await?;
    Ok(Response::Single(result))
}

/// Turns the request into what goes on the wire.
fn prepare(
    shared: &Shared,
    mut request: Request,
    mode: Mode,
    tree: bool,
) -> Result<Outgoing, ExecutorError> {
    let options = &shared.options;
    let operation = request.operation_type();

    let mut endpoint_url = None;
    let mut extension_headers = None;
    if !request.extensions.is_empty() {
        if let Some(endpoint) = request.extensions.shift_remove("endpoint") {
            endpoint_url = Some(endpoint_override(&shared.endpoint_str, endpoint)?);
        }
        extension_headers = request.extensions.shift_remove("headers");
    }
    let url = endpoint_url.as_ref().unwrap_or(&shared.endpoint);
    let (endpoint, url_text) = match &endpoint_url {
        Some(url) => {
            let text: Arc<str> = Arc::from(url.as_str());
            (text.clone(), text)
        }
        None => (shared.endpoint_str.clone(), shared.endpoint_url.clone()),
    };
    let invalid = |message: String| ExecutorError::InvalidRequest {
        endpoint: endpoint.to_string(),
        message,
    };

    let uploads = !request.uploads.is_empty();
    let incremental =
        operation != OperationType::Subscription && request.document.uses_incremental_delivery();
    let get = !uploads
        && mode == Mode::Configured
        && match operation {
            OperationType::Mutation => false,
            OperationType::Query => {
                options.method == HttpMethod::Get || options.use_get_for_queries
            }
            OperationType::Subscription => options.method == HttpMethod::Get,
        };
    let method = if get { Method::GET } else { Method::POST };

    let mut headers = HeaderMap::with_capacity(4 + options.headers.len());
    let accept = match operation {
        _ if mode == Mode::Callback => ACCEPT_CALLBACK,
        OperationType::Subscription => match options.subscription_protocol {
            SubscriptionProtocol::Sse => ACCEPT_SSE,
            SubscriptionProtocol::ApolloMultipart => ACCEPT_APOLLO,
        },
        _ if incremental => ACCEPT_INCREMENTAL,
        _ => ACCEPT_DEFAULT,
    };
    headers.insert(ACCEPT, HeaderValue::from_static(accept));
    if !get && !uploads {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    }
    replace_all(&mut headers, &options.headers);
    // Up to here the headers follow from the executor and `accept` and `content-type`, which
    // for a deduplicated query sent as configured follow from the method (see `WireKey`).
    let mut own_headers = mode == Mode::Configured;
    if let Some(header_fn) = &options.header_fn {
        let added = header_fn(&request);
        own_headers &= added.is_empty();
        replace_all(&mut headers, &added);
    }
    if let Some(value) = extension_headers {
        let added = headers_from_json(value).map_err(invalid)?;
        own_headers &= added.is_empty();
        replace_all(&mut headers, &added);
    }
    let persisted = (options.apq && !uploads).then(|| encode::persisted_query(request.query()));
    let target = |with_query: bool| -> Result<Target, ExecutorError> {
        let pq = persisted.as_ref();
        Ok(if uploads {
            Target {
                url: url.clone(),
                payload: encode::multipart(&endpoint, &request, &request.extensions)?,
            }
        } else if get {
            Target {
                url: encode::get_url(url, &request, &request.extensions, pq, with_query)?,
                payload: Payload::None,
            }
        } else {
            Target {
                url: url.clone(),
                payload: Payload::Json(encode::json_body(
                    &endpoint,
                    &request,
                    &request.extensions,
                    pq,
                    with_query,
                )?),
            }
        })
    };
    let (first, fallback) = if persisted.is_some() {
        (target(false)?, Some(Box::new(target(true)?)))
    } else {
        (target(true)?, None)
    };

    Ok(Outgoing {
        timeout: request
            .context
            .get::<RequestTimeout>()
            .map_or(options.timeout, |t| t.0),
        retry: options.retry.applies_to(operation),
        dedup: options.deduplicate && operation == OperationType::Query && !uploads && !incremental,
        endpoint,
        method,
        headers,
        first,
        fallback,
        url: url_text,
        own_headers,
        tree,
        trace: request.context.get::<TraceContext>().cloned(),
    })
}

/// `extensions.endpoint` as a URL.
fn endpoint_override(configured: &str, value: Value) -> Result<Url, ExecutorError> {
    let invalid = |message: String| ExecutorError::InvalidRequest {
        endpoint: configured.to_owned(),
        message,
    };
    let Value::String(text) = value else {
        return Err(invalid("`extensions.endpoint` must be a string URL".into()));
    };
    let url = Url::parse(&text)
        .map_err(|e| invalid(format!("invalid `extensions.endpoint` `{text}`: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "`extensions.endpoint` `{text}` is not an http or https URL"
        )));
    }
    Ok(url)
}

/// `extensions.headers` (an object of strings) as headers.
fn headers_from_json(value: Value) -> Result<HeaderMap, String> {
    let Value::Object(map) = value else {
        return Err("`extensions.headers` must be an object of strings".into());
    };
    let mut headers = HeaderMap::with_capacity(map.len());
    for (name, value) in map {
        let text = match &value {
            Value::String(text) => text.as_str(),
            _ => return Err(format!("`extensions.headers.{name}` must be a string")),
        };
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("`extensions.headers`: invalid header name `{name}`"))?;
        let value = HeaderValue::from_str(text)
            .map_err(|_| format!("`extensions.headers.{name}`: invalid header value"))?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// `url` without credentials and query string (the GET parameters carry the document), for
/// traces.
fn redacted(url: &Url) -> Url {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url
}

/// Sets every header of `from` in `into`, replacing earlier values of the same name.
fn replace_all(into: &mut HeaderMap, from: &HeaderMap) {
    for name in from.keys() {
        into.remove(name);
    }
    for (name, value) in from {
        into.append(name.clone(), value.clone());
    }
}

async fn send_with_retry(shared: &Shared, outgoing: &Outgoing) -> Result<Response, ExecutorError> {
    let policy = &shared.options.retry;
    let mut attempt = 1;
    loop {
        match send_once(shared, outgoing).await {
            Err(error) if outgoing.retry && policy.should_retry(attempt, &error) => {
                tracing::debug!(attempt, %error, "retrying a request after a transient failure");
                // Boxed: only a retry pays for the room of a timer.
                Box::pin(tokio::time::sleep(policy.backoff(attempt))).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// One attempt within the deadline: the hash first with APQ, then the full query if needed.
async fn send_once(shared: &Shared, outgoing: &Outgoing) -> Result<Response, ExecutorError> {
    let attempt = async {
        let response = send_target(shared, outgoing, &outgoing.first).await?;
        match &outgoing.fallback {
            Some(fallback)
                if matches!(&response, Response::Single(result)
                    if persisted_query_not_found(result)) =>
            {
                // Not kept while the fallback is on the wire.
                drop(response);
                send_target(shared, outgoing, fallback).await
            }
            _ => Ok(response),
        }
    };
    // Boxed: the futures of the layers above stay small, and the compiler's moves of them
    // (one per layer) cheap.
    match deadline::within(outgoing.timeout, Box::pin(attempt)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(ExecutorError::Timeout {
            endpoint: outgoing.endpoint.to_string(),
            after: outgoing.timeout,
        }),
    }
}

async fn send_target(
    shared: &Shared,
    outgoing: &Outgoing,
    target: &Target,
) -> Result<Response, ExecutorError> {
    // A span per request on the wire, for traces (nothing unless a subscriber wants it).
    let span = tracing::info_span!(
        target: "quilt::trace",
        "http.client",
        otel.kind = "client",
        http.request.method = %outgoing.method,
        url.full = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
    );
    if !span.is_disabled() {
        span.record("url.full", redacted(&target.url).as_str());
    }
    let limit = shared.options.max_response_size;
    if let Some(direct) = &shared.direct
        && let Payload::None | Payload::Json(_) = &target.payload
        && let Some(uri) = direct_uri(shared, &target.url)
    {
        let body = match &target.payload {
            Payload::Json(body) => body.clone(),
            _ => bytes::Bytes::new(),
        };
        let mut request = http::Request::new(http_body_util::Full::new(body));
        *request.method_mut() = outgoing.method.clone();
        *request.uri_mut() = uri;
        *request.headers_mut() = outgoing.headers.clone();
        if let Some(trace) = &outgoing.trace {
            trace.write_headers(request.headers_mut());
        }
        let response = tracing::Instrument::instrument(direct.request(request), span.clone())
            .await
            .map_err(|error| direct::send_error(&outgoing.endpoint, outgoing.timeout, error))?;
        span.record(
            "http.response.status_code",
            i64::from(response.status().as_u16()),
        );
        if !is_followed_redirect(&response) {
            return decode(response, &outgoing.endpoint, limit, outgoing.tree).await;
        }
        // reqwest follows redirects: the request goes again through it.
    }

    let send_error = |error| send_error(&outgoing.endpoint, outgoing.timeout, error);
    // Credentials in the URL become basic auth through a `RequestBuilder` only.
    let userinfo = !target.url.username().is_empty() || target.url.password().is_some();
    let request = match &target.payload {
        // Built directly rather than through a `RequestBuilder`, which would copy the headers
        // once more.
        Payload::None | Payload::Json(_) if !userinfo => {
            let mut request = reqwest::Request::new(outgoing.method.clone(), target.url.clone());
            *request.headers_mut() = outgoing.headers.clone();
            if let Some(trace) = &outgoing.trace {
                trace.write_headers(request.headers_mut());
            }
            if let Payload::Json(body) = &target.payload {
                *request.body_mut() = Some(body.clone().into());
            }
            request
        }
        payload => {
            let mut headers = outgoing.headers.clone();
            if let Some(trace) = &outgoing.trace {
                trace.write_headers(&mut headers);
            }
            let builder = shared
                .client
                .request(outgoing.method.clone(), target.url.clone())
                .headers(headers);
            let builder = match payload {
                Payload::None => builder,
                Payload::Json(body) => builder.body(body.clone()),
                Payload::Multipart {
                    operations,
                    map,
                    files,
                } => builder
                    // As Apollo's upload client: servers with CSRF prevention (Apollo's,
                    // Quilt's) refuse a multipart request without a preflight-forcing header.
                    .header("apollo-require-preflight", "true")
                    .multipart(encode::form(&outgoing.endpoint, operations, map, files)?),
            };
            builder.build().map_err(send_error)?
        }
    };
    let response = tracing::Instrument::instrument(shared.client.execute(request), span.clone())
        .await
        .map_err(send_error)?;
    span.record(
        "http.response.status_code",
        i64::from(response.status().as_u16()),
    );
    decode(
        http::Response::from(response),
        &outgoing.endpoint,
        limit,
        outgoing.tree,
    )
    .await
}

/// The URI to send `url` to without reqwest ([`direct`]), when it can be: an `http://` URL
/// without credentials (the endpoint's is made once).
fn direct_uri(shared: &Shared, url: &Url) -> Option<http::Uri> {
    if url.as_str() == shared.endpoint.as_str() {
        shared.endpoint_uri.clone()
    } else {
        direct::uri(url)
    }
}

/// Whether reqwest would follow this response: a 301, 302, 303, 307 or 308 with a `location`.
fn is_followed_redirect<B>(response: &http::Response<B>) -> bool {
    matches!(response.status().as_u16(), 301 | 302 | 303 | 307 | 308)
        && response.headers().contains_key(http::header::LOCATION)
}

/// Whether the service asks for the full query (APQ).
fn persisted_query_not_found(result: &ExecutionResult) -> bool {
    result.errors.iter().any(|e| {
        e.code() == Some("PERSISTED_QUERY_NOT_FOUND") || e.message == "PersistedQueryNotFound"
    })
}

/// What kind of failure happened before a response arrived, as either client tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SendFailure {
    Timeout,
    Connect,
    /// The request could not be built (reqwest only).
    Builder,
    /// Too many redirects, or a redirect loop (reqwest only).
    Redirect,
    /// The connection broke (or the exchange failed otherwise).
    Other,
}

/// A failure before a response arrived, as an [`ExecutorError`] of its kind.
pub(super) fn failed(
    endpoint: &str,
    timeout: Duration,
    kind: SendFailure,
    error: impl std::error::Error + Send + Sync + 'static,
) -> ExecutorError {
    let endpoint = endpoint.to_owned();
    match kind {
        SendFailure::Timeout => ExecutorError::Timeout {
            endpoint,
            after: timeout,
        },
        SendFailure::Connect => ExecutorError::Connect {
            endpoint,
            message: error_chain(&error),
            source: Some(Arc::new(error)),
        },
        SendFailure::Builder => ExecutorError::InvalidRequest {
            endpoint,
            message: error_chain(&error),
        },
        SendFailure::Redirect => ExecutorError::Protocol {
            endpoint,
            message: error_chain(&error),
        },
        SendFailure::Other => ExecutorError::Closed {
            endpoint,
            code: None,
            reason: format!("the request failed: {}", error_chain(&error)),
        },
    }
}

/// A reqwest failure before a response arrived, by kind.
fn send_error(endpoint: &str, timeout: Duration, error: reqwest::Error) -> ExecutorError {
    let kind = if error.is_timeout() {
        SendFailure::Timeout
    } else if error.is_connect() {
        SendFailure::Connect
    } else if error.is_builder() {
        SendFailure::Builder
    } else if error.is_redirect() {
        SendFailure::Redirect
    } else {
        SendFailure::Other
    };
    failed(endpoint, timeout, kind, error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn traced_urls_lose_their_credentials_and_query() {
        let url = Url::parse("https://user:secret@api.example/graphql?query=%7Ba%7D").unwrap();
        assert_eq!(redacted(&url).as_str(), "https://api.example/graphql");
    }

    #[test]
    fn extension_headers_must_be_strings() {
        assert!(headers_from_json(json!({"a": "b"})).is_ok());
        assert!(headers_from_json(json!({"a": 1})).is_err());
        assert!(headers_from_json(json!({"bad name": "x"})).is_err());
        assert!(headers_from_json(json!("x")).is_err());
    }

    #[test]
    fn replace_all_replaces_by_name() {
        let mut into = HeaderMap::new();
        into.insert(ACCEPT, HeaderValue::from_static("a"));
        into.insert(CONTENT_TYPE, HeaderValue::from_static("b"));
        let mut from = HeaderMap::new();
        from.insert(ACCEPT, HeaderValue::from_static("c"));
        replace_all(&mut into, &from);
        assert_eq!(into[ACCEPT], "c");
        assert_eq!(into[CONTENT_TYPE], "b");
    }

    #[test]
    fn endpoint_override_must_be_http() {
        assert!(endpoint_override("e", json!("http://h/g")).is_ok());
        assert!(endpoint_override("e", json!("ftp://h/g")).is_err());
        assert!(endpoint_override("e", json!(5)).is_err());
    }
}
