//! BMC control: IPMI 2.0 over LAN (RMCP+), Redfish, and a fake driver for
//! orchestration tests, served as gRPC `ferric.v1.PowerService`.
//!
//! The binary binds the listener, registers this instance in the store and calls
//! [`run`]; this crate owns what is served on it. No BMC call forks a process:
//! IPMI runs on async UDP with pooled sessions, Redfish on a pooled HTTPS client,
//! so one instance can watch thousands of BMCs.
//!
//! Layout:
//! - [`service`]: the gRPC service (span, bounds, per-BMC serialisation, breaker,
//!   metrics) — start here.
//! - [`driver`]: the [`PowerDriver`]/[`Bmc`] traits and the shared power-wait.
//! - [`ipmi`], [`redfish`], [`fake`]: the drivers, side by side.
//! - [`error`]: [`PowerError`] and its one mapping to `tonic::Status`.
//! - [`convert`], [`info`]: proto ↔ domain, typed driver_info reads.
//! - [`breaker`]: the per-BMC circuit breaker.
//!
//! Architecture invariant: passwords live only in driver_info and the drivers'
//! configs, whose `Debug` impls redact them; no error message contains one.

#![warn(missing_docs)]

pub mod breaker;
pub mod convert;
pub mod driver;
pub mod error;
pub mod fake;
pub mod info;
pub mod ipmi;
pub mod redfish;
pub mod service;

use std::future::Future;

use ferric_mesh::{MeshError, MeshServer, ServerOptions};
use ferric_proto::v1::power_service_server::PowerServiceServer;
use tokio::net::TcpListener;

pub use driver::{Bmc, PowerDriver};
pub use error::PowerError;
pub use service::{PowerOptions, PowerServiceImpl};

/// Serves this service's gRPC interface on `listener` until `shutdown` resolves,
/// then closes the BMC sessions it holds.
pub async fn run(
    options: ServerOptions,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), MeshError> {
    run_with(options, PowerServiceImpl::new(PowerOptions::default()), listener, shutdown).await
}

/// [`run`] with a given service (tests configure retries, or pass their fake).
pub async fn run_with(
    options: ServerOptions,
    service: PowerServiceImpl,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), MeshError> {
    let served = MeshServer::new(options)
        .add_service(PowerServiceServer::new(service.clone()))
        .serve(listener, shutdown)
        .await;
    service.shutdown().await;
    served
}
