//! The deploy template: named deploy steps applied when an instance asks for a
//! matching trait (1.55).
//!
//! A template named `CUSTOM_HYPERTHREADING_ON` adds its steps to any deployment
//! whose `instance_info.traits` holds that trait. [`DeployTemplate`] serializes to
//! Ironic's keys in Ironic's order, minus `links`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::json::{Object, null_as_default, opt_timestamp, timestamp};

/// One step of a deploy template, keys in the order Ironic's object renders them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployStep {
    /// The driver interface that runs it, e.g. `bios`, `raid`, `deploy`.
    pub interface: String,
    /// The step's name on that interface, e.g. `apply_configuration`.
    pub step: String,
    /// Keyword arguments for the step.
    #[serde(default, deserialize_with = "null_as_default")]
    pub args: Object,
    /// Where it runs among deploy steps (higher first); 0 disables it.
    pub priority: u32,
}

/// A deploy template, as Ironic's API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployTemplate {
    /// Identity; never changes.
    pub uuid: Uuid,
    /// When it was created.
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "opt_timestamp", default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Unique name; a valid trait name, which is how instances select it.
    pub name: String,
    /// Operator metadata.
    #[serde(default, deserialize_with = "null_as_default")]
    pub extra: Object,
    /// The steps it adds.
    #[serde(default, deserialize_with = "null_as_default")]
    pub steps: Vec<DeployStep>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microversion::{Resource, known};
    use crate::testing::{data_keys, keys_of, parse};

    /// Upstream `deploy-template-show-response.json`, `links` removed.
    const SAMPLE: &str = r#"{"created_at": "2016-08-18T22:28:48.643434+11:11", "extra": {},
        "name": "CUSTOM_HYPERTHREADING_ON",
        "steps": [{"args": {"settings": [{"name": "LogicalProc", "value": "Enabled"}]},
                   "interface": "bios", "priority": 150, "step": "apply_configuration"}],
        "updated_at": null, "uuid": "bbb45f41-d4bc-4307-8d1d-32f95ce1e920"}"#;

    #[test]
    fn sample_parses_and_renders_in_table_order() {
        let template: DeployTemplate = parse(SAMPLE);
        assert_eq!(template.steps.len(), 1);
        assert_eq!(template.steps[0].priority, 150);
        assert_eq!(keys_of(&template), data_keys(Resource::DeployTemplate, known::MAX));
        assert_eq!(keys_of(&template.steps[0]), ["interface", "step", "args", "priority"]);
        assert!(
            serde_json::from_str::<DeployStep>(r#"{"interface": "bios", "step": "x", "priority": -1}"#)
                .is_err()
        );
    }
}
