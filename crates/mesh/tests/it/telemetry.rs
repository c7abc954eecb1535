//! Trace context crosses a mesh call, and the server's request metrics see it.

use ferric_mesh::{ClientOptions, ServiceClient};
use ferric_proto::v1::ValidateRequest;
use ferric_proto::v1::power_service_client::PowerServiceClient;
use ferric_telemetry::TelemetryConfig;
use ferric_telemetry::propagation::current_trace_id;
use tracing::Instrument as _;

use crate::common::Instance;

#[tokio::test]
async fn server_span_continues_the_callers_trace() {
    let guard =
        ferric_telemetry::init(TelemetryConfig { service_name: "mesh-test".into(), ..Default::default() });
    assert!(guard.is_ok());
    let instance = Instance::start("power-trace", None).await;
    let client = ServiceClient::static_endpoints(&[instance.addr.to_string()], ClientOptions::default())
        .expect("endpoint");

    let (caller_trace, server_trace) = async {
        let caller = current_trace_id();
        let response = PowerServiceClient::new(client).validate(ValidateRequest::default()).await;
        let server = response.ok().and_then(|r| r.into_inner().power).map(|p| p.reason);
        (caller, server)
    }
    .instrument(tracing::info_span!("caller"))
    .await;
    assert!(caller_trace.is_some(), "caller span has no trace id");
    assert_eq!(server_trace, caller_trace);

    let metrics = ferric_telemetry::metrics_handle().render();
    let line = metrics.lines().find(|l| {
        l.starts_with("ferric_grpc_requests_total")
            && l.contains("method=\"Validate\"")
            && l.contains("code=\"OK\"")
            && l.contains("instance=\"power-trace\"")
    });
    assert!(line.is_some(), "{metrics}");
}
