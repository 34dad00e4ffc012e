//! Telemetry over a running gateway: the Prometheus metrics at `/metrics` (parsed with a
//! Prometheus text-format parser) move as the requests and subscriptions predict; spans reach
//! an OTLP receiver with their parent/child structure; subgraphs get the client's trace.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

// A test executable of its own: the metrics recorder it installs is global to the process, and
// the exact counts below hold only when no other test's gateway runs in it.
#[path = "../../gateway-example/tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::sync::Arc;

use crate::common::{GatewayProcess, settings, start, wait_until, within};
use axum::Router;
use axum::routing::post;
use futures::StreamExt;
use gateway_example::spec::SubschemaSpec;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prometheus_parse::{Scrape, Value};
use prost::Message as _;
use quilt_executor::{Executor, Request, WsExecutor};
use quilt_test_support::gated::GatedServer;
use quilt_test_support::{TestServer, WAIT};
use serde_json::json;
use tokio::sync::watch;

/// The gateway's metrics, parsed.
async fn scrape(gateway_url: &str) -> Scrape {
    let url = gateway_url.replace("/graphql", "/metrics");
    let response = within(reqwest::get(&url)).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();
    Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).unwrap()
}

/// The value of the counter or gauge `name` whose labels include `labels` (0 if absent); for a
/// histogram, its count (the `+Inf` bucket). Several series: their sum.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
            Value::Summary(_) => panic!("{name} is a summary"),
        })
        .sum()
}

fn spec(name: &str, url: &str, prefix: Option<&str>) -> SubschemaSpec {
    let mut spec = SubschemaSpec::parse_flag(&format!("{name}={url}")).unwrap();
    if let Some(prefix) = prefix {
        spec.transforms.root_field_prefix = Some(format!("{prefix}_"));
        spec.transforms.type_prefix = Some(format!("{prefix}_"));
    }
    spec
}

/// The only test of this file that records metrics in this process (the recorder is global):
/// every count below is exact.
#[tokio::test]
async fn metrics_count_requests_upstream_outcomes_caches_dedup_and_subscription_events() {
    gateway_example::telemetry::install_metrics().unwrap();
    let things = TestServer::start().await.unwrap();
    let gone = TestServer::start().await.unwrap();
    let gated = GatedServer::start().await.unwrap();
    let gateway = start(settings(vec![
        spec("things", &things.http_url(), None),
        spec("gone", &gone.http_url(), Some("gone")),
        spec("gated", &gated.http_url(), None),
    ]))
    .await;
    gone.stop().await;

    let before = scrape(&gateway.url).await;
    assert_eq!(
        value(&before, "http_server_request_duration_seconds", &[]),
        0.0
    );

    // Three identical queries: the document and the plan are cached after the first.
    for _ in 0..3 {
        assert_eq!(
            gateway.query("{ hello }").await,
            json!({"data": {"hello": "Hello, world!"}})
        );
    }
    // An upstream GraphQL error, and an upstream that is gone.
    let failed = gateway.query("{ fail }").await;
    assert!(failed["errors"][0]["message"].is_string(), "{failed}");
    let unreachable = gateway.query("{ gone_hello }").await;
    assert!(
        unreachable["errors"][0]["message"].is_string(),
        "{unreachable}"
    );

    let after = scrape(&gateway.url).await;
    let requests = |outcome| {
        value(
            &after,
            "quilt_upstream_requests_total",
            &[("subschema", "things"), ("outcome", outcome)],
        )
    };
    assert_eq!(requests("ok"), 3.0);
    assert_eq!(requests("graphql_error"), 1.0);
    assert_eq!(
        value(
            &after,
            "quilt_upstream_requests_total",
            &[("subschema", "gone"), ("outcome", "error")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &after,
            "quilt_upstream_request_duration_seconds",
            &[("subschema", "things")]
        ),
        4.0
    );
    assert_eq!(
        value(
            &after,
            "http_server_request_duration_seconds",
            &[("graphql_operation_type", "query")]
        ),
        5.0
    );
    let cache = |cache, result| {
        value(
            &after,
            "quilt_cache_requests_total",
            &[("cache", cache), ("result", result)],
        )
    };
    assert_eq!(cache("document", "hit"), 2.0);
    assert_eq!(cache("document", "miss"), 3.0);
    assert_eq!(cache("plan", "hit"), 2.0);
    assert_eq!(cache("plan", "miss"), 3.0);
    assert!(
        value(
            &after,
            "quilt_upstream_batch_size",
            &[("subschema", "things")]
        ) >= 4.0
    );
    assert_eq!(value(&after, "http_server_active_requests", &[]), 0.0);

    // Three identical queries in flight together share one execution: two shares.
    let held = (0..3)
        .map(|_| gateway.query("{ held }"))
        .collect::<futures::stream::FuturesUnordered<_>>()
        .collect::<Vec<_>>();
    let url = gateway.url.clone();
    let release = async {
        gated.wait_for_arrivals(1).await.unwrap();
        let mut shares = 0.0;
        let waited = tokio::time::timeout(WAIT, async {
            while shares < 2.0 {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                shares = value(&scrape(&url).await, "quilt_inbound_dedup_shared_total", &[]);
            }
        })
        .await;
        assert!(waited.is_ok(), "shares: {shares}");
        gated.open();
    };
    let (answers, ()) = within(futures::future::join(held, release)).await;
    for answer in answers {
        assert!(answer["data"]["held"].is_array(), "{answer}");
    }
    assert_eq!(gated.arrivals(), 1);
    let shares = value(&scrape(&url).await, "quilt_inbound_dedup_shared_total", &[]);
    assert_eq!(shares, 2.0);

    // A WebSocket subscription: one connection, one subscription, one upstream subscription.
    let client = WsExecutor::builder(gateway.ws_url()).build();
    let mut ticks =
        within(client.execute(Request::new("subscription { ticks(intervalMs: 20) }").unwrap()))
            .await
            .unwrap()
            .into_stream();
    within(ticks.next()).await.unwrap().unwrap();
    let open = scrape(&gateway.url).await;
    assert_eq!(value(&open, "quilt_websocket_connections", &[]), 1.0);
    assert_eq!(
        value(&open, "quilt_subscriptions", &[("transport", "websocket")]),
        1.0
    );
    assert_eq!(value(&open, "quilt_upstream_subscriptions", &[]), 1.0);
    drop(ticks);
    drop(client);
    let schema = gateway.prepared.gateway.executor().current();
    wait_until("the ticks subscription ended", || {
        schema.subscription_stats().upstreams == 0
    })
    .await;

    // A client that reads nothing while the service sends 200 events: the gateway keeps the
    // last ones (its queue holds 128 items), the 73 before are dropped and counted.
    let mut slow = within(
        gateway
            .prepared
            .gateway
            .executor()
            .execute(Request::new("subscription { count(to: 200) }").unwrap()),
    )
    .await
    .unwrap()
    .into_stream();
    wait_until(
        "the service sent every event and the gateway took them",
        || schema.subscription_stats().upstreams == 0,
    )
    .await;
    let mut received = 0;
    while let Some(event) = within(slow.next()).await {
        assert!(event.unwrap().errors.is_empty());
        received += 1;
    }
    // The queue's last place holds the end of the stream.
    assert_eq!(received, 127);
    let end = scrape(&gateway.url).await;
    let events = |outcome| {
        value(
            &end,
            "quilt_subscription_events_total",
            &[("outcome", outcome)],
        )
    };
    assert_eq!(events("dropped"), 73.0);
    // The ticks delivered before (at least one) and the 127.
    assert!(events("delivered") > 127.0, "{}", events("delivered"));
    assert_eq!(value(&end, "quilt_upstream_subscriptions", &[]), 0.0);
    assert_eq!(value(&end, "quilt_websocket_connections", &[]), 0.0);
    assert_eq!(
        value(&end, "quilt_subscriptions", &[("transport", "websocket")]),
        0.0
    );
}

/// An OTLP/HTTP receiver on `127.0.0.1:0`: every span it is sent.
struct Collector {
    url: String,
    spans: watch::Receiver<Vec<Span>>,
    _task: tokio_util::task::AbortOnDropHandle<()>,
}

impl Collector {
    async fn start() -> Self {
        let (sender, spans) = watch::channel(Vec::new());
        let sender = Arc::new(sender);
        let router = Router::new().route(
            "/v1/traces",
            post(move |body: axum::body::Bytes| {
                let sender = sender.clone();
                async move {
                    let request = ExportTraceServiceRequest::decode(body).unwrap();
                    let spans = request
                        .resource_spans
                        .into_iter()
                        .flat_map(|r| r.scope_spans)
                        .flat_map(|s| s.spans);
                    sender.send_modify(|all| all.extend(spans));
                    // An empty ExportTraceServiceResponse.
                    (
                        [(http::header::CONTENT_TYPE, "application/x-protobuf")],
                        Vec::<u8>::new(),
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self {
            url,
            spans,
            _task: tokio_util::task::AbortOnDropHandle::new(task),
        }
    }

    /// Waits until the spans named `names` have all arrived; every span received.
    async fn wait_for(&mut self, names: &[&str]) -> Vec<Span> {
        let spans = within(self.spans.wait_for(|spans| {
            names
                .iter()
                .all(|name| spans.iter().any(|span| span.name == *name))
        }))
        .await
        .unwrap();
        spans.clone()
    }
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
        .and_then(|value| match value {
            Value::StringValue(text) => Some(text.as_str()),
            _ => None,
        })
}

/// A POST of `query` to `url` with the client's `traceparent`; the JSON answer.
async fn traced_query(url: &str, query: &str, traceparent: Option<&str>) -> serde_json::Value {
    let client = reqwest::Client::new();
    let mut request = client.post(url).json(&json!({ "query": query }));
    if let Some(traceparent) = traceparent {
        request = request.header("traceparent", traceparent);
    }
    within(async { request.send().await.unwrap().json().await.unwrap() }).await
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

#[tokio::test]
async fn a_stitched_query_exports_its_spans_and_subgraphs_join_the_clients_trace() {
    let mut collector = Collector::start().await;
    let things = TestServer::start().await.unwrap();
    let more = TestServer::start().await.unwrap();
    // The second service's fields are renamed (`more_...`): the query needs both.
    let dir = std::env::temp_dir().join(format!("quilt-telemetry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gateway.toml");
    std::fs::write(
        &path,
        format!(
            r#"
threads = 1
[[subschemas]]
name = "things"
url = "{}"
[[subschemas]]
name = "more"
url = "{}"
[subschemas.transforms]
root_field_prefix = "more_"
type_prefix = "More_"
[telemetry.tracing]
otlp_endpoint = "{}"
"#,
            things.http_url(),
            more.http_url(),
            collector.url
        ),
    )
    .unwrap();
    let flags = vec!["--config".to_owned(), path.display().to_string()];
    let gateway =
        GatewayProcess::start_with_env(&flags, &[("OTEL_BSP_SCHEDULE_DELAY", "100")]).await;
    let traceparent = format!("00-{TRACE_ID}-{CLIENT_SPAN}-01");
    // Each subgraph answers the `traceparent` it was sent (`header(name:)`).
    let answer = traced_query(
        &gateway.url,
        r#"{ header(name: "traceparent") more_header(name: "traceparent") }"#,
        Some(&traceparent),
    )
    .await;
    std::fs::remove_dir_all(&dir).unwrap();
    let mut parents = Vec::new();
    for field in ["header", "more_header"] {
        let seen = answer["data"][field]
            .as_str()
            .unwrap_or_else(|| panic!("{answer}"));
        let parts: Vec<&str> = seen.split('-').collect();
        assert_eq!(parts.len(), 4, "{seen}");
        assert_eq!(parts[1], TRACE_ID, "the subgraph joins the client's trace");
        assert_ne!(parts[2], CLIENT_SPAN, "its parent is the gateway's span");
        assert_eq!(parts[3], "01");
        parents.push(parts[2].to_owned());
    }
    assert_ne!(parents[0], parents[1], "each call has its own span");

    let spans = collector
        .wait_for(&[
            "graphql.request",
            "graphql.execute",
            "graphql.parse",
            "graphql.plan",
            "quilt.fetch",
        ])
        .await;
    // Loading the schemas at start-up made traces of their own; the rest is the client's.
    let spans: Vec<Span> = spans
        .into_iter()
        .filter(|span| hex(&span.trace_id) == TRACE_ID)
        .collect();
    let by_id: HashMap<Vec<u8>, &Span> = spans.iter().map(|s| (s.span_id.clone(), s)).collect();
    let named = |name: &str| -> Vec<&Span> { spans.iter().filter(|s| s.name == name).collect() };
    let parent_name = |span: &Span| by_id.get(&span.parent_span_id).map(|p| p.name.clone());
    let request = named("graphql.request")[0];
    assert_eq!(hex(&request.parent_span_id), CLIENT_SPAN);
    let execute = named("graphql.execute")[0];
    assert_eq!(parent_name(execute).as_deref(), Some("graphql.request"));
    assert_eq!(attribute(execute, "operation.name"), Some(""));
    assert_eq!(
        parent_name(named("graphql.parse")[0]).as_deref(),
        Some("graphql.request")
    );
    let plan = named("graphql.plan")[0];
    assert_eq!(attribute(plan, "cache"), Some("miss"));
    assert!(parent_name(plan).is_some());
    // One fetch per subgraph, each within the operation's execution, each the parent of what
    // its subgraph was sent.
    let fetches = named("quilt.fetch");
    assert_eq!(fetches.len(), 2);
    let mut subschemas: Vec<&str> = fetches
        .iter()
        .map(|fetch| attribute(fetch, "subschema").unwrap())
        .collect();
    subschemas.sort_unstable();
    assert_eq!(subschemas, ["more", "things"]);
    for fetch in &fetches {
        assert_eq!(attribute(fetch, "outcome"), Some("ok"));
        let mut ancestor = parent_name(fetch);
        let mut hops = 0;
        while let Some(name) = ancestor.as_deref()
            && name != "graphql.execute"
            && hops < 10
        {
            let parent = spans.iter().find(|s| s.name == name).unwrap();
            ancestor = parent_name(parent);
            hops += 1;
        }
        assert_eq!(ancestor.as_deref(), Some("graphql.execute"));
        assert!(parents.contains(&hex(&fetch.span_id)));
    }
    // Each fetch's HTTP request, with its URL and status.
    let calls = named("http.client");
    assert_eq!(calls.len(), 2);
    let mut urls = Vec::new();
    for call in calls {
        assert_eq!(parent_name(call).as_deref(), Some("quilt.fetch"));
        assert_eq!(attribute(call, "http.request.method"), Some("POST"));
        urls.push(attribute(call, "url.full").unwrap().to_owned());
        use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
        let status = call
            .attributes
            .iter()
            .find(|kv| kv.key == "http.response.status_code")
            .and_then(|kv| kv.value.as_ref()?.value.clone());
        assert_eq!(status, Some(Any::IntValue(200)));
    }
    urls.sort();
    let mut expected = vec![things.http_url(), more.http_url()];
    expected.sort();
    assert_eq!(urls, expected);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn without_export_the_trace_still_reaches_the_subgraphs() {
    let things = TestServer::start().await.unwrap();
    let more = TestServer::start().await.unwrap();
    // Two services (the second one's fields renamed), and a log level that writes none of the
    // request's spans: the trace is carried all the same.
    let dir = common::TempDir::new("telemetry-propagation");
    let path = dir.file(
        "gateway.toml",
        &format!(
            r#"
threads = 1
[[subschemas]]
name = "things"
url = "{}"
[[subschemas]]
name = "more"
url = "{}"
[subschemas.transforms]
root_field_prefix = "more_"
type_prefix = "More_"
[telemetry.logs]
level = "warn"
"#,
            things.http_url(),
            more.http_url(),
        ),
    );
    let gateway = GatewayProcess::start(&["--config".to_owned(), path]).await;
    let query = r#"{ header(name: "traceparent") more_header(name: "traceparent") }"#;
    // What each of the two subgraphs was sent: (trace id, parent id, flags).
    let seen = |answer: serde_json::Value| -> Vec<(String, String, String)> {
        ["header", "more_header"]
            .into_iter()
            .map(|field| {
                let seen = answer["data"][field]
                    .as_str()
                    .unwrap_or_else(|| panic!("{answer}"));
                let parts: Vec<&str> = seen.split('-').collect();
                assert_eq!(parts.len(), 4, "{seen}");
                assert_eq!(parts[0], "00", "{seen}");
                assert_eq!(parts[2].len(), 16, "{seen}");
                (parts[1].into(), parts[2].into(), parts[3].into())
            })
            .collect()
    };
    let traceparent = format!("00-{TRACE_ID}-{CLIENT_SPAN}-01");
    let calls = seen(traced_query(&gateway.url, query, Some(&traceparent)).await);
    for (trace, parent, flags) in &calls {
        assert_eq!(trace, TRACE_ID, "the subgraph joins the client's trace");
        assert_ne!(parent, CLIENT_SPAN, "the gateway's call is a new parent");
        assert_eq!(flags, "01", "the client's sampling decision is followed");
    }
    assert_eq!(
        calls[0].1, calls[1].1,
        "the calls of one request have the gateway's parent id"
    );
    // A client without a trace: the gateway starts one per request (not sampled, nothing is
    // exported), the same for every call of the request.
    let first = seen(traced_query(&gateway.url, query, None).await);
    let second = seen(traced_query(&gateway.url, query, None).await);
    for calls in [&first, &second] {
        assert_ne!(calls[0].0, TRACE_ID);
        assert_eq!(calls[0].0, calls[1].0, "one trace per request");
        assert_eq!((calls[0].2.as_str(), calls[1].2.as_str()), ("00", "00"));
    }
    assert_ne!(first[0].0, second[0].0, "each request its own trace");
}

#[tokio::test]
async fn json_logs_with_the_access_log_have_one_object_a_line() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let things = TestServer::start().await.unwrap();
    let mut child = tokio::process::Command::new(quilt_test_support::process::gateway_binary())
        .env_remove("REDIS_URL")
        .args([
            "--subschema",
            &format!("things={}", things.http_url()),
            "--listen",
            "127.0.0.1:0",
            "--threads",
            "1",
            "--log-format",
            "json",
            "--access-log",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = within(async {
        while let Some(line) = stdout.next_line().await.unwrap() {
            if let Some(rest) = line.strip_prefix("Quilt gateway listening on ") {
                return rest.split_whitespace().next().unwrap().to_owned();
            }
        }
        panic!("no URL printed")
    })
    .await;
    // The service goes away: the failure is logged about the request.
    things.stop().await;
    let answer = within(async {
        reqwest::Client::new()
            .post(&url)
            .header("x-request-id", "obs-log-1")
            .json(&json!({ "query": "{ hello }" }))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    })
    .await;
    assert!(answer["errors"][0]["message"].is_string(), "{answer}");
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let (mut failure, mut access) = (None, None);
    within(async {
        while failure.is_none() || access.is_none() {
            let line = stderr.next_line().await.unwrap().expect("the log goes on");
            let object: serde_json::Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            if object["target"] == "quilt::access" {
                access = Some(object);
            } else if object["fields"]["message"] == "upstream request failed" {
                failure = Some(object);
            }
        }
    })
    .await;
    let (failure, access) = (failure.unwrap(), access.unwrap());
    // A line about the request carries its id in its spans' fields; the access line too.
    let request_span = failure["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|span| span["name"] == "graphql.request")
        .unwrap_or_else(|| panic!("{failure}"));
    assert_eq!(request_span["request_id"], "obs-log-1");
    assert_eq!(access["fields"]["request_id"], "obs-log-1");
    assert_eq!(access["fields"]["status"], 200);
    assert_eq!(access["fields"]["path"], "/graphql");
    assert_eq!(access["fields"]["method"], "POST");
    assert!(access["fields"]["duration_ms"].is_number());
}
