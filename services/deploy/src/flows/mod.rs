//! The work of each working state, one flow per state, each ending in the event
//! that leaves it.
//!
//! - [`steps`]: the step runner behind `deploying`, `cleaning` and `servicing`.
//! - [`clean`]: what cleaning adds (automated vs manual, its end).
//! - [`simple`]: `verifying`, `inspecting`, `adopting`, `rescuing`, `unrescuing`.
//! - [`teardown`]: `deleting`, into automated cleaning.
//! - [`abort`]: the `abort` verb from wait and hold states.
//!
//! Flows are written so that running one again from the record (after a
//! takeover) carries on rather than starting over: progress lives in the node.

pub mod abort;
pub mod clean;
pub mod simple;
pub mod steps;
pub mod teardown;

use ferric_model::state::PowerTarget;
use ferric_model::{Node, ProvisionState};
use serde_json::{Value, json};

use crate::engine::task::Task;
use crate::error::Result;
use crate::interfaces::{self, FakeBehaviour};
use crate::steps::StepKind;

/// Runs the flow of the node's (working) state once.
pub async fn run(task: &mut Task) -> Result<()> {
    use ProvisionState as S;
    match task.state() {
        S::Verifying => simple::verify(task).await,
        S::Inspecting => simple::inspect(task).await,
        S::Adopting => simple::adopt(task).await,
        S::Rescuing => simple::rescue(task).await,
        S::Unrescuing => simple::unrescue(task).await,
        S::Deleting => teardown::run(task).await,
        S::Cleaning => steps::run(task, StepKind::Clean).await,
        S::Deploying => steps::run(task, StepKind::Deploy).await,
        S::Servicing => steps::run(task, StepKind::Service).await,
        _ => Ok(()),
    }
}

/// Whether the ramdisk agent of this operation has called back (its URL is known).
pub fn agent_ready(node: &Node) -> bool {
    node.driver_internal_info.get("agent_url").and_then(Value::as_str).is_some_and(|u| !u.is_empty())
}

/// What a fake phase does next, honouring `fake_fail` / `fake_wait`. A phase that
/// waited once succeeds when resumed, so `fake_wait` parks a node exactly once.
pub enum Gate {
    /// Carry on.
    Pass,
    /// Fail with this message.
    Fail(String),
    /// Enter the wait state.
    Wait,
}

/// Consults the fake knobs for `phase`.
pub fn fake_gate(task: &mut Task, phase: &str) -> Gate {
    let waited_key = format!("fake_waited_{phase}");
    match interfaces::fake_behaviour(&task.node, phase) {
        FakeBehaviour::Succeed => Gate::Pass,
        FakeBehaviour::Fail => Gate::Fail(interfaces::fake_failure(phase)),
        FakeBehaviour::Wait => {
            if task.node.driver_internal_info.remove(&waited_key).is_some() {
                Gate::Pass
            } else {
                task.node.driver_internal_info.insert(waited_key, json!(true));
                Gate::Wait
            }
        }
    }
}

/// Performs a power action as part of an operation, keeping `power_state` and
/// `target_power_state` as Ironic does (target set while it runs).
pub async fn power_action(task: &mut Task, target: PowerTarget) -> Result<()> {
    let timeout = task.engine.settings.power_state_change_timeout;
    let reached = task.engine.power.set_power(&task.node, target, timeout).await?;
    task.node.power_state = Some(reached);
    task.node.target_power_state = None;
    Ok(())
}
