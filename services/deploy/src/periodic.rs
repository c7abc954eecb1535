//! Periodic work, spread over conductors by the hash ring: each conductor looks
//! only at the nodes the ring gives it.
//!
//! - Takeover: a node in a working state whose lock is gone (its conductor died and
//!   its lease lapsed) is locked and driven on from its recorded step — not failed,
//!   as Ironic's `STUCK_STATES_TREATED_AS_FAIL` would. Runs at start, on every ring
//!   change and every `periodic_interval`.
//! - Timeouts: a node past its wait state's callback timeout fails with Ironic's
//!   message; a timed `wait` step that ran out is resumed.
//! - Power sync: the BMC's power state is recorded for owned, unlocked nodes;
//!   after repeated failures the node gets `fault = "power failure"` and
//!   maintenance, as Ironic's `power_state_sync_max_retries`.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ferric_catalog::NodeRecord;
use ferric_model::{HistorySeverity, Node};
use ferric_store::RangeRequest;
use ferric_store::lock::LOCK_PREFIX;
use ferric_store::records::Versioned;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::engine::Engine;
use crate::engine::drive::is_working;
use crate::error::Result;
use crate::interfaces;
use crate::steps::{self, StepKind};

impl Engine {
    /// Resumes `uuid` after `delay` if it still waits on a timed `wait` step.
    pub fn schedule_resume(&self, uuid: Uuid, delay: Duration) {
        let engine = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if let Err(error) = engine.resume_expired(uuid).await {
                tracing::debug!(node = %uuid, %error, "timed wait not resumed yet");
            }
        });
    }

    async fn resume_expired(&self, uuid: Uuid) -> Result<()> {
        let node = self.node(&uuid.to_string()).await?.record;
        if wait_expired(&node) { self.resume(uuid).await } else { Ok(()) }
    }

    /// Runs the periodic checks until `shutdown`.
    pub async fn run_periodic(self, shutdown: impl Future<Output = ()> + Send) {
        let mut changes = self.membership.changes();
        let mut ticker = tokio::time::interval(self.settings.periodic_interval);
        let mut power_ticker = self.settings.sync_power_state_interval.map(tokio::time::interval);
        tokio::pin!(shutdown);
        loop {
            let sync_power = tokio::select! {
                _ = &mut shutdown => return,
                _ = ticker.tick() => false,
                changed = changes.changed() => {
                    if changed.is_err() { return; }
                    false
                }
                _ = async { match power_ticker.as_mut() { Some(t) => { t.tick().await; } None => std::future::pending::<()>().await } } => true,
            };
            let result = if sync_power { self.sync_power().await } else { self.check_nodes().await };
            if let Err(error) = result {
                tracing::warn!(%error, "periodic check failed");
            }
        }
    }

    /// Every node and the set of locked ones.
    async fn owned_nodes(&self) -> Result<(Vec<Versioned<NodeRecord>>, HashSet<String>)> {
        let prefix = format!("{LOCK_PREFIX}nodes%2F");
        let page = self.store.range(RangeRequest::prefix(&prefix)).await?;
        let locked = page
            .kvs
            .into_iter()
            .filter_map(|kv| Some(kv.key.strip_prefix(&prefix)?.strip_suffix("/exclusive")?.to_owned()))
            .collect();
        let mut nodes = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.nodes.list(after.as_deref(), 1000).await?;
            nodes.extend(page.items.into_iter().filter(|n| {
                self.membership.owns(&n.record.uuid.to_string(), &n.record.conductor_group, &n.record.driver)
            }));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        Ok((nodes, locked))
    }

    /// Takeover, timeouts and timed waits for the nodes this conductor owns,
    /// after freeing any lock of this conductor's that no task holds.
    pub async fn check_nodes(&self) -> Result<()> {
        if let Err(error) = self.release_stale_locks().await {
            tracing::debug!(%error, "stale-lock sweep skipped");
        }
        let (nodes, locked) = self.owned_nodes().await?;
        for stored in nodes {
            let node = stored.record;
            let uuid = node.uuid;
            if locked.contains(&uuid.to_string()) || self.is_claimed(uuid) {
                continue;
            }
            let state = node.provision_state;
            let outcome = if is_working(state) {
                self.take_over(uuid).await
            } else if state.is_wait() && wait_expired(&node) {
                self.resume(uuid).await
            } else if state.is_wait() && self.timed_out(&node) {
                self.fail_timeout(uuid).await
            } else {
                Ok(())
            };
            if let Err(error) = outcome {
                tracing::debug!(node = %uuid, %error, "periodic action skipped");
            }
        }
        Ok(())
    }

    fn timed_out(&self, node: &Node) -> bool {
        let Some((timeout, _)) = self.settings.wait_timeout(node.provision_state, "") else { return false };
        let since = node.provision_updated_at.unwrap_or(node.created_at);
        let elapsed = Utc::now().signed_duration_since(since).to_std().unwrap_or_default();
        elapsed > timeout && !timeout.is_zero()
    }

    async fn fail_timeout(&self, uuid: Uuid) -> Result<()> {
        let mut task = self.acquire(uuid).await?;
        let state = task.state();
        if state.is_wait() && self.timed_out(&task.node) {
            let (_, message) = self.settings.wait_timeout(state, &uuid.to_string()).unwrap_or_default();
            let result = task.fail(message).await;
            task.release().await;
            return result;
        }
        task.release().await;
        Ok(())
    }

    /// Records the BMC's power state for owned, unlocked nodes with a real BMC.
    pub async fn sync_power(&self) -> Result<()> {
        let (nodes, locked) = self.owned_nodes().await?;
        for stored in nodes {
            let node = stored.record;
            if locked.contains(&node.uuid.to_string())
                || self.is_claimed(node.uuid)
                || node.maintenance
                || interfaces::is_fake(&node)
                || interfaces::interface(&node, ferric_model::hardware::InterfaceKind::Power) == "fake"
            {
                continue;
            }
            let observed = self.power.get_power(&node).await;
            let mut updated = node.clone();
            let failures_key = "power_sync_failures";
            match observed {
                Ok(state) if state == node.power_state => {
                    if updated.driver_internal_info.remove(failures_key).is_none() {
                        continue;
                    }
                }
                Ok(state) => {
                    let message = format!(
                        "Power state of node {} changed from {:?} to {:?} outside of the conductor",
                        node.uuid,
                        node.power_state.map(|s| s.as_str()),
                        state.map(|s| s.as_str())
                    );
                    self.history.record(&node, HistorySeverity::Info, "monitoring", message, self.hostname());
                    updated.power_state = state;
                    updated.driver_internal_info.remove(failures_key);
                }
                Err(error) => {
                    let failures =
                        updated.driver_internal_info.get(failures_key).and_then(Value::as_u64).unwrap_or(0)
                            + 1;
                    updated.driver_internal_info.insert(failures_key.into(), json!(failures));
                    if failures >= u64::from(self.settings.power_state_sync_max_retries) {
                        let message = format!(
                            "During sync_power_state, max retries exceeded for node {}, node state None does not match expected state. Updating DB state to 'None' Switching node to maintenance mode. Error: {error}",
                            node.uuid
                        );
                        updated.maintenance = true;
                        updated.maintenance_reason = Some(message.clone());
                        updated.fault = Some("power failure".into());
                        updated.power_state = None;
                        self.history.record(
                            &node,
                            HistorySeverity::Error,
                            "monitoring",
                            message,
                            self.hostname(),
                        );
                    }
                }
            }
            // A lost race means someone else just wrote the node; the next round retries.
            let _ = self.nodes.update(&updated, stored.mod_revision).await;
        }
        Ok(())
    }
}

/// Whether a timed `wait` step of the node's operation has run out.
fn wait_expired(node: &Node) -> bool {
    let Some(kind) = StepKind::of_state(node.provision_state) else { return false };
    node.driver_internal_info
        .get(&steps::wait_until_key(kind))
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .is_some_and(|until| Utc::now() >= until)
}
