//! The runbook: a named, ordered list of clean or service steps an operator (or a
//! project, when public) can run by name (1.92).
//!
//! Until 1.112 a runbook was selected by a node trait equal to its name; from
//! 1.112 it carries its own `traits` and a `description`. [`Runbook`] serializes to
//! Ironic's keys in Ironic's order, minus `links`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::json::{Object, null_as_default, opt_timestamp, timestamp};

/// One step of a runbook, keys in the order Ironic's object renders them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunbookStep {
    /// The driver interface that runs it.
    pub interface: String,
    /// The step's name on that interface.
    pub step: String,
    /// Keyword arguments for the step.
    #[serde(default, deserialize_with = "null_as_default")]
    pub args: Object,
    /// Its position: runbooks run steps in this order, not by priority.
    pub order: u32,
}

/// A runbook, as Ironic's API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Runbook {
    /// Identity; never changes.
    pub uuid: Uuid,
    /// When it was created.
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "opt_timestamp", default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Unique name (a trait name before 1.112).
    pub name: String,
    /// Operator metadata.
    #[serde(default, deserialize_with = "null_as_default")]
    pub extra: Object,
    /// Whether every project may use it.
    #[serde(default, deserialize_with = "null_as_default")]
    pub public: bool,
    /// The owning project, `null` for system runbooks.
    #[serde(default)]
    pub owner: Option<String>,
    /// Run the steps without booting the agent ramdisk.
    #[serde(default, deserialize_with = "null_as_default")]
    pub disable_ramdisk: bool,
    /// Free text (1.112).
    #[serde(default)]
    pub description: Option<String>,
    /// The steps, in `order`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub steps: Vec<RunbookStep>,
    /// Node traits that make it applicable (1.112).
    #[serde(default, deserialize_with = "null_as_default")]
    pub traits: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microversion::{Resource, known};
    use crate::testing::{data_keys, keys_of, parse};

    /// Upstream `runbook-show-response.json`, `links` removed.
    const SAMPLE: &str = r#"{"created_at": "2024-08-18T22:28:48.643434+11:11", "disable_ramdisk": false,
        "extra": {}, "name": "CUSTOM_AWESOME", "public": false, "owner": null,
        "steps": [{"args": {"settings": [{"name": "LogicalProc", "value": "Enabled"}]},
                   "interface": "bios", "order": 1, "step": "apply_configuration"}],
        "updated_at": null, "uuid": "fc6b1709-8dd5-86b0-2d34-5203d1c29127"}"#;

    #[test]
    fn sample_parses_and_renders_in_table_order() {
        let runbook: Runbook = parse(SAMPLE);
        assert_eq!(runbook.steps[0].order, 1);
        assert!(runbook.traits.is_empty() && runbook.description.is_none());
        assert_eq!(keys_of(&runbook), data_keys(Resource::Runbook, known::MAX));
        assert_eq!(keys_of(&runbook.steps[0]), ["interface", "step", "args", "order"]);
    }
}
