//! The Prometheus recorder and the metrics endpoint (on the gateway's listener or one of its
//! own), and the optional access log.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::TelemetryConfig;

/// The Prometheus recorder's handle, once installed.
static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// Seconds buckets of the duration histograms (OpenTelemetry's HTTP semantic conventions).
const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Buckets of the batch size histogram.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 1000.0];

/// Installs the Prometheus recorder (once per process; later calls do nothing) and its upkeep
/// thread. [`init`](super::init) calls it when metrics are on.
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
