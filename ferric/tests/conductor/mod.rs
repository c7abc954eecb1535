//! Shared by the conductor's REST tests: an all-in-one process whose fake
//! hardware takes a moment per operation (so every transient state is visible to
//! the API), and a client that records every state a node reports.

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use ferric_integration::{FerricProcess, wait_for};
use serde_json::{Value, json};

/// How long each fake operation takes: long enough for a poller to see every
/// transient state, short enough for the tests to stay quick.
pub const FAKE_DELAY_MS: &str = "400";
/// How long a whole path may take.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A running all-in-one process and a client for it.
pub struct Api {
    pub ferric: FerricProcess,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// One observation of a node: (provision_state, target_provision_state).
pub type Seen = (String, Value);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ferric"))
}

impl Api {
    /// Starts ferric with the fake delay and quick periodic checks.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts ferric with extra `FERRIC_*` variables.
    pub async fn start_with(extra: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut env = vec![
            ("FERRIC_DEPLOY__FAKE_DELAY_MS", FAKE_DELAY_MS),
            ("FERRIC_DEPLOY__PERIODIC_INTERVAL_SECS", "1"),
            ("FERRIC_DEPLOY__HOSTNAME", "test-conductor"),
        ];
        env.extend_from_slice(extra);
        let ferric = FerricProcess::all_in_one(bin(), dir.path(), &env).await;
        Self { ferric, client: reqwest::Client::new(), _dir: dir }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.ferric.api)
    }

    /// A request at the latest microversion.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path)).header("X-OpenStack-Ironic-API-Version", "latest")
    }

    /// Creates a fake-hardware node with `extra` fields and returns its UUID.
    pub async fn create_node(&self, extra: Value) -> String {
        let mut body = json!({"driver": "fake-hardware"});
        if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
            body.extend(extra);
        }
        // The gateway learns that a conductor serves fake-hardware from the ring;
        // right after start-up that may take a moment.
        let response = wait_for(PATIENCE, "the node to be created", || async {
            let response = self.request(reqwest::Method::POST, "/v1/nodes").json(&body).send().await.ok()?;
            (response.status() == 201).then_some(response)
        })
        .await;
        let node: Value = response.json().await.expect("node json");
        node["uuid"].as_str().expect("uuid").to_owned()
    }

    /// The node as the API shows it.
    pub async fn node(&self, uuid: &str) -> Value {
        self.request(reqwest::Method::GET, &format!("/v1/nodes/{uuid}"))
            .send()
            .await
            .expect("get node")
            .json()
            .await
            .expect("node json")
    }

    /// `PUT .../states/provision` with `body`; returns status and body text.
    pub async fn provision(&self, uuid: &str, body: Value) -> (u16, String) {
        let response = self
            .request(reqwest::Method::PUT, &format!("/v1/nodes/{uuid}/states/provision"))
            .json(&body)
            .send()
            .await
            .expect("provision request");
        (response.status().as_u16(), response.text().await.unwrap_or_default())
    }

    /// Sends `body` (expecting 202) and records every (state, target) the node
    /// reports until it rests in `end` with no reservation; returns what was seen.
    pub async fn walk(&self, uuid: &str, body: Value, end: &str) -> Vec<Seen> {
        let (status, text) = self.provision(uuid, body.clone()).await;
        assert_eq!(status, 202, "{body} was refused: {text}");
        self.observe(uuid, end).await
    }

    /// Records every distinct (state, target) until the node rests in `end`.
    pub async fn observe(&self, uuid: &str, end: &str) -> Vec<Seen> {
        let mut seen: Vec<Seen> = Vec::new();
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            let node = self.node(uuid).await;
            let state = node["provision_state"].as_str().unwrap_or_default().to_owned();
            let observation = (state.clone(), node["target_provision_state"].clone());
            if seen.last() != Some(&observation) {
                seen.push(observation);
            }
            if state == end && node["reservation"].is_null() {
                return seen;
            }
            assert!(std::time::Instant::now() < deadline, "node never rested in {end}; saw {seen:?}");
            // Polling interval of the observer, far below the fake delay.
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    }
}

/// `(state, target)` pairs from literals; `None` target is JSON null.
pub fn expect(pairs: &[(&str, Option<&str>)]) -> Vec<Seen> {
    pairs.iter().map(|(s, t)| ((*s).to_owned(), t.map_or(Value::Null, |t| json!(t)))).collect()
}
