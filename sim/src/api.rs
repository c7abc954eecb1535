//! Ferric's REST API as the fleet's operator uses it: enroll nodes and ports,
//! send provision verbs, and watch every node's provision state.
//!
//! The watcher lists all nodes (`fields=` keeps pages small) a few times a
//! second and records when each node was first seen in each state, which is what
//! the per-state percentiles of the report are made of; states shorter than the
//! poll interval may go unseen, and their time is counted in the next one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::error::SimError;

/// The API version every call asks for.
const API_VERSION: &str = "latest";
/// Pause between node-list polls.
const POLL: Duration = Duration::from_millis(250);

/// A client of one Ferric REST API.
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

/// One node as the watcher saw it.
#[derive(Debug, Clone, Default)]
pub struct NodeTrack {
    /// Each provision state when first seen, in order.
    pub states: Vec<(String, Instant)>,
    /// Whether a conductor holds the node's lock.
    pub reserved: bool,
    /// `last_error`, when set.
    pub last_error: Option<String>,
}

/// Every node's history, shared between the watcher and the waiters.
pub type Tracks = Arc<Mutex<HashMap<String, NodeTrack>>>;

impl Api {
    /// A client for the API at `base` (`http://host:port`).
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(256)
            .build()
            .unwrap_or_default();
        Self { base: base.trim_end_matches('/').to_owned(), http }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("X-OpenStack-Ironic-API-Version", API_VERSION)
    }

    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<(u16, Value), SimError> {
        let mut request = self.request(method.clone(), path);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| SimError::Api(format!("{method} {path}: {e}")))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| SimError::Api(format!("{method} {path}: {e}")))?;
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok((status, value))
    }

    /// Creates a node; returns its UUID.
    pub async fn create_node(&self, body: &Value) -> Result<String, SimError> {
        let (status, reply) = self.send(Method::POST, "/v1/nodes", Some(body)).await?;
        if status != 201 {
            return Err(SimError::Api(format!("create node: HTTP {status}: {reply}")));
        }
        reply["uuid"].as_str().map(str::to_owned).ok_or_else(|| SimError::Api("create node: no uuid".into()))
    }

    /// Creates a port for `node` with `mac`.
    pub async fn create_port(&self, node: &str, mac: &str) -> Result<(), SimError> {
        let body = json!({"node_uuid": node, "address": mac, "pxe_enabled": true});
        let (status, reply) = self.send(Method::POST, "/v1/ports", Some(&body)).await?;
        if status != 201 {
            return Err(SimError::Api(format!("create port {mac}: HTTP {status}: {reply}")));
        }
        Ok(())
    }

    /// Applies a JSON patch to a node.
    pub async fn patch_node(&self, node: &str, patch: &Value) -> Result<(), SimError> {
        for _ in 0..200 {
            let (status, reply) = self.send(Method::PATCH, &format!("/v1/nodes/{node}"), Some(patch)).await?;
            match status {
                200 => return Ok(()),
                409 | 503 => tokio::time::sleep(Duration::from_millis(50)).await,
                _ => return Err(SimError::Api(format!("patch {node}: HTTP {status}: {reply}"))),
            }
        }
        Err(SimError::Api(format!("patch {node}: still locked after 200 attempts")))
    }

    /// Sends a provision verb, retrying while the node is locked (a conductor
    /// releases the lock a moment after the state settles) as Ironic's clients do.
    pub async fn provision(&self, node: &str, target: &str) -> Result<(), SimError> {
        let path = format!("/v1/nodes/{node}/states/provision");
        let body = json!({"target": target});
        for _ in 0..600 {
            let (status, reply) = self.send(Method::PUT, &path, Some(&body)).await?;
            match status {
                202 => return Ok(()),
                409 | 503 => tokio::time::sleep(Duration::from_millis(50)).await,
                _ => return Err(SimError::Api(format!("{target} {node}: HTTP {status}: {reply}"))),
            }
        }
        Err(SimError::Api(format!("{target} {node}: still locked after 600 attempts")))
    }

    /// Polls the node list into `tracks` until the task is dropped.
    pub async fn watch(self, tracks: Tracks) {
        loop {
            if let Ok(nodes) = self.list().await {
                let now = Instant::now();
                let mut tracks = tracks.lock().unwrap_or_else(|p| p.into_inner());
                for node in nodes {
                    let Some(uuid) = node["uuid"].as_str() else { continue };
                    let state = node["provision_state"].as_str().unwrap_or_default();
                    let track = tracks.entry(uuid.to_owned()).or_default();
                    if track.states.last().is_none_or(|(last, _)| last != state) {
                        track.states.push((state.to_owned(), now));
                    }
                    track.reserved = !node["reservation"].is_null();
                    track.last_error =
                        node["last_error"].as_str().filter(|e| !e.is_empty()).map(str::to_owned);
                }
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn list(&self) -> Result<Vec<Value>, SimError> {
        let mut all = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut path =
                "/v1/nodes?fields=uuid,provision_state,reservation,last_error&limit=1000".to_owned();
            if let Some(marker) = &marker {
                path.push_str(&format!("&marker={marker}"));
            }
            let (status, page) = self.send(Method::GET, &path, None).await?;
            if status != 200 {
                return Err(SimError::Api(format!("list nodes: HTTP {status}")));
            }
            let nodes = page["nodes"].as_array().cloned().unwrap_or_default();
            let full = nodes.len() == 1000;
            marker = nodes.last().and_then(|n| n["uuid"].as_str()).map(str::to_owned);
            all.extend(nodes);
            if !full || marker.is_none() {
                return Ok(all);
            }
        }
    }
}

/// Waits until every node of `uuids` is in `state` and unlocked; fails at once
/// when one lands in a `*failed` state, naming it and its `last_error`.
pub async fn wait_all(
    tracks: &Tracks,
    uuids: &[String],
    state: &str,
    timeout: Duration,
) -> Result<(), SimError> {
    let deadline = Instant::now() + timeout;
    loop {
        let (done, failed, lagging) = {
            let tracks = tracks.lock().unwrap_or_else(|p| p.into_inner());
            let mut done = 0;
            let mut failed = None;
            let mut lagging = None;
            for uuid in uuids {
                let track = tracks.get(uuid);
                let current = track.and_then(|t| t.states.last()).map(|(s, _)| s.as_str());
                match (current, track) {
                    (Some(current), Some(track)) if current == state && !track.reserved => done += 1,
                    (Some(current), Some(track)) if current.ends_with("failed") => {
                        failed = Some(format!(
                            "node {uuid} is {current}: {}",
                            track.last_error.clone().unwrap_or_default()
                        ));
                    }
                    _ => lagging = Some(format!("{uuid} ({})", current.unwrap_or("unseen"))),
                }
            }
            (done, failed, lagging)
        };
        if let Some(failed) = failed {
            return Err(SimError::Fleet(failed));
        }
        if done == uuids.len() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(SimError::Fleet(format!(
                "{done}/{} nodes {state} after {timeout:?}; e.g. {}",
                uuids.len(),
                lagging.unwrap_or_default()
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// When each node of `uuids` was first seen in `state` after `since`.
pub fn reached(tracks: &Tracks, uuids: &[String], state: &str, since: Instant) -> HashMap<String, Instant> {
    let tracks = tracks.lock().unwrap_or_else(|p| p.into_inner());
    uuids
        .iter()
        .filter_map(|uuid| {
            let track = tracks.get(uuid)?;
            let at = track.states.iter().find(|(s, at)| s == state && *at >= since).map(|(_, at)| *at)?;
            Some((uuid.clone(), at))
        })
        .collect()
}
