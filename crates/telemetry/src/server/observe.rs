//! Watching a response to its end: the response future and body wrappers that
//! record the final status once, on the span and in the metrics.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use tonic::Code;
use tracing::Span;

use crate::metrics::{
    GRPC_REQUEST_DURATION, GRPC_REQUESTS_TOTAL, HTTP_REQUEST_DURATION, HTTP_REQUESTS_TOTAL,
};

/// Metric labels of one request, filled in as the response reveals them.
#[derive(Debug)]
pub(super) enum Labels {
    Grpc {
        service: String,
        method: String,
        instance: Arc<str>,
        /// From the response headers, for trailers-only (error) responses.
        code: Option<Code>,
    },
    Http {
        method: String,
        route: String,
        status: u16,
    },
}

/// How a response ended, which decides its gRPC code when no status was seen.
#[derive(Debug, Clone, Copy)]
enum End {
    /// Trailers arrived, with this `grpc-status` if any.
    Trailers(Option<Code>),
    /// The body finished without trailers.
    Eos,
    /// The body failed mid-stream.
    Error,
    /// The body was dropped before it ended: the client went away.
    Dropped,
}

/// Records a request's outcome exactly once: when the body ends, or when it is
/// dropped, whichever comes first.
#[derive(Debug)]
pub(super) struct Completion {
    span: Span,
    start: Instant,
    labels: Labels,
    finished: bool,
}

impl Completion {
    pub(super) fn new(span: Span, start: Instant, labels: Labels) -> Self {
        Self { span, start, labels, finished: false }
    }

    fn on_response<B>(&mut self, response: &http::Response<B>) {
        match &mut self.labels {
            Labels::Grpc { code, .. } => *code = grpc_status(response.headers()),
            Labels::Http { status, .. } => *status = response.status().as_u16(),
        }
    }

    fn finish(&mut self, end: End) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let seconds = self.start.elapsed().as_secs_f64();
        match &self.labels {
            Labels::Grpc { service, method, instance, code } => {
                let code = match end {
                    End::Trailers(Some(trailer)) => trailer,
                    // A trailers-only response carried its status in the headers.
                    End::Trailers(None) | End::Eos => code.unwrap_or(Code::Unknown),
                    End::Error => code.unwrap_or(Code::Unknown),
                    End::Dropped => code.unwrap_or(Code::Cancelled),
                };
                let name = code_name(code);
                self.span.record("rpc.grpc.status_code", code as i32);
                if code != Code::Ok {
                    self.span.record("otel.status_code", "ERROR");
                }
                let labels = [
                    ("service", service.clone()),
                    ("method", method.clone()),
                    ("code", name.to_owned()),
                    ("instance", instance.to_string()),
                ];
                metrics::counter!(GRPC_REQUESTS_TOTAL, &labels).increment(1);
                metrics::histogram!(GRPC_REQUEST_DURATION, &labels).record(seconds);
                tracing::debug!(parent: &self.span, code = name, seconds, "grpc request finished");
            }
            Labels::Http { method, route, status } => {
                self.span.record("http.response.status_code", *status);
                if *status >= 500 {
                    self.span.record("otel.status_code", "ERROR");
                }
                let labels =
                    [("method", method.clone()), ("route", route.clone()), ("status", status.to_string())];
                metrics::counter!(HTTP_REQUESTS_TOTAL, &labels).increment(1);
                metrics::histogram!(HTTP_REQUEST_DURATION, &labels).record(seconds);
                tracing::debug!(parent: &self.span, status, seconds, "http request finished");
            }
        }
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        self.finish(End::Dropped);
    }
}

pin_project_lite::pin_project! {
    /// Response future of [`super::ServerTrace`]: polls the inner service inside the
    /// request span and hands the outcome tracking on to the body.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        span: Span,
        completion: Option<Completion>,
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(inner: F, completion: Completion) -> Self {
        Self { inner, span: completion.span.clone(), completion: Some(completion) }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<ObservedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let result = ready!(this.inner.poll(cx));
        let mut completion = this.completion.take();
        Poll::Ready(match result {
            Ok(response) => {
                if let Some(c) = completion.as_mut() {
                    c.on_response(&response);
                }
                Ok(response.map(|inner| ObservedBody { inner, completion }))
            }
            Err(err) => {
                if let Some(c) = completion.as_mut() {
                    c.finish(End::Error);
                }
                Err(err)
            }
        })
    }
}

pin_project_lite::pin_project! {
    /// Response body of [`super::ServerTrace`]: passes frames through and records
    /// the request's outcome when the body ends.
    pub struct ObservedBody<B> {
        #[pin]
        inner: B,
        completion: Option<Completion>,
    }
}

impl<B: Body> Body for ObservedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        let end = match &frame {
            Some(Ok(frame)) => frame.trailers_ref().map(|t| End::Trailers(grpc_status(t))),
            Some(Err(_)) => Some(End::Error),
            None => Some(End::Eos),
        };
        if let Some(end) = end
            && let Some(mut completion) = this.completion.take()
        {
            completion.finish(end);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The `grpc-status` in `headers`, if present and valid.
fn grpc_status(headers: &HeaderMap) -> Option<Code> {
    let value = headers.get("grpc-status")?.to_str().ok()?.parse::<i32>().ok()?;
    Some(Code::from_i32(value))
}

/// The canonical upper-case name of a gRPC code, as other gRPC stacks label it.
pub(crate) fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
