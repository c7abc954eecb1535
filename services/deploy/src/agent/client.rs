//! The HTTP client of the agent's own API (IPA's `/v1/commands/`), as Ironic's
//! `agent_client.py` speaks it: `POST /v1/commands/?wait=…&agent_token=…` with
//! `{name, params}`, results polled with `GET /v1/commands/`.
//!
//! The token travels as a query parameter, as IPA expects; URLs are never logged
//! with it.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{DeployError, Result};

/// One command's result, as the agent reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct CommandResult {
    /// The command's id.
    #[serde(default)]
    pub id: String,
    /// `extension.command`.
    #[serde(default)]
    pub command_name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `CLEAN_VERSION_MISMATCH`.
    #[serde(default)]
    pub command_status: String,
    /// The error when failed.
    #[serde(default)]
    pub command_error: Value,
    /// The result when succeeded.
    #[serde(default)]
    pub command_result: Value,
}

impl CommandResult {
    /// Whether it still runs.
    pub fn running(&self) -> bool {
        self.command_status == "RUNNING"
    }

    /// The error message of a failed command.
    pub fn error_message(&self) -> String {
        match &self.command_error {
            Value::Object(map) => map
                .get("message")
                .or_else(|| map.get("details"))
                .and_then(Value::as_str)
                .map_or_else(|| Value::Object(map.clone()).to_string(), str::to_owned),
            Value::String(text) => text.clone(),
            Value::Null => format!("command {} ended with status {}", self.command_name, self.command_status),
            other => other.to_string(),
        }
    }
}

#[derive(Deserialize)]
struct CommandList {
    #[serde(default)]
    commands: Vec<CommandResult>,
}

/// Why a command could not be sent.
#[derive(Debug)]
pub enum SendError {
    /// The agent runs another command (409 AgentIsBusy).
    Busy,
    /// Anything else, as a driver failure.
    Failed(DeployError),
}

/// A pooled HTTP client for every agent.
#[derive(Clone)]
pub struct AgentClient {
    http: reqwest::Client,
}

impl Default for AgentClient {
    fn default() -> Self {
        Self::new()
    }
}

impl AgentClient {
    /// A client with Ironic's `command_timeout` (60 s) per request.
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            // No kept-alive connections: an agent at the same address may be a
            // new boot of the machine, and a connection to the previous one is
            // dead without a FIN (found by the VM test: the first call after a
            // reboot failed on a reused connection).
            .pool_max_idle_per_host(0)
            .build()
            .unwrap_or_default();
        Self { http }
    }

    /// Sends `name` with `params`; with `wait`, the agent answers when it is done.
    pub async fn execute(
        &self,
        url: &str,
        token: &str,
        name: &str,
        params: Value,
        wait: bool,
    ) -> std::result::Result<CommandResult, SendError> {
        let endpoint = format!("{}/v1/commands/", url.trim_end_matches('/'));
        let wait = if wait { "true" } else { "false" };
        let response = self
            .http
            .post(&endpoint)
            .query(&[("wait", wait), ("agent_token", token)])
            .json(&json!({"name": name, "params": params}))
            .send()
            .await
            .map_err(|e| SendError::Failed(transport(name, &e)))?;
        let status = response.status();
        if status.as_u16() == 409 {
            return Err(SendError::Busy);
        }
        if !status.is_success() {
            return Err(SendError::Failed(DeployError::Driver(format!(
                "Agent command {name} was refused with HTTP {status}"
            ))));
        }
        response.json().await.map_err(|e| SendError::Failed(transport(name, &e)))
    }

    /// Every command the agent ran in this boot, oldest first.
    pub async fn commands(&self, url: &str, token: &str) -> Result<Vec<CommandResult>> {
        let endpoint = format!("{}/v1/commands/", url.trim_end_matches('/'));
        let response = self
            .http
            .get(&endpoint)
            .query(&[("agent_token", token)])
            .send()
            .await
            .map_err(|e| transport("GET /v1/commands/", &e))?;
        if !response.status().is_success() {
            return Err(DeployError::Driver(format!(
                "Agent refused to list commands: HTTP {}",
                response.status()
            )));
        }
        let list: CommandList = response.json().await.map_err(|e| transport("GET /v1/commands/", &e))?;
        Ok(list.commands)
    }
}

fn transport(what: &str, error: &reqwest::Error) -> DeployError {
    // reqwest's Display includes the URL, which carries the token: strip it.
    let error = error.without_url_ref();
    DeployError::Driver(format!("Failed to reach the agent for {what}: {error}"))
}

/// `reqwest::Error` without the URL, so the token never reaches a message.
trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut text = if self.is_timeout() {
            "timed out".to_owned()
        } else if self.is_connect() {
            "connection failed".to_owned()
        } else if self.is_decode() {
            "unreadable reply".to_owned()
        } else {
            "request failed".to_owned()
        };
        if let Some(status) = self.status() {
            text.push_str(&format!(" (HTTP {status})"));
        }
        // The innermost cause (an I/O or protocol error) carries no URL.
        let mut cause = std::error::Error::source(self);
        let mut innermost = None;
        while let Some(error) = cause {
            innermost = Some(error.to_string());
            cause = error.source();
        }
        if let Some(innermost) = innermost.filter(|text| !text.contains("agent_token")) {
            text.push_str(": ");
            text.push_str(&innermost);
        }
        text
    }
}
