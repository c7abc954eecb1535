//! Test harness: real mesh servers on loopback port 0, registered in a store,
//! torn down on drop; polling helpers instead of sleeps.

#![allow(dead_code)] // Each test binary uses a different subset.

mod memstore;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ferric_mesh::{MeshError, MeshServer, Registration, ServerOptions, ServiceClient, ServiceKind, register};
use ferric_proto::v1::power_service_client::PowerServiceClient;
use ferric_proto::v1::power_service_server::{PowerService, PowerServiceServer};
use ferric_proto::v1::*;
use ferric_store::DynStore;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::{Request, Response, Status};
use tonic_health::server::HealthReporter;

/// The store the tests run on.
pub fn store() -> DynStore {
    memstore::mem_store()
}

/// Registration TTL in tests: short, so lease-loss paths run quickly.
pub const TTL: Duration = Duration::from_secs(3);

/// A PowerService that says which instance answered (`ValidateCredentials.detail`) and
/// what trace and deadline it saw (`Validate.power.reason`, `.management.reason`); `GetPowerState` outlives any
/// test deadline and `SetBootDevice` takes 300ms.
#[derive(Clone)]
pub struct TestPower {
    pub instance: String,
    pub calls: Arc<AtomicUsize>,
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl PowerService for TestPower {
    async fn validate_credentials(
        &self,
        _r: Request<ValidateCredentialsRequest>,
    ) -> Reply<ValidateCredentialsResponse> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(Response::new(ValidateCredentialsResponse {
            valid: true,
            latency: None,
            detail: self.instance.clone(),
        }))
    }

    async fn validate(&self, _r: Request<ValidateRequest>) -> Reply<ValidateResponse> {
        let trace = ferric_telemetry::propagation::current_trace_id().unwrap_or_default();
        let power = InterfaceValidation { result: Some(true), reason: trace };
        // The deadline the handler runs under, in ms; empty when it has none.
        let left = ferric_mesh::deadline::remaining().map(|d| d.as_millis().to_string()).unwrap_or_default();
        let management = InterfaceValidation { result: None, reason: left };
        Ok(Response::new(ValidateResponse { power: Some(power), management: Some(management) }))
    }

    async fn get_power_state(&self, _r: Request<GetPowerStateRequest>) -> Reply<GetPowerStateResponse> {
        // Slow on purpose: deadline tests.
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok(Response::new(GetPowerStateResponse { power_state: PowerState::On.into() }))
    }

    async fn set_power_state(&self, _r: Request<SetPowerStateRequest>) -> Reply<SetPowerStateResponse> {
        Err(Status::unimplemented("test"))
    }

    async fn get_boot_device(&self, _r: Request<GetBootDeviceRequest>) -> Reply<GetBootDeviceResponse> {
        Err(Status::unimplemented("test"))
    }

    async fn set_boot_device(&self, _r: Request<SetBootDeviceRequest>) -> Reply<SetBootDeviceResponse> {
        // Counted on arrival, answered a little later: graceful-shutdown tests.
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(Response::new(SetBootDeviceResponse {}))
    }

    async fn get_supported_boot_devices(
        &self,
        _r: Request<GetSupportedBootDevicesRequest>,
    ) -> Reply<GetSupportedBootDevicesResponse> {
        Err(Status::unimplemented("test"))
    }

    async fn inject_nmi(&self, _r: Request<InjectNmiRequest>) -> Reply<InjectNmiResponse> {
        Err(Status::unimplemented("test"))
    }

    async fn insert_virtual_media(
        &self,
        _r: Request<InsertVirtualMediaRequest>,
    ) -> Reply<InsertVirtualMediaResponse> {
        Err(Status::unimplemented("test"))
    }

    async fn eject_virtual_media(
        &self,
        _r: Request<EjectVirtualMediaRequest>,
    ) -> Reply<EjectVirtualMediaResponse> {
        Err(Status::unimplemented("test"))
    }
}

/// One running power instance; stops its server and deregisters on drop.
pub struct Instance {
    pub id: String,
    pub addr: SocketAddr,
    pub calls: Arc<AtomicUsize>,
    pub health: HealthReporter,
    pub registration: Option<Registration>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), MeshError>>>,
}

impl Instance {
    /// Starts a server on 127.0.0.1:0 (TLS when `tls` is set), without registering.
    pub async fn start(id: &str, tls: Option<ferric_mesh::TlsFiles>) -> Instance {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let calls = Arc::new(AtomicUsize::new(0));
        let service = TestPower { instance: id.to_owned(), calls: calls.clone() };
        let server =
            MeshServer::new(ServerOptions { kind: ServiceKind::Power, instance_id: id.to_owned(), tls })
                .add_service(PowerServiceServer::new(service));
        let health = server.health_reporter();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(listener, async move {
            let _ = stopped.await;
        }));
        Instance {
            id: id.to_owned(),
            addr,
            calls,
            health,
            registration: None,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Starts a server and registers it in `store`.
    pub async fn start_registered(store: &DynStore, id: &str) -> Instance {
        let mut instance = Instance::start(id, None).await;
        let registration = register(store.clone(), ServiceKind::Power, id, instance.addr.to_string(), TTL)
            .await
            .expect("register");
        instance.registration = Some(registration);
        instance
    }

    /// Stops the server gracefully and returns how it ended.
    pub async fn stop(&mut self) -> Option<Result<(), MeshError>> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.ok(),
            None => None,
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Calls `ValidateCredentials` `n` times and counts answers per instance id.
pub async fn tally(client: &ServiceClient, n: usize) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    let mut power = PowerServiceClient::new(client.clone());
    for _ in 0..n {
        if let Ok(response) = power.validate_credentials(ValidateCredentialsRequest::default()).await {
            *counts.entry(response.into_inner().detail).or_insert(0) += 1;
        }
    }
    counts
}

/// Polls `check` until it returns true or `within` passes; the readiness
/// primitive of these tests instead of fixed sleeps.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
