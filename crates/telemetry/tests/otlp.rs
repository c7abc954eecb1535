//! OTLP export end to end: spans reach a collector, with no Tokio runtime needed
//! at `init` (the binary initialises telemetry before building its runtime), and
//! dropping the guard flushes them.
//!
//! A binary of its own: `init` installs process-wide state.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferric_telemetry::TelemetryConfig;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;

/// A collector that keeps what it is sent.
#[derive(Clone, Default)]
struct Collector {
    received: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        if let Ok(mut received) = self.received.lock() {
            received.push(request.into_inner());
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

/// (span name, service.name of its resource) for everything received.
fn spans(collector: &Collector) -> Vec<(String, String)> {
    let received = collector.received.lock().map(|r| r.clone()).unwrap_or_default();
    let mut out = Vec::new();
    for request in received {
        for resource_spans in request.resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|r| r.attributes.iter())
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref()?.value.clone())
                .map(|v| match v {
                    Value::StringValue(s) => s,
                    other => format!("{other:?}"),
                })
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                out.extend(scope.spans.into_iter().map(|s| (s.name, service.clone())));
            }
        }
    }
    out
}

#[test]
fn spans_reach_the_collector_and_are_flushed_on_drop() {
    // The collector runs on a runtime of its own, as a separate process would.
    let collector_runtime = tokio::runtime::Runtime::new().expect("collector runtime");
    let collector = Collector::default();
    let addr = collector_runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let service = TraceServiceServer::new(collector.clone());
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        addr
    });

    // No runtime on this thread: init must cope.
    let guard = ferric_telemetry::init(TelemetryConfig {
        service_name: "ferric-otlp-test".into(),
        otlp_endpoint: Some(format!("http://{addr}")),
        ..TelemetryConfig::default()
    })
    .expect("init");
    assert!(guard.is_primary());
    tracing::info_span!("exported-span").in_scope(|| tracing::info!("inside"));
    // A DEBUG span is below the OpenTelemetry layer's level and never exported.
    tracing::debug_span!("quiet-span").in_scope(|| {});

    let started = std::time::Instant::now();
    drop(guard);
    assert!(started.elapsed() < Duration::from_secs(10), "flush took {:?}", started.elapsed());

    let received = spans(&collector);
    assert!(received.contains(&("exported-span".to_owned(), "ferric-otlp-test".to_owned())), "{received:?}");
    assert!(!received.iter().any(|(name, _)| name == "quiet-span"), "{received:?}");
}
