//! The conductor's tunables, as durations and counts, built once from `[deploy]`.
//!
//! Kept apart from `ferric_config::DeployConfig` so the engine reads typed
//! durations instead of `*_secs` integers, and tests can build one without a file.

use std::time::Duration;

use ferric_config::DeployConfig;
use ferric_model::ProvisionState;

/// What the engine needs to know from configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Automated cleaning for nodes whose `automated_clean` is unset.
    pub automated_clean: bool,
    /// How long each fake interface operation takes.
    pub fake_delay: Duration,
    /// Deploys run at once.
    pub max_concurrent_deploy: usize,
    /// Cleanings run at once.
    pub max_concurrent_clean: usize,
    /// Refuse (503) instead of queueing past the limits.
    pub reject_when_busy: bool,
    /// Callback timeout per wait state.
    pub deploy_callback_timeout: Duration,
    /// `clean wait` timeout.
    pub clean_callback_timeout: Duration,
    /// `inspect wait` timeout.
    pub inspect_wait_timeout: Duration,
    /// `rescue wait` timeout.
    pub rescue_callback_timeout: Duration,
    /// `service wait` timeout.
    pub service_callback_timeout: Duration,
    /// How long a power change may take.
    pub power_state_change_timeout: Duration,
    /// Period of the takeover / timeout checks.
    pub periodic_interval: Duration,
    /// Period of power-state sync; `None` disables it.
    pub sync_power_state_interval: Option<Duration>,
    /// Failed syncs before `fault = "power failure"`.
    pub power_state_sync_max_retries: u32,
    /// Poll interval of running agent commands.
    pub agent_command_poll: Duration,
    /// `erase_devices` priority in automated cleaning over the agent's.
    pub erase_devices_priority: Option<i64>,
    /// `erase_devices_metadata` priority in automated cleaning over the agent's.
    pub erase_devices_metadata_priority: Option<i64>,
}

impl Default for Settings {
    fn default() -> Self {
        Self::from(&DeployConfig::default())
    }
}

impl From<&DeployConfig> for Settings {
    fn from(config: &DeployConfig) -> Self {
        let secs = Duration::from_secs;
        Self {
            automated_clean: config.automated_clean,
            fake_delay: Duration::from_millis(config.fake_delay_ms),
            max_concurrent_deploy: config.max_concurrent_deploy.max(1),
            max_concurrent_clean: config.max_concurrent_clean.max(1),
            reject_when_busy: config.reject_when_busy,
            deploy_callback_timeout: secs(config.deploy_callback_timeout_secs),
            clean_callback_timeout: secs(config.clean_callback_timeout_secs),
            inspect_wait_timeout: secs(config.inspect_wait_timeout_secs),
            rescue_callback_timeout: secs(config.rescue_callback_timeout_secs),
            service_callback_timeout: secs(config.service_callback_timeout_secs),
            power_state_change_timeout: secs(config.power_state_change_timeout_secs.max(1)),
            periodic_interval: secs(config.periodic_interval_secs.max(1)),
            sync_power_state_interval: (config.sync_power_state_interval_secs > 0)
                .then(|| secs(config.sync_power_state_interval_secs)),
            power_state_sync_max_retries: config.power_state_sync_max_retries.max(1),
            agent_command_poll: Duration::from_millis(config.agent_command_poll_ms.max(10)),
            erase_devices_priority: config.erase_devices_priority,
            erase_devices_metadata_priority: config.erase_devices_metadata_priority,
        }
    }
}

impl Settings {
    /// How long a node may sit in the wait state `state`, with the message Ironic
    /// records when it is exceeded; `None` for states without a callback timeout.
    pub fn wait_timeout(&self, state: ProvisionState, node: &str) -> Option<(Duration, String)> {
        use ProvisionState as S;
        Some(match state {
            S::DeployWait => (
                self.deploy_callback_timeout,
                format!("Timeout reached while waiting for callback for node {node}"),
            ),
            S::CleanWait => (
                self.clean_callback_timeout,
                "Timeout reached while cleaning the node. Please check if the ramdisk responded.".to_owned(),
            ),
            S::InspectWait => {
                (self.inspect_wait_timeout, "Timeout reached while inspecting the node".to_owned())
            }
            S::RescueWait => (
                self.rescue_callback_timeout,
                "Timeout reached while waiting for rescue ramdisk callback for node".to_owned(),
            ),
            S::ServiceWait => (
                self.service_callback_timeout,
                "Timeout reached while servicing the node. Please check if the ramdisk responded.".to_owned(),
            ),
            _ => return None,
        })
    }
}
