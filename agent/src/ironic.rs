//! The agent's calls to the Ironic API: `GET /v1/lookup` (which node am I, and
//! my token) and `POST /v1/heartbeat/{node}` (where I listen). The token is
//! never logged; URLs carrying it are not built here (it travels in the body).

use std::time::Duration;

use serde_json::{Value, json};

/// The microversion the agent speaks when the API does not say: lookup and
/// heartbeat appeared at 1.22; the token in heartbeats at 1.62.
const FALLBACK_VERSION: &str = "1.22";
/// The newest microversion whose ramdisk API the agent knows (IPA's
/// `MAX_KNOWN_VERSION`).
const MAX_KNOWN_VERSION: (u32, u32) = (1, 68);

/// What a lookup returned.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// The node (masked), for root device hints and its UUID.
    pub node: Value,
    /// The node's UUID.
    pub uuid: String,
    /// The token, unless the API masked it (handed out before).
    pub token: Option<String>,
    /// `config.heartbeat_timeout`, seconds.
    pub heartbeat_timeout: u64,
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No node matches (404), or it is not in a state that allows lookup.
    #[error("no node matches")]
    NotFound,
    /// The token was refused (401): look up again for a fresh one.
    #[error("the agent token was refused")]
    Unauthorized,
    /// The node is locked (409): try again shortly.
    #[error("the node is busy")]
    Conflict,
    /// The API answered with an error it explains.
    #[error("{0}")]
    Refused(String),
    /// Anything else: the API is down or answered something unexpected.
    #[error("{0}")]
    Other(String),
}

/// A client for one API.
#[derive(Clone)]
pub struct IronicClient {
    http: reqwest::Client,
    base: String,
}

impl IronicClient {
    /// A client for `base` (`http://host:6385`).
    pub fn new(base: &str) -> Self {
        Self { http: shared_http().clone(), base: base.trim_end_matches('/').to_owned() }
    }

    /// The microversion to send: the API's newest, capped at what the agent knows.
    async fn version(&self) -> String {
        let root = async {
            let response = self.http.get(format!("{}/", self.base)).send().await.ok()?;
            let body: Value = response.json().await.ok()?;
            let text = body.pointer("/default_version/version")?.as_str()?.to_owned();
            let (major, minor) = text.split_once('.')?;
            Some((major.parse::<u32>().ok()?, minor.parse::<u32>().ok()?))
        };
        match root.await {
            Some(version) => {
                let (major, minor) = version.min(MAX_KNOWN_VERSION);
                format!("{major}.{minor}")
            }
            None => FALLBACK_VERSION.to_owned(),
        }
    }

    /// `GET /v1/lookup?addresses=…[&node_uuid=…]`.
    pub async fn lookup(&self, macs: &[String], node_uuid: Option<&str>) -> Result<Lookup, CallError> {
        let version = self.version().await;
        let mut query = vec![("addresses", macs.join(","))];
        if let Some(uuid) = node_uuid {
            query.push(("node_uuid", uuid.to_owned()));
        }
        let response = self
            .http
            .get(format!("{}/v1/lookup", self.base))
            .header("X-OpenStack-Ironic-API-Version", version)
            .query(&query)
            .send()
            .await
            .map_err(|e| CallError::Other(format!("lookup failed: {}", chain(&e))))?;
        match response.status().as_u16() {
            200 => {}
            404 => return Err(CallError::NotFound),
            status => return Err(CallError::Other(format!("lookup answered HTTP {status}"))),
        }
        let body: Value =
            response.json().await.map_err(|e| CallError::Other(format!("unreadable lookup reply: {e}")))?;
        let node = body.get("node").cloned().unwrap_or(Value::Null);
        let uuid = node.get("uuid").and_then(Value::as_str).unwrap_or_default().to_owned();
        if uuid.is_empty() {
            return Err(CallError::Other("lookup reply has no node UUID".into()));
        }
        let config = body.get("config").cloned().unwrap_or(Value::Null);
        let token =
            config.get("agent_token").and_then(Value::as_str).filter(|t| *t != "******" && !t.is_empty());
        let heartbeat_timeout = config.get("heartbeat_timeout").and_then(Value::as_u64).unwrap_or(300);
        Ok(Lookup { node, uuid, token: token.map(str::to_owned), heartbeat_timeout })
    }

    /// Posts the inventory to an inspection callback. IPA sends no microversion
    /// (Ironic answers `/v1/continue_inspection` at 1.1 as at 1.84+); Ferric's
    /// gateway wants 1.84, which Ironic accepts too, so Ironic's own endpoint gets
    /// 1.84 and any other callback (ironic-inspector) none.
    pub async fn continue_inspection(&self, callback_url: &str, body: &Value) -> Result<(), CallError> {
        let mut request = self.http.post(callback_url);
        if callback_url.trim_end_matches('/').ends_with("/v1/continue_inspection") {
            request = request.header("X-OpenStack-Ironic-API-Version", "1.84");
        }
        let response = request
            .json(body)
            .send()
            .await
            .map_err(|e| CallError::Other(format!("inspection callback failed: {}", chain(&e))))?;
        match response.status().as_u16() {
            200..=299 => Ok(()),
            status => Err(CallError::Refused(format!(
                "inspection callback answered HTTP {status}: {}",
                response.text().await.unwrap_or_default()
            ))),
        }
    }

    /// `POST /v1/heartbeat/{node}` with the callback URL and token.
    pub async fn heartbeat(&self, node: &str, callback_url: &str, token: &str) -> Result<(), CallError> {
        let version = self.version().await;
        let body = json!({
            "callback_url": callback_url,
            "agent_token": token,
            "agent_version": crate::VERSION,
        });
        let response = self
            .http
            .post(format!("{}/v1/heartbeat/{node}", self.base))
            .header("X-OpenStack-Ironic-API-Version", version)
            .json(&body)
            .send()
            .await
            .map_err(|e| CallError::Other(format!("heartbeat failed: {}", chain(&e))))?;
        match response.status().as_u16() {
            200..=299 => Ok(()),
            401 | 403 => Err(CallError::Unauthorized),
            404 => Err(CallError::NotFound),
            409 => Err(CallError::Conflict),
            status => Err(CallError::Other(format!("heartbeat answered HTTP {status}"))),
        }
    }
}

/// An error and its causes ("connection refused" is in the source chain).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// One HTTP client per process: building one loads the system's CA roots, which
/// a simulator running a thousand agents would otherwise do a thousand times.
fn shared_http() -> &'static reqwest::Client {
    static HTTP: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    HTTP.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default()
    })
}
