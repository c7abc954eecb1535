//! The standard services every mesh server carries: health and reflection, and
//! health turning NOT_SERVING on shutdown.

use ferric_mesh::{ClientOptions, ServiceClient};
use futures::StreamExt as _;
use tonic::Request;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::Health as _;
use tonic_health::server::HealthService;

use crate::common::Instance;

fn client(instance: &Instance) -> ServiceClient {
    ServiceClient::static_endpoints(&[instance.addr.to_string()], ClientOptions::default()).expect("endpoint")
}

async fn status(health: &mut HealthClient<ServiceClient>, service: &str) -> Option<ServingStatus> {
    let request = HealthCheckRequest { service: service.to_owned() };
    let response = health.check(request).await.ok()?;
    ServingStatus::try_from(response.into_inner().status).ok()
}

#[tokio::test]
async fn health_is_serving_then_not_serving_after_shutdown() {
    let mut instance = Instance::start("power-health", None).await;
    let mut health = HealthClient::new(client(&instance));
    assert_eq!(status(&mut health, "").await, Some(ServingStatus::Serving));
    assert_eq!(status(&mut health, "ferric.v1.PowerService").await, Some(ServingStatus::Serving));

    let reporter = instance.health.clone();
    let ended = instance.stop().await;
    assert!(ended.is_some_and(|r| r.is_ok()), "server did not stop cleanly");

    // The server is gone, so ask its health state directly.
    let service = HealthService::from_health_reporter(reporter);
    for name in ["", "ferric.v1.PowerService"] {
        let response = service.check(Request::new(HealthCheckRequest { service: name.into() })).await;
        let status = response.ok().map(|r| r.into_inner().status);
        assert_eq!(status, Some(ServingStatus::NotServing as i32), "{name:?}");
    }
}

#[tokio::test]
async fn reflection_lists_ferric_services_v1_and_v1alpha() {
    let instance = Instance::start("power-reflection", None).await;

    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut reflection = ServerReflectionClient::new(client(&instance));
    let mut responses = reflection
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .expect("v1 reflection")
        .into_inner();
    let names: Vec<String> = match responses.next().await {
        Some(Ok(response)) => match response.message_response {
            Some(MessageResponse::ListServicesResponse(list)) => {
                list.service.into_iter().map(|s| s.name).collect()
            }
            other => panic!("unexpected reflection answer {other:?}"),
        },
        other => panic!("no reflection answer: {other:?}"),
    };
    for expected in ferric_proto::SERVICE_NAMES.iter().copied().chain(["grpc.health.v1.Health"]) {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }

    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient as AlphaClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest as AlphaRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse as AlphaResponse;
    let request = tonic_reflection::pb::v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(AlphaRequest::ListServices(String::new())),
    };
    let mut alpha = AlphaClient::new(client(&instance));
    let mut responses = alpha
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .expect("v1alpha reflection")
        .into_inner();
    let listed = match responses.next().await {
        Some(Ok(response)) => match response.message_response {
            Some(AlphaResponse::ListServicesResponse(list)) => {
                list.service.into_iter().map(|s| s.name).collect::<Vec<_>>()
            }
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    assert!(listed.iter().any(|n| n == "ferric.v1.DeployService"), "{listed:?}");
}

#[tokio::test]
async fn shutdown_drains_in_flight_requests() {
    use ferric_proto::v1::SetBootDeviceRequest;
    use ferric_proto::v1::power_service_client::PowerServiceClient;
    use std::sync::atomic::Ordering;

    let mut instance = Instance::start("power-drain", None).await;
    let mut power = PowerServiceClient::new(client(&instance));
    let in_flight = tokio::spawn(async move { power.set_boot_device(SetBootDeviceRequest::default()).await });
    let calls = instance.calls.clone();
    let arrived = crate::common::eventually(std::time::Duration::from_secs(5), || {
        let calls = calls.clone();
        async move { calls.load(Ordering::SeqCst) == 1 }
    })
    .await;
    assert!(arrived, "request never reached the server");

    // Shutdown fires mid-request: the server stops only after answering it.
    let ended = instance.stop().await;
    assert!(ended.is_some_and(|r| r.is_ok()), "server did not stop cleanly");
    let answer = in_flight.await.ok().map(|r| r.map(|_| ()).map_err(|s| s.code()));
    assert_eq!(answer, Some(Ok(())));
}
