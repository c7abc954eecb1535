//! The loop that moves a locked node through its working states.
//!
//! Each working state has one flow ([`crate::flows`]) that does the state's work
//! and fires the next event. The loop runs flows until the node reaches a state in
//! which the conductor waits for someone else — a stable state (the operator), a
//! wait state (the agent), a hold (the operator) or a failure — and then releases
//! the lock. Because the loop starts from whatever state the record holds, the same
//! code serves a fresh request, an agent callback and a takeover after another
//! conductor died.

use ferric_model::{ProvisionEvent, ProvisionState};

use super::Engine;
use super::admission::Slot;
use super::task::Task;
use crate::error::DeployError;
use crate::flows;

/// Whether the conductor works on a node in `state` on its own.
pub fn is_working(state: ProvisionState) -> bool {
    use ProvisionState as S;
    matches!(
        state,
        S::Verifying
            | S::Deploying
            | S::Deleting
            | S::Cleaning
            | S::Inspecting
            | S::Adopting
            | S::Rescuing
            | S::Unrescuing
            | S::Servicing
    )
}

impl Engine {
    /// Drives `task` until the node rests, then releases its lock.
    pub async fn drive(&self, mut task: Task) {
        let mut _permit = None;
        loop {
            let state = task.state();
            if is_working(state) {
                if _permit.is_none()
                    && let Some(slot) = Slot::for_state(state)
                {
                    _permit = self.admission.acquire(slot).await;
                }
                task.fake_pause().await;
                let result = flows::run(&mut task).await;
                let outcome = match result {
                    Ok(()) if task.state() == state => {
                        Err(DeployError::Driver(format!("no progress in state {state}")))
                    }
                    other => other,
                };
                match outcome {
                    Ok(()) => continue,
                    Err(DeployError::LockLost(node)) => {
                        tracing::warn!(%node, "lost the node's lock; another conductor carries on");
                        task.abandon();
                        return;
                    }
                    Err(error) => match task.fail(error.to_string()).await {
                        Ok(()) => continue,
                        Err(DeployError::LockLost(_)) => {
                            task.abandon();
                            return;
                        }
                        Err(error) => {
                            tracing::error!(%error, "cannot record the failure; the lock is released as is");
                            break;
                        }
                    },
                }
            }
            if state.is_wait() && task.resume_now {
                task.resume_now = false;
                task.fake_pause().await;
                match task.process_event(ProvisionEvent::Resume).await {
                    Ok(()) => continue,
                    Err(DeployError::LockLost(_)) => {
                        task.abandon();
                        return;
                    }
                    Err(error) => tracing::warn!(%error, "cannot resume"),
                }
            }
            break;
        }
        task.release().await;
    }

    /// Resumes a node waiting in a wait state: the agent called back, a timed wait
    /// ran out. Refused with NodeLocked when someone holds the node.
    pub async fn resume(&self, uuid: uuid::Uuid) -> crate::error::Result<()> {
        let mut task = self.acquire(uuid).await?;
        if !task.state().is_wait() {
            task.release().await;
            return Ok(());
        }
        if let Some(kind) = crate::steps::StepKind::of_state(task.state()) {
            task.node.driver_internal_info.remove(&crate::steps::wait_until_key(kind));
        }
        task.resume_now = true;
        self.spawn_drive(task);
        Ok(())
    }

    /// Takes over a node left in a working state without a lock (its conductor
    /// died): drives it on from the step the record says it is at.
    pub async fn take_over(&self, uuid: uuid::Uuid) -> crate::error::Result<()> {
        let task = self.acquire(uuid).await?;
        if !is_working(task.state()) {
            task.release().await;
            return Ok(());
        }
        tracing::info!(node = %uuid, state = %task.state(), "taking over an orphaned node");
        self.spawn_drive(task);
        Ok(())
    }
}
