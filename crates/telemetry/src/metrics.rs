//! The process-wide Prometheus recorder and the `/metrics` endpoint.
//!
//! `metrics` has one global recorder per process, so it is installed lazily, once,
//! by whoever first needs it ([`metrics_handle`], or a server layer); the all-in-one
//! binary's services then share one registry and one `/metrics`. Code elsewhere
//! records with the `metrics` macros and never sees the exporter.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

/// Requests served by gRPC servers, labelled `service`, `method`, `code`, `instance`.
pub const GRPC_REQUESTS_TOTAL: &str = "ferric_grpc_requests_total";
/// Duration of gRPC requests (until the response ends), same labels.
pub const GRPC_REQUEST_DURATION: &str = "ferric_grpc_request_duration_seconds";
/// Requests served over HTTP, labelled `method`, `route`, `status`.
pub const HTTP_REQUESTS_TOTAL: &str = "ferric_http_requests_total";
/// Duration of HTTP requests, same labels.
pub const HTTP_REQUEST_DURATION: &str = "ferric_http_request_duration_seconds";

/// Histogram buckets for request durations: BMC calls take seconds, image pulls
/// minutes, store reads a millisecond.
const DURATION_BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// How often histogram buffers are folded in, bounding memory between scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The handle of this process's Prometheus recorder, installing it on first use.
///
/// If some other recorder was installed globally first, the handle still renders
/// (an empty registry) and a warning is logged, instead of failing a request path.
pub fn metrics_handle() -> PrometheusHandle {
    HANDLE.get_or_init(install).clone()
}

fn install() -> PrometheusHandle {
    let builder = PrometheusBuilder::new();
    let builder =
        match builder.set_buckets_for_metric(Matcher::Suffix("_duration_seconds".into()), DURATION_BUCKETS) {
            Ok(builder) => builder,
            // Only fails for empty buckets, which the constant is not.
            Err(_) => PrometheusBuilder::new(),
        };
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    if let Err(err) = metrics::set_global_recorder(recorder) {
        tracing::warn!(error = %err, "another metrics recorder is installed; /metrics will be empty");
    }
    describe();
    let upkeep = handle.clone();
    let spawned = std::thread::Builder::new().name("ferric-metrics-upkeep".into()).spawn(move || {
        loop {
            std::thread::sleep(UPKEEP_INTERVAL);
            upkeep.run_upkeep();
        }
    });
    if let Err(err) = spawned {
        tracing::warn!(error = %err, "cannot start metrics upkeep; histograms are folded in at scrape time only");
    }
    handle
}

fn describe() {
    metrics::describe_counter!(GRPC_REQUESTS_TOTAL, "gRPC requests served, by final status code.");
    metrics::describe_histogram!(GRPC_REQUEST_DURATION, metrics::Unit::Seconds, "gRPC request duration.");
    metrics::describe_counter!(HTTP_REQUESTS_TOTAL, "HTTP requests served, by status.");
    metrics::describe_histogram!(HTTP_REQUEST_DURATION, metrics::Unit::Seconds, "HTTP request duration.");
}

/// A router with `GET /metrics` in Prometheus text format, to merge into a
/// process's existing HTTP router or serve alone with [`serve_metrics`].
pub fn metrics_router() -> Router {
    Router::new().route("/metrics", get(render))
}

async fn render() -> impl IntoResponse {
    let handle = metrics_handle();
    handle.run_upkeep();
    ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render())
}

/// Serves [`metrics_router`] on `listener` until `shutdown` resolves; for
/// processes without an HTTP server of their own (`telemetry.metrics_listen`).
pub async fn serve_metrics(
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "serving /metrics");
    }
    axum::serve(listener, metrics_router()).with_graceful_shutdown(shutdown).await
}
