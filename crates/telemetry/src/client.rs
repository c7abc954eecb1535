//! The client half of trace propagation: outgoing calls carry the current span's
//! context, so the server's request span joins the caller's trace.
//!
//! Two forms, for the two ways tonic clients are built: an interceptor function
//! for `FooClient::with_interceptor`, and a tower layer for stacks over a
//! `Channel` (what `ferric-mesh` uses).

use std::task::{Context, Poll};

use tower::{Layer, Service};

use crate::propagation;

/// A tonic interceptor that writes the current span's `traceparent` into the
/// request metadata: `PowerServiceClient::with_interceptor(channel, inject_trace_interceptor)`.
pub fn inject_trace_interceptor(
    mut request: tonic::Request<()>,
) -> Result<tonic::Request<()>, tonic::Status> {
    propagation::inject_metadata(&propagation::current_context(), request.metadata_mut());
    Ok(request)
}

/// Wraps a client service so every HTTP request it sends carries the current
/// span's context.
#[derive(Debug, Clone, Copy, Default)]
pub struct InjectTraceLayer;

impl<S> Layer<S> for InjectTraceLayer {
    type Service = InjectTrace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        InjectTrace { inner }
    }
}

/// The service made by [`InjectTraceLayer`].
#[derive(Debug, Clone)]
pub struct InjectTrace<S> {
    inner: S,
}

impl<S> InjectTrace<S> {
    /// Wraps `inner` directly, without building a layer first.
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

impl<S, B> Service<http::Request<B>> for InjectTrace<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // `call` runs inside the caller's span (generated clients call it from the
        // RPC method's future), so the current span is the right parent.
        propagation::inject_headers(&propagation::current_context(), request.headers_mut());
        self.inner.call(request)
    }
}
