//! The boot network: what a machine talks to in its first seconds of life.
//!
//! A node registered over gRPC (`ferric.v1.BootNetworkService`) that powers on
//! with PXE gets an address and a boot file from [`dhcp`] (authoritative, relayed,
//! or as ProxyDHCP next to someone else's server), loads iPXE over [`tftp`],
//! and iPXE fetches the node's script and its kernel and ramdisk over [`http`].
//! Every firmware ends in iPXE; only registered MACs (and unknown ones when
//! discovery is on) get boot answers.
//!
//! Layout:
//! - [`service`]: the gRPC service; [`convert`] maps its messages once.
//! - [`registry`]: registrations in the store, read from watched memory.
//! - [`dhcp`]: DHCPv4 — wire, PXE decisions, pools, leases, relays, proxy mode,
//!   and the router-advertisement answerer that keeps iPXE from stalling.
//! - [`tftp`]: read-only TFTP with option negotiation and windows.
//! - [`http`], [`ipxe`]: scripts and files over HTTP.
//! - [`served`]: what was recently fetched, for operators and tests.
//! - [`error`]: the error type and its one mapping to gRPC status.
//!
//! The binary binds the gRPC listener and calls [`run`]; [`Bootnet::start`] is
//! the same without gRPC, for tests that need the parts.

#![warn(missing_docs)]

pub mod convert;
pub mod dhcp;
pub mod error;
pub mod http;
pub mod ipxe;
pub mod registry;
pub mod served;
pub mod service;
pub mod tftp;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferric_config::{BootnetConfig, DhcpMode};
use ferric_mesh::{MeshServer, ServerOptions};
use ferric_proto::v1::boot_network_service_server::BootNetworkServiceServer;
use ferric_store::DynStore;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use crate::error::BootnetError;
pub use crate::served::{Served, ServedLog};
pub use crate::service::BootNetworkGrpc;

use crate::dhcp::DhcpContext;
use crate::dhcp::active::DhcpRole;
use crate::dhcp::election::Candidate;
use crate::dhcp::lease::LeaseDb;
use crate::dhcp::pool::Subnet;
use crate::dhcp::pxe::IpxeFiles;
use crate::registry::Registry;
use crate::tftp::server::TftpSettings;

/// Everything the boot network needs besides the gRPC listener and the store:
/// the validated `[bootnet]` section and the resolved file root.
#[derive(Debug, Clone)]
pub struct BootnetSettings {
    /// The `[bootnet]` section (already validated by `ferric-config`).
    pub config: BootnetConfig,
    /// The file root for TFTP and HTTP (`bootnet.tftp_root` or `<state_dir>/tftp`).
    pub root: PathBuf,
    /// How long an active DHCP instance's leadership outlives its last renewal
    /// (`store.lease_ttl_secs`): the longest a standby waits after a crash.
    pub lease_ttl: Duration,
}

impl BootnetSettings {
    /// Settings with the default leadership TTL (10 s, as `store.lease_ttl_secs`).
    pub fn new(config: BootnetConfig, root: PathBuf) -> Self {
        Self { config, root, lease_ttl: Duration::from_secs(10) }
    }
}

/// Resolves once `stop` carries `true`: each task of a group gets one, so one
/// send stops them all.
pub(crate) async fn stop_signal(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// A name for this instance in the DHCP election, unique per process start.
fn election_holder() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("bootnet@{}-{}-{nanos:08x}", host.trim(), std::process::id())
}

/// A running boot network (DHCP, TFTP, HTTP), without its gRPC server.
pub struct Bootnet {
    grpc: BootNetworkGrpc,
    leases: LeaseDb,
    served: ServedLog,
    http_addr: SocketAddr,
    tftp_addr: Option<SocketAddr>,
    dhcp_addr: watch::Receiver<Option<SocketAddr>>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Bootnet {
    /// Loads registrations and leases, binds every configured listener in the
    /// caller's network namespace, and starts serving.
    pub async fn start(store: DynStore, settings: BootnetSettings) -> Result<Self, BootnetError> {
        let BootnetSettings { config, root, lease_ttl } = settings;
        let registry = Registry::open(store.clone()).await?;
        let leases = LeaseDb::open(store.clone()).await?;
        let served = ServedLog::default();
        let (stop, stopped) = watch::channel(false);
        let until_stopped = || crate::stop_signal(stopped.clone());
        let mut tasks = JoinSet::new();

        let http = TcpListener::bind(config.http_listen).await.map_err(|source| BootnetError::Bind {
            what: "HTTP",
            addr: config.http_listen.to_string(),
            source,
        })?;
        let http_addr = http.local_addr().map_err(|source| BootnetError::Bind {
            what: "HTTP",
            addr: config.http_listen.to_string(),
            source,
        })?;
        let http_base = config.http_advertise.clone().unwrap_or_else(|| {
            let host = match (http_addr.ip(), config.server_address) {
                (ip, Some(server)) if ip.is_unspecified() => IpAddr::V4(server),
                (ip, _) => ip,
            };
            format!("http://{}", SocketAddr::new(host, http_addr.port()))
        });
        let discovery = match (&config.discovery_kernel_url, &config.discovery_ramdisk_url) {
            (Some(kernel), Some(ramdisk)) if config.discovery => {
                Some(Arc::new((kernel.clone(), ramdisk.clone(), config.discovery_kernel_args.clone())))
            }
            _ => None,
        };
        let state = http::HttpState {
            registry: registry.clone(),
            root: root.clone(),
            ipxe_dir: config.ipxe_dir.clone(),
            discovery,
            served: served.clone(),
        };
        let shutdown = until_stopped();
        tasks.spawn(async move {
            if let Err(error) = http::serve(http, state, shutdown).await {
                tracing::error!(%error, "bootnet HTTP server failed");
            }
        });

        let mut tftp_addr = None;
        if let Some(listen) = config.tftp_listen {
            let socket = UdpSocket::bind(listen).await.map_err(|source| BootnetError::Bind {
                what: "TFTP",
                addr: listen.to_string(),
                source,
            })?;
            tftp_addr = socket.local_addr().ok();
            let settings = TftpSettings {
                root: root.clone(),
                ipxe_dir: config.ipxe_dir.clone(),
                max_transfers: config.tftp_max_transfers,
                max_per_client: config.tftp_max_per_client,
                timeout: Duration::from_millis(config.tftp_timeout_ms),
                retries: config.tftp_retries,
            };
            tasks.spawn(tftp::server::serve(socket, settings, served.clone(), until_stopped()));
        }

        let (dhcp_addr, dhcp_addr_rx) = watch::channel(None);
        if config.dhcp_mode != DhcpMode::Off {
            let server = config.server_address.ok_or_else(|| {
                BootnetError::Settings("bootnet.server_address is required with DHCP".into())
            })?;
            let subnets = config
                .subnets
                .iter()
                .map(|s| Subnet::from_config(s, &[server]))
                .collect::<Result<Vec<_>, _>>()?;
            let context = Arc::new(DhcpContext {
                server,
                subnets,
                leases: leases.clone(),
                registry: registry.clone(),
                files: IpxeFiles::find(&root, &config.ipxe_dir),
                http_base,
                discovery: config.discovery,
            });
            let role = DhcpRole { config: config.clone(), context };
            let candidate = Candidate::new(store.clone(), election_holder(), lease_ttl);
            // Win at once when no other instance serves, so a lone instance binds
            // (and reports bind errors) before `start` returns.
            let first = match candidate.try_acquire().await? {
                Some(term) => match role.start() {
                    Ok(servers) => Some((term, servers)),
                    Err(error) => {
                        term.resign().await;
                        return Err(error);
                    }
                },
                None => None,
            };
            if let Some((_, servers)) = &first {
                dhcp_addr.send_replace(servers.addr());
            }
            tasks.spawn(dhcp::active::supervise(role, candidate, first, dhcp_addr, until_stopped()));
        }
        tracing::info!(http = %http_addr, tftp = ?tftp_addr, root = %root.display(), "boot network serving");
        let grpc = BootNetworkGrpc::new(registry, leases.clone());
        Ok(Self { grpc, leases, served, http_addr, tftp_addr, dhcp_addr: dhcp_addr_rx, stop, tasks })
    }

    /// The gRPC service over this boot network's registrations and leases.
    pub fn grpc(&self) -> BootNetworkGrpc {
        self.grpc.clone()
    }

    /// Where HTTP listens.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Where TFTP listens, when on.
    pub fn tftp_addr(&self) -> Option<SocketAddr> {
        self.tftp_addr
    }

    /// Where DHCP listens right now: `None` when off, or while another instance
    /// is the active one and this one stands by.
    pub fn dhcp_addr(&self) -> Option<SocketAddr> {
        *self.dhcp_addr.borrow()
    }

    /// Follows [`Bootnet::dhcp_addr`] as leadership comes and goes.
    pub fn dhcp_addr_changes(&self) -> watch::Receiver<Option<SocketAddr>> {
        self.dhcp_addr.clone()
    }

    /// Recently completed file transfers.
    pub fn served(&self) -> ServedLog {
        self.served.clone()
    }

    /// Stops every listener, cuts off running transfers and writes pending leases
    /// to the store.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
        self.leases.close().await;
    }
}

/// Serves the boot network and its gRPC interface on `listener` until `shutdown`
/// resolves; then stops DHCP, TFTP and HTTP and flushes the lease database.
pub async fn run(
    options: ServerOptions,
    listener: TcpListener,
    store: DynStore,
    settings: BootnetSettings,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), BootnetError> {
    let bootnet = Bootnet::start(store, settings).await?;
    let served = MeshServer::new(options)
        .add_service(BootNetworkServiceServer::new(bootnet.grpc()))
        .serve(listener, shutdown)
        .await;
    bootnet.stop().await;
    served.map_err(BootnetError::Mesh)
}
