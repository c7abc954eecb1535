//! The flows without steps: `verifying`, `inspecting`, `adopting`, `rescuing`,
//! `unrescuing`. Each consults the fake knobs of its phase, does its (small)
//! out-of-band work and fires `done`, `wait` or `fail`.

use chrono::Utc;
use ferric_model::ProvisionEvent;

use super::{Gate, fake_gate};
use crate::agent;
use crate::engine::task::Task;
use crate::error::{DeployError, Result};
use crate::interfaces;

/// Runs the fake gate of `phase`: `Ok(true)` to carry on, `Ok(false)` when the
/// node already failed or entered its wait state.
async fn gate(task: &mut Task, phase: &str) -> Result<bool> {
    match fake_gate(task, phase) {
        Gate::Pass => Ok(true),
        Gate::Fail(message) => task.fail(message).await.map(|()| false),
        Gate::Wait => task.process_event(ProvisionEvent::Wait).await.map(|()| false),
    }
}

/// `verifying`: checks the power credentials (Ironic's `do_node_verify`) and
/// reads the power state; back to `enroll` with `last_error` when they do not work.
pub async fn verify(task: &mut Task) -> Result<()> {
    if !gate(task, "verify").await? {
        return Ok(());
    }
    let validation = task.engine.power.validate(&task.node).await?;
    if let Err(reason) = validation.power.and(validation.management) {
        return task
            .fail(format!(
                "Failed to validate power driver interface for node {}. Error: {reason}",
                task.node.uuid
            ))
            .await;
    }
    if !interfaces::is_fake(&task.node) {
        task.node.power_state = task.engine.power.get_power(&task.node).await?;
    }
    task.process_event(ProvisionEvent::Done).await
}

/// `inspecting`: out of band it completes here; with the `agent` inspect interface
/// the node boots the ramdisk and waits in `inspect wait`.
pub async fn inspect(task: &mut Task) -> Result<()> {
    if !gate(task, "inspect").await? {
        return Ok(());
    }
    if interfaces::inspects_in_band(&task.node)
        && !task.node.driver_internal_info.contains_key("inspect_ramdisk_booted")
    {
        agent::steps::boot_ramdisk(task).await?;
        task.node.driver_internal_info.insert("inspect_ramdisk_booted".into(), serde_json::json!(true));
        return task.process_event(ProvisionEvent::Wait).await;
    }
    task.node.driver_internal_info.remove("inspect_ramdisk_booted");
    task.node.inspection_finished_at = Some(Utc::now());
    task.process_event(ProvisionEvent::Done).await
}

/// `adopting`: takes an already deployed node under management as `active`.
pub async fn adopt(task: &mut Task) -> Result<()> {
    if !gate(task, "adopt").await? {
        return Ok(());
    }
    let validation = task.engine.power.validate(&task.node).await?;
    if let Err(reason) = validation.power {
        return Err(DeployError::Driver(format!(
            "Error while attempting to adopt node {}: {reason}.",
            task.node.uuid
        )));
    }
    task.process_event(ProvisionEvent::Done).await
}

/// `rescuing`: boots the rescue ramdisk (fake: at once) into `rescue`.
pub async fn rescue(task: &mut Task) -> Result<()> {
    if !gate(task, "rescue").await? {
        return Ok(());
    }
    task.process_event(ProvisionEvent::Done).await
}

/// `unrescuing`: back to the instance, forgetting the rescue password.
pub async fn unrescue(task: &mut Task) -> Result<()> {
    if !gate(task, "unrescue").await? {
        return Ok(());
    }
    task.node.instance_info.remove("rescue_password");
    task.process_event(ProvisionEvent::Done).await
}
