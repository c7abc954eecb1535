//! Logs, traces and metrics, set up the same way in every Ferric process.
//!
//! A process calls [`init`] once at start-up (a second call is harmless, so the
//! all-in-one binary and tests can call it per service) and keeps the returned
//! [`TelemetryGuard`] alive until exit, so buffered spans are flushed.
//!
//! Layout:
//! - [`init`](mod@init): the `tracing` subscriber (human or JSON logs, `EnvFilter`)
//!   and the OpenTelemetry tracer behind it (OTLP export when configured).
//! - [`propagation`]: W3C `traceparent` in and out of gRPC metadata and HTTP
//!   headers, so one trace follows a request across services.
//! - [`server`]: the tower layer every gRPC server and the REST gateway put first:
//!   a span per request, parented on the caller's trace, plus request metrics.
//! - [`client`]: the client-side half: inject the current span's context into
//!   outgoing calls.
//! - [`metrics`](mod@metrics): the process-wide Prometheus recorder and `/metrics`.
//!
//! Architecture invariant: no other crate talks to OpenTelemetry or the Prometheus
//! exporter directly; they use `tracing` spans and the `metrics` macros.

#![warn(missing_docs)]

pub mod client;
pub mod init;
pub mod metrics;
pub mod propagation;
pub mod server;

pub use client::{InjectTrace, InjectTraceLayer, inject_trace_interceptor};
pub use init::{LogFormat, TelemetryConfig, TelemetryError, TelemetryGuard, init};
pub use metrics::{metrics_handle, metrics_router, serve_metrics};
pub use server::{ServerTraceLayer, grpc_layer, http_layer};
