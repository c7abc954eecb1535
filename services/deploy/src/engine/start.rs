//! Accepting a provision request: Ironic's `do_provisioning_action` and friends.
//!
//! Under the node's lock, the verb is checked against the state machine, the
//! operation's inputs (steps, config drive, rescue password) are recorded in the
//! node, and the first transition is saved. Only then does the caller get its
//! answer; the work runs in the background ([`super::drive`]). A locked node or
//! a verb the state does not allow is refused at once, never queued.

use chrono::Utc;
use ferric_model::json::Object;
use ferric_model::state::transition;
use ferric_model::{InvalidStateRequested, ProvisionEvent, ProvisionState, ProvisionVerb};
use serde_json::{Value, json};
use tracing::Instrument;
use uuid::Uuid;

use super::Engine;
use super::admission::Slot;
use super::task::Task;
use crate::error::{DeployError, Result};
use crate::flows;
use crate::interfaces;
use crate::steps::{self, Step, StepKind};

/// A provision request, as the RPC carries it, in domain terms.
#[derive(Debug, Clone)]
pub struct ProvisionRequest {
    /// The node.
    pub uuid: Uuid,
    /// The verb.
    pub verb: ProvisionVerb,
    /// `clean_steps`, for `clean`.
    pub clean_steps: Vec<Object>,
    /// `deploy_steps`, for deploy and rebuild.
    pub deploy_steps: Vec<Object>,
    /// `service_steps`, for `service`.
    pub service_steps: Vec<Object>,
    /// The config drive, for deploy and rebuild.
    pub configdrive: Option<Value>,
    /// The rescue password, for `rescue`.
    pub rescue_password: Option<String>,
    /// Run clean/service steps without the ramdisk.
    pub disable_ramdisk: Option<bool>,
}

impl ProvisionRequest {
    /// A request with no arguments.
    pub fn new(uuid: Uuid, verb: ProvisionVerb) -> Self {
        Self {
            uuid,
            verb,
            clean_steps: Vec::new(),
            deploy_steps: Vec::new(),
            service_steps: Vec::new(),
            configdrive: None,
            rescue_password: None,
            disable_ramdisk: None,
        }
    }
}

impl Engine {
    /// Accepts `request`: returns the node's new state and target once saved; the
    /// work continues in the background.
    pub async fn change_provision_state(
        &self,
        request: ProvisionRequest,
    ) -> Result<(ProvisionState, Option<ProvisionState>)> {
        let mut task = self.acquire(request.uuid).await?;
        if let Err(error) = self.prepare(&mut task, &request).await {
            task.release().await;
            return Err(error);
        }
        let reply = (task.node.provision_state, task.node.target_provision_state);
        self.spawn_drive(task);
        Ok(reply)
    }

    /// Runs `drive` for a locked node in the background, in a span naming it.
    pub fn spawn_drive(&self, task: Task) {
        let span =
            tracing::info_span!("node_task", node = %task.node.uuid, state = %task.node.provision_state);
        let engine = self.clone();
        tokio::spawn(async move { engine.drive(task).await }.instrument(span));
    }

    async fn prepare(&self, task: &mut Task, request: &ProvisionRequest) -> Result<()> {
        let verb = request.verb;
        let event = verb.event();
        let from = task.state();
        let to = transition(from, event)
            .map_err(|_| InvalidStateRequested::new(verb.as_str(), &task.uuid(), from.as_str()))?;
        if let Some(slot) = Slot::for_state(to) {
            self.admission.check(slot)?;
        }
        if verb != ProvisionVerb::Abort {
            task.node.last_error = None;
        }
        match to {
            ProvisionState::Deploying => {
                let user = steps::parse_user_steps(StepKind::Deploy, request.deploy_steps.clone())?;
                let list = self.deploy_steps(&task.node, user).await?;
                let info = &mut task.node.driver_internal_info;
                steps::set_list(info, StepKind::Deploy, &list);
                info.remove("agent_url");
                if let Some(drive) = &request.configdrive {
                    task.node.instance_info.insert("configdrive".into(), drive.clone());
                }
            }
            ProvisionState::Cleaning => {
                let manual = verb == ProvisionVerb::Clean;
                let list = if manual {
                    let list = steps::parse_user_steps(StepKind::Clean, request.clean_steps.clone())?;
                    if list.is_empty() {
                        return Err(DeployError::InvalidArgument(
                            "\"clean_steps\" is required when setting target provision state to clean".into(),
                        ));
                    }
                    list
                } else {
                    Vec::new()
                };
                flows::clean::setup(&self.settings, &mut task.node, list, manual, request.disable_ramdisk);
            }
            ProvisionState::Servicing => {
                let list = steps::parse_user_steps(StepKind::Service, request.service_steps.clone())?;
                if list.is_empty() {
                    return Err(DeployError::InvalidArgument(
                        "\"service_steps\" is required when setting target provision state to service".into(),
                    ));
                }
                let needs_agent = interfaces::uses_agent(&task.node)
                    && !request.disable_ramdisk.unwrap_or(false)
                    && list.iter().any(|s| s.reserved().is_none());
                let info = &mut task.node.driver_internal_info;
                steps::set_list(info, StepKind::Service, &list);
                info.insert("steps_require_ramdisk".into(), json!(needs_agent));
            }
            ProvisionState::Inspecting => {
                task.node.inspection_started_at = Some(Utc::now());
                task.node.inspection_finished_at = None;
            }
            ProvisionState::Rescuing => {
                if let Some(password) = &request.rescue_password {
                    task.node.instance_info.insert("rescue_password".into(), json!(password));
                }
            }
            _ => {}
        }
        match event {
            ProvisionEvent::Abort => flows::abort::prepare(task)?,
            ProvisionEvent::Unhold => {
                task.apply_event(event, verb.explicit_target(), true)?;
                // Without an agent to call back, the conductor itself carries on.
                let waits_for_agent = task.node.driver_internal_info.get("steps_require_ramdisk")
                    == Some(&json!(true))
                    && !flows::agent_ready(&task.node);
                task.resume_now = !waits_for_agent;
            }
            _ => {
                task.apply_event(event, verb.explicit_target(), verb.spawns_work())?;
            }
        }
        task.save().await?;
        task.record_transition(event);
        Ok(())
    }

    /// The deploy steps of a new deployment: the deploy interface's own
    /// `deploy.deploy` (priority 100), the user's, and those of deploy templates
    /// named by the instance's traits, by priority.
    async fn deploy_steps(&self, node: &ferric_model::Node, user: Vec<Step>) -> Result<Vec<Step>> {
        let mut list = vec![Step::new("deploy", "deploy", Some(100))];
        list.extend(user);
        let traits: Vec<String> = node
            .instance_info
            .get("traits")
            .and_then(Value::as_array)
            .map(|t| t.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        for name in traits {
            if let Some(template) = self.templates.get_by("name", &name).await? {
                list.extend(template.record.steps.iter().map(|s| Step {
                    interface: s.interface.clone(),
                    step: s.step.clone(),
                    args: s.args.clone(),
                    priority: Some(i64::from(s.priority)),
                }));
            }
        }
        Ok(steps::by_priority(list))
    }
}
