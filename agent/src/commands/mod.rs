//! IPA's command model: a command is `extension.name` with keyword parameters;
//! one runs at a time (a second gets 409 AgentIsBusy); every result of this boot
//! is kept, in order, for `GET /v1/commands/`. Results are shaped as IPA's
//! `BaseCommandResult` (`id, command_name, command_status, command_error,
//! command_result`), with `command_name` the bare command as IPA reports it.

mod erase;
mod image;
mod logs;
mod steps;

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use crate::agent::Agent;
use crate::error::CommandError;

/// One command's state, as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CommandResult {
    /// A UUID.
    pub id: String,
    /// The command (`execute_deploy_step`), without its extension, as IPA reports it.
    pub command_name: String,
    /// `RUNNING`, `SUCCEEDED` or `FAILED`.
    pub command_status: &'static str,
    /// The error of a failed command (IPA's `RESTError` shape).
    pub command_error: Option<CommandError>,
    /// What a successful command returned.
    pub command_result: Option<Value>,
}

impl CommandResult {
    /// Whether it has finished.
    pub fn is_done(&self) -> bool {
        self.command_status != "RUNNING"
    }
}

/// Why a command was not even started: the API answers these with an HTTP error.
#[derive(Debug)]
pub enum Refusal {
    /// Another command runs (409).
    Busy(String),
    /// The command name is malformed or unknown to its extension (400).
    Invalid(String),
    /// The extension does not exist (404).
    NoExtension(String),
}

/// Every command of this boot.
#[derive(Default)]
pub struct Commands {
    list: Mutex<Vec<Entry>>,
}

struct Entry {
    state: watch::Sender<CommandResult>,
    task: Option<tokio::task::AbortHandle>,
}

/// What a command does: answered at once (IPA's sync commands) or run in the
/// background (IPA's async commands).
enum Plan {
    Now(Result<Value, CommandError>),
    Later(BoxFuture<'static, Result<Value, CommandError>>),
}

impl Commands {
    /// Every result, oldest first.
    pub fn list(&self) -> Vec<CommandResult> {
        self.list.lock().map(|l| l.iter().map(|e| e.state.borrow().clone()).collect()).unwrap_or_default()
    }

    /// A command's progress, to read or wait on.
    pub fn get(&self, id: &str) -> Option<watch::Receiver<CommandResult>> {
        let list = self.list.lock().ok()?;
        list.iter().find(|e| e.state.borrow().id == id).map(|e| e.state.subscribe())
    }

    /// Stops every running command (the agent is shutting down).
    pub fn abort_all(&self) {
        if let Ok(list) = self.list.lock() {
            for entry in list.iter() {
                if let Some(task) = &entry.task {
                    task.abort();
                }
            }
        }
    }
}

/// Starts `name` with `params`; returns its progress.
pub fn execute(
    agent: &Arc<Agent>,
    name: &str,
    params: Map<String, Value>,
) -> Result<watch::Receiver<CommandResult>, Refusal> {
    let Some((extension, command)) = name.split_once('.') else {
        return Err(Refusal::Invalid("Command name must be of the form <extension>.<name>".into()));
    };
    let mut list = agent.commands.list.lock().map_err(|_| Refusal::Busy("a crashed command".into()))?;
    if let Some(last) = list.last()
        && !last.state.borrow().is_done()
    {
        return Err(Refusal::Busy(last.state.borrow().command_name.clone()));
    }
    let plan = plan(agent, extension, command, params)?;
    let id = uuid::Uuid::new_v4().to_string();
    let running = CommandResult {
        id: id.clone(),
        command_name: command.to_owned(),
        command_status: "RUNNING",
        command_error: None,
        command_result: None,
    };
    let (state, receiver) = watch::channel(running);
    let task = match plan {
        Plan::Now(outcome) => {
            finish(&state, name, outcome);
            None
        }
        Plan::Later(work) => {
            let state = state.clone();
            let name = name.to_owned();
            let span = tracing::info_span!("command", %name, %id);
            let handle = tokio::spawn(tracing::Instrument::instrument(
                async move {
                    tracing::info!("command started");
                    let outcome = work.await;
                    finish(&state, &name, outcome);
                },
                span,
            ));
            Some(handle.abort_handle())
        }
    };
    list.push(Entry { state, task });
    Ok(receiver)
}

fn finish(state: &watch::Sender<CommandResult>, name: &str, outcome: Result<Value, CommandError>) {
    state.send_modify(|result| match outcome {
        Ok(value) => {
            result.command_status = "SUCCEEDED";
            result.command_result = Some(value);
            tracing::info!(command = name, "command succeeded");
        }
        Err(error) => {
            result.command_status = "FAILED";
            tracing::error!(target: "ferric_agent::console", command = name, "FERRIC-AGENT-COMMAND-FAILED {name}: {error}");
            result.command_error = Some(error);
        }
    });
}

fn plan(
    agent: &Arc<Agent>,
    extension: &str,
    command: &str,
    params: Map<String, Value>,
) -> Result<Plan, Refusal> {
    let unknown = || Refusal::Invalid(format!("Unknown command: {command}"));
    let agent = agent.clone();
    Ok(match (extension, command) {
        ("deploy", "get_deploy_steps") => Plan::Now(Ok(steps::deploy_steps())),
        ("clean", "get_clean_steps") => Plan::Now(Ok(steps::clean_steps())),
        ("deploy", "execute_deploy_step") => Plan::Later(Box::pin(steps::execute_deploy_step(agent, params))),
        ("clean", "execute_clean_step") => Plan::Later(Box::pin(steps::execute_clean_step(agent, params))),
        ("standby", "prepare_image") => Plan::Later(Box::pin(image::prepare_image(agent, params))),
        ("standby", "power_off") => Plan::Later(Box::pin(power(agent, false))),
        ("standby", "reboot") => Plan::Later(Box::pin(power(agent, true))),
        ("standby", "sync") => Plan::Later(Box::pin(sync(agent))),
        ("standby", "get_partition_uuids") => {
            Plan::Now(Ok(agent.partition_uuids.lock().map(|p| p.clone()).unwrap_or_else(|_| json!({}))))
        }
        ("image", "install_bootloader") => Plan::Now(Err(CommandError::unsupported(
            "install_bootloader is not supported by ferric-agent: it writes whole-disk images only; \
             deploy a whole-disk image (image_type whole-disk) instead of a partition image",
        ))),
        ("log", "collect_system_logs") => Plan::Later(Box::pin(logs::collect_system_logs(agent))),
        ("deploy" | "clean" | "standby" | "image" | "log", _) => return Err(unknown()),
        (other, _) => return Err(Refusal::NoExtension(other.to_owned())),
    })
}

/// `standby.sync`: flush every cache to the disks.
async fn sync(agent: Arc<Agent>) -> Result<Value, CommandError> {
    let hardware = agent.hardware.clone();
    blocking(move || hardware.sync())
        .await
        .map_err(|e| CommandError::execution(format!("sync failed: {e}")))?;
    Ok(Value::Null)
}

/// `standby.power_off` / `standby.reboot`: sync, then the hardware's power action.
async fn power(agent: Arc<Agent>, reboot: bool) -> Result<Value, CommandError> {
    let hardware = agent.hardware.clone();
    let what = if reboot { "reboot" } else { "power off" };
    tracing::info!("{what} requested by the conductor");
    blocking(move || {
        hardware.sync()?;
        if reboot { hardware.reboot() } else { hardware.power_off() }
    })
    .await
    .map_err(|e| CommandError::execution(format!("{what} failed: {e}")))?;
    Ok(Value::Null)
}

/// Runs blocking hardware work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
}
