//! Ferric under test: `ferric all-in-one` as a child process inside the fleet's
//! namespace, configured so the fleet can reach every service on the
//! provisioning network (see [`crate::network`]).
//!
//! A child process rather than Ferric in-process, so the benchmark measures the
//! same binary operators run and its CPU time is told apart from the fleet's.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use ferric_testkit::netns::Netns;

use crate::error::SimError;
use crate::network::{
    self, API_PORT, BOOT_HTTP_PORT, IMAGECACHE_HTTP_PORT, POOL_END, POOL_START, SERVER, TFTP_PORT,
};

/// The deploy kernel simulated machines load over TFTP (a dummy: nothing runs it).
pub const DEPLOY_KERNEL: &str = "sim/deploy.kernel";
/// The deploy ramdisk simulated machines load over HTTP (a dummy as well).
pub const DEPLOY_RAMDISK: &str = "sim/deploy.initramfs";
/// Size of the dummy kernel: small, as TFTP is lock-step.
pub const DEPLOY_KERNEL_BYTES: usize = 64 * 1024;
/// Size of the dummy ramdisk.
pub const DEPLOY_RAMDISK_BYTES: usize = 1024 * 1024;

/// How Ferric is tuned for the fleet.
#[derive(Debug, Clone)]
pub struct FerricSettings {
    /// The `ferric` binary.
    pub binary: PathBuf,
    /// `telemetry.log_filter`.
    pub log_filter: String,
    /// `deploy.agent_command_poll_ms`.
    pub agent_command_poll_ms: u64,
    /// `deploy.max_concurrent_clean` and `max_concurrent_deploy`: the fleet size,
    /// so the benchmark measures the services rather than the admission queue.
    pub max_concurrent: usize,
}

/// The running process, killed on drop.
pub struct Ferric {
    child: Child,
    log: PathBuf,
    /// Base URL of the REST API.
    pub api: String,
}

/// The TOML configuration for a fleet whose state lives under `state_dir`.
pub fn config(settings: &FerricSettings, state_dir: &Path) -> String {
    let state_dir = state_dir.display();
    let filter = &settings.log_filter;
    let poll = settings.agent_command_poll_ms;
    let max = settings.max_concurrent.max(1);
    format!(
        r#"state_dir = "{state_dir}"

[telemetry]
log_filter = "{filter}"

[gateway]
listen = "{SERVER}:{API_PORT}"

[deploy]
automated_clean = true
max_concurrent_deploy = {max}
max_concurrent_clean = {max}
agent_command_poll_ms = {poll}
periodic_interval_secs = 5
sync_power_state_interval_secs = 60
power_state_change_timeout_secs = 60

[bootnet]
dhcp_mode = "authoritative"
server_address = "{SERVER}"
dhcp_listen = "{SERVER}:67"
router_advertisements = false
tftp_listen = "{SERVER}:{TFTP_PORT}"
http_listen = "{SERVER}:{BOOT_HTTP_PORT}"
tftp_max_transfers = 4096
tftp_max_per_client = 8

[[bootnet.subnets]]
network = "{network}"
pool_start = "{POOL_START}"
pool_end = "{POOL_END}"
lease_secs = 86400

[imagecache]
http_listen = "{SERVER}:{IMAGECACHE_HTTP_PORT}"
"#,
        network = network::NETWORK,
    )
}

/// Writes the dummy deploy kernel and ramdisk into bootnet's TFTP root.
pub fn write_boot_files(state_dir: &Path) -> Result<(), SimError> {
    let root = state_dir.join("tftp");
    for (name, size) in [(DEPLOY_KERNEL, DEPLOY_KERNEL_BYTES), (DEPLOY_RAMDISK, DEPLOY_RAMDISK_BYTES)] {
        let path = root.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| SimError::io(parent, e))?;
        }
        let content: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, content).map_err(|e| SimError::io(&path, e))?;
    }
    Ok(())
}

impl Ferric {
    /// Starts `ferric all-in-one` in `netns` with its state (and log) under
    /// `state_dir`, and waits until the REST API answers.
    pub async fn start(settings: &FerricSettings, netns: &Netns, state_dir: &Path) -> Result<Self, SimError> {
        std::fs::create_dir_all(state_dir).map_err(|e| SimError::io(state_dir, e))?;
        write_boot_files(state_dir)?;
        let config_path = state_dir.join("ferric.toml");
        std::fs::write(&config_path, config(settings, state_dir))
            .map_err(|e| SimError::io(&config_path, e))?;
        let log = state_dir.join("ferric.log");
        let log_file = std::fs::File::create(&log).map_err(|e| SimError::io(&log, e))?;
        let log_err = log_file.try_clone().map_err(|e| SimError::io(&log, e))?;
        let binary = settings.binary.to_string_lossy();
        let child = netns
            .command(&binary)
            .arg("all-in-one")
            .arg("--config")
            .arg(&config_path)
            .env_remove("FERRIC_CONFIG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .spawn()
            .map_err(|e| SimError::io(&settings.binary, e))?;
        let mut ferric = Self { child, log, api: format!("http://{SERVER}:{API_PORT}") };
        ferric.wait_ready().await?;
        Ok(ferric)
    }

    async fn wait_ready(&mut self) -> Result<(), SimError> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(SimError::Ferric(format!(
                    "exited with {status} before answering; log: {}",
                    self.log.display()
                )));
            }
            if let Ok(response) = http.get(format!("{}/", self.api)).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(SimError::Ferric(format!(
                    "did not answer within 60 s; log: {}",
                    self.log.display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Where Ferric logs, for failure messages.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Ferric's process id, to read its CPU time.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Ferric {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
