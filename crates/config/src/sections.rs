//! The configuration schema: one struct per TOML section, every field defaulted so
//! an empty file is a working single-machine configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{BootnetConfig, ConfigError};

/// The whole configuration of a Ferric process (any subcommand).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the embedded store, caches and other local state live.
    pub state_dir: PathBuf,
    pub store: StoreConfig,
    pub telemetry: TelemetryConfig,
    pub tls: TlsConfig,
    pub gateway: GatewayConfig,
    pub deploy: DeployConfig,
    pub power: ServiceConfig,
    pub bootnet: BootnetConfig,
    pub imagecache: ImageCacheConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            state_dir: PathBuf::from("./var"),
            store: StoreConfig::default(),
            telemetry: TelemetryConfig::default(),
            tls: TlsConfig::default(),
            gateway: GatewayConfig::default(),
            deploy: DeployConfig::default(),
            power: ServiceConfig::default(),
            bootnet: BootnetConfig::default(),
            imagecache: ImageCacheConfig::default(),
        }
    }
}

impl Config {
    /// Rejects combinations that parse but cannot work, naming the option.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.store.backend == StoreBackend::Etcd && self.store.etcd_endpoints.is_empty() {
            return Err(ConfigError::Invalid {
                option: "store.etcd_endpoints",
                reason: "the etcd backend needs at least one endpoint".into(),
            });
        }
        if self.store.lease_ttl_secs < 2 {
            return Err(ConfigError::Invalid {
                option: "store.lease_ttl_secs",
                reason: "must be at least 2 seconds so keep-alives can land in time".into(),
            });
        }
        if self.store.request_timeout_ms == 0 {
            return Err(ConfigError::Invalid {
                option: "store.request_timeout_ms",
                reason: "must be > 0".into(),
            });
        }
        if self.gateway.auth_strategy == AuthStrategy::HttpBasic
            && self.gateway.http_basic_auth_user_file.is_none()
        {
            return Err(ConfigError::Invalid {
                option: "gateway.http_basic_auth_user_file",
                reason: "auth_strategy = \"http_basic\" needs an htpasswd file".into(),
            });
        }
        if !matches!(self.deploy.image_download_source.as_str(), "http" | "direct") {
            return Err(ConfigError::Invalid {
                option: "deploy.image_download_source",
                reason: "must be \"http\" (through the image cache) or \"direct\"".into(),
            });
        }
        self.bootnet.validate()?;
        let tls = [&self.tls.cert, &self.tls.key];
        if tls.iter().filter(|p| p.is_some()).count() == 1 {
            return Err(ConfigError::Invalid {
                option: "tls.cert",
                reason: "tls.cert and tls.key must be given together".into(),
            });
        }
        Ok(())
    }

    /// The image cache's directory: `imagecache.cache_dir`, or `images` under
    /// `state_dir`.
    pub fn image_cache_dir(&self) -> PathBuf {
        self.imagecache.cache_dir.clone().unwrap_or_else(|| self.state_dir.join("images"))
    }

    /// The boot network's file root (TFTP and HTTP): `bootnet.tftp_root`, or
    /// `tftp` under `state_dir`.
    pub fn bootnet_root(&self) -> PathBuf {
        self.bootnet.tftp_root.clone().unwrap_or_else(|| self.state_dir.join("tftp"))
    }

    /// The URL ramdisk agents call back to: `deploy.api_url`, else
    /// `gateway.public_url`, else the gateway's listen address when it is a
    /// concrete one (an all-in-one); `None` when nothing says where the API is.
    pub fn agent_api_url(&self) -> Option<String> {
        let listen = self.gateway.listen;
        self.deploy
            .api_url
            .clone()
            .or_else(|| self.gateway.public_url.clone())
            .or_else(|| (!listen.ip().is_unspecified()).then(|| format!("http://{listen}")))
            .map(|url| url.trim_end_matches('/').to_owned())
    }

    /// The embedded store's file: `store.path`, or `store.redb` under `state_dir`.
    pub fn embedded_store_path(&self) -> PathBuf {
        self.store.path.clone().unwrap_or_else(|| self.state_dir.join("store.redb"))
    }
}

/// Which store engine holds Ferric's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    /// A redb file on this machine: one process (all-in-one), nothing to install.
    Embedded,
    /// An etcd cluster: many processes on many machines.
    Etcd,
}

/// `[store]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    pub backend: StoreBackend,
    /// Embedded store file; defaults to `<state_dir>/store.redb`.
    pub path: Option<PathBuf>,
    pub etcd_endpoints: Vec<String>,
    /// Deadline of each store call; a call to an unreachable etcd fails after it.
    pub request_timeout_ms: u64,
    /// TTL of the leases behind service registrations, conductor membership and
    /// node locks: how long a dead instance keeps its work before others take it.
    pub lease_ttl_secs: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            backend: StoreBackend::Embedded,
            path: None,
            etcd_endpoints: vec!["http://127.0.0.1:2379".into()],
            request_timeout_ms: 5_000,
            lease_ttl_secs: 10,
        }
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

/// `[telemetry]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    pub log_format: LogFormat,
    /// A `tracing` filter directive; `RUST_LOG` overrides it.
    pub log_filter: String,
    /// OTLP/gRPC collector, e.g. `http://127.0.0.1:4317`; traces are exported only
    /// when set.
    pub otlp_endpoint: Option<String>,
    /// Where this process serves Prometheus `/metrics`. Port 0 picks a free port
    /// (logged at start-up); the gateway also serves `/metrics` on its own port.
    pub metrics_listen: Option<SocketAddr>,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            log_format: LogFormat::Human,
            log_filter: "info".into(),
            otlp_endpoint: None,
            metrics_listen: None,
        }
    }
}

/// `[tls]`: certificates for gRPC between services. Plain TCP when unset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate this process presents.
    pub cert: Option<PathBuf>,
    /// PEM private key of `cert`.
    pub key: Option<PathBuf>,
    /// PEM CA bundle that peers' certificates must chain to (mutual TLS when set).
    pub ca: Option<PathBuf>,
}

/// `[gateway]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// Ironic's port is 6385; clients default to it.
    pub listen: SocketAddr,
    /// Base URL written into links; defaults to the request's `Host`.
    pub public_url: Option<String>,
    /// Ironic's `auth_strategy`: who may call the API.
    pub auth_strategy: AuthStrategy,
    /// Ironic's `http_basic_auth_user_file`: an Apache htpasswd file of bcrypt
    /// hashes, read at start-up when `auth_strategy = "http_basic"`.
    pub http_basic_auth_user_file: Option<PathBuf>,
    /// Users of the htpasswd file who may only read (GET/HEAD); everyone else is
    /// an admin.
    pub reader_users: Vec<String>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 6385)),
            public_url: None,
            auth_strategy: AuthStrategy::Noauth,
            http_basic_auth_user_file: None,
            reader_users: Vec::new(),
        }
    }
}

/// How the REST API authenticates, with Ironic standalone's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthStrategy {
    /// Everyone is an admin: a lab or a network that is itself the boundary.
    Noauth,
    /// HTTP basic auth against an htpasswd file.
    HttpBasic,
}

/// `[power]`: where an internal gRPC service listens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// gRPC listen address; port 0 picks a free port, which is registered in the
    /// store so callers find it.
    pub listen: SocketAddr,
    /// Address other instances dial; defaults to the bound address.
    pub advertise: Option<String>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self { listen: SocketAddr::from(([127, 0, 0, 1], 0)), advertise: None }
    }
}

/// `[imagecache]`: the image cache's gRPC service, its HTTP server and its disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImageCacheConfig {
    pub listen: SocketAddr,
    pub advertise: Option<String>,
    /// Where images are cached; defaults to `<state_dir>/images`.
    pub cache_dir: Option<PathBuf>,
    /// The HTTP server agents download images from.
    pub http_listen: SocketAddr,
    /// Base URL agents reach `http_listen` at; defaults to the bound address,
    /// which is wrong when bound to 0.0.0.0.
    pub http_advertise: Option<String>,
    /// Quota for cached images in bytes; least recently used unpinned images
    /// are evicted to stay under it. 0 means no quota.
    pub max_bytes: u64,
    /// Downloads running at once; more wait their turn.
    pub max_concurrent_downloads: usize,
}

impl ImageCacheConfig {
    /// The listener part, shaped like every other internal service's.
    pub fn service(&self) -> ServiceConfig {
        ServiceConfig { listen: self.listen, advertise: self.advertise.clone() }
    }
}

impl Default for ImageCacheConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            advertise: None,
            cache_dir: None,
            http_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            http_advertise: None,
            // Ironic's `[pxe] image_cache_size` default: 20 GiB.
            max_bytes: 20 << 30,
            max_concurrent_downloads: 4,
        }
    }
}

/// `[deploy]`: the conductor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeployConfig {
    pub listen: SocketAddr,
    pub advertise: Option<String>,
    /// Conductor name shown as a node's `conductor` and `reservation`; defaults to
    /// the machine's hostname.
    pub hostname: Option<String>,
    /// Nodes whose `conductor_group` equals this are managed here ("" = default).
    pub conductor_group: String,
    /// Hardware types this conductor serves, as `GET /v1/drivers` reports them.
    pub hardware_types: Vec<String>,
    /// Whether `provide` and `undeploy` run automated cleaning for nodes whose
    /// `automated_clean` is unset (Ironic's `[conductor]automated_clean`).
    pub automated_clean: bool,
    /// How long each fake interface operation of a `fake-hardware` node takes, in
    /// milliseconds (Ironic's fake `deploy_delay`/`power_delay`); 0 is instant.
    pub fake_delay_ms: u64,
    /// Deploys run at once; more are queued fairly (Ironic: `max_concurrent_deploy`).
    pub max_concurrent_deploy: usize,
    /// Cleanings run at once; more are queued fairly (Ironic: `max_concurrent_clean`).
    pub max_concurrent_clean: usize,
    /// Refuse work past the limits with Ironic's 503 instead of queueing it.
    pub reject_when_busy: bool,
    /// Seconds a node may wait in `wait call-back` before it fails.
    pub deploy_callback_timeout_secs: u64,
    /// Seconds a node may wait in `clean wait` before it fails.
    pub clean_callback_timeout_secs: u64,
    /// Seconds a node may wait in `inspect wait` before it fails.
    pub inspect_wait_timeout_secs: u64,
    /// Seconds a node may wait in `rescue wait` before it fails.
    pub rescue_callback_timeout_secs: u64,
    /// Seconds a node may wait in `service wait` before it fails.
    pub service_callback_timeout_secs: u64,
    /// Seconds a power change may take before it fails.
    pub power_state_change_timeout_secs: u64,
    /// Seconds between the periodic checks: orphaned nodes to take over, wait
    /// timeouts, timed `wait` steps.
    pub periodic_interval_secs: u64,
    /// Seconds between power-state syncs of owned nodes; 0 disables.
    pub sync_power_state_interval_secs: u64,
    /// Failed power syncs in a row before the node gets `fault = "power failure"`.
    pub power_state_sync_max_retries: u32,
    /// Milliseconds between polls of a running agent command.
    pub agent_command_poll_ms: u64,
    /// The API URL ramdisk agents call back to (`ipa-api-url`); defaults to
    /// `gateway.public_url`, or the gateway's listen address in an all-in-one.
    pub api_url: Option<String>,
    /// Kernel parameters appended to every netbooted ramdisk unless the node's
    /// `driver_info.kernel_append_params` replaces them (Ironic's
    /// `[pxe]kernel_append_params`).
    pub kernel_append_params: String,
    /// `http`: the image cache fetches, verifies and converts the instance image
    /// and the agent downloads it from there; `direct`: the agent downloads
    /// `image_source` itself (Ironic's `[agent]image_download_source`).
    pub image_download_source: String,
    /// Priority of the agent's `erase_devices` clean step in automated cleaning;
    /// 0 leaves it out; unset keeps the agent's (Ironic's `[deploy]erase_devices_priority`).
    pub erase_devices_priority: Option<i64>,
    /// Priority of `erase_devices_metadata` in automated cleaning; 0 leaves it
    /// out; unset keeps the agent's (Ironic's `[deploy]erase_devices_metadata_priority`).
    pub erase_devices_metadata_priority: Option<i64>,
}

impl DeployConfig {
    /// The listener part, shaped like every other internal service's.
    pub fn service(&self) -> ServiceConfig {
        ServiceConfig { listen: self.listen, advertise: self.advertise.clone() }
    }
}

impl Default for DeployConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            advertise: None,
            hostname: None,
            conductor_group: String::new(),
            hardware_types: ["fake-hardware", "ipmi", "redfish", "manual-management"]
                .map(String::from)
                .to_vec(),
            automated_clean: true,
            fake_delay_ms: 0,
            max_concurrent_deploy: 250,
            max_concurrent_clean: 50,
            reject_when_busy: false,
            deploy_callback_timeout_secs: 1800,
            clean_callback_timeout_secs: 1800,
            inspect_wait_timeout_secs: 1800,
            rescue_callback_timeout_secs: 1800,
            service_callback_timeout_secs: 1800,
            power_state_change_timeout_secs: 60,
            periodic_interval_secs: 10,
            sync_power_state_interval_secs: 120,
            power_state_sync_max_retries: 3,
            agent_command_poll_ms: 1000,
            api_url: None,
            kernel_append_params: String::new(),
            image_download_source: "http".into(),
            erase_devices_priority: None,
            erase_devices_metadata_priority: None,
        }
    }
}
