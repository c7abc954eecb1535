//! The agent's calls to the conductor: lookup and heartbeat.

use base64::Engine as _;
use chrono::Utc;
use ferric_model::secrets::{MASK, SecretPolicy};
use ferric_model::validate::normalize_mac;
use ferric_model::{Node, ProvisionState};
use ferric_store::StoreError;
use rand::RngCore;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::engine::Engine;
use crate::error::{DeployError, Result};

/// What a lookup answers.
#[derive(Debug, Clone)]
pub struct LookupReply {
    /// The node, masked.
    pub node: Node,
    /// `config`: heartbeat timeout and the token (or `******` after the first lookup).
    pub config: Value,
}

/// Attempts of a token write racing other writes.
const ATTEMPTS: usize = 8;

/// A new agent token: 32 random bytes, URL-safe base64 (43 characters), as
/// Python's `secrets.token_urlsafe()`.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Constant-time comparison, so the token cannot be guessed byte by byte.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Engine {
    /// Ironic's `GET /v1/lookup`: the node whose ports carry one of `addresses` (or
    /// `uuid`), if it is in a state an agent may look it up in. The first lookup of
    /// an agent boot issues the token; later ones see it masked. Unknown node and
    /// disallowed state are the same NOT_FOUND, as in Ironic.
    pub async fn lookup(&self, addresses: &[String], uuid: Option<Uuid>) -> Result<LookupReply> {
        if addresses.is_empty() && uuid.is_none() {
            return Err(DeployError::InvalidArgument(
                "Either node UUID or addresses of the node must be provided".into(),
            ));
        }
        let not_found = || DeployError::NodeNotFound(format!("with addresses {}", addresses.join(",")));
        let uuid = match uuid {
            Some(uuid) => uuid,
            None => self.node_with_port(addresses).await?.ok_or_else(not_found)?,
        };
        for _ in 0..ATTEMPTS {
            let stored = self.nodes.get(&uuid.to_string()).await?.ok_or_else(not_found)?;
            let mut node = stored.record;
            if !ProvisionState::LOOKUP_ALLOWED.contains(&node.provision_state) {
                return Err(not_found());
            }
            let issued =
                node.driver_internal_info.get("agent_secret_token").and_then(Value::as_str).is_some();
            let token = if issued {
                MASK.to_owned()
            } else {
                let token = new_token();
                node.driver_internal_info.insert("agent_secret_token".into(), json!(token));
                match self.nodes.update(&node, stored.mod_revision).await {
                    Ok(_) => {}
                    Err(StoreError::Conflict(_)) => continue,
                    Err(error) => return Err(error.into()),
                }
                tracing::info!(node = %uuid, "agent token issued");
                token
            };
            let config =
                json!({"heartbeat_timeout": 300, "agent_token": token, "agent_token_required": true});
            return Ok(LookupReply { node: node.0.masked(SecretPolicy::MASK_ALL), config });
        }
        Err(DeployError::Conflict(format!("node {uuid} kept changing during lookup")))
    }

    /// The node one of whose ports has one of `addresses`.
    pub async fn node_with_port(&self, addresses: &[String]) -> Result<Option<Uuid>> {
        for address in addresses {
            let Ok(mac) = normalize_mac(address) else { continue };
            if let Some(port) = self.ports.get_by("address", &mac).await? {
                return Ok(Some(port.record.node_uuid));
            }
        }
        Ok(None)
    }

    /// Ironic's `POST /v1/heartbeat/{node}`: checks the token, records where the
    /// agent listens, and resumes a node waiting for it.
    pub async fn heartbeat(
        &self,
        uuid: Uuid,
        callback_url: &str,
        token: &str,
        agent_version: &str,
    ) -> Result<()> {
        if callback_url.is_empty() {
            return Err(DeployError::InvalidArgument("callback_url is required".into()));
        }
        let stored = self.node(&uuid.to_string()).await?;
        check_token(&stored.record, token)?;
        // As in Ironic, a heartbeat takes the node's lock, waiting briefly as
        // every lock request does. A fast machine's agent can call while the
        // conductor still holds the lock between powering it on and entering
        // the wait state; the short wait covers that, and past it the agent is
        // told to retry (409) within seconds instead of being recorded and left
        // until its next regular heartbeat minutes later.
        let mut task = self.acquire(uuid).await?;
        if let Err(error) = check_token(&task.node, token) {
            task.release().await;
            return Err(error);
        }
        record_agent(&mut task.node, callback_url, agent_version);
        // In `inspect wait` only the inspection callback (with the inventory)
        // moves the node on; a heartbeat just records the agent, as in Ironic.
        let state = task.state();
        if state.is_wait() && state != ProvisionState::InspectWait {
            task.resume_now = true;
            self.spawn_drive(task);
            return Ok(());
        }
        let saved = task.save().await;
        task.release().await;
        saved
    }
}

fn check_token(node: &Node, token: &str) -> Result<()> {
    match node.driver_internal_info.get("agent_secret_token").and_then(Value::as_str) {
        Some(expected) if same(expected, token) => Ok(()),
        _ => Err(DeployError::Unauthenticated("Invalid or missing agent token received.".into())),
    }
}

fn record_agent(node: &mut Node, callback_url: &str, agent_version: &str) {
    let info = &mut node.driver_internal_info;
    info.insert("agent_url".into(), json!(callback_url));
    info.insert("agent_version".into(), json!(agent_version));
    info.insert("agent_last_heartbeat".into(), json!(Utc::now().to_rfc3339()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_urlsafe_characters_and_compare_exactly() {
        let token = new_token();
        assert_eq!(token.len(), 43);
        assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert!(same(&token, &token.clone()));
        assert!(!same(&token, "x"));
        assert_ne!(token, new_token());
    }
}
