//! BMC control: IPMI 2.0 over LAN (RMCP+), Redfish, and a fake driver for orchestration tests.
//!
//! The binary binds the listener, registers this instance in the store and calls
//! [`run`]; this crate owns what is served on it. The service-specific gRPC
//! contract (`ferric.v1`) is added here as its implementation lands; the standard
//! health and reflection services are always there, so probes and other
//! instances can already see this one.

use std::future::Future;

use ferric_mesh::{MeshError, MeshServer, ServerOptions};
use tokio::net::TcpListener;

/// Serves this service's gRPC interface on `listener` until `shutdown` resolves.
pub async fn run(
    options: ServerOptions,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), MeshError> {
    MeshServer::new(options).serve(listener, shutdown).await
}
