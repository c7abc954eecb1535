//! A scripted agent: an axum server speaking IPA's command API on loopback.
//! Commands are recorded; `execute_*_step` and `install_bootloader` run for a
//! given number of polls before they succeed, so the conductor must follow them.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

/// One command the agent received.
#[derive(Debug, Clone)]
pub struct Received {
    pub name: String,
    pub params: Value,
}

#[derive(Default)]
struct Inner {
    token: String,
    received: Vec<Received>,
    busy: usize,
    commands: Vec<(Value, u32)>,
}

/// The agent's state, shared with the test.
#[derive(Clone, Default)]
pub struct ScriptedAgent {
    inner: Arc<Mutex<Inner>>,
    polls_per_step: u32,
}

#[derive(Deserialize)]
struct TokenQuery {
    agent_token: Option<String>,
}

#[derive(Deserialize)]
struct Command {
    name: String,
    #[serde(default)]
    params: Value,
}

impl ScriptedAgent {
    /// Serves the agent on a loopback port; returns it and its callback URL.
    pub async fn start(polls_per_step: u32) -> (Self, String) {
        let agent = Self { inner: Arc::default(), polls_per_step };
        let app = Router::new().route("/v1/commands/", get(list).post(execute)).with_state(agent.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind agent");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (agent, url)
    }

    /// Sets the token the agent got from lookup (and requires from now on).
    pub fn set_token(&self, token: &str) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.token = token.to_owned();
        }
    }

    /// The names of the commands received, in order.
    pub fn names(&self) -> Vec<String> {
        self.inner.lock().map(|i| i.received.iter().map(|r| r.name.clone()).collect()).unwrap_or_default()
    }

    /// Every command received.
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().map(|i| i.received.clone()).unwrap_or_default()
    }

    /// How many commands arrived while another ran (409 busy).
    pub fn busy(&self) -> usize {
        self.inner.lock().map(|i| i.busy).unwrap_or(usize::MAX)
    }

    fn authorised(&self, query: &TokenQuery) -> bool {
        self.inner
            .lock()
            .is_ok_and(|i| !i.token.is_empty() && query.agent_token.as_deref() == Some(i.token.as_str()))
    }
}

fn unauthorised() -> (StatusCode, Json<Value>) {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"faultcode": "Client", "faultstring": "401 Unauthorized: Token invalid."})),
    )
}

async fn execute(
    State(agent): State<ScriptedAgent>,
    Query(query): Query<TokenQuery>,
    Json(command): Json<Command>,
) -> (StatusCode, Json<Value>) {
    if !agent.authorised(&query) {
        return unauthorised();
    }
    let Ok(mut inner) = agent.inner.lock() else {
        return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({})));
    };
    if inner.commands.iter().any(|(c, _)| c["command_status"] == "RUNNING") {
        inner.busy += 1;
        return (StatusCode::CONFLICT, Json(json!({"type": "AgentIsBusy"})));
    }
    inner.received.push(Received { name: command.name.clone(), params: command.params.clone() });
    let id = format!("cmd-{}", inner.received.len());
    let (status, result) = match command.name.as_str() {
        "deploy.get_deploy_steps" => (
            "SUCCEEDED",
            json!({"deploy_steps": {"GenericHardwareManager": [
                {"interface": "deploy", "step": "write_image", "priority": 0, "args": {}, "reboot_requested": false}
            ]}, "hardware_manager_version": {"generic_hardware_manager": "1.2"}}),
        ),
        "clean.get_clean_steps" => (
            "SUCCEEDED",
            json!({"clean_steps": {"GenericHardwareManager": [
                {"interface": "deploy", "step": "erase_devices_metadata", "priority": 99, "args": {}},
                {"interface": "deploy", "step": "erase_devices", "priority": 0, "args": {}}
            ]}, "hardware_manager_version": {"generic_hardware_manager": "1.2"}}),
        ),
        "deploy.execute_deploy_step" | "clean.execute_clean_step" | "image.install_bootloader" => {
            ("RUNNING", json!({}))
        }
        _ => ("SUCCEEDED", json!({})),
    };
    // IPA reports the bare command name (`execute_deploy_step`), not `deploy.…`.
    let bare = command.name.split_once('.').map_or(command.name.as_str(), |(_, bare)| bare);
    let record = json!({"id": id, "command_name": bare, "command_status": status,
                        "command_error": null, "command_result": result});
    inner.commands.push((record.clone(), 0));
    (StatusCode::OK, Json(record))
}

async fn list(
    State(agent): State<ScriptedAgent>,
    Query(query): Query<TokenQuery>,
) -> (StatusCode, Json<Value>) {
    if !agent.authorised(&query) {
        return unauthorised();
    }
    let Ok(mut inner) = agent.inner.lock() else {
        return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({})));
    };
    for (command, polls) in &mut inner.commands {
        if command["command_status"] == "RUNNING" {
            *polls += 1;
            if *polls >= agent.polls_per_step {
                command["command_status"] = json!("SUCCEEDED");
                command["command_result"] = json!({"step": command["command_name"]});
            }
        }
    }
    let commands: Vec<Value> = inner.commands.iter().map(|(c, _)| c.clone()).collect();
    (StatusCode::OK, Json(json!({"commands": commands})))
}
