//! Ferric's deploy-ramdisk agent: the program on a machine being provisioned that
//! speaks Ironic's agent (IPA) protocol. It looks its node up in Ferric (or
//! Ironic), heartbeats with its callback URL and token, and serves IPA's command
//! API so the conductor can read its steps, write the image to disk, erase disks
//! and power the machine off.
//!
//! Layout:
//! - [`hardware`]: the machine behind a trait, real (`LinuxHardware`) and
//!   simulated (`SimulatedHardware`, for the fleet simulator and tests).
//! - `api`: the agent's HTTP API (`/v1/commands/`, `/v1/status`, `/`).
//! - `commands`: the extensions (`deploy`, `clean`, `standby`, `image`, `log`).
//! - `ironic`: lookup and heartbeat against the Ironic API.
//! - [`root_device`]: root device hints.
//!
//! The library runs many agents in one process (one [`run`] each); the binary is
//! a thin door that reads the kernel command line and calls [`run`] once.

mod agent;
mod api;
mod commands;
mod error;
pub mod hardware;
mod ironic;
pub mod logring;
mod qcow2;
pub mod root_device;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use error::{AgentError, CommandError};
pub use hardware::{
    BlockDevice, Hardware, Inventory, LinuxHardware, PowerAction, SimulatedDisk, SimulatedHardware,
};

/// The agent's version, sent in heartbeats and `GET /v1/status`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What one agent needs to run.
#[derive(Clone)]
pub struct AgentOptions {
    /// Base URL of the Ferric/Ironic API (`ipa-api-url`), e.g. `http://10.0.0.1:6385`.
    pub api_url: String,
    /// Where the agent API listens: `0.0.0.0:9999` in the ramdisk, port 0 in tests
    /// and the simulator.
    pub listen: SocketAddr,
    /// The `callback_url` sent in heartbeats. `None`: `http://<local address that
    /// routes to the API>:<bound port>`.
    pub advertise_url: Option<String>,
    /// MAC addresses sent to lookup as `addresses`.
    pub macs: Vec<String>,
    /// The node's UUID when the boot parameters carry it (lookup by UUID).
    pub node_uuid: Option<String>,
    /// The machine.
    pub hardware: Arc<dyn Hardware>,
    /// How long lookup is retried before `run` gives up; `None`: forever (a
    /// ramdisk has nothing better to do).
    pub lookup_timeout: Option<Duration>,
    /// First and largest pause between lookup attempts (the pause doubles).
    pub lookup_backoff: (Duration, Duration),
    /// Heartbeat period; `None`: IPA's rule, a random 30–60 % of the lookup's
    /// `heartbeat_timeout`.
    pub heartbeat_interval: Option<Duration>,
    /// Without root device hints, the smallest disk of at least this many bytes
    /// is the install disk ([`root_device::DEFAULT_MIN_ROOT_DISK_BYTES`]).
    pub min_root_disk_bytes: u64,
    /// Where a qcow2 image is kept while it is verified and converted (tmpfs,
    /// i.e. memory, in a ramdisk; raw images never touch it).
    pub scratch_dir: std::path::PathBuf,
    /// `ipa-inspection-callback-url`: when set, the inventory is posted there once
    /// at start (Ironic's built-in inspection, `/v1/continue_inspection`), before
    /// lookup, as IPA does.
    pub inspection_callback_url: Option<String>,
}

impl std::fmt::Debug for AgentOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentOptions")
            .field("api_url", &self.api_url)
            .field("listen", &self.listen)
            .field("advertise_url", &self.advertise_url)
            .field("macs", &self.macs)
            .field("node_uuid", &self.node_uuid)
            .finish_non_exhaustive()
    }
}

impl AgentOptions {
    /// An agent for `api_url` on `hardware`, listening on `0.0.0.0:9999` as IPA
    /// does, looking up with every MAC the hardware reports.
    pub fn new(api_url: impl Into<String>, hardware: Arc<dyn Hardware>) -> Self {
        let macs = hardware
            .inventory()
            .map(|i| i.interfaces.into_iter().map(|n| n.mac_address).collect())
            .unwrap_or_default();
        Self {
            api_url: api_url.into(),
            listen: SocketAddr::from(([0, 0, 0, 0], 9999)),
            advertise_url: None,
            macs,
            node_uuid: None,
            hardware,
            lookup_timeout: None,
            lookup_backoff: (Duration::from_secs(1), Duration::from_secs(30)),
            heartbeat_interval: None,
            min_root_disk_bytes: root_device::DEFAULT_MIN_ROOT_DISK_BYTES,
            scratch_dir: std::env::temp_dir(),
            inspection_callback_url: None,
        }
    }

    /// The same options listening on `listen` (e.g. `127.0.0.1:0`).
    pub fn listen_on(mut self, listen: SocketAddr) -> Self {
        self.listen = listen;
        self
    }
}

/// Runs one agent until `shutdown` completes: serves the agent API on
/// `options.listen`, looks the node up (retrying with backoff), then heartbeats
/// with the token from the lookup. Returns `Ok` on shutdown; an error only when
/// the agent cannot work at all (the port is taken, lookup timed out).
pub async fn run(options: AgentOptions, shutdown: impl Future<Output = ()>) -> Result<(), AgentError> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| AgentError::Listen { address: options.listen.to_string(), source })?;
    serve(options, listener, shutdown).await
}

/// [`run`] on a listener the caller bound (so it knows the port first).
pub async fn serve(
    options: AgentOptions,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), AgentError> {
    agent::serve(options, listener, shutdown).await
}
