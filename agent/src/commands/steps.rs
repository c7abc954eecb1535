//! The `deploy` and `clean` extensions: the steps this agent offers (IPA's
//! GenericHardwareManager subset it implements) and running one of them.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{erase, image};
use crate::agent::Agent;
use crate::error::CommandError;

/// The hardware manager the steps are reported under, with IPA's name and version
/// so the conductor's version check matches what it recorded.
const MANAGER: &str = "GenericHardwareManager";

fn versions() -> Value {
    json!({"generic_hardware_manager": "1.2"})
}

/// `deploy.get_deploy_steps`. IPA reports `write_image` at priority 0 because
/// Ironic's conductor declares its own `write_image` at 80 and proxies it; Ferric's
/// conductor takes the priority from the agent, so it is reported at 80.
pub fn deploy_steps() -> Value {
    json!({
        "deploy_steps": {MANAGER: [
            {"step": "write_image", "priority": 80, "interface": "deploy", "reboot_requested": false},
            {"step": "erase_devices_metadata", "priority": 0, "interface": "deploy", "reboot_requested": false},
        ]},
        "hardware_manager_version": versions(),
    })
}

/// `clean.get_clean_steps`: IPA's priorities (erase_devices 10, metadata 99).
pub fn clean_steps() -> Value {
    json!({
        "clean_steps": {MANAGER: [
            {"step": "erase_devices", "priority": 10, "interface": "deploy",
             "reboot_requested": false, "abortable": true},
            {"step": "erase_devices_metadata", "priority": 99, "interface": "deploy",
             "reboot_requested": false, "abortable": true},
        ]},
        "hardware_manager_version": versions(),
    })
}

/// The step, its arguments merged over the command's other parameters (IPA's
/// `kwargs.update(step['args'])`), and the node.
fn step_and_args(params: &Map<String, Value>) -> Result<(Value, Map<String, Value>), CommandError> {
    let step = params.get("step").cloned().unwrap_or(Value::Null);
    if step.get("step").and_then(Value::as_str).is_none() {
        return Err(CommandError::invalid_params(format!("Malformed step, no \"step\" key: {step}")));
    }
    let mut args = params.clone();
    args.remove("step");
    if let Some(Value::Object(step_args)) = step.get("args") {
        args.extend(step_args.clone());
    }
    Ok((step, args))
}

/// `deploy.execute_deploy_step`: `write_image` or `erase_devices_metadata`.
pub async fn execute_deploy_step(
    agent: Arc<Agent>,
    params: Map<String, Value>,
) -> Result<Value, CommandError> {
    let (step, args) = step_and_args(&params)?;
    let name = step["step"].as_str().unwrap_or_default().to_owned();
    let result = match name.as_str() {
        "write_image" => image::write_image(&agent, &args).await.map(|_| Value::Null)?,
        "erase_devices_metadata" => erase::erase_devices_metadata(&agent).await?,
        other => return Err(unsupported_step(other)),
    };
    Ok(json!({"deploy_result": result, "deploy_step": step}))
}

/// `clean.execute_clean_step`: `erase_devices` or `erase_devices_metadata`.
pub async fn execute_clean_step(
    agent: Arc<Agent>,
    params: Map<String, Value>,
) -> Result<Value, CommandError> {
    let (step, _args) = step_and_args(&params)?;
    let name = step["step"].as_str().unwrap_or_default().to_owned();
    let result = match name.as_str() {
        "erase_devices" => erase::erase_devices(&agent).await?,
        "erase_devices_metadata" => erase::erase_devices_metadata(&agent).await?,
        other => return Err(unsupported_step(other)),
    };
    Ok(json!({"clean_result": result, "clean_step": step}))
}

fn unsupported_step(step: &str) -> CommandError {
    CommandError::unsupported(format!(
        "No HardwareManager found to handle method: {step} is not a step of ferric-agent"
    ))
}
