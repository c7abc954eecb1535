//! A node held under its exclusive lock: Ironic's `TaskManager`, minus the
//! threads.
//!
//! Every change is written with compare-and-swap on the record's revision. While
//! the lock is held only this task changes the conductor's fields, but the agent's
//! lookup may add its token to `driver_internal_info` concurrently, so a lost race
//! is resolved by a three-way merge: the fields this task changed since its last
//! read win, everything else is taken from the newer record.
//!
//! Before each save the task checks that the lease its lock hangs on is still this
//! conductor's valid lease: a conductor cut off from the store for longer than a
//! lease TTL has lost the node to another and must stop rather than overwrite.

use chrono::Utc;
use ferric_catalog::NodeRecord;
use ferric_model::json::Object;
use ferric_model::state::{target_after, transition};
use ferric_model::{HistorySeverity, ProvisionEvent, ProvisionState};
use ferric_store::StoreError;
use ferric_store::lock::LockGuard;
use ferric_store::records::Versioned;
use serde_json::Value;

use super::{Claim, Engine};
use crate::error::{DeployError, Result};
use crate::interfaces;

/// Attempts of a save that keeps losing races to concurrent non-conductor writes.
const SAVE_ATTEMPTS: usize = 8;

/// A locked node and the means to change it.
pub struct Task {
    /// The engine.
    pub engine: Engine,
    /// The node as this task wants it; saved with [`Task::save`].
    pub node: NodeRecord,
    /// The node as last read or written: the base of the three-way merge.
    base: NodeRecord,
    /// The CAS token of `base`.
    revision: i64,
    guard: Option<LockGuard>,
    _claim: Claim,
    /// Whether a wait state this task enters should be resumed at once (no agent
    /// to call back: unhold of a fake node, a timed `wait` that ran out).
    pub resume_now: bool,
}

impl Task {
    pub(super) fn new(engine: Engine, claim: Claim, guard: LockGuard, node: Versioned<NodeRecord>) -> Self {
        Self {
            engine,
            base: node.record.clone(),
            node: node.record,
            revision: node.mod_revision,
            guard: Some(guard),
            _claim: claim,
            resume_now: false,
        }
    }

    /// The node's UUID as text.
    pub fn uuid(&self) -> String {
        self.node.uuid.to_string()
    }

    /// The node's provision state.
    pub fn state(&self) -> ProvisionState {
        self.node.provision_state
    }

    /// Writes the node. Fails with [`DeployError::LockLost`] when this conductor's
    /// lease is no longer the one the lock hangs on.
    pub async fn save(&mut self) -> Result<()> {
        let lease = self.guard.as_ref().map(LockGuard::lease);
        if lease.is_none() || self.engine.membership.lease() != lease {
            return Err(DeployError::LockLost(self.uuid()));
        }
        self.node.updated_at = Some(Utc::now());
        for _ in 0..SAVE_ATTEMPTS {
            match self.engine.nodes.update(&self.node, self.revision).await {
                Ok(saved) => {
                    self.revision = saved.mod_revision;
                    self.base = saved.record.clone();
                    self.node = saved.record;
                    return Ok(());
                }
                Err(StoreError::Conflict(_)) => {
                    let theirs = self.engine.node(&self.uuid()).await?;
                    self.node = merge(&self.base, &self.node, theirs.record.clone());
                    self.base = theirs.record;
                    self.revision = theirs.mod_revision;
                }
                // The write's fate is unknown (an etcd member died mid-call): read
                // back. Our record (its `updated_at` is ours alone) means it landed;
                // an unchanged revision means it did not and may be sent again.
                Err(error @ StoreError::Unavailable(_)) => {
                    let stored = self.engine.node(&self.uuid()).await?;
                    if stored.record == self.node {
                        self.revision = stored.mod_revision;
                        self.base = stored.record.clone();
                        self.node = stored.record;
                        return Ok(());
                    }
                    if stored.mod_revision != self.revision {
                        return Err(error.into());
                    }
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(DeployError::Conflict(format!("node {} keeps changing under its conductor", self.uuid())))
    }

    /// Moves the node on `event` as the conductor's own progress (no new work is
    /// spawned: a stable state clears the target), saves and records history.
    pub async fn process_event(&mut self, event: ProvisionEvent) -> Result<()> {
        self.apply_event(event, None, false)?;
        self.save().await?;
        self.record_transition(event);
        Ok(())
    }

    /// Moves the node on an API event that starts work, with the verb's explicit
    /// target (manual clean aims at `manageable`).
    pub fn apply_event(
        &mut self,
        event: ProvisionEvent,
        explicit_target: Option<ProvisionState>,
        spawns_work: bool,
    ) -> Result<ProvisionState> {
        let from = self.node.provision_state;
        let to = transition(from, event)
            .map_err(|e| DeployError::Conflict(format!("{e} for node {}", self.node.uuid)))?;
        // Manual cleaning keeps `manageable` as its goal through waits, holds and
        // resumes; Ironic's conductor passes it explicitly on each of those events.
        let manual_clean = self.node.target_provision_state == Some(ProvisionState::Manageable)
            && matches!(to, ProvisionState::Cleaning | ProvisionState::CleanWait | ProvisionState::CleanHold);
        let explicit_target = explicit_target.or(manual_clean.then_some(ProvisionState::Manageable));
        self.node.target_provision_state =
            target_after(from, self.node.target_provision_state, to, explicit_target, spawns_work);
        self.node.provision_state = to;
        self.node.provision_updated_at = Some(Utc::now());
        Ok(to)
    }

    /// Records the state change just saved.
    pub fn record_transition(&self, event: ProvisionEvent) {
        let message = format!("Node entered state \"{}\" on event \"{event}\"", self.node.provision_state);
        self.engine.history.record(
            &self.node,
            HistorySeverity::Info,
            "provisioning",
            message,
            self.engine.hostname(),
        );
        tracing::info!(node = %self.node.uuid, state = %self.node.provision_state, %event, "transition");
    }

    /// Fails the running operation: `last_error`, the `fail` event, an error in
    /// history. Step fields are cleared as Ironic's error handlers do (the message
    /// names the step).
    pub async fn fail(&mut self, message: String) -> Result<()> {
        tracing::warn!(node = %self.node.uuid, state = %self.node.provision_state, error = %message, "operation failed");
        let state = self.node.provision_state;
        let event_type = event_type(state);
        self.node.last_error = Some(message.clone());
        if let Some(kind) = crate::steps::StepKind::of_state(state) {
            self.clear_step(kind);
            self.node.driver_internal_info.remove(kind.index_key());
            self.node.driver_internal_info.remove("agent_command");
        }
        if matches!(state, ProvisionState::Cleaning | ProvisionState::CleanWait) {
            // Ironic's cleaning_error_handler: an operator must look before reuse.
            self.node.maintenance = true;
            self.node.maintenance_reason = Some(message.clone());
            self.node.fault = Some("clean failure".into());
        }
        let actionable = ferric_model::state::is_actionable(state, ProvisionEvent::Fail);
        if actionable {
            self.apply_event(ProvisionEvent::Fail, None, false)?;
        }
        self.save().await?;
        if actionable {
            self.record_transition(ProvisionEvent::Fail);
        }
        self.engine.history.record(
            &self.node,
            HistorySeverity::Error,
            event_type,
            message,
            self.engine.hostname(),
        );
        Ok(())
    }

    /// Sets the running step field of `kind`.
    pub fn set_step(&mut self, kind: crate::steps::StepKind, step: Object) {
        match kind {
            crate::steps::StepKind::Clean => self.node.clean_step = step,
            crate::steps::StepKind::Deploy => self.node.deploy_step = step,
            crate::steps::StepKind::Service => self.node.service_step = step,
        }
    }

    /// Clears the running step field of `kind`.
    pub fn clear_step(&mut self, kind: crate::steps::StepKind) {
        self.set_step(kind, Object::new());
    }

    /// Lets a transient state of a `fake-hardware` node last `fake_delay`, as
    /// Ironic's fake interfaces with a delay do.
    pub async fn fake_pause(&self) {
        let delay = self.engine.settings.fake_delay;
        if !delay.is_zero() && interfaces::is_fake(&self.node) {
            tokio::time::sleep(delay).await;
        }
    }

    /// Releases the node's lock and the local claim.
    pub async fn release(mut self) {
        if let Some(guard) = self.guard.take() {
            self.engine.release_guard(&guard).await;
        }
    }

    /// Drops the task without touching the store lock: it is no longer ours.
    pub fn abandon(mut self) {
        self.guard = None;
    }
}

/// The history `event_type` of failures in `state`.
fn event_type(state: ProvisionState) -> &'static str {
    use ProvisionState as S;
    match state {
        S::Deploying | S::DeployWait | S::DeployHold => "deployment",
        S::Cleaning | S::CleanWait | S::CleanHold | S::Deleting => "cleaning",
        S::Inspecting | S::InspectWait => "inspection",
        S::Rescuing | S::RescueWait | S::Unrescuing => "rescue",
        S::Servicing | S::ServiceWait | S::ServiceHold => "service",
        _ => "provisioning",
    }
}

/// Three-way merge of a node: what `ours` changed relative to `base` is applied
/// over `theirs`; `driver_internal_info` and `instance_info` merge per key.
pub fn merge(base: &NodeRecord, ours: &NodeRecord, theirs: NodeRecord) -> NodeRecord {
    let (Ok(Value::Object(base)), Ok(Value::Object(ours)), Ok(Value::Object(mut merged))) =
        (serde_json::to_value(base), serde_json::to_value(ours), serde_json::to_value(&theirs))
    else {
        return theirs;
    };
    for (key, value) in &ours {
        if base.get(key) == Some(value) {
            continue;
        }
        match (key.as_str(), base.get(key), value, merged.get_mut(key)) {
            (
                "driver_internal_info" | "instance_info",
                Some(Value::Object(b)),
                Value::Object(o),
                Some(Value::Object(t)),
            ) => {
                for (k, v) in o {
                    if b.get(k) != Some(v) {
                        t.insert(k.clone(), v.clone());
                    }
                }
                for k in b.keys() {
                    if !o.contains_key(k) {
                        t.remove(k);
                    }
                }
            }
            _ => {
                merged.insert(key.clone(), value.clone());
            }
        }
    }
    serde_json::from_value(Value::Object(merged)).unwrap_or(theirs)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use ferric_model::Node;
    use serde_json::json;

    use super::*;

    #[test]
    fn merge_keeps_both_sides_changes() {
        let mut base = NodeRecord(Node::new(
            uuid::Uuid::new_v4(),
            "fake-hardware",
            Utc::now(),
            ProvisionState::Cleaning,
        ));
        base.driver_internal_info.insert("clean_step_index".into(), json!(0));
        let mut ours = base.clone();
        ours.provision_state = ProvisionState::Available;
        ours.driver_internal_info.insert("clean_step_index".into(), json!(1));
        let mut theirs = base.clone();
        theirs.driver_internal_info.insert("agent_secret_token".into(), json!("t"));
        theirs.extra.insert("k".into(), json!("v"));
        let merged = merge(&base, &ours, theirs);
        assert_eq!(merged.provision_state, ProvisionState::Available);
        assert_eq!(merged.driver_internal_info["clean_step_index"], json!(1));
        assert_eq!(merged.driver_internal_info["agent_secret_token"], json!("t"));
        assert_eq!(merged.extra["k"], json!("v"));
    }
}
