//! A gateway over a fresh embedded store with one live conductor serving every
//! hardware type, driven in-process through tower.

#![allow(dead_code)] // Each test binary uses a different part of these helpers.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use ferric_cluster::{ConductorInfo, Membership};
use ferric_gateway::{AppState, router};
use ferric_store::DynStore;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The version the transcripts were recorded at.
pub const LATEST: &str = "1.115";

/// A running gateway and what keeps it alive.
pub struct Api {
    pub app: ferric_gateway::Api,
    pub store: DynStore,
    _membership: Membership,
    _dir: tempfile::TempDir,
}

/// A response, parsed.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Ironic's `faultstring` from an error body.
    pub fn fault(&self) -> String {
        let inner = self.body["error_message"].as_str().expect("an Ironic error body");
        let inner: Value = serde_json::from_str(inner).expect("error_message holds JSON");
        inner["faultstring"].as_str().unwrap_or_default().to_owned()
    }
}

impl Api {
    /// A gateway with a conductor `test-conductor` serving the default group.
    pub async fn start() -> Api {
        let dir = tempfile::tempdir().unwrap();
        let store: DynStore =
            Arc::new(ferric_store::embedded::EmbeddedStore::open(dir.path().join("s.redb")).await.unwrap());
        let info = ConductorInfo {
            hostname: "test-conductor".into(),
            conductor_group: String::new(),
            hardware_types: ["fake-hardware", "ipmi", "redfish", "manual-management"]
                .map(String::from)
                .to_vec(),
            address: "127.0.0.1:1".into(),
            ..Default::default()
        };
        let membership = Membership::join(store.clone(), info, Duration::from_secs(10)).await.unwrap();
        let state =
            AppState::connect(store.clone(), None, ferric_gateway::auth::Auth::noauth()).await.unwrap();
        // The observer reads membership when it starts, after the join above.
        assert!(state.ring().is_some_and(|ring| ring.contains("test-conductor")));
        Api { app: router(state), store, _membership: membership, _dir: dir }
    }

    /// A gateway over `state`, keeping `membership` and `dir` alive (for tests
    /// that assemble their own peers, e.g. a deploy service).
    pub fn assemble(state: AppState, store: DynStore, membership: Membership, dir: tempfile::TempDir) -> Api {
        Api { app: router(state), store, _membership: membership, _dir: dir }
    }

    /// Sends a request at `version` (None: no version header).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        version: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path).header("host", "127.0.0.1:6385");
        if let Some(version) = version {
            request = request.header("X-OpenStack-Ironic-API-Version", version);
        }
        let body = match body {
            Some(value) => {
                request = request.header("content-type", "application/json");
                Body::from(serde_json::to_vec(&value).unwrap())
            }
            None => Body::empty(),
        };
        let response = self.app.clone().oneshot(request.body(body).unwrap()).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body =
            if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("JSON body") };
        Reply { status, headers, body }
    }

    /// A call at the transcripts' version.
    pub async fn latest(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call(method, path, Some(LATEST), body).await
    }
}

/// The top-level keys of a transcript's response body, in order.
pub fn transcript_keys(name: &str) -> Vec<String> {
    let path = format!("{}/../integration/fixtures/ironic-39-curl/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let raw = text
        .split("### response body (raw):\n")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .expect("raw body");
    let value: Value = serde_json::from_str(raw).expect("transcript JSON");
    value.as_object().expect("object").keys().cloned().collect()
}

/// Sorted keys of an object.
pub fn sorted_keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().expect("object").keys().cloned().collect();
    keys.sort();
    keys
}
