//! The step runner of `deploying`, `cleaning` and `servicing`.
//!
//! One pass runs steps from the recorded index until the list ends (the
//! operation's `done`), a step holds (`* hold`), waits (`* wait`, lock released
//! until the agent or a timer resumes it) or fails. The index is advanced in the
//! same save that records the next step, so a conductor taking over re-runs at
//! most the step that was in flight — and for an agent step it re-attaches to the
//! agent's command instead (see [`crate::agent::steps`]).

use chrono::Utc;
use ferric_model::ProvisionEvent;
use ferric_model::state::PowerTarget;
use serde_json::json;

use super::{Gate, agent_ready, clean, fake_gate, power_action};
use crate::agent;
use crate::engine::task::Task;
use crate::error::Result;
use crate::interfaces;
use crate::steps::{self, Reserved, Step, StepKind};

/// What one step came to.
pub enum Outcome {
    /// Finished; go on with the next.
    Done,
    /// Park the node in the hold state.
    Hold,
    /// Wait in the wait state (lock released).
    Wait,
    /// Failed with this `last_error`.
    Failed(String),
}

/// Runs the steps of `kind` from where the node is.
pub async fn run(task: &mut Task, kind: StepKind) -> Result<()> {
    loop {
        let info = &task.node.driver_internal_info;
        let needs_ramdisk = info.get("steps_require_ramdisk") == Some(&json!(true));
        if needs_ramdisk && !agent_ready(&task.node) && !(kind == StepKind::Deploy) {
            agent::steps::boot_ramdisk(task).await?;
            return enter(task, ProvisionEvent::Wait).await;
        }
        if agent_ready(&task.node) && info.get(kind.fetched_key()).is_none() {
            agent::steps::merge_agent_steps(task, kind).await?;
        }
        let list = steps::list(&task.node.driver_internal_info, kind);
        let index = steps::index(&task.node.driver_internal_info, kind);
        let Some(step) = list.get(index).cloned() else {
            return finish(task, kind).await;
        };
        task.set_step(kind, step.to_object());
        task.save().await?;
        let outcome = execute(task, kind, &step).await?;
        task.node.driver_internal_info.insert(kind.index_key().to_owned(), json!(index + 1));
        match outcome {
            Outcome::Done => {}
            Outcome::Hold => return enter(task, ProvisionEvent::Hold).await,
            Outcome::Wait => return enter(task, ProvisionEvent::Wait).await,
            Outcome::Failed(message) => return task.fail(message).await,
        }
    }
}

async fn enter(task: &mut Task, event: ProvisionEvent) -> Result<()> {
    task.process_event(event).await
}

/// Runs one step.
async fn execute(task: &mut Task, kind: StepKind, step: &Step) -> Result<Outcome> {
    match step.reserved() {
        Some(Reserved::Hold) => return Ok(Outcome::Hold),
        Some(Reserved::Wait) => {
            if let Some(seconds) = step.wait_seconds() {
                let until =
                    Utc::now() + chrono::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX / 2));
                task.node.driver_internal_info.insert(steps::wait_until_key(kind), json!(until.to_rfc3339()));
                task.engine.schedule_resume(task.node.uuid, std::time::Duration::from_secs(seconds));
            }
            return Ok(Outcome::Wait);
        }
        Some(Reserved::PowerOn) => power_action(task, PowerTarget::On).await?,
        Some(Reserved::PowerOff) => power_action(task, PowerTarget::Off).await?,
        Some(Reserved::Reboot) => power_action(task, PowerTarget::Reboot).await?,
        None => {
            if kind == StepKind::Deploy
                && step.interface == "deploy"
                && let Some(outcome) = agent::steps::conductor_deploy_step(task, step).await?
            {
                return Ok(outcome);
            }
            if agent_ready(&task.node) && interfaces::uses_agent(&task.node) {
                return agent::steps::execute(task, kind, step).await;
            }
            // A fake (or out-of-band no-op) interface: takes the fake delay.
            task.fake_pause().await;
        }
    }
    Ok(Outcome::Done)
}

/// The end of the list: the operation's fake knobs, then its final event.
async fn finish(task: &mut Task, kind: StepKind) -> Result<()> {
    match fake_gate(task, kind.name()) {
        Gate::Pass => {}
        Gate::Fail(message) => return task.fail(message).await,
        Gate::Wait => return enter(task, ProvisionEvent::Wait).await,
    }
    if agent_ready(&task.node) && kind != StepKind::Deploy {
        agent::steps::tear_down_agent(task).await?;
    }
    if kind != StepKind::Deploy {
        task.engine.netboot.remove(&task.node).await;
    }
    task.clear_step(kind);
    steps::clear(&mut task.node.driver_internal_info, kind);
    task.node.driver_internal_info.remove("steps_require_ramdisk");
    let event = match kind {
        StepKind::Clean => clean::final_event(task),
        StepKind::Deploy | StepKind::Service => ProvisionEvent::Done,
    };
    if kind == StepKind::Deploy {
        agent::steps::forget_agent(&mut task.node);
    }
    task.process_event(event).await
}
