//! Node controls outside power and provisioning: boot mode and secure boot
//! (1.76), NMI injection (1.29) and the serial console. Each runs under the
//! node's lock, as Ironic's conductor does it.
//!
//! `fake` management and console keep the result in the node record, as
//! Ironic's `FakeManagement` / `FakeConsole` succeed without hardware; other
//! management interfaces answer Ironic's "does not support" until the power
//! service grows the matching operations (NMI already goes through it).

use ferric_model::hardware::InterfaceKind;
use ferric_model::state::BootMode;
use uuid::Uuid;

use crate::engine::Engine;
use crate::engine::task::Task;
use crate::error::{DeployError, Result};
use crate::interfaces::interface;

/// Ironic's refusal for an interface that lacks an operation.
fn unsupported(task: &Task, what: &str) -> DeployError {
    DeployError::Unsupported(format!(
        "Driver {} does not support {what} (disabled or not implemented).",
        task.node.driver
    ))
}

impl Engine {
    /// Runs `change` on the locked node and saves it, releasing the lock either way.
    async fn with_node(&self, uuid: Uuid, change: impl FnOnce(&mut Task) -> Result<()>) -> Result<()> {
        let mut task = self.acquire(uuid).await?;
        let result = match change(&mut task) {
            Ok(()) => task.save().await,
            Err(error) => Err(error),
        };
        task.release().await;
        result
    }

    /// Sets the node's boot mode (Ironic's `node_change_boot_mode`).
    pub async fn set_boot_mode(&self, uuid: Uuid, mode: BootMode) -> Result<()> {
        self.with_node(uuid, |task| {
            if interface(&task.node, InterfaceKind::Management) != "fake" {
                return Err(unsupported(task, "management"));
            }
            task.node.boot_mode = Some(mode);
            Ok(())
        })
        .await
    }

    /// Turns secure boot on or off (Ironic's `node_change_secure_boot`).
    pub async fn set_secure_boot(&self, uuid: Uuid, enabled: bool) -> Result<()> {
        self.with_node(uuid, |task| {
            if interface(&task.node, InterfaceKind::Management) != "fake" {
                return Err(unsupported(task, "management"));
            }
            task.node.secure_boot = Some(enabled);
            Ok(())
        })
        .await
    }

    /// Sends a non-maskable interrupt through the node's management interface.
    pub async fn inject_nmi(&self, uuid: Uuid) -> Result<()> {
        let task = self.acquire(uuid).await?;
        let result = self.power.inject_nmi(&task.node).await;
        task.release().await;
        result
    }

    /// Starts or stops the console (Ironic's `set_console_mode`): `no-console`
    /// refuses, `fake` records `console_enabled`.
    pub async fn set_console(&self, uuid: Uuid, enabled: bool) -> Result<()> {
        self.with_node(uuid, |task| {
            if interface(&task.node, InterfaceKind::Console) != "fake" {
                return Err(unsupported(task, "console"));
            }
            task.node.console_enabled = enabled;
            Ok(())
        })
        .await
    }
}
