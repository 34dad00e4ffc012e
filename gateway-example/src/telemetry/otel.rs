//! Spans exported with OTLP: `tracing` spans become OpenTelemetry spans
//! (`tracing-opentelemetry`), and each subgraph call carries the trace context of the span it
//! is made in (its fetch span).

use anyhow::Context as _;
use http::HeaderMap;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{FilterExt as _, LevelFilter, filter_fn};
use tracing_subscriber::registry::LookupSpan;

use super::{OtlpProtocol, TracingConfig};

/// Propagation from the current OpenTelemetry span.
pub(super) const PROPAGATION: quilt_executor::trace::Propagation =
    quilt_executor::trace::Propagation {
        current: current_trace,
        adopt_parent,
        per_request: false,
    };

/// The layer turning `tracing` spans (INFO and above; events stay in the log) into
/// OpenTelemetry spans of `provider`.
pub(super) fn layer<S>(provider: &SdkTracerProvider) -> impl Layer<S> + use<S>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("quilt"))
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_level(false)
        .with_tracked_inactivity(false)
        .with_filter(filter_fn(|meta| meta.is_span()).and(LevelFilter::INFO))
}

/// The tracer provider exporting over OTLP to `endpoint` (on a runtime of its own).
pub(super) fn tracer_provider(
    config: &TracingConfig,
    endpoint: &str,
) -> anyhow::Result<(SdkTracerProvider, tokio::runtime::Runtime)> {
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(config.service_name.clone())
        .build();
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
                .with_endpoint(endpoint)
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
    Ok((provider, runtime))
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
mod tests {
    use super::*;

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
