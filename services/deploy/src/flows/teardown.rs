//! `deleting`: Ironic's tear-down. The instance is forgotten (`instance_info`,
//! `instance_uuid`, the instance's keys of `driver_internal_info`), BMC-driven
//! nodes are powered off, and the node goes on into automated cleaning; a failure
//! leaves it in `error`.

use ferric_model::ProvisionEvent;
use ferric_model::json::Object;
use ferric_model::state::PowerTarget;

use super::{Gate, clean, fake_gate, power_action};
use crate::agent;
use crate::engine::task::Task;
use crate::error::Result;
use crate::interfaces;

/// Keys of `driver_internal_info` that describe the deployed instance.
const INSTANCE_KEYS: &[&str] =
    &["instance", "root_uuid_or_disk_id", "is_whole_disk_image", "deploy_boot_mode", "is_source_a_path"];

/// Runs the tear-down.
pub async fn run(task: &mut Task) -> Result<()> {
    match fake_gate(task, "delete") {
        Gate::Pass => {}
        Gate::Fail(message) => return task.fail(message).await,
        // `deleting` has no wait state; a fake wait is a pass.
        Gate::Wait => {}
    }
    if !interfaces::is_fake(&task.node) {
        power_action(task, PowerTarget::Off).await?;
    }
    task.engine.netboot.remove(&task.node).await;
    agent::steps::forget_agent(&mut task.node);
    task.node.instance_info = Object::new();
    task.node.instance_uuid = None;
    for key in INSTANCE_KEYS {
        task.node.driver_internal_info.remove(*key);
    }
    let settings = task.engine.settings.clone();
    clean::setup(&settings, &mut task.node, Vec::new(), false, None);
    task.process_event(ProvisionEvent::Clean).await
}
