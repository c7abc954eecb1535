//! Shared by the integration tests: a real power service on a loopback port and
//! a gRPC client to it, and BmcTarget builders.

#![allow(dead_code)]

use std::time::Duration;

use ferric_mesh::{ServerOptions, ServiceKind};
use ferric_power::{PowerOptions, PowerServiceImpl};
use ferric_proto::v1::power_service_client::PowerServiceClient;
use ferric_proto::v1::{BmcTarget, NodeRef};
use serde_json::Value;
use tokio::sync::oneshot;
use tonic::transport::Channel;

/// A running power service; stops when dropped.
pub struct Served {
    pub client: PowerServiceClient<Channel>,
    stop: Option<oneshot::Sender<()>>,
    pub task: Option<tokio::task::JoinHandle<Result<(), ferric_mesh::MeshError>>>,
}

impl Served {
    pub async fn start(service: PowerServiceImpl) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let options = ServerOptions { kind: ServiceKind::Power, instance_id: "power-test".into(), tls: None };
        let task = tokio::spawn(ferric_power::run_with(options, service, listener, async move {
            let _ = stopped.await;
        }));
        let client = ferric_testkit::wait_for(
            Duration::from_secs(10),
            "power service to accept connections",
            || async move { PowerServiceClient::connect(format!("http://{addr}")).await.ok() },
        )
        .await;
        Self { client, stop: Some(stop), task: Some(task) }
    }

    pub async fn with_defaults() -> Self {
        Self::start(PowerServiceImpl::new(PowerOptions::default())).await
    }

    /// Fires shutdown and waits for `run` to return.
    pub async fn shutdown(mut self) -> Result<(), ferric_mesh::MeshError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.expect("run panicked"),
            None => Ok(()),
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn target(driver: &str, info: Value) -> Option<BmcTarget> {
    Some(BmcTarget {
        driver: driver.into(),
        driver_info: Some(ferric_proto::json::struct_from_json(info).unwrap()),
    })
}

pub fn node() -> Option<NodeRef> {
    Some(NodeRef::new("1be26c0b-03f2-4d2e-ae87-c02d7f33c123"))
}
