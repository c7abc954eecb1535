//! The conductor: the provision state machine, deploy/clean/service steps, node
//! locks, takeover of a dead conductor's nodes, and the agent protocol, served as
//! gRPC `ferric.v1.DeployService`.
//!
//! The binary binds the listener, registers this instance in the store, joins
//! conductor membership and calls [`run`] with a [`Context`]; this crate owns what
//! is served on it and the background work behind it.
//!
//! Layout:
//! - [`service`]: the gRPC service — start here; [`convert`] at its edge.
//! - [`engine`]: shared state, node locking ([`engine::task`]), accepting requests
//!   ([`engine::start`]), the drive loop ([`engine::drive`]), admission.
//! - [`flows`]: the work of each working state; [`steps`]: the step model and the
//!   step cursor kept in the node.
//! - [`interfaces`]: a node's driver interfaces; fake ones and the power service.
//! - [`agent`]: lookup, heartbeat and the agent's command API.
//! - [`management`]: power changes, boot device, validation; [`controls`]: boot
//!   mode, secure boot, NMI, console; [`indicators`]: LEDs.
//! - [`periodic`]: takeover of orphaned nodes, timeouts, power sync.
//! - [`history`]: node history events.
//! - [`error`]: [`DeployError`] and its one mapping to `tonic::Status`.
//!
//! Architecture invariants: the state machine is the model's (`transition`,
//! `target_after`), never restated here; every node write is a compare-and-swap;
//! the agent token is never logged or returned except by the first lookup.

#![warn(missing_docs)]

pub mod agent;
pub mod controls;
pub mod convert;
pub mod engine;
pub mod error;
pub mod flows;
pub mod history;
pub mod indicators;
pub mod interfaces;
pub mod management;
pub mod periodic;
pub mod service;
pub mod settings;
pub mod steps;
pub mod vmedia;

use std::future::Future;

use ferric_cluster::MembershipView;
use ferric_config::DeployConfig;
use ferric_mesh::{ClientOptions, MeshError, MeshServer, ServerOptions, ServiceClient, ServiceKind};
use ferric_proto::v1::deploy_service_server::DeployServiceServer;
use ferric_store::DynStore;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use engine::Engine;
pub use error::DeployError;
use interfaces::Services;
use interfaces::images::{DownloadSource, Images};
use interfaces::netboot::{Netboot, RamdiskParams};
use interfaces::power::Power;
pub use settings::Settings;

/// What the conductor needs besides its listener: the store, its place in the
/// conductor membership (lease for locks, ring for ownership) and `[deploy]`.
#[derive(Clone)]
pub struct Context {
    /// The store.
    pub store: DynStore,
    /// This conductor's membership.
    pub membership: MembershipView,
    /// `[deploy]`.
    pub config: DeployConfig,
}

/// Serves the deploy service on `listener` until `shutdown` resolves, with the
/// periodic takeover/timeout/power-sync work running beside it.
pub async fn run(
    options: ServerOptions,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
    context: Context,
) -> Result<(), MeshError> {
    let client_options = ClientOptions::default().with_tls_files(options.tls.as_ref()).await?;
    let discover = |kind| ServiceClient::discover(context.store.clone(), kind, client_options.clone());
    let power = discover(ServiceKind::Power).await?;
    let bootnet = discover(ServiceKind::Bootnet).await?;
    let imagecache = discover(ServiceKind::ImageCache).await?;
    let config = &context.config;
    let params = RamdiskParams {
        api_url: config.api_url.clone(),
        kernel_append_params: config.kernel_append_params.clone(),
    };
    let source = DownloadSource::parse(&config.image_download_source).unwrap_or(DownloadSource::Http);
    let services = Services {
        power: Power::new(Some(power)),
        netboot: Netboot::new(Some(bootnet), params),
        images: Images::new(Some(imagecache), source),
    };
    let engine = Engine::new(context.store, context.membership, Settings::from(config), services);
    serve(options, listener, shutdown, engine).await
}

/// [`run`] with a ready engine (tests build theirs).
pub async fn serve(
    options: ServerOptions,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
    engine: Engine,
) -> Result<(), MeshError> {
    let (stop, stopped) = watch::channel(false);
    let periodic = {
        let mut stopped = stopped.clone();
        tokio::spawn(engine.clone().run_periodic(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }))
    };
    let shutdown = async move {
        shutdown.await;
        let _ = stop.send(true);
    };
    let served = MeshServer::new(options)
        .add_service(DeployServiceServer::new(service::Deploy::new(engine)))
        .serve(listener, shutdown)
        .await;
    periodic.abort();
    served
}
