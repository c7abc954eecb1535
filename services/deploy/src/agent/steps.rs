//! What the conductor does with the agent during steps: boot the ramdisk, merge
//! the agent's own steps into the list, run agent steps and follow their commands,
//! and the conductor-side deploy steps of the `direct` deploy interface
//! (`deploy`, `prepare_instance_boot`, `tear_down_agent`, `switch_to_tenant_network`,
//! `boot_instance`).
//!
//! The command in flight is recorded in `driver_internal_info.agent_command`
//! (`{id, name, step}`) as soon as the agent accepted it, so a conductor that takes
//! the node over polls that command instead of sending the step again. If the
//! record was lost between the agent accepting and the save (a crash in that
//! window), the agent answers 409 busy to the second send, and the running command
//! of the same name is adopted instead.

use chrono::Utc;
use ferric_model::Node;
use ferric_model::json::Object;
use ferric_model::secrets::SecretPolicy;
use ferric_model::state::{BootDevice, PowerTarget};
use serde_json::{Value, json};

use super::client::{CommandResult, SendError};
use crate::engine::task::Task;
use crate::error::{DeployError, Result};
use crate::flows::power_action;
use crate::flows::steps::Outcome;
use crate::interfaces;
use crate::interfaces::images::StagedImage;
use crate::settings::Settings;
use crate::steps::{self, Step, StepKind};

/// How long the conductor waits for the agent to accept `standby.power_off`
/// before powering the machine off out of band anyway.
const AGENT_POWER_OFF_REPLY: std::time::Duration = std::time::Duration::from_secs(3);

/// Ironic's `AgentDeploy.write_image` priority.
const WRITE_IMAGE_PRIORITY: i64 = 80;

/// Keys of `driver_internal_info` that belong to one agent boot.
const AGENT_KEYS: &[&str] =
    &["agent_url", "agent_secret_token", "agent_version", "agent_last_heartbeat", "agent_command"];

/// Forgets the agent of the previous boot (its URL and token), as Ironic's
/// `wipe_token_and_url`.
pub fn forget_agent(node: &mut Node) {
    for key in AGENT_KEYS {
        node.driver_internal_info.remove(*key);
    }
}

/// Boots the node into the ramdisk: PXE next, then a reboot. The agent's lookup
/// and heartbeat take it from there.
pub async fn boot_ramdisk(task: &mut Task) -> Result<()> {
    forget_agent(&mut task.node);
    task.engine.netboot.boot_ramdisk(&task.node, &task.engine.store).await?;
    match task.engine.power.set_boot_device(&task.node, BootDevice::Pxe, false).await {
        Ok(()) | Err(DeployError::Unsupported(_)) => {}
        Err(error) => return Err(error),
    }
    power_action(task, PowerTarget::Reboot).await
}

fn endpoint(node: &Node) -> Result<(String, String)> {
    let info = &node.driver_internal_info;
    let url = info.get("agent_url").and_then(Value::as_str).unwrap_or_default();
    let token = info.get("agent_secret_token").and_then(Value::as_str).unwrap_or_default();
    if url.is_empty() {
        return Err(DeployError::Driver(format!("The agent of node {} has not called back", node.uuid)));
    }
    Ok((url.to_owned(), token.to_owned()))
}

/// The node as the agent sees it in command parameters: secrets masked.
fn node_for_agent(node: &Node) -> Value {
    let masked = node.masked(SecretPolicy::MASK_ALL);
    json!({
        "uuid": masked.uuid,
        "properties": masked.properties,
        "instance_info": masked.instance_info,
        "driver_internal_info": masked.driver_internal_info,
    })
}

/// Asks the agent for its steps of `kind` and merges them into the list: deploy
/// steps join the remaining deploy steps with the conductor's own, automated clean
/// steps replace the (empty) automated list; manual and service lists stay as given.
pub async fn merge_agent_steps(task: &mut Task, kind: StepKind) -> Result<()> {
    let (url, token) = endpoint(&task.node)?;
    let name = format!("{0}.get_{0}_steps", kind.name());
    let params = json!({"node": node_for_agent(&task.node), "ports": []});
    let result = match task.engine.agent.execute(&url, &token, &name, params, true).await {
        Ok(result) => result,
        Err(SendError::Busy) => {
            return Err(DeployError::Driver(format!("The agent is busy; cannot run {name}")));
        }
        Err(SendError::Failed(error)) => return Err(error),
    };
    let mut found = agent_steps(&result.command_result, kind);
    if kind == StepKind::Clean {
        override_erase_priorities(&mut found, &task.engine.settings);
    }
    let info = &mut task.node.driver_internal_info;
    let list = steps::list(info, kind);
    let index = steps::index(info, kind).min(list.len());
    let (done, rest) = list.split_at(index);
    let mut rest = rest.to_vec();
    match kind {
        StepKind::Deploy => {
            // IPA lists write_image at priority 0: the conductor's own write_image
            // step (80) is what runs it on the agent, as in Ironic's AgentDeploy.
            for step in found.iter_mut().filter(|s| s.interface == "deploy" && s.step == "write_image") {
                if step.priority.unwrap_or(0) == 0 {
                    step.priority = Some(WRITE_IMAGE_PRIORITY);
                }
            }
            let new: Vec<Step> =
                found.into_iter().filter(|s| !rest.iter().any(|r| r.name() == s.name())).collect();
            rest.extend(new);
            for (step, priority) in [
                ("write_image", WRITE_IMAGE_PRIORITY),
                ("prepare_instance_boot", 60),
                ("tear_down_agent", 40),
                ("switch_to_tenant_network", 30),
                ("boot_instance", 20),
            ] {
                if !rest.iter().any(|r| r.interface == "deploy" && r.step == step) {
                    rest.push(Step::new("deploy", step, Some(priority)));
                }
            }
            rest = steps::by_priority(rest);
        }
        StepKind::Clean if info.get("automated_clean_run") == Some(&json!(true)) => {
            rest.extend(found);
            rest = steps::by_priority(rest);
        }
        _ => {}
    }
    let mut merged = done.to_vec();
    merged.extend(rest);
    info.insert(kind.list_key().to_owned(), json!(merged));
    info.insert(kind.index_key().to_owned(), json!(index));
    info.insert(kind.fetched_key().to_owned(), json!(true));
    if let Some(version) = result.command_result.get("hardware_manager_version") {
        info.insert("hardware_manager_version".into(), version.clone());
    }
    Ok(())
}

/// The conductor's `erase_devices*` priorities over the agent's, as Ironic's
/// `[deploy]erase_devices_priority` and `erase_devices_metadata_priority` apply.
fn override_erase_priorities(found: &mut [Step], settings: &Settings) {
    for step in found.iter_mut().filter(|s| s.interface == "deploy") {
        let configured = match step.step.as_str() {
            "erase_devices" => settings.erase_devices_priority,
            "erase_devices_metadata" => settings.erase_devices_metadata_priority,
            _ => None,
        };
        if let Some(priority) = configured {
            step.priority = Some(priority);
        }
    }
}

/// Every step in an agent's `get_*_steps` result, whatever hardware manager
/// reported it.
fn agent_steps(result: &Value, kind: StepKind) -> Vec<Step> {
    let Some(managers) = result.get(kind.list_key()).and_then(Value::as_object) else { return Vec::new() };
    managers
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|s| serde_json::from_value::<Step>(s.clone()).ok())
        .collect()
}

/// The conductor's own deploy steps; `None` when `step` is the agent's to run.
pub async fn conductor_deploy_step(task: &mut Task, step: &Step) -> Result<Option<Outcome>> {
    let agent = interfaces::uses_agent(&task.node);
    Ok(Some(match step.step.as_str() {
        "deploy" if agent => {
            task.node.driver_internal_info.insert("steps_require_ramdisk".into(), json!(true));
            task.node.driver_internal_info.remove(StepKind::Deploy.fetched_key());
            boot_ramdisk(task).await?;
            Outcome::Wait
        }
        "deploy" => {
            task.fake_pause().await;
            Outcome::Done
        }
        "prepare_instance_boot" if agent => {
            if task.node.instance_info.get("image_type").and_then(Value::as_str) == Some("partition") {
                let params = json!({"root_uuid": null, "efi_system_part_uuid": null, "prep_boot_part_uuid": null, "target_boot_mode": "uefi"});
                if let Some(failed) = run_command(task, "image.install_bootloader", params, step).await? {
                    return Ok(Some(failed));
                }
            }
            task.engine.netboot.boot_local(&task.node, &task.engine.store).await?;
            match task.engine.power.set_boot_device(&task.node, BootDevice::Disk, true).await {
                Ok(()) | Err(DeployError::Unsupported(_)) => {}
                Err(error) => return Err(error),
            }
            Outcome::Done
        }
        "tear_down_agent" if agent => {
            tear_down_agent(task).await?;
            Outcome::Done
        }
        "switch_to_tenant_network" => Outcome::Done,
        "boot_instance" => {
            power_action(task, PowerTarget::On).await?;
            Outcome::Done
        }
        _ => return Ok(None),
    }))
}

/// Powers the node off at the end of the agent's work: `standby.sync`, the agent's
/// own `standby.power_off`, then out of band to be sure; the agent is forgotten.
pub async fn tear_down_agent(task: &mut Task) -> Result<()> {
    if let Ok((url, token)) = endpoint(&task.node) {
        // Best effort: the out-of-band power-off below is what guarantees the result.
        let _ = task.engine.agent.execute(&url, &token, "standby.sync", json!({}), true).await;
        // The machine may switch off before its reply leaves; do not wait for
        // a reply that may never come.
        let power_off = task.engine.agent.execute(&url, &token, "standby.power_off", json!({}), false);
        let _ = tokio::time::timeout(AGENT_POWER_OFF_REPLY, power_off).await;
    }
    power_action(task, PowerTarget::Off).await?;
    forget_agent(&mut task.node);
    Ok(())
}

/// Runs an agent step of `kind` and follows its command to the end.
pub async fn execute(task: &mut Task, kind: StepKind, step: &Step) -> Result<Outcome> {
    let name = format!("{0}.execute_{0}_step", kind.name());
    let mut step_json = Value::Object(step.to_object());
    let reattaching = inflight_command(&task.node, &name, &step.name()).is_some();
    if step.step == "write_image"
        && !reattaching
        && let Value::Object(map) = &mut step_json
    {
        let args = map.entry("args").or_insert_with(|| json!({}));
        if let Value::Object(args) = args {
            let staged = match task.engine.images.stage(&task.node).await {
                Ok(staged) => staged,
                Err(error) => return Ok(Outcome::Failed(error.to_string())),
            };
            args.insert("image_info".into(), image_info(&task.node, &staged));
            if let Some(drive) = task.node.instance_info.get("configdrive") {
                args.insert("configdrive".into(), drive.clone());
            }
        }
    }
    let mut params = json!({"step": step_json, "node": node_for_agent(&task.node), "ports": []});
    if let Value::Object(map) = &mut params {
        let version =
            task.node.driver_internal_info.get("hardware_manager_version").cloned().unwrap_or(Value::Null);
        map.insert(format!("{}_version", kind.name()), version);
    }
    let outcome = run_command(task, &name, params, step).await;
    if step.step == "write_image" {
        task.engine.images.release(&task.node).await;
    }
    Ok(outcome?.unwrap_or(Outcome::Done))
}

/// Sends (or re-attaches to) a command for `step` and waits for its end;
/// `Some(Failed)` when the agent reports a failure.
async fn run_command(task: &mut Task, name: &str, params: Value, step: &Step) -> Result<Option<Outcome>> {
    let (url, token) = endpoint(&task.node)?;
    let step_name = step.name();
    let id = match inflight_command(&task.node, name, &step_name) {
        Some(id) => {
            tracing::info!(node = %task.node.uuid, command = name, %id, "re-attaching to the agent's command");
            id
        }
        None => {
            let accepted = match task.engine.agent.execute(&url, &token, name, params, false).await {
                Ok(result) => result,
                Err(SendError::Busy) => adopt_running(task, &url, &token, name).await?,
                Err(SendError::Failed(error)) => return Err(error),
            };
            if !accepted.running() {
                return Ok(finished(&accepted, &step_name));
            }
            task.node
                .driver_internal_info
                .insert("agent_command".into(), json!({"id": accepted.id, "name": name, "step": step_name}));
            task.save().await?;
            accepted.id
        }
    };
    let timeout =
        task.engine.settings.deploy_callback_timeout.max(task.engine.settings.clean_callback_timeout);
    let deadline = Utc::now() + chrono::Duration::from_std(timeout).unwrap_or(chrono::Duration::hours(1));
    loop {
        tokio::time::sleep(task.engine.settings.agent_command_poll).await;
        let commands = task.engine.agent.commands(&url, &token).await?;
        let Some(command) = commands.iter().rev().find(|c| c.id == id) else {
            return Ok(Some(Outcome::Failed(format!(
                "The agent of node {} no longer knows command {name} ({id}); it may have rebooted",
                task.node.uuid
            ))));
        };
        if !command.running() {
            task.node.driver_internal_info.remove("agent_command");
            return Ok(finished(command, &step_name));
        }
        if Utc::now() > deadline {
            return Ok(Some(Outcome::Failed(format!(
                "Timed out waiting for the agent to finish {step_name}"
            ))));
        }
    }
}

/// The id of the agent command recorded in flight for `step` as `name`: what a
/// conductor taking over follows instead of sending the step again.
fn inflight_command(node: &Node, name: &str, step: &str) -> Option<String> {
    let command = node.driver_internal_info.get("agent_command")?;
    let matches = command.get("step").and_then(Value::as_str) == Some(step)
        && command.get("name").and_then(Value::as_str) == Some(name);
    matches.then(|| command.get("id").and_then(Value::as_str).map(str::to_owned)).flatten()
}

/// The RUNNING command named `name`, when a second send found the agent busy.
async fn adopt_running(task: &Task, url: &str, token: &str, name: &str) -> Result<CommandResult> {
    let commands = task.engine.agent.commands(url, token).await?;
    commands
        .into_iter()
        .rev()
        .find(|c| c.running() && same_command(&c.command_name, name))
        .ok_or_else(|| DeployError::Driver(format!("The agent is busy and runs no {name}")))
}

/// Whether the agent's `command_name` is `name` (`extension.command`): IPA
/// reports the bare command, older agents the full name.
fn same_command(reported: &str, name: &str) -> bool {
    reported == name || name.split_once('.').is_some_and(|(_, bare)| bare == reported)
}

fn finished(command: &CommandResult, step: &str) -> Option<Outcome> {
    if command.command_status == "SUCCEEDED" {
        None
    } else {
        Some(Outcome::Failed(format!("Agent returned error for step {step}: {}", command.error_message())))
    }
}

/// Ironic's `image_info` for `write_image`: the staged image's location and
/// hash, the rest from `instance_info`.
fn image_info(node: &Node, staged: &StagedImage) -> Value {
    let info: &Object = &node.instance_info;
    let get = |k: &str| info.get(k).cloned().unwrap_or(Value::Null);
    let md5 = staged.hash_algo.is_none().then(|| staged.hash.clone()).flatten();
    json!({
        "id": get("image_source"),
        "urls": [staged.url],
        "disk_format": staged.disk_format.clone().map_or_else(|| get("image_disk_format"), Value::from),
        "container_format": get("image_container_format"),
        "checksum": md5,
        "os_hash_algo": staged.hash_algo,
        "os_hash_value": staged.hash_algo.is_some().then(|| staged.hash.clone()).flatten(),
        "stream_raw_images": true,
        "node_uuid": node.uuid,
    })
}

#[cfg(test)]
mod tests {
    use super::same_command;

    #[test]
    fn commands_match_by_full_or_bare_name() {
        assert!(same_command("execute_deploy_step", "deploy.execute_deploy_step"));
        assert!(same_command("deploy.execute_deploy_step", "deploy.execute_deploy_step"));
        assert!(!same_command("execute_clean_step", "deploy.execute_deploy_step"));
    }
}
