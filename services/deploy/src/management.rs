//! Power transitions, the boot device and validation: the conductor's operations
//! outside the provision state machine.
//!
//! A power change runs like Ironic's `do_node_set_power_state`: under the node's
//! lock, `target_power_state` is set and saved first (so the API shows the change
//! in progress and the reservation), the change is made in the background, then
//! `power_state` records the result and the target is cleared — or `last_error`
//! says why it failed.

use std::collections::BTreeMap;
use std::time::Duration;

use ferric_model::hardware::InterfaceKind;
use ferric_model::state::{BootDevice, PowerTarget};
use ferric_model::{HistorySeverity, PowerState};
use serde_json::Value;
use tracing::Instrument;
use uuid::Uuid;

use crate::engine::Engine;
use crate::error::{DeployError, Result};
use crate::interfaces::{self, interface};

/// One interface's validation: `Ok` or the reason it is not usable.
pub type Verdict = std::result::Result<(), String>;

impl Engine {
    /// Starts a power change and returns the target power state it aims at.
    pub async fn change_power_state(
        &self,
        uuid: Uuid,
        target: PowerTarget,
        timeout: Option<Duration>,
    ) -> Result<PowerState> {
        let mut task = self.acquire(uuid).await?;
        let aim = target.target_state();
        task.node.target_power_state = Some(aim);
        task.node.last_error = None;
        if let Err(error) = task.save().await {
            task.release().await;
            return Err(error);
        }
        let timeout = timeout.unwrap_or(self.settings.power_state_change_timeout);
        let span = tracing::info_span!("power_change", node = %uuid, %target);
        tokio::spawn(
            async move {
                task.fake_pause().await;
                let power = task.engine.power.clone();
                match power.set_power(&task.node, target, timeout).await {
                    Ok(reached) => {
                        task.node.power_state = Some(reached);
                        tracing::info!(state = %reached, "power state changed");
                    }
                    Err(error) => {
                        let message =
                            format!("Failed to change power state to '{aim}' by '{target}'. Error: {error}");
                        task.engine.history.record(
                            &task.node,
                            HistorySeverity::Error,
                            "power",
                            message.clone(),
                            task.engine.hostname(),
                        );
                        tracing::warn!(%message, "power change failed");
                        task.node.last_error = Some(message);
                    }
                }
                task.node.target_power_state = None;
                if let Err(error) = task.save().await {
                    tracing::warn!(%error, "cannot record the power change");
                }
                task.release().await;
            }
            .instrument(span),
        );
        Ok(aim)
    }

    /// Sets the next boot device, under the node's lock.
    pub async fn set_boot_device(&self, uuid: Uuid, device: BootDevice, persistent: bool) -> Result<()> {
        let task = self.acquire(uuid).await?;
        let result = self.power.set_boot_device(&task.node, device, persistent).await;
        task.release().await;
        result
    }

    /// Reads the next boot device.
    pub async fn get_boot_device(&self, uuid: Uuid) -> Result<(Option<BootDevice>, Option<bool>)> {
        let node = self.node(&uuid.to_string()).await?;
        self.power.get_boot_device(&node.record).await
    }

    /// The boot devices the node's management interface can set.
    pub async fn supported_boot_devices(&self, uuid: Uuid) -> Result<Vec<BootDevice>> {
        let node = self.node(&uuid.to_string()).await?;
        self.power.supported_boot_devices(&node.record).await
    }

    /// Validates every interface of the node, by interface name.
    pub async fn validate(&self, uuid: Uuid) -> Result<BTreeMap<&'static str, Verdict>> {
        let node = self.node(&uuid.to_string()).await?.record;
        let mut out = BTreeMap::new();
        let (power, management) = match self.power.validate(&node).await {
            Ok(v) => (v.power, v.management),
            Err(DeployError::Unavailable(reason)) => (Err(reason.clone()), Err(reason)),
            Err(error) => return Err(error),
        };
        // Ironic's validate lists every interface but vendor (transcript 20).
        for kind in InterfaceKind::ALL.into_iter().filter(|k| *k != InterfaceKind::Vendor) {
            let implementation = interface(&node, kind);
            let verdict = match kind {
                InterfaceKind::Power => power.clone(),
                InterfaceKind::Management => management.clone(),
                _ if implementation.starts_with("no-") => Err(format!(
                    "Driver {} does not support {} (disabled or not implemented).",
                    node.driver,
                    kind.name()
                )),
                InterfaceKind::Boot if matches!(implementation.as_str(), "pxe" | "ipxe") => {
                    missing(&node.driver_info, &["deploy_kernel", "deploy_ramdisk"]).map_err(|keys| {
                        format!(
                            "Cannot validate PXE bootloader. Some parameters were missing in node's driver_info. Missing are: {keys}"
                        )
                    })
                }
                InterfaceKind::Deploy if interfaces::uses_agent(&node) => {
                    missing(&node.instance_info, &["image_source"]).map_err(|keys| {
                        format!(
                            "Cannot validate image information for node {} because one or more parameters are missing from its instance_info. Missing are: {keys}",
                            node.uuid
                        )
                    })
                }
                _ => Ok(()),
            };
            out.insert(kind.name(), verdict);
        }
        Ok(out)
    }
}

/// `Err` with Python's list rendering of the keys absent from `object`.
fn missing(object: &ferric_model::json::Object, keys: &[&str]) -> std::result::Result<(), String> {
    let absent: Vec<String> = keys
        .iter()
        .filter(|k| object.get(**k).is_none_or(|v| v.is_null() || v == &Value::String(String::new())))
        .map(|k| format!("'{k}'"))
        .collect();
    if absent.is_empty() { Ok(()) } else { Err(format!("[{}]", absent.join(", "))) }
}
