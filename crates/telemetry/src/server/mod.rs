//! The server-side request layer shared by every gRPC server and the REST gateway.
//!
//! For each request it (1) reads the caller's `traceparent` and opens a span
//! parented on it, so the trace continues across the hop; (2) runs the inner
//! service inside that span, so handler logs and outgoing calls belong to it; and
//! (3) when the response body ends, records the final status on the span and in the
//! request counter and duration histogram. Step 3 waits for the body because a gRPC
//! status usually arrives in the trailers, after a streamed body.
//!
//! It sits outermost in a server's stack so that it also times and counts what
//! inner layers reject.

mod observe;

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use tower::{Layer, Service};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use observe::{Completion, Labels};
pub use observe::{ObservedBody, ResponseFuture};

use crate::propagation;

/// Which protocol a [`ServerTraceLayer`] observes; decides span names and metrics.
#[derive(Debug, Clone)]
enum Protocol {
    /// Labels `service`, `method` from the path; `code` from `grpc-status`.
    Grpc { instance: Arc<str> },
    /// Labels `method`, `route` (axum's matched route, never the raw path, to keep
    /// label cardinality bounded) and `status`.
    Http,
}

/// Tower layer for a tonic server or an axum router: one span and one metrics
/// sample per request. Build it with [`grpc_layer`] or [`http_layer`].
#[derive(Debug, Clone)]
pub struct ServerTraceLayer {
    protocol: Protocol,
}

/// The layer for a tonic server; `instance` labels its metrics so instances of one
/// service can be told apart in one Prometheus.
pub fn grpc_layer(instance: impl Into<String>) -> ServerTraceLayer {
    // Install the recorder now, or the first requests' samples would go nowhere.
    let _ = crate::metrics::metrics_handle();
    ServerTraceLayer { protocol: Protocol::Grpc { instance: Arc::from(instance.into()) } }
}

/// The layer for an axum router; add it with `Router::layer` so the matched route
/// is known when it runs.
pub fn http_layer() -> ServerTraceLayer {
    let _ = crate::metrics::metrics_handle();
    ServerTraceLayer { protocol: Protocol::Http }
}

impl<S> Layer<S> for ServerTraceLayer {
    type Service = ServerTrace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ServerTrace { inner, protocol: self.protocol.clone() }
    }
}

/// The service made by [`ServerTraceLayer`].
#[derive(Debug, Clone)]
pub struct ServerTrace<S> {
    inner: S,
    protocol: Protocol,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for ServerTrace<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<ObservedBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let start = Instant::now();
        let (span, labels) = match &self.protocol {
            Protocol::Grpc { instance } => grpc_span(&request, instance.clone()),
            Protocol::Http => http_span(&request),
        };
        // Fails only when no OpenTelemetry layer is installed (no init) or the span
        // is filtered out; the request is served either way.
        let _ = span.set_parent(propagation::extract_headers(request.headers()));
        let inner = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        ResponseFuture::new(inner, Completion::new(span, start, labels))
    }
}

/// Services whose requests are probes or tooling: their spans are DEBUG so that
/// health checks every few seconds do not flood logs or trace storage.
const QUIET_SERVICES: &[&str] = &["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"];

fn grpc_span<B>(request: &http::Request<B>, instance: Arc<str>) -> (Span, Labels) {
    let path = request.uri().path();
    let (service, method) = path.trim_start_matches('/').split_once('/').unwrap_or((path, ""));
    let quiet = QUIET_SERVICES.contains(&service) || service.starts_with("grpc.reflection.");
    let span = if quiet {
        tracing::debug_span!(
            "grpc.server",
            otel.name = %path,
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        )
    } else {
        tracing::info_span!(
            "grpc.server",
            otel.name = %path,
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        )
    };
    let labels =
        Labels::Grpc { service: service.to_owned(), method: method.to_owned(), instance, code: None };
    (span, labels)
}

fn http_span<B>(request: &http::Request<B>) -> (Span, Labels) {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let span = tracing::info_span!(
        "http.server",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        url.path = %request.uri().path(),
        http.response.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    (span, Labels::Http { method, route, status: 0 })
}
