//! The Redfish driver: HTTPS with rustls, no process per call.
//!
//! Layout:
//! - [`config`]: Ironic's redfish driver_info keys.
//! - [`client`]: HTTP, TLS (`redfish_verify_ca`), errors.
//! - [`session`]: SessionService tokens; basic fallback for `auto`.
//! - [`boot`]: boot source override with ETag/If-Match.
//! - [`vmedia`]: virtual media insert/eject.
//!
//! This file is the driver: system discovery (the one system of the service when
//! `redfish_system_id` is unset), `ComputerSystem.Reset` with the reset types the
//! system allows, and the cache of HTTP clients per BMC and TLS setting.

pub mod boot;
pub mod client;
pub mod config;
pub mod session;
pub mod vmedia;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use self::client::{Client, odata_id};
use self::config::{RedfishConfig, VerifyCa};
use self::session::SessionCache;
use crate::driver::{
    Bmc, BootDevice, BootMode, BootSetting, MediaKind, PowerAction, PowerDriver, PowerResult, PowerState,
};
use crate::error::PowerError;
use crate::info::DriverInfo;

/// Tunables of the Redfish driver.
#[derive(Debug, Clone)]
pub struct RedfishOptions {
    /// Whole-request timeout.
    pub request_timeout: Duration,
    /// TCP + TLS connect timeout: bounds how long an unreachable BMC takes to fail.
    pub connect_timeout: Duration,
    /// Poll interval while waiting for a power state (BMCs apply resets slowly).
    pub poll_interval: Duration,
}

impl Default for RedfishOptions {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            poll_interval: Duration::from_millis(500),
        }
    }
}

/// The `redfish` driver.
#[derive(Debug, Clone, Default)]
pub struct RedfishDriver {
    options: RedfishOptions,
    clients: Arc<Mutex<HashMap<(String, VerifyCa), reqwest::Client>>>,
    sessions: SessionCache,
}

impl RedfishDriver {
    /// A driver with its own client cache.
    pub fn new(options: RedfishOptions) -> Self {
        Self { options, clients: Arc::default(), sessions: SessionCache::default() }
    }

    fn http(&self, config: &RedfishConfig) -> PowerResult<reqwest::Client> {
        let key = (config.base.clone(), config.verify.clone());
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let client =
            client::build_client(&config.verify, self.options.request_timeout, self.options.connect_timeout)?;
        clients.insert(key, client.clone());
        Ok(client)
    }

    /// A handle with the concrete type, for tests that read virtual media back.
    pub fn redfish_bmc(&self, info: &DriverInfo) -> PowerResult<RedfishBmc> {
        let config = RedfishConfig::parse(info)?;
        let http = self.http(&config)?;
        Ok(RedfishBmc {
            client: Client { config, http, sessions: self.sessions.clone() },
            poll: self.options.poll_interval,
        })
    }
}

#[async_trait]
impl PowerDriver for RedfishDriver {
    fn name(&self) -> &'static str {
        "redfish"
    }

    fn bmc(&self, info: &DriverInfo) -> PowerResult<Box<dyn Bmc>> {
        Ok(Box::new(self.redfish_bmc(info)?))
    }
}

/// One Redfish system.
#[derive(Debug)]
pub struct RedfishBmc {
    client: Client,
    poll: Duration,
}

impl RedfishBmc {
    /// The system's path: from driver_info, or the only member of /Systems.
    async fn system_path(&self) -> PowerResult<String> {
        if let Some(path) = &self.client.config.system {
            return Ok(path.clone());
        }
        let systems = self.client.get("/redfish/v1/Systems").await?.body;
        let members: Vec<&str> = systems
            .get("Members")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(odata_id)
            .collect();
        match members.as_slice() {
            [one] => Ok((*one).trim_end_matches('/').to_owned()),
            [] => Err(self.client.protocol("the service lists no systems")),
            many => Err(PowerError::invalid(
                "redfish_system_id",
                format!(
                    "required: {} has {} systems ({})",
                    self.client.address(),
                    many.len(),
                    many.join(", ")
                ),
            )),
        }
    }

    /// GETs the system; a 404 for a configured id names the key.
    async fn system(&self) -> PowerResult<(String, Value)> {
        let path = self.system_path().await?;
        match self.client.get(&path).await {
            Ok(reply) => Ok((path, reply.body)),
            Err(PowerError::BmcError { detail, .. }) if detail.starts_with("HTTP 404") => {
                Err(PowerError::invalid(
                    "redfish_system_id",
                    format!("{path} does not exist at {}", self.client.address()),
                ))
            }
            Err(e) => Err(e),
        }
    }

    /// What the first virtual media device of `kind` holds: (image URL, inserted).
    pub async fn media(&self, kind: MediaKind) -> PowerResult<Option<(String, bool)>> {
        let (_, system) = self.system().await?;
        vmedia::current(&self.client, &system, kind).await
    }

    async fn reset(&self, reset_type: &str, fallback: Option<&str>) -> PowerResult<()> {
        let (path, system) = self.system().await?;
        let action = system.pointer("/Actions/#ComputerSystem.Reset");
        let target = action
            .and_then(|a| a.get("target"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{path}/Actions/ComputerSystem.Reset"));
        let allowed: Option<Vec<&str>> = action
            .and_then(|a| a.get("ResetType@Redfish.AllowableValues"))
            .and_then(Value::as_array)
            .map(|v| v.iter().filter_map(Value::as_str).collect());
        let chosen = match &allowed {
            None => reset_type,
            Some(list) if list.contains(&reset_type) => reset_type,
            Some(list) => match fallback {
                Some(f) if list.contains(&f) => f,
                _ => {
                    return Err(
                        self.unsupported(&format!("reset type {reset_type} (allowed: {})", list.join(", ")))
                    );
                }
            },
        };
        self.client.post(&target, &json!({ "ResetType": chosen })).await.map(drop)
    }
}

#[async_trait]
impl Bmc for RedfishBmc {
    fn address(&self) -> String {
        match &self.client.config.system {
            Some(system) => format!("{}{}", self.client.config.base, system),
            None => self.client.config.base.clone(),
        }
    }

    fn driver(&self) -> &'static str {
        "redfish"
    }

    fn poll_interval(&self) -> Duration {
        self.poll
    }

    async fn power_state(&self) -> PowerResult<PowerState> {
        let (_, system) = self.system().await?;
        // As Ironic: a transition in progress reads as the state it heads for.
        match system.get("PowerState").and_then(Value::as_str) {
            Some("On" | "PoweringOn") => Ok(PowerState::On),
            Some("Off" | "PoweringOff") => Ok(PowerState::Off),
            other => Err(self.client.protocol(format!("PowerState is {other:?}"))),
        }
    }

    async fn power_action(&self, action: PowerAction) -> PowerResult<()> {
        match action {
            PowerAction::On => self.reset("On", Some("ForceOn")).await,
            PowerAction::Off => self.reset("ForceOff", None).await,
            PowerAction::SoftOff => self.reset("GracefulShutdown", None).await,
            PowerAction::Reboot => self.reset("ForceRestart", None).await,
            PowerAction::SoftReboot => self.reset("GracefulRestart", None).await,
            PowerAction::PowerCycle => self.reset("PowerCycle", Some("ForceRestart")).await,
        }
    }

    async fn boot_device(&self) -> PowerResult<BootSetting> {
        let (_, system) = self.system().await?;
        Ok(boot::read(&system))
    }

    async fn set_boot_device(
        &self,
        device: BootDevice,
        persistent: bool,
        mode: Option<BootMode>,
    ) -> PowerResult<()> {
        let path = self.system_path().await?;
        boot::set(&self.client, &path, device, persistent, mode).await
    }

    async fn supported_boot_devices(&self) -> PowerResult<Vec<BootDevice>> {
        let (_, system) = self.system().await?;
        Ok(boot::supported(&system))
    }

    async fn inject_nmi(&self) -> PowerResult<()> {
        self.reset("Nmi", None).await
    }

    async fn probe(&self) -> PowerResult<()> {
        self.system().await.map(drop)
    }

    async fn insert_media(&self, kind: MediaKind, image_url: &str) -> PowerResult<()> {
        let (_, system) = self.system().await?;
        vmedia::insert(&self.client, &system, kind, image_url).await
    }

    async fn eject_media(&self, kind: MediaKind) -> PowerResult<()> {
        let (_, system) = self.system().await?;
        vmedia::eject(&self.client, &system, kind).await
    }
}
