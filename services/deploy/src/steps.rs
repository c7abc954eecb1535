//! Steps: what deploy, clean and service operations are made of, and where a node
//! is in them.
//!
//! As in Ironic, the list of steps of the running operation and the index of the
//! next one live in the node's `driver_internal_info` (`deploy_steps` /
//! `deploy_step_index`, `clean_steps` / `clean_step_index`, `service_steps` /
//! `service_step_index`) and the running step in `deploy_step` / `clean_step` /
//! `service_step`. Because that is in the node record, written by compare-and-swap
//! after each step, a conductor that takes a node over knows exactly where to carry
//! on — the step cursor *is* the record.
//!
//! Reserved step names, whatever the interface, as Ironic's conductor handles
//! them itself: `hold` (park the node in `* hold` until `unhold`), `wait` (wait in
//! `* wait`, for `args.seconds` or until resumed), `power_on`, `power_off`, `reboot`.

use ferric_model::ProvisionState;
use ferric_model::hardware::InterfaceKind;
use ferric_model::json::Object;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{DeployError, Result};

/// One step, in Ironic's JSON shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The interface that runs it (`deploy`, `bios`, `raid`, `power`, ...).
    pub interface: String,
    /// Its name on that interface (`write_image`, `erase_devices`, `hold`, ...).
    pub step: String,
    /// Keyword arguments.
    #[serde(default)]
    pub args: Object,
    /// Order among deploy and automated clean steps (higher first); manual and
    /// service steps run in the order given and may leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
}

impl Step {
    /// A step with no arguments.
    pub fn new(interface: &str, step: &str, priority: Option<i64>) -> Self {
        Self { interface: interface.to_owned(), step: step.to_owned(), args: Object::new(), priority }
    }

    /// `interface.step`, as logs and messages name it.
    pub fn name(&self) -> String {
        format!("{}.{}", self.interface, self.step)
    }

    /// The step as the node's `*_step` field shows it.
    pub fn to_object(&self) -> Object {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Object::new(),
        }
    }

    /// Which conductor-handled step this is, if any.
    pub fn reserved(&self) -> Option<Reserved> {
        Some(match self.step.as_str() {
            "hold" => Reserved::Hold,
            "wait" => Reserved::Wait,
            "power_on" => Reserved::PowerOn,
            "power_off" => Reserved::PowerOff,
            "reboot" => Reserved::Reboot,
            _ => return None,
        })
    }

    /// Seconds a `wait` step waits, when bounded.
    pub fn wait_seconds(&self) -> Option<u64> {
        self.args.get("seconds").and_then(Value::as_u64)
    }
}

/// Steps the conductor runs itself, whatever the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// Park in the hold state.
    Hold,
    /// Wait in the wait state.
    Wait,
    /// Power on.
    PowerOn,
    /// Power off.
    PowerOff,
    /// Reboot.
    Reboot,
}

/// The three step-driven operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// Cleaning, automated or manual.
    Clean,
    /// Deploying (and rebuilding).
    Deploy,
    /// Servicing an active node.
    Service,
}

impl StepKind {
    /// `clean`, `deploy`, `service`: the prefix of the node fields and agent commands.
    pub fn name(self) -> &'static str {
        match self {
            Self::Clean => "clean",
            Self::Deploy => "deploy",
            Self::Service => "service",
        }
    }

    /// The `driver_internal_info` key of the step list.
    pub fn list_key(self) -> &'static str {
        match self {
            Self::Clean => "clean_steps",
            Self::Deploy => "deploy_steps",
            Self::Service => "service_steps",
        }
    }

    /// The `driver_internal_info` key of the next step's index.
    pub fn index_key(self) -> &'static str {
        match self {
            Self::Clean => "clean_step_index",
            Self::Deploy => "deploy_step_index",
            Self::Service => "service_step_index",
        }
    }

    /// The `driver_internal_info` key recording that the agent's own steps were
    /// fetched and merged into the list.
    pub fn fetched_key(self) -> &'static str {
        match self {
            Self::Clean => "agent_cached_clean_steps_fetched",
            Self::Deploy => "agent_cached_deploy_steps_fetched",
            Self::Service => "agent_cached_service_steps_fetched",
        }
    }

    /// The state in which the steps run.
    pub fn working(self) -> ProvisionState {
        match self {
            Self::Clean => ProvisionState::Cleaning,
            Self::Deploy => ProvisionState::Deploying,
            Self::Service => ProvisionState::Servicing,
        }
    }

    /// The state in which a step waits for the agent.
    pub fn wait(self) -> ProvisionState {
        match self {
            Self::Clean => ProvisionState::CleanWait,
            Self::Deploy => ProvisionState::DeployWait,
            Self::Service => ProvisionState::ServiceWait,
        }
    }

    /// The state of a step kind whose working, wait or hold state is `state`.
    pub fn of_state(state: ProvisionState) -> Option<Self> {
        use ProvisionState as S;
        match state {
            S::Cleaning | S::CleanWait | S::CleanHold => Some(Self::Clean),
            S::Deploying | S::DeployWait | S::DeployHold => Some(Self::Deploy),
            S::Servicing | S::ServiceWait | S::ServiceHold => Some(Self::Service),
            _ => None,
        }
    }
}

/// Parses and checks user-supplied steps (`clean_steps`, `deploy_steps`,
/// `service_steps`), with Ironic-like messages.
pub fn parse_user_steps(kind: StepKind, raw: Vec<Object>) -> Result<Vec<Step>> {
    raw.into_iter()
        .map(|object| {
            let shown = Value::Object(object.clone());
            let step: Step = serde_json::from_value(shown.clone()).map_err(|e| {
                DeployError::InvalidArgument(format!("Invalid {} step {shown}: {e}", kind.name()))
            })?;
            let known = InterfaceKind::ALL.iter().any(|k| k.name() == step.interface);
            if !known || step.step.is_empty() {
                return Err(DeployError::InvalidArgument(format!(
                    "Invalid {} step {shown}: unknown interface {:?} or empty step name",
                    kind.name(),
                    step.interface
                )));
            }
            if kind == StepKind::Deploy && step.priority.is_none_or(|p| p < 0) {
                return Err(DeployError::InvalidArgument(format!(
                    "Invalid deploy step {shown}: a deploy step needs a priority >= 0"
                )));
            }
            Ok(step)
        })
        .collect()
}

/// Orders steps as Ironic runs prioritised steps: higher priority first, stable for
/// ties; steps with priority 0 are disabled and dropped.
pub fn by_priority(mut steps: Vec<Step>) -> Vec<Step> {
    steps.retain(|s| s.priority.unwrap_or(0) > 0);
    steps.sort_by_key(|s| std::cmp::Reverse(s.priority.unwrap_or(0)));
    steps
}

/// Reads the step list of `kind` from `driver_internal_info`.
pub fn list(info: &Object, kind: StepKind) -> Vec<Step> {
    info.get(kind.list_key()).and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default()
}

/// Writes the step list of `kind` and resets its index to 0.
pub fn set_list(info: &mut Object, kind: StepKind, steps: &[Step]) {
    info.insert(kind.list_key().to_owned(), json!(steps));
    info.insert(kind.index_key().to_owned(), json!(0));
    info.remove(kind.fetched_key());
}

/// The index of the next step of `kind`.
pub fn index(info: &Object, kind: StepKind) -> usize {
    info.get(kind.index_key()).and_then(Value::as_u64).map_or(0, |i| usize::try_from(i).unwrap_or(usize::MAX))
}

/// Ends the operation's bookkeeping as Ironic leaves it: the list `null`, no index.
pub fn clear(info: &mut Object, kind: StepKind) {
    info.insert(kind.list_key().to_owned(), Value::Null);
    info.remove(kind.index_key());
    info.remove(kind.fetched_key());
    info.remove("agent_command");
    info.remove(&wait_until_key(kind));
}

/// The `driver_internal_info` key of a timed `wait` step's deadline (RFC 3339).
pub fn wait_until_key(kind: StepKind) -> String {
    format!("{}_wait_until", kind.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(value: Value) -> Object {
        match value {
            Value::Object(map) => map,
            _ => Object::new(),
        }
    }

    #[test]
    fn user_steps_are_checked() {
        let ok = parse_user_steps(
            StepKind::Clean,
            vec![
                obj(json!({"interface": "deploy", "step": "hold"})),
                obj(json!({"interface": "raid", "step": "x"})),
            ],
        )
        .unwrap_or_default();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].reserved(), Some(Reserved::Hold));
        assert!(
            parse_user_steps(StepKind::Clean, vec![obj(json!({"interface": "nope", "step": "x"}))]).is_err()
        );
        assert!(parse_user_steps(StepKind::Clean, vec![obj(json!({"step": "x"}))]).is_err());
        assert!(
            parse_user_steps(StepKind::Deploy, vec![obj(json!({"interface": "deploy", "step": "x"}))])
                .is_err()
        );
    }

    #[test]
    fn priorities_order_and_disable() {
        let steps = by_priority(vec![
            Step::new("deploy", "a", Some(10)),
            Step::new("deploy", "b", Some(0)),
            Step::new("deploy", "c", Some(100)),
        ]);
        let names: Vec<_> = steps.iter().map(|s| s.step.as_str()).collect();
        assert_eq!(names, ["c", "a"]);
    }

    #[test]
    fn list_round_trips_through_driver_internal_info() {
        let mut info = Object::new();
        set_list(&mut info, StepKind::Deploy, &[Step::new("deploy", "deploy", Some(100))]);
        assert_eq!(list(&info, StepKind::Deploy).len(), 1);
        assert_eq!(index(&info, StepKind::Deploy), 0);
        clear(&mut info, StepKind::Deploy);
        assert_eq!(info["deploy_steps"], Value::Null);
        assert!(!info.contains_key("deploy_step_index"));
    }
}
