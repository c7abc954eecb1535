//! Inspection rules (1.96): conditions on what inspection found and actions
//! applied to the node when they hold, migrated from ironic-inspector. The API
//! stores them; the conductor applies them after inspection. Serializes to
//! Ironic's keys, minus `links`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::json::{Object, opt_timestamp, timestamp};

/// Condition operators (`ironic/common/inspection_rules/operations.py`); each
/// may be negated with a leading `!`.
pub const CONDITION_OPS: &[&str] = &[
    "eq", "lt", "gt", "is-empty", "in-net", "matches", "contains", "one-of", "is-none", "is-true", "is-false",
];

/// Action operators (`ironic/common/inspection_rules/actions.py`).
pub const ACTION_OPS: &[&str] = &[
    "fail",
    "set-attribute",
    "extend-attribute",
    "add-trait",
    "remove-trait",
    "set-capability",
    "unset-capability",
    "log",
    "del-attribute",
    "set-plugin-data",
    "extend-plugin-data",
    "unset-plugin-data",
];

/// Phases a rule may run in; Ironic has only `main` so far.
pub const PHASES: &[&str] = &["main"];

/// Values of a step's `multiple` (how a looped condition combines).
pub const MULTIPLE: &[&str] = &["any", "all", "first", "last"];

/// An inspection rule, as Ironic's API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectionRule {
    /// Identity; never changes.
    pub uuid: Uuid,
    /// When it was created.
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "opt_timestamp", default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// When it runs.
    pub phase: String,
    /// Higher runs first.
    pub priority: i64,
    /// Hides conditions and actions (they may hold credentials) from the API.
    pub sensitive: bool,
    /// All must hold for the actions to run; empty always holds.
    #[serde(default)]
    pub conditions: Vec<Object>,
    /// What to do to the node.
    #[serde(default)]
    pub actions: Vec<Object>,
}

impl InspectionRule {
    /// A rule with Ironic's defaults: phase `main`, priority 0, not sensitive.
    pub fn new(uuid: Uuid, created_at: DateTime<Utc>) -> Self {
        Self {
            uuid,
            created_at,
            updated_at: None,
            description: None,
            phase: "main".into(),
            priority: 0,
            sensitive: false,
            conditions: Vec::new(),
            actions: Vec::new(),
        }
    }
}

/// Why a rule's step (`kind` is `condition` or `action`) is malformed, or `None`.
pub fn step_error(kind: &str, step: &serde_json::Value) -> Option<String> {
    let serde_json::Value::Object(step) = step else {
        return Some(format!("each {kind} must be an object"));
    };
    if let Some(key) = step.keys().find(|k| !["op", "args", "loop", "multiple"].contains(&k.as_str())) {
        return Some(format!("Additional properties are not allowed ('{key}' was unexpected)"));
    }
    let Some(op) = step.get("op").and_then(serde_json::Value::as_str) else {
        return Some(format!("'op' is a required property of each {kind}"));
    };
    let known = if kind == "condition" {
        CONDITION_OPS.contains(&op.strip_prefix('!').unwrap_or(op))
    } else {
        ACTION_OPS.contains(&op)
    };
    if !known {
        return Some(format!("unknown {kind} operator '{op}'"));
    }
    if step.get("args").is_some_and(|a| !a.is_object() && !a.is_array()) {
        return Some(format!("'args' of {kind} '{op}' must be an object or a list"));
    }
    if step.get("loop").is_some_and(|l| !l.is_object() && !l.is_array()) {
        return Some(format!("'loop' of {kind} '{op}' must be an object or a list"));
    }
    if let Some(multiple) = step.get("multiple")
        && multiple.as_str().is_none_or(|m| !MULTIPLE.contains(&m))
    {
        return Some(format!("'multiple' of {kind} '{op}' must be one of any, all, first, last"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microversion::{Resource, known};
    use crate::testing::{data_keys, keys_of};
    use serde_json::json;

    #[test]
    fn renders_in_table_order() {
        let rule = InspectionRule::new(Uuid::nil(), DateTime::<Utc>::UNIX_EPOCH);
        assert_eq!(keys_of(&rule), data_keys(Resource::InspectionRule, known::MAX));
    }

    #[test]
    fn steps_are_checked_for_shape() {
        let ok = json!({"op": "!contains", "args": {"value": "{inventory[system_vendor]}", "regex": "dell"}});
        assert_eq!(step_error("condition", &ok), None);
        assert_eq!(step_error("action", &json!({"op": "set-attribute", "args": {"path": "/driver"}})), None);
        assert!(step_error("condition", &json!({"op": "set-attribute"})).is_some());
        assert!(step_error("action", &json!({"args": {}})).is_some());
        assert!(step_error("action", &json!({"op": "log", "args": "x"})).is_some());
        assert!(step_error("action", &json!({"op": "log", "bogus": 1})).is_some());
    }
}
