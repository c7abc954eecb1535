//! Process-wide telemetry set-up: the `tracing` subscriber and the OpenTelemetry
//! tracer it feeds.
//!
//! Two per-layer filters, on purpose: the log filter (`log_filter`, `RUST_LOG`)
//! decides what is printed, while the OpenTelemetry layer always sees INFO spans.
//! A span that no layer wants is never created, and a span that does not exist
//! cannot carry a trace context on to the next service; so turning logs down to
//! `warn` must not break trace propagation.
//!
//! The tracer provider exists even without an OTLP endpoint: it mints trace and
//! span ids (so `traceparent` is still propagated and can be logged) and simply has
//! no exporter.

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One readable line per event, for terminals.
    #[default]
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// What [`init`] needs; the binary fills it from `[telemetry]` in the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryConfig {
    /// `service.name` of exported spans, e.g. `ferric-power`.
    pub service_name: String,
    /// Human or JSON log lines.
    pub log_format: LogFormat,
    /// A `tracing` filter such as `info,ferric_store=debug`; `RUST_LOG`, when set,
    /// wins, so an operator can turn up logging without editing the config.
    pub log_filter: String,
    /// OTLP/gRPC collector URL (`http://127.0.0.1:4317`); spans are exported only
    /// when set.
    pub otlp_endpoint: Option<String>,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            service_name: "ferric".into(),
            log_format: LogFormat::Human,
            log_filter: "info".into(),
            otlp_endpoint: None,
        }
    }
}

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The log filter (from the config or `RUST_LOG`) does not parse.
    #[error("invalid log filter from {origin}: {filter:?}")]
    Filter {
        /// `"config"` or `"RUST_LOG"`: where to fix it.
        origin: &'static str,
        /// The text that failed to parse.
        filter: String,
        /// The parser's complaint.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// The OTLP exporter could not be built (e.g. a malformed endpoint URL).
    #[error("cannot set up the OTLP exporter for {endpoint}")]
    Otlp {
        /// The configured endpoint.
        endpoint: String,
        /// The exporter builder's error.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// The exporter's runtime thread could not be started.
    #[error("cannot start the OTLP exporter's runtime")]
    ExportRuntime(#[source] std::io::Error),
}

/// Keeps the tracer provider alive; dropping it flushes buffered spans and shuts
/// the exporter down, so the last spans of a process are not lost at exit.
#[must_use = "dropping the guard shuts tracing export down"]
#[derive(Debug)]
pub struct TelemetryGuard {
    /// `None` for the guard of a repeated [`init`] call, which owns nothing.
    provider: Option<SdkTracerProvider>,
    /// The exporter's runtime, when exporting; stopped after the final flush.
    export_runtime: Option<ExportRuntime>,
}

impl TelemetryGuard {
    /// Whether this guard owns the process's tracer (false after a repeated
    /// [`init`]); lets tests and the all-in-one binary tell which call won.
    pub fn is_primary(&self) -> bool {
        self.provider.is_some()
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            // Errors here mean spans were lost at exit; nothing better to do than say so.
            if let Err(err) = provider.shutdown() {
                eprintln!("ferric-telemetry: tracer shutdown failed: {err}");
            }
        }
        // Only after the final flush, which needs it.
        drop(self.export_runtime.take());
    }
}

/// A one-thread Tokio runtime that only the OTLP exporter uses.
///
/// The tonic exporter needs a runtime for its connection. Giving it its own means
/// [`init`] works before the application builds its runtime (as `main` does), span
/// export is never starved by application load, and the flush on drop cannot
/// deadlock a runtime that is itself shutting down.
#[derive(Debug)]
struct ExportRuntime {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ExportRuntime {
    fn start() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name("ferric-otlp-export".into()).spawn(move || {
            // Either a stop message or the guard's sender being dropped ends it.
            let _ = runtime.block_on(stopped);
        })?;
        Ok(Self { handle, stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for ExportRuntime {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Set once the global subscriber is installed, so later calls return early.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Installs logging and tracing for this process.
///
/// Safe to call more than once: only the first call installs anything, later
/// calls (and calls after another crate installed a global subscriber) return a
/// guard that owns nothing. It needs no Tokio runtime: the exporter brings its own.
pub fn init(config: TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    if INSTALLED.load(Ordering::Acquire) {
        return Ok(TelemetryGuard { provider: None, export_runtime: None });
    }
    let filter = log_filter(&config.log_filter)?;
    let (provider, export_runtime) = tracer_provider(&config)?;
    let tracer = provider.tracer("ferric");

    let otel = tracing_opentelemetry::layer().with_tracer(tracer).with_filter(LevelFilter::INFO);
    let fmt = match config.log_format {
        LogFormat::Human => tracing_subscriber::fmt::layer().with_writer(std::io::stderr).boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
    }
    .with_filter(filter);

    if tracing_subscriber::registry().with(otel).with(fmt).try_init().is_err() {
        // Someone else (a test harness, another init racing this one) owns the
        // global subscriber; ours would never see a span, so drop it quietly.
        let _ = provider.shutdown();
        return Ok(TelemetryGuard { provider: None, export_runtime });
    }
    INSTALLED.store(true, Ordering::Release);
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    opentelemetry::global::set_tracer_provider(provider.clone());
    Ok(TelemetryGuard { provider: Some(provider), export_runtime })
}

/// `RUST_LOG` when set and non-empty, else the configured filter.
fn log_filter(configured: &str) -> Result<EnvFilter, TelemetryError> {
    let (origin, text) = match std::env::var("RUST_LOG") {
        Ok(env) if !env.trim().is_empty() => ("RUST_LOG", env),
        _ => ("config", configured.to_owned()),
    };
    EnvFilter::builder().parse(&text).map_err(|source| TelemetryError::Filter {
        origin,
        filter: text,
        source,
    })
}

/// A provider that always mints ids, and exports in batches when an endpoint is
/// set (with the runtime the exporter runs on).
fn tracer_provider(
    config: &TelemetryConfig,
) -> Result<(SdkTracerProvider, Option<ExportRuntime>), TelemetryError> {
    let resource = Resource::builder().with_service_name(config.service_name.clone()).build();
    let builder = SdkTracerProvider::builder().with_resource(resource);
    let Some(endpoint) = &config.otlp_endpoint else {
        return Ok((builder.build(), None));
    };
    let runtime = ExportRuntime::start().map_err(TelemetryError::ExportRuntime)?;
    // The exporter's lazy channel spawns its connection task on the current runtime.
    let exporter = {
        let _entered = runtime.handle.enter();
        opentelemetry_otlp::SpanExporter::builder().with_tonic().with_endpoint(endpoint.clone()).build()
    }
    .map_err(|source| TelemetryError::Otlp { endpoint: endpoint.clone(), source })?;
    Ok((builder.with_batch_exporter(exporter).build(), Some(runtime)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The binary propagates the error with `?` into `anyhow`, which needs these.
    #[test]
    fn error_is_thread_safe_and_static() {
        fn assert_error<E: std::error::Error + Send + Sync + 'static>() {}
        assert_error::<TelemetryError>();
    }

    #[test]
    fn bad_filter_is_an_error_not_a_panic() {
        // RUST_LOG is not set by cargo test; if a developer sets it, it is used instead.
        if std::env::var_os("RUST_LOG").is_some() {
            return;
        }
        let err = log_filter("info,=[").err();
        assert!(matches!(err, Some(TelemetryError::Filter { origin: "config", .. })), "{err:?}");
    }
}
