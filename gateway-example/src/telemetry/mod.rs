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
//! Prometheus recorder (`metrics-exporter-prometheus`, in `telemetry/metrics.rs`) is installed, and the W3C
//! trace context is taken from clients and given to upstream requests through
//! [`quilt_executor::trace::install`] in one of two ways:
//!
//! - spans exported (an OTLP endpoint set): `tracing` spans become OpenTelemetry spans
//!   (`tracing-opentelemetry`, `telemetry/otel.rs`), each subgraph call's parent its fetch
//!   span;
//! - nothing exported (the default): no span data is built at all (`telemetry/w3c.rs`); the
//!   client's trace (or one the gateway starts) is kept on the request's span, and every
//!   subgraph call of the request carries it with one parent id of the gateway's. Building
//!   OpenTelemetry span data for every span of every request that nobody exports cost about
//!   12 % of a heavy answer's instructions.

use std::net::SocketAddr;

use anyhow::Context as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde::Deserialize;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

mod fields;
mod metrics;
mod otel;
mod w3c;

pub use metrics::{apply, install_metrics, metrics_router, render_metrics, serve_metrics};

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

/// The `tracing` layers `config` asks for: the log output, and the OpenTelemetry export (with
/// `provider`) or the W3C propagation without export.
///
/// Only the layers in use are listed: an absent layer given as `None` (an `Option` layer)
/// counts as a layer interested in every span, so every span of every request (fetch, plan,
/// parse, HTTP client) was created, entered and closed for nothing: about 5 % of a heavy
/// answer's CPU in a profile.
fn layers(
    config: &TelemetryConfig,
    provider: Option<&SdkTracerProvider>,
) -> Vec<Box<dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync>> {
    let level: LevelFilter = config.logs.level.parse().unwrap_or(LevelFilter::INFO);
    // The per-request spans opened for traces stay out of the log output.
    let log_filter = Targets::new()
        .with_default(level)
        .with_target(quilt_stitch::metrics::TRACE_TARGET, LevelFilter::OFF);
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut layers = vec![match config.logs.format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .fmt_fields(fields::QuickFields)
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
    }];
    match provider {
        Some(provider) => layers.push(otel::layer(provider).boxed()),
        None if config.tracing.propagation => layers.push(w3c::layer().boxed()),
        None => {}
    }
    layers
}

/// Installs the process's metrics recorder, trace propagation and export, and log output, as
/// `config` says. Call it once, before the gateway is built (the stitched schema registers
/// its metrics when it is built).
pub fn init(config: &TelemetryConfig) -> anyhow::Result<Telemetry> {
    if config.metrics.enabled {
        install_metrics()?;
    }
    let tracing = &config.tracing;
    let (provider, runtime) = match &tracing.otlp_endpoint {
        Some(endpoint) => {
            let (provider, runtime) = otel::tracer_provider(tracing, endpoint)?;
            (Some(provider), Some(runtime))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(layers(config, provider.as_ref()))
        .try_init()
        .context("installing the log output")?;
    if tracing.propagation {
        quilt_executor::trace::install(if provider.is_some() {
            otel::PROPAGATION
        } else {
            w3c::PROPAGATION
        });
    }
    Ok(Telemetry {
        provider,
        _runtime: runtime,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Held by every test of this crate that installs a scoped subscriber. Whether a callsite
    /// is enabled is cached for the whole process from every subscriber alive when it is
    /// computed, so a test running beside another one's subscriber could see that one's
    /// decision (a `graphql.request` span created where no layer of the test wanted it).
    pub(in crate::telemetry) static SCOPED_SUBSCRIBER: std::sync::Mutex<()> =
        std::sync::Mutex::new(());

    /// Whether spans of the gateway's callsites are created under the layers `config` asks
    /// for (without exporting): the per-request root span, a fetch span of the trace target,
    /// the server's execute span.
    fn created(config: &TelemetryConfig) -> [bool; 3] {
        let subscriber = tracing_subscriber::registry().with(layers(config, None));
        tracing::subscriber::with_default(subscriber, || {
            // The cache still holds the decisions of the subscriber before this one.
            tracing::callsite::rebuild_interest_cache();
            [
                !tracing::info_span!("graphql.request").is_disabled(),
                !tracing::info_span!(target: quilt_stitch::metrics::TRACE_TARGET, "quilt.fetch")
                    .is_disabled(),
                !tracing::info_span!("graphql.execute").is_disabled(),
            ]
        })
    }

    #[test]
    fn spans_no_layer_records_are_not_created() {
        let _alone = SCOPED_SUBSCRIBER
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // The defaults (propagation, INFO logs): the trace target's spans are nobody's.
        assert_eq!(created(&TelemetryConfig::default()), [true, false, true]);
        let mut quiet = TelemetryConfig::default();
        quiet.logs.level = "warn".into();
        assert_eq!(created(&quiet), [true, false, false]);
        quiet.tracing.propagation = false;
        assert_eq!(created(&quiet), [false, false, false]);
    }

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
}
