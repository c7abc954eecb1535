//! The `abort` verb: from a wait or hold state into the operation's failure state
//! with Ironic's message, or from `service failed` back to `active`.

use ferric_model::{ProvisionEvent, ProvisionState};

use crate::engine::task::Task;
use crate::error::Result;
use crate::steps::{self, StepKind};

/// Applies an abort to the locked node (saved by the caller).
pub fn prepare(task: &mut Task) -> Result<()> {
    use ProvisionState as S;
    let state = task.state();
    let current_step = |task: &Task, kind: StepKind| {
        let step = match kind {
            StepKind::Clean => &task.node.clean_step,
            StepKind::Deploy => &task.node.deploy_step,
            StepKind::Service => &task.node.service_step,
        };
        step.get("step").and_then(|s| s.as_str()).map(str::to_owned)
    };
    let message = match state {
        S::CleanWait | S::CleanHold | S::DeployWait | S::DeployHold | S::ServiceWait | S::ServiceHold => {
            let kind = StepKind::of_state(state).unwrap_or(StepKind::Clean);
            let mut message = format!("By request, the {} operation was aborted", kind.name());
            if let Some(step) = current_step(task, kind) {
                message.push_str(&format!(" during or after the completion of step \"{step}\""));
            }
            task.clear_step(kind);
            steps::clear(&mut task.node.driver_internal_info, kind);
            task.node.driver_internal_info.remove("steps_require_ramdisk");
            Some(message)
        }
        S::InspectWait => Some("Inspection was aborted by request.".to_owned()),
        S::RescueWait => Some("Rescue operation was aborted by request.".to_owned()),
        _ => None,
    };
    if message.is_some() {
        task.node.last_error = message;
    } else {
        task.node.last_error = None;
    }
    task.apply_event(ProvisionEvent::Abort, None, false)?;
    Ok(())
}
