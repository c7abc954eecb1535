//! W3C trace context (`traceparent`, `tracestate`) in and out of gRPC metadata and
//! HTTP headers.
//!
//! The propagator is fixed to W3C TraceContext rather than read from OpenTelemetry's
//! global, so propagation works the same whether or not [`crate::init`] ran and
//! every Ferric process agrees on the header format.

use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tonic::metadata::{KeyRef, MetadataKey, MetadataMap, MetadataValue};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Writes `cx`'s span context into gRPC request metadata.
pub fn inject_metadata(cx: &Context, metadata: &mut MetadataMap) {
    TraceContextPropagator::new().inject_context(cx, &mut MetadataCarrier(metadata));
}

/// Reads a caller's span context from gRPC request metadata; an empty context
/// when there is none or it is malformed.
pub fn extract_metadata(metadata: &MetadataMap) -> Context {
    TraceContextPropagator::new().extract(&MetadataReader(metadata))
}

/// Writes `cx`'s span context into HTTP headers.
pub fn inject_headers(cx: &Context, headers: &mut HeaderMap) {
    TraceContextPropagator::new().inject_context(cx, &mut HeaderCarrier(headers));
}

/// Reads a caller's span context from HTTP headers (gRPC requests included, whose
/// metadata are HTTP/2 headers).
pub fn extract_headers(headers: &HeaderMap) -> Context {
    TraceContextPropagator::new().extract(&HeaderReader(headers))
}

/// The OpenTelemetry context of the current `tracing` span: what an outgoing call
/// should carry.
pub fn current_context() -> Context {
    tracing::Span::current().context()
}

/// The current span's trace id as 32 hex digits, or `None` outside any traced span
/// (e.g. before [`crate::init`]); for logs, error bodies and tests.
pub fn current_trace_id() -> Option<String> {
    trace_id(&current_context())
}

/// The trace id of `cx`, or `None` when it holds no valid span.
pub fn trace_id(cx: &Context) -> Option<String> {
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| sc.trace_id().to_string())
}

struct MetadataCarrier<'a>(&'a mut MetadataMap);

impl Injector for MetadataCarrier<'_> {
    fn set(&mut self, key: &str, value: String) {
        // Propagator keys and W3C values are ASCII; anything else is dropped rather
        // than failing the call.
        if let (Ok(key), Ok(value)) =
            (MetadataKey::from_bytes(key.as_bytes()), MetadataValue::try_from(value))
        {
            self.0.insert(key, value);
        }
    }
}

struct MetadataReader<'a>(&'a MetadataMap);

impl Extractor for MetadataReader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .filter_map(|k| match k {
                KeyRef::Ascii(k) => Some(k.as_str()),
                KeyRef::Binary(_) => None,
            })
            .collect()
    }
}

struct HeaderCarrier<'a>(&'a mut HeaderMap);

impl Injector for HeaderCarrier<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (HeaderName::from_bytes(key.as_bytes()), HeaderValue::from_str(&value))
        {
            self.0.insert(key, value);
        }
    }
}

struct HeaderReader<'a>(&'a HeaderMap);

impl Extractor for HeaderReader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

    fn remote_context() -> Context {
        let sc = SpanContext::new(
            TraceId::from(0x0af7651916cd43dd8448eb211c80319c_u128),
            SpanId::from(0xb7ad6b7169203331_u64),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        Context::new().with_remote_span_context(sc)
    }

    const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[test]
    fn metadata_round_trip() {
        let mut md = MetadataMap::new();
        inject_metadata(&remote_context(), &mut md);
        assert_eq!(md.get("traceparent").and_then(|v| v.to_str().ok()), Some(TRACEPARENT));
        assert_eq!(trace_id(&extract_metadata(&md)).as_deref(), Some("0af7651916cd43dd8448eb211c80319c"));
    }

    #[test]
    fn header_round_trip() {
        let mut headers = HeaderMap::new();
        inject_headers(&remote_context(), &mut headers);
        assert_eq!(headers.get("traceparent").and_then(|v| v.to_str().ok()), Some(TRACEPARENT));
        assert_eq!(trace_id(&extract_headers(&headers)).as_deref(), Some("0af7651916cd43dd8448eb211c80319c"));
    }

    #[test]
    fn missing_or_malformed_context_is_empty() {
        assert_eq!(trace_id(&extract_headers(&HeaderMap::new())), None);
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", HeaderValue::from_static("00-zz-yy-01"));
        assert_eq!(trace_id(&extract_headers(&headers)), None);
    }

    #[test]
    fn empty_context_injects_nothing() {
        let mut headers = HeaderMap::new();
        inject_headers(&Context::new(), &mut headers);
        assert!(headers.is_empty());
    }
}
