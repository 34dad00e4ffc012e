//! Plain `http://` requests sent on hyper's pooled client without reqwest's layers.
//!
//! Most gateways talk to their subgraphs over plain HTTP/1.1 inside one network, one JSON
//! request and one JSON answer each. For those, reqwest's layers around hyper's client cost
//! about a tenth of a heavy answer's instructions: each request's URL is parsed twice more
//! (reqwest's redirect policy and its pending future), its headers are copied three times,
//! and the response is boxed into reqwest's decoder. This client is hyper-util's pooled
//! client with the same connection settings as the executor's reqwest client (no delay,
//! the connect timeout, TCP keepalive, 90 s idle connections), used only where the two would
//! put the same bytes on the wire:
//!
//! - the executor built its own reqwest client (one given with
//!   [`HttpExecutorBuilder::client`](super::HttpExecutorBuilder::client) may carry proxies,
//!   TLS settings or default headers, so it sends everything);
//! - no proxy is named by the environment (`HTTP_PROXY`, `ALL_PROXY` and their lowercase
//!   forms, which reqwest follows);
//! - the URL is `http://` without credentials, and the request a JSON POST or a GET (uploads
//!   go through reqwest's multipart form).
//!
//! reqwest follows redirects; a redirect answered to a request sent here is sent again
//! through reqwest, which follows it (see `send_target`).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::send::{SendFailure, failed};
use crate::error::ExecutorError;

/// The pooled client for plain HTTP requests.
pub(super) type DirectClient = Client<HttpConnector, Full<Bytes>>;

/// How long an idle pooled connection is kept (reqwest's default).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// TCP keepalive: idle time, probe interval and probe count (reqwest's defaults).
const KEEPALIVE: Duration = Duration::from_secs(15);
const KEEPALIVE_RETRIES: u32 = 3;

/// The variables naming a proxy for `http://` URLs, which reqwest's own client follows.
const PROXY_VARIABLES: [&str; 4] = ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"];

/// A client with the connection settings of the executor's reqwest client, or `None` where the
/// environment names a proxy for plain HTTP (reqwest then sends everything).
pub(super) fn client(connect_timeout: Duration) -> Option<DirectClient> {
    if names_a_proxy(|name| std::env::var_os(name)) {
        return None;
    }
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(connect_timeout));
    connector.set_keepalive(Some(KEEPALIVE));
    connector.set_keepalive_interval(Some(KEEPALIVE));
    connector.set_keepalive_retries(Some(KEEPALIVE_RETRIES));
    Some(
        Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(connector),
    )
}

/// Whether `variable` (the environment) names a proxy for plain HTTP.
fn names_a_proxy(variable: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    PROXY_VARIABLES
        .iter()
        .any(|name| variable(name).is_some_and(|value| !value.is_empty()))
}

/// `url` as an [`http::Uri`] for this client: `None` unless it is an `http://` URL without
/// credentials.
pub(super) fn uri(url: &url::Url) -> Option<http::Uri> {
    let plain = url.scheme() == "http" && url.username().is_empty() && url.password().is_none();
    plain.then(|| http::Uri::try_from(url.as_str()).ok())?
}

/// A failure before a response arrived, by kind, as reqwest's are told
/// ([`super::send::failed`]).
pub(super) fn send_error(
    endpoint: &str,
    timeout: Duration,
    error: hyper_util::client::legacy::Error,
) -> ExecutorError {
    let kind = if timed_out(&error) {
        SendFailure::Timeout
    } else if error.is_connect() {
        SendFailure::Connect
    } else {
        SendFailure::Other
    };
    failed(endpoint, timeout, kind, error)
}

/// Whether a timeout caused `error` (the connect timeout; the attempt's own deadline is
/// outside the client).
fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(error) = source {
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return true;
        }
        if error
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_timeout)
        {
            return true;
        }
        source = error.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_named_by_the_environment_leaves_everything_to_reqwest() {
        let env = |set: Vec<(&'static str, &'static str)>| {
            move |name: &str| {
                set.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        assert!(!names_a_proxy(env(vec![])));
        // HTTPS_PROXY is for https URLs, which reqwest sends anyway.
        assert!(!names_a_proxy(env(vec![("HTTPS_PROXY", "http://p:1")])));
        assert!(!names_a_proxy(env(vec![("HTTP_PROXY", "")])));
        for name in PROXY_VARIABLES {
            assert!(names_a_proxy(env(vec![(name, "http://p:1")])), "{name}");
        }
    }

    #[test]
    fn only_plain_http_urls_without_credentials_are_sent_directly() {
        let uri = |text: &str| uri(&url::Url::parse(text).unwrap()).map(|u| u.to_string());
        assert_eq!(
            uri("http://127.0.0.1:4000/graphql?x=%7B%7D").as_deref(),
            Some("http://127.0.0.1:4000/graphql?x=%7B%7D")
        );
        assert_eq!(uri("https://api.example/graphql"), None);
        assert_eq!(uri("http://user:secret@api.example/graphql"), None);
        assert_eq!(uri("http://user@api.example/graphql"), None);
    }
}
