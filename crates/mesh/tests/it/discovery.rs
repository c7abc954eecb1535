//! Discovery and balancing follow registrations as instances come and go.

use std::time::Duration;

use ferric_mesh::{ClientOptions, RetryPolicy, ServiceClient, ServiceKind};
use ferric_proto::v1::power_service_client::PowerServiceClient;
use ferric_proto::v1::{GetPowerStateRequest, ValidateCredentialsRequest};
use tonic::Code;

use crate::common::{Instance, eventually, store, tally};

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn calls_spread_over_instances_and_follow_registrations() {
    let store = store();
    let mut a = Instance::start_registered(&store, "power-a").await;
    let b = Instance::start_registered(&store, "power-b").await;
    let client = ServiceClient::discover(store.clone(), ServiceKind::Power, ClientOptions::default())
        .await
        .expect("discover");
    assert_eq!(client.instance_count(), Some(2));

    // Both instances serve.
    let counts = tally(&client, 60).await;
    assert_eq!(counts.values().sum::<usize>(), 60, "{counts:?}");
    assert!(
        counts.get("power-a").is_some_and(|n| *n > 0) && counts.get("power-b").is_some_and(|n| *n > 0),
        "{counts:?}"
    );

    // Deregister a while its server keeps running: only discovery can stop its calls.
    if let Some(registration) = a.registration.take() {
        registration.shutdown().await;
    }
    let only_b = eventually(WAIT, || async {
        let counts = tally(&client, 20).await;
        counts.len() == 1 && counts.get("power-b") == Some(&20)
    })
    .await;
    assert!(only_b, "calls still reach the deregistered instance");
    assert_eq!(client.instance_count(), Some(1));

    // A third instance starts receiving calls without the caller doing anything.
    let c = Instance::start_registered(&store, "power-c").await;
    let reaches_c = eventually(WAIT, || async { tally(&client, 20).await.contains_key("power-c") }).await;
    assert!(reaches_c, "new instance never received calls");
    drop((b, c));
    let _ = a.stop().await;
}

#[tokio::test]
async fn no_instance_fails_fast_and_retries_wait_for_one() {
    let store = store();
    let options = ClientOptions {
        retry: RetryPolicy {
            max_attempts: 40,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(100),
        },
        ..ClientOptions::default()
    };
    let client = ServiceClient::discover(store.clone(), ServiceKind::Power, options).await.expect("discover");
    assert_eq!(client.instance_count(), Some(0));

    let started = tokio::time::Instant::now();
    let status = PowerServiceClient::new(client.clone())
        .validate_credentials(ValidateCredentialsRequest::default())
        .await
        .err();
    assert_eq!(status.as_ref().map(tonic::Status::code), Some(Code::Unavailable), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(1), "should fail fast, took {:?}", started.elapsed());

    // An idempotent call keeps retrying while an instance comes up.
    let late = {
        let store = store.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            Instance::start_registered(&store, "power-late").await
        })
    };
    let answer = client
        .idempotent(|c| async move {
            PowerServiceClient::new(c).validate_credentials(ValidateCredentialsRequest::default()).await
        })
        .await;
    assert_eq!(answer.map(|r| r.into_inner().detail).ok().as_deref(), Some("power-late"));
    drop(late.await);
}

#[tokio::test]
async fn every_call_has_a_deadline() {
    let instance = Instance::start("power-slow", None).await;
    let options = ClientOptions { call_timeout: Duration::from_millis(200), ..ClientOptions::default() };
    let client = ServiceClient::static_endpoints(&[instance.addr.to_string()], options).expect("static");
    let started = tokio::time::Instant::now();
    // GetPowerState sleeps for 5s in the test service.
    let status =
        PowerServiceClient::new(client.clone()).get_power_state(GetPowerStateRequest::default()).await.err();
    assert_eq!(status.as_ref().map(tonic::Status::code), Some(Code::DeadlineExceeded), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "deadline not enforced: {:?}", started.elapsed());

    // A per-call timeout overrides the default, in both directions.
    let mut request = tonic::Request::new(GetPowerStateRequest::default());
    request.set_timeout(Duration::from_millis(50));
    let started = tokio::time::Instant::now();
    let status = PowerServiceClient::new(client).get_power_state(request).await.err();
    assert_eq!(status.map(|s| s.code()), Some(Code::DeadlineExceeded));
    assert!(started.elapsed() < Duration::from_millis(190), "{:?}", started.elapsed());
}

#[tokio::test]
async fn unreachable_instance_is_unavailable_so_retries_apply() {
    // A port nobody listens on any more.
    let addr = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        listener.local_addr().expect("addr")
    };
    let options = ClientOptions {
        retry: RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(20),
        },
        ..ClientOptions::default()
    };
    let client = ServiceClient::static_endpoints(&[addr.to_string()], options).expect("endpoint");
    let attempts = std::sync::atomic::AtomicU32::new(0);
    let status = client
        .idempotent(|c| {
            attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                PowerServiceClient::new(c).validate_credentials(ValidateCredentialsRequest::default()).await
            }
        })
        .await
        .err();
    assert_eq!(status.map(|s| s.code()), Some(Code::Unavailable));
    assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 3);
}
