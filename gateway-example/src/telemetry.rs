//! Metrics, traces and logs: the `[telemetry]` section of the TOML file, its flags, and the
//! setup.
//!
//! ```toml
//! [telemetry.metrics]
//! enabled = true                   # Prometheus text format (default on)
//! path = "/metrics"                # on the gateway's own listener (default)
//! listen = "127.0.0.1:9464"        # or on a listener of its own
//! operation_names = 50             # label requests by operation name, the first 50 names
//!                                  # (default 0: no such label)
//!
//! [telemetry.tracing]
//! propagation = true               # W3C traceparent from clients to every subgraph (default on)
//! otlp_endpoint = "http://127.0.0.1:4318"   # export spans (default: none)
//! protocol = "http"                # "http" (OTLP/HTTP protobuf, default) or "grpc"
//! sampling_ratio = 0.1             # of traces the gateway starts (default 1.0); a client's
//!                                  # sampled flag is followed
//! service_name = "quilt-gateway"   # the resource's service.name (default)
//!
//! [telemetry.logs]
//! format = "json"                  # "text" (default) or "json" (one object a line)
//! level = "info"                   # error, warn, info (default), debug, trace
//! access_log = true                # one line per HTTP request (default off)
//! ```
//!
//! The libraries record metrics through the `metrics` facade and open `tracing` spans; here a
//! Prometheus recorder (`metrics-exporter-prometheus`) is installed, `tracing` spans become
//! OpenTelemetry spans (`tracing-opentelemetry`) exported over OTLP, and the W3C trace context
//! is taken from clients and given to upstream requests through
//! [`quilt_executor::trace::install`].

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::Router;
use axum::routing::get;
use http::HeaderMap;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use serde::Deserialize;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{FilterExt as _, LevelFilter, Targets, filter_fn};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The `[telemetry]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// `[telemetry.metrics]`.
    pub metrics: MetricsConfig,
    /// `[telemetry.tracing]`.
    pub tracing: TracingConfig,
    /// `[telemetry.logs]`.
    pub logs: LogsConfig,
}

/// `[telemetry.metrics]`: Prometheus metrics.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Record and serve metrics (default true). Off, nothing is recorded (the facade's calls
    /// find no recorder).
    pub enabled: bool,
    /// The path of the metrics endpoint (default `/metrics`).
    pub path: String,
    /// Serve the metrics on a listener of their own instead of the gateway's.
    pub listen: Option<SocketAddr>,
    /// Label request durations with the operation name, for at most this many distinct names
    /// (later ones are `other`); 0 (default): no operation name label.
    pub operation_names: usize,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            path: DEFAULT_METRICS_PATH.to_owned(),
            listen: None,
            operation_names: 0,
        }
    }
}

/// The default path of the metrics endpoint.
pub const DEFAULT_METRICS_PATH: &str = "/metrics";

/// `[telemetry.tracing]`: OpenTelemetry traces.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TracingConfig {
    /// Continue the client's W3C trace (or start one) and send `traceparent` to every
    /// subgraph call (default true), whether or not spans are exported.
    pub propagation: bool,
    /// Where spans are exported with OTLP; none (default): not exported. For `http`, a URL
    /// without a path gets `/v1/traces`.
    pub otlp_endpoint: Option<String>,
    /// OTLP over HTTP with protobuf (default) or gRPC.
    pub protocol: OtlpProtocol,
    /// The share of the traces the gateway starts that are sampled, 0.0 to 1.0 (default 1.0);
    /// a client's sampling decision is followed.
    pub sampling_ratio: f64,
    /// The `service.name` of the exported spans (default `quilt-gateway`).
    pub service_name: String,
}

impl Default for TracingConfig {
    fn default() -> Self {
        Self {
            propagation: true,
            otlp_endpoint: None,
            protocol: OtlpProtocol::Http,
            sampling_ratio: 1.0,
            service_name: "quilt-gateway".to_owned(),
        }
    }
}

/// How spans are exported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OtlpProtocol {
    /// OTLP/HTTP with protobuf bodies (port 4318 by convention).
    #[default]
    Http,
    /// OTLP/gRPC (port 4317 by convention), without TLS.
    Grpc,
}

/// `[telemetry.logs]`: the log output (standard error).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogsConfig {
    /// Text (default) or JSON lines.
    pub format: LogFormat,
    /// The most verbose level written (default `info`).
    pub level: String,
    /// One line per HTTP request (method, path, status, duration, request id); default off.
    pub access_log: bool,
}

impl Default for LogsConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".to_owned(),
            access_log: false,
        }
    }
}

/// The log format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line, with the fields of the enclosing spans (the request id among
    /// them).
    Json,
}

/// The telemetry flags of the command line (over the file's `[telemetry]`).
#[derive(Debug, Default, Clone, clap::Args)]
pub struct TelemetryFlags {
    /// Serve the Prometheus metrics on this address instead of the gateway's listener.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Do not record or serve metrics.
    #[arg(long)]
    pub no_metrics: bool,
    /// Export spans with OTLP to this endpoint (e.g. http://127.0.0.1:4318).
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// Do not send the W3C trace context to subgraphs (nor continue a client's trace).
    #[arg(long)]
    pub no_trace_propagation: bool,
    /// The OTLP protocol [default: http].
    #[arg(long, value_name = "PROTOCOL")]
    pub otlp_protocol: Option<OtlpProtocol>,
    /// The share of the traces the gateway starts that are sampled (0.0 to 1.0) [default: 1.0].
    #[arg(long, value_name = "RATIO")]
    pub trace_sampling: Option<f64>,
    /// The log format [default: text].
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Write one log line per HTTP request.
    #[arg(long)]
    pub access_log: bool,
}

impl TelemetryConfig {
    /// The file's section with the flags on top, checked.
    pub fn with_flags(mut self, flags: &TelemetryFlags) -> anyhow::Result<Self> {
        if let Some(addr) = flags.metrics_listen {
            self.metrics.listen = Some(addr);
        }
        if flags.no_metrics {
            self.metrics.enabled = false;
        }
        if let Some(endpoint) = &flags.otlp_endpoint {
            self.tracing.otlp_endpoint = Some(endpoint.clone());
        }
        if flags.no_trace_propagation {
            self.tracing.propagation = false;
        }
        if let Some(protocol) = flags.otlp_protocol {
            self.tracing.protocol = protocol;
        }
        if let Some(ratio) = flags.trace_sampling {
            self.tracing.sampling_ratio = ratio;
        }
        if let Some(format) = flags.log_format {
            self.logs.format = format;
        }
        self.logs.access_log |= flags.access_log;
        let ratio = self.tracing.sampling_ratio;
        anyhow::ensure!(
            (0.0..=1.0).contains(&ratio),
            "the trace sampling ratio must be between 0 and 1, not {ratio}"
        );
        anyhow::ensure!(
            self.metrics.path.starts_with('/'),
            "the metrics path must start with `/`, not `{}`",
            self.metrics.path
        );
        self.logs
            .level
            .parse::<LevelFilter>()
            .map_err(|_| anyhow::anyhow!("unknown log level `{}`", self.logs.level))?;
        Ok(self)
    }
}

/// The Prometheus recorder's handle, once installed.
static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// What keeps telemetry running; dropping it flushes and stops the span export.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    /// The runtime the span exporter runs on (dropped after the provider).
    _runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("exporting the last spans failed: {error}");
        }
    }
}

/// Installs the process's metrics recorder, trace propagation and export, and log output, as
/// `config` says. Call it once, before the gateway is built (the stitched schema registers
/// its metrics when it is built).
pub fn init(config: &TelemetryConfig) -> anyhow::Result<Telemetry> {
    if config.metrics.enabled {
        install_metrics()?;
    }
    let tracing = &config.tracing;
    let (provider, runtime) = if tracing.propagation || tracing.otlp_endpoint.is_some() {
        let (provider, runtime) = tracer_provider(tracing)?;
        (Some(provider), runtime)
    } else {
        (None, None)
    };
    let level: LevelFilter = config.logs.level.parse().unwrap_or(LevelFilter::INFO);
    // The per-request spans opened for traces stay out of the log output.
    let log_filter = Targets::new()
        .with_default(level)
        .with_target(quilt_stitch::metrics::TRACE_TARGET, LevelFilter::OFF);
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let log_layer = match config.logs.format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(ansi)
            .with_filter(log_filter)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_current_span(false)
            .with_span_list(true)
            .with_filter(log_filter)
            .boxed(),
    };
    let otel_layer = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("quilt"))
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_level(false)
            .with_tracked_inactivity(false)
            // Spans only (events stay in the log), INFO and above.
            .with_filter(filter_fn(|meta| meta.is_span()).and(LevelFilter::INFO))
    });
    tracing_subscriber::registry()
        .with(log_layer)
        .with(otel_layer)
        .try_init()
        .context("installing the log output")?;
    if provider.is_some() && tracing.propagation {
        quilt_executor::trace::install(quilt_executor::trace::Propagation {
            current: current_trace,
            adopt_parent,
        });
    }
    Ok(Telemetry {
        provider,
        _runtime: runtime,
    })
}

/// Seconds buckets of the duration histograms (OpenTelemetry's HTTP semantic conventions).
const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Buckets of the batch size histogram.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 1000.0];

/// Installs the Prometheus recorder (once per process; later calls do nothing) and its upkeep
/// thread. [`init`] calls it when metrics are on.
pub fn install_metrics() -> anyhow::Result<()> {
    if PROMETHEUS.get().is_some() {
        return Ok(());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets(DURATION_BUCKETS)?
        .set_buckets_for_metric(
            Matcher::Full("quilt_upstream_batch_size".to_owned()),
            BATCH_BUCKETS,
        )?
        .install_recorder()
        .context("installing the metrics recorder")?;
    // Histogram samples are kept until drained: drain them between scrapes too.
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("quilt-metrics".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        })
        .context("starting the metrics upkeep thread")?;
    let _ = PROMETHEUS.set(handle);
    Ok(())
}

/// The metrics in the Prometheus text format, when the recorder is installed.
pub fn render_metrics() -> Option<String> {
    PROMETHEUS.get().map(PrometheusHandle::render)
}

/// A router serving the metrics at `path`.
pub fn metrics_router(path: &str) -> Router {
    Router::new().route(path, get(metrics_response))
}

async fn metrics_response() -> axum::response::Response {
    use axum::response::IntoResponse as _;
    match render_metrics() {
        Some(text) => (
            [(
                http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        None => (http::StatusCode::NOT_FOUND, "metrics are off\n").into_response(),
    }
}

/// The server's builder with the metrics route (unless on a listener of its own), the
/// operation name labels and the access log.
pub fn apply(
    mut builder: quilt_server::GraphQLServerBuilder,
    config: &TelemetryConfig,
) -> quilt_server::GraphQLServerBuilder {
    if config.metrics.operation_names > 0 {
        builder = builder.operation_name_labels(config.metrics.operation_names);
    }
    let metrics = (config.metrics.enabled && config.metrics.listen.is_none())
        .then(|| config.metrics.path.clone());
    let access_log = config.logs.access_log;
    if metrics.is_none() && !access_log {
        return builder;
    }
    builder.map_router(move |mut router| {
        if let Some(path) = &metrics {
            router = router.merge(metrics_router(path));
        }
        if access_log {
            router = router.layer(axum::middleware::from_fn(log_access));
        }
        router
    })
}

/// Serves the metrics on their own listener (until the task is dropped), when configured.
pub async fn serve_metrics(
    config: &TelemetryConfig,
) -> anyhow::Result<Option<tokio_util::task::AbortOnDropHandle<()>>> {
    let (true, Some(addr)) = (config.metrics.enabled, config.metrics.listen) else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for metrics"))?;
    tracing::info!(addr = %listener.local_addr()?, path = %config.metrics.path, "metrics served at");
    let router = metrics_router(&config.metrics.path);
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::warn!(%error, "the metrics listener failed");
        }
    });
    Ok(Some(tokio_util::task::AbortOnDropHandle::new(task)))
}

/// One log line per HTTP request.
async fn log_access(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info!(
        target: "quilt::access",
        %method,
        path,
        status = response.status().as_u16(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        request_id,
        "request"
    );
    response
}

/// The tracer provider: exporting over OTLP when an endpoint is set (on a runtime of its own),
/// else only giving spans their ids for propagation.
fn tracer_provider(
    config: &TracingConfig,
) -> anyhow::Result<(SdkTracerProvider, Option<tokio::runtime::Runtime>)> {
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(config.service_name.clone())
        .build();
    let Some(endpoint) = &config.otlp_endpoint else {
        // Nothing is exported: a trace the gateway starts is not sampled (its spans are never
        // recorded), a client's sampled trace is followed (and dropped here).
        let provider = SdkTracerProvider::builder()
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOff)))
            .with_resource(resource)
            .build();
        return Ok((provider, None));
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("quilt-otlp")
        .enable_all()
        .build()
        .context("starting the span export runtime")?;
    let _entered = runtime.enter();
    let exporter = match config.protocol {
        OtlpProtocol::Http => {
            use opentelemetry_otlp::WithExportConfig as _;
            opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .with_endpoint(http_traces_endpoint(endpoint))
                .build()
        }
        OtlpProtocol::Grpc => {
            use opentelemetry_otlp::WithExportConfig as _;
            opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.clone())
                .build()
        }
    }
    .with_context(|| format!("the OTLP exporter for {endpoint}"))?;
    let processor =
        opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor::builder(
            exporter,
            opentelemetry_sdk::runtime::Tokio,
        )
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            config.sampling_ratio,
        ))))
        .with_resource(resource)
        .build();
    drop(_entered);
    Ok((provider, Some(runtime)))
}

/// An OTLP/HTTP endpoint: a URL without a path gets the traces path.
fn http_traces_endpoint(endpoint: &str) -> String {
    match endpoint.parse::<http::Uri>() {
        Ok(uri) if uri.path() == "/" || uri.path().is_empty() => {
            format!("{}/v1/traces", endpoint.trim_end_matches('/'))
        }
        _ => endpoint.to_owned(),
    }
}

/// Headers as the propagator's carrier.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// The injected `traceparent` and `tracestate`.
#[derive(Default)]
struct Injected {
    traceparent: Option<String>,
    tracestate: Option<String>,
}

impl Injector for Injected {
    fn set(&mut self, key: &str, value: String) {
        match key {
            "traceparent" => self.traceparent = Some(value),
            "tracestate" if !value.is_empty() => self.tracestate = Some(value),
            _ => {}
        }
    }
}

/// [`quilt_executor::trace::Propagation::adopt_parent`]: the client's trace, if it sent one.
fn adopt_parent(headers: &HeaderMap, span: &tracing::Span) {
    if !headers.contains_key(quilt_executor::trace::TRACEPARENT) {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    let _ = span.set_parent(parent);
}

/// [`quilt_executor::trace::Propagation::current`]: the current span's trace context.
fn current_trace(_: &quilt_executor::Context) -> Option<quilt_executor::TraceContext> {
    let context = tracing::Span::current().context();
    let mut injected = Injected::default();
    TraceContextPropagator::new().inject_context(&context, &mut injected);
    let traceparent = http::HeaderValue::try_from(injected.traceparent?).ok()?;
    let tracestate = injected
        .tracestate
        .and_then(|state| http::HeaderValue::try_from(state).ok());
    Some(quilt_executor::TraceContext {
        traceparent,
        tracestate,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_section_parses_with_defaults_and_flags_override_it() {
        let config: TelemetryConfig = toml::from_str(
            r#"
            [metrics]
            listen = "127.0.0.1:9464"
            operation_names = 5
            [tracing]
            otlp_endpoint = "http://collector:4317"
            protocol = "grpc"
            sampling_ratio = 0.25
            [logs]
            format = "json"
            "#,
        )
        .unwrap();
        assert!(config.metrics.enabled);
        assert_eq!(config.metrics.path, "/metrics");
        assert_eq!(config.metrics.operation_names, 5);
        assert_eq!(config.tracing.protocol, OtlpProtocol::Grpc);
        assert!(config.tracing.propagation);
        assert_eq!(config.logs.format, LogFormat::Json);
        assert!(!config.logs.access_log);
        let flags = TelemetryFlags {
            no_metrics: true,
            trace_sampling: Some(1.0),
            log_format: Some(LogFormat::Text),
            access_log: true,
            ..TelemetryFlags::default()
        };
        let config = config.with_flags(&flags).unwrap();
        assert!(!config.metrics.enabled);
        assert_eq!(config.tracing.sampling_ratio, 1.0);
        assert_eq!(config.logs.format, LogFormat::Text);
        assert!(config.logs.access_log);
        let wrong = TelemetryFlags {
            trace_sampling: Some(2.0),
            ..TelemetryFlags::default()
        };
        assert!(TelemetryConfig::default().with_flags(&wrong).is_err());
        assert!(toml::from_str::<TelemetryConfig>("[metrics]\nbogus = 1").is_err());
    }

    #[test]
    fn an_http_endpoint_without_a_path_gets_the_traces_path() {
        assert_eq!(
            http_traces_endpoint("http://c:4318"),
            "http://c:4318/v1/traces"
        );
        assert_eq!(
            http_traces_endpoint("http://c:4318/"),
            "http://c:4318/v1/traces"
        );
        assert_eq!(
            http_traces_endpoint("http://c:4318/custom"),
            "http://c:4318/custom"
        );
    }
}
