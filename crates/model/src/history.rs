//! Node history: the per-node event log behind `/v1/nodes/{node}/history` (1.78).
//!
//! Ironic records an event when something notable happens to a node (mostly
//! failures); 1.113 adds the acting `project` and 1.115 the provision `state`,
//! `target_provision_state` and `duration_seconds`, which make a provisioning
//! timeline out of it. [`HistoryEvent`] serializes to Ironic's keys in Ironic's
//! order, minus `links`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::json::timestamp;
use crate::state::ProvisionState;

string_enum! {
    /// How serious a history event is; Ironic writes `ERROR` for failures and `INFO`
    /// otherwise (`utils.node_history_record`).
    pub enum HistorySeverity, "history severity" {
        /// Informational.
        Info => "INFO",
        /// Something went wrong that an operator may want to know about.
        Warning => "WARNING",
        /// An operation failed.
        Error => "ERROR",
    }
}

/// One node history event, as Ironic's API shows it in detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    /// Identity of the event.
    pub uuid: Uuid,
    /// When it happened.
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// How serious it is.
    pub severity: HistorySeverity,
    /// The area it happened in, e.g. `deployment`, `cleaning`, `console`,
    /// `monitoring`, `provisioning`.
    pub event_type: String,
    /// The message.
    pub event: String,
    /// The conductor that recorded it.
    #[serde(default)]
    pub conductor: Option<String>,
    /// The user whose request caused it, if any.
    #[serde(default)]
    pub user: Option<String>,
    /// The project of that user (1.113).
    #[serde(default)]
    pub project: Option<String>,
    /// The node's provision state when it was recorded (1.115).
    #[serde(default)]
    pub state: Option<ProvisionState>,
    /// The node's target provision state then (1.115).
    #[serde(default)]
    pub target_provision_state: Option<ProvisionState>,
    /// How long the operation it closes took, in seconds (1.115).
    #[serde(default)]
    pub duration_seconds: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microversion::{Resource, known};
    use crate::testing::{data_keys, keys_of, parse};

    #[test]
    fn detail_renders_in_table_order() {
        let event: HistoryEvent = parse(
            r#"{"uuid": "e5840e39-b4ba-4a93-8071-cff9aa2c9633", "created_at": "2021-09-15T17:45:04.686541+00:00",
                "severity": "ERROR", "event_type": "deployment", "event": "Something is wrong",
                "conductor": "c1", "user": null}"#,
        );
        assert_eq!(event.severity, HistorySeverity::Error);
        assert_eq!(keys_of(&event), data_keys(Resource::NodeHistory, known::MAX));
        let json = serde_json::to_value(&event).unwrap_or_default();
        assert_eq!(json["created_at"], "2021-09-15T17:45:04.686541+00:00");
        assert_eq!(json["duration_seconds"], serde_json::Value::Null);
    }
}
