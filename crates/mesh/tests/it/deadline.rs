//! Deadlines propagate: a handler knows its caller's deadline, and calls made
//! under it never outlive it.

use std::time::Duration;

use ferric_mesh::{ClientOptions, ServiceClient, deadline};
use ferric_proto::v1::power_service_client::PowerServiceClient;
use ferric_proto::v1::{GetPowerStateRequest, ValidateRequest};
use tonic::Code;

use crate::common::Instance;

fn client(instance: &Instance) -> ServiceClient {
    ServiceClient::static_endpoints(&[instance.addr.to_string()], ClientOptions::default()).expect("endpoint")
}

/// The deadline (ms) the test server's handler saw for a Validate call.
async fn seen_by_handler(client: ServiceClient, timeout: Option<Duration>) -> Option<u64> {
    let mut request = tonic::Request::new(ValidateRequest::default());
    if let Some(timeout) = timeout {
        request.set_timeout(timeout);
    }
    let response = PowerServiceClient::new(client).validate(request).await.ok()?;
    response.into_inner().management?.reason.parse().ok()
}

#[tokio::test]
async fn handlers_see_the_callers_deadline() {
    let instance = Instance::start("power-deadline", None).await;
    let explicit = seen_by_handler(client(&instance), Some(Duration::from_millis(1500))).await;
    assert!(explicit.is_some_and(|ms| ms > 0 && ms <= 1500), "{explicit:?}");
    // Without one of its own, a call carries the client's default (30s).
    let default = seen_by_handler(client(&instance), None).await;
    assert!(default.is_some_and(|ms| ms > 1500 && ms <= 30_000), "{default:?}");
}

#[tokio::test]
async fn calls_made_under_a_deadline_are_capped_by_it() {
    let instance = Instance::start("power-capped", None).await;
    let client = client(&instance);

    // The served request has 150ms left; the client's own default is 30s.
    let started = tokio::time::Instant::now();
    let budget = Some(started + Duration::from_millis(150));
    let status = deadline::scope(budget, async {
        PowerServiceClient::new(client.clone()).get_power_state(GetPowerStateRequest::default()).await
    })
    .await
    .err();
    assert_eq!(status.map(|s| s.code()), Some(Code::DeadlineExceeded));
    assert!(started.elapsed() < Duration::from_secs(2), "not capped: {:?}", started.elapsed());

    // The server is told the capped deadline too.
    let seen = deadline::scope(Some(tokio::time::Instant::now() + Duration::from_secs(2)), async {
        seen_by_handler(client.clone(), None).await
    })
    .await;
    assert!(seen.is_some_and(|ms| ms <= 2000), "{seen:?}");

    // A request already past its deadline makes no call at all.
    let expired = deadline::scope(Some(tokio::time::Instant::now()), async {
        PowerServiceClient::new(client.clone()).validate(ValidateRequest::default()).await
    })
    .await
    .err();
    assert_eq!(expired.map(|s| s.code()), Some(Code::DeadlineExceeded));
}
