//! What the server records through the [`metrics`] facade (nothing unless the application
//! installs a recorder), and the target of the spans it opens for traces.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `http_server_request_duration_seconds` | histogram | `http_response_status_code`, `graphql_operation_type` (and `graphql_operation_name` when [`operation_name_labels`](crate::GraphQLServerBuilder::operation_name_labels) is on) |
//! | `http_server_active_requests` | gauge | |
//! | `quilt_cache_requests_total` | counter | `cache` (`document`), `result` (`hit`, `miss`) |
//! | `quilt_inbound_dedup_shared_total` | counter | |
//! | `quilt_websocket_connections` | gauge | |
//! | `quilt_subscriptions` | gauge | `transport` (`http`, `websocket`, `sse-single`) |
//!
//! The request duration is measured on the GraphQL path for every HTTP request that is not a
//! WebSocket upgrade, until the response head is ready (a stream's duration is not included:
//! open subscriptions are the gauge). `graphql_operation_type` is `query`, `mutation`,
//! `subscription`, or `none` when the request was refused before its document was read.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use http::StatusCode;
use metrics::SharedString;
use quilt_executor::OperationType;

/// The target of the spans opened for traces (`graphql.parse`), so that a log output can leave
/// them out.
pub const TRACE_TARGET: &str = "quilt::trace";

pub(crate) const REQUEST_DURATION: &str = "http_server_request_duration_seconds";
pub(crate) const ACTIVE_REQUESTS: &str = "http_server_active_requests";
pub(crate) const CACHE_REQUESTS: &str = "quilt_cache_requests_total";
pub(crate) const INBOUND_DEDUP_SHARED: &str = "quilt_inbound_dedup_shared_total";
pub(crate) const WEBSOCKET_CONNECTIONS: &str = "quilt_websocket_connections";
pub(crate) const SUBSCRIPTIONS: &str = "quilt_subscriptions";

/// What a response tells the request metrics about its operation (put in the response's
/// extensions by the pipeline).
#[derive(Debug, Clone)]
pub(crate) struct OperationLabels {
    pub kind: OperationType,
    pub name: Option<String>,
}

/// Increments a gauge now and decrements it when dropped.
pub(crate) struct GaugeGuard(metrics::Gauge);

impl GaugeGuard {
    pub(crate) fn new(gauge: metrics::Gauge) -> Self {
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// The operation names used as labels: the first `cap` distinct names seen, every later one
/// counted as `other` (a client choosing names must not grow the metrics without bound).
#[derive(Debug)]
pub(crate) struct OperationNames {
    cap: usize,
    seen: Mutex<HashSet<Arc<str>>>,
}

impl OperationNames {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap,
            seen: Mutex::new(HashSet::new()),
        }
    }

    /// The label for `name`: itself while under the cap, else `other`; `""` for none.
    pub(crate) fn label(&self, name: Option<&str>) -> SharedString {
        let Some(name) = name else {
            return SharedString::const_str("");
        };
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(known) = seen.get(name) {
            return SharedString::from(known.clone());
        }
        if seen.len() < self.cap {
            let name: Arc<str> = Arc::from(name);
            seen.insert(name.clone());
            return SharedString::from(name);
        }
        SharedString::const_str("other")
    }
}

/// Records one HTTP request on the GraphQL path.
pub(crate) fn record_request(
    started: Instant,
    status: StatusCode,
    operation: Option<&OperationLabels>,
    names: Option<&OperationNames>,
) {
    let kind = match operation.map(|op| op.kind) {
        Some(OperationType::Query) => "query",
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        None => "none",
    };
    let status = status_label(status);
    let seconds = started.elapsed().as_secs_f64();
    match names {
        None => metrics::histogram!(
            REQUEST_DURATION,
            "http_response_status_code" => status,
            "graphql_operation_type" => kind
        )
        .record(seconds),
        Some(names) => {
            let name = names.label(operation.and_then(|op| op.name.as_deref()));
            metrics::histogram!(
                REQUEST_DURATION,
                "http_response_status_code" => status,
                "graphql_operation_type" => kind,
                "graphql_operation_name" => name
            )
            .record(seconds)
        }
    }
}

/// The status code as a label, without allocating for the codes the server answers with.
fn status_label(status: StatusCode) -> SharedString {
    let text: &'static str = match status.as_u16() {
        200 => "200",
        202 => "202",
        204 => "204",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        406 => "406",
        408 => "408",
        409 => "409",
        413 => "413",
        415 => "415",
        422 => "422",
        429 => "429",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        other => return SharedString::from(other.to_string()),
    };
    SharedString::const_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_are_labels_up_to_the_cap_then_other() {
        let names = OperationNames::new(2);
        assert_eq!(&*names.label(Some("A")), "A");
        assert_eq!(&*names.label(Some("B")), "B");
        assert_eq!(&*names.label(Some("C")), "other");
        assert_eq!(&*names.label(Some("A")), "A");
        assert_eq!(&*names.label(None), "");
    }

    #[test]
    fn status_labels_are_the_codes() {
        assert_eq!(&*status_label(StatusCode::OK), "200");
        assert_eq!(&*status_label(StatusCode::IM_A_TEAPOT), "418");
    }
}
