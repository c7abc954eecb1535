//! Cleaning: automated (after `provide` and tear-down) or manual (`clean` with
//! the user's steps), and how each ends.
//!
//! Automated cleaning runs the interfaces' own prioritised clean steps — for a node
//! deployed by the agent, those the agent reports once its ramdisk is up; the fake
//! interfaces have none, as in Ironic. With `automated_clean` off (on the node, or
//! `[deploy] automated_clean` when the node leaves it unset) the node passes
//! through `cleaning` without running anything. Manual cleaning runs exactly the
//! steps given, in order, and ends in `manageable` — Ironic tells the two apart by
//! the target, `manageable` for manual cleaning, and so does this module.

use ferric_model::{Node, ProvisionEvent, ProvisionState};
use serde_json::json;

use crate::engine::task::Task;
use crate::interfaces;
use crate::settings::Settings;
use crate::steps::{self, Step, StepKind};

/// Records the cleaning about to start in the node: its steps and whether they
/// need the ramdisk.
pub fn setup(
    settings: &Settings,
    node: &mut Node,
    list: Vec<Step>,
    manual: bool,
    disable_ramdisk: Option<bool>,
) {
    let automated = node.automated_clean.unwrap_or(settings.automated_clean);
    let agent = interfaces::uses_agent(node) && !disable_ramdisk.unwrap_or(false);
    let needs_ramdisk =
        if manual { agent && list.iter().any(|s| s.reserved().is_none()) } else { agent && automated };
    let info = &mut node.driver_internal_info;
    steps::set_list(info, StepKind::Clean, &list);
    info.insert("steps_require_ramdisk".into(), json!(needs_ramdisk));
    info.insert("automated_clean_run".into(), json!(!manual && automated));
}

/// The event that ends a successful cleaning: `manage` for manual cleaning and
/// retired nodes (back to `manageable`), `done` otherwise (to `available`).
pub fn final_event(task: &mut Task) -> ProvisionEvent {
    task.node.driver_internal_info.remove("automated_clean_run");
    if task.node.target_provision_state == Some(ProvisionState::Manageable) || task.node.retired {
        ProvisionEvent::Manage
    } else {
        ProvisionEvent::Done
    }
}
