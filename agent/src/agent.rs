//! One agent's life: the shared state its API and commands read (token, node,
//! commands), and the loop that looks the node up and heartbeats.

use std::future::Future;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::watch;

use crate::commands::Commands;
use crate::error::AgentError;
use crate::hardware::Hardware;
use crate::ironic::{CallError, IronicClient};
use crate::{AgentOptions, api};

/// What the API handlers and the commands share.
pub struct Agent {
    /// The machine.
    pub hardware: Arc<dyn Hardware>,
    /// The minimum install disk size without hints.
    pub min_root_disk_bytes: u64,
    /// Where qcow2 images wait for conversion.
    pub scratch_dir: std::path::PathBuf,
    /// The token of this boot, once lookup handed it out.
    token: RwLock<Option<String>>,
    /// The node as lookup returned it (root device hints when a command has none).
    node: RwLock<Option<Value>>,
    /// Every command of this boot.
    pub commands: Commands,
    /// Seconds since the epoch at start, for `GET /v1/status`.
    pub started_at: f64,
    /// Partition UUIDs of the last image written (`standby.get_partition_uuids`).
    pub partition_uuids: Mutex<Value>,
}

impl Agent {
    fn new(options: &AgentOptions) -> Self {
        let started_at = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
        Self {
            hardware: options.hardware.clone(),
            min_root_disk_bytes: options.min_root_disk_bytes,
            scratch_dir: options.scratch_dir.clone(),
            token: RwLock::new(None),
            node: RwLock::new(None),
            commands: Commands::default(),
            started_at,
            partition_uuids: Mutex::new(Value::Object(Default::default())),
        }
    }

    /// Whether `offered` is this boot's token; no token yet means nothing is
    /// authorised (the conductor only calls after a heartbeat that carried one).
    pub fn token_matches(&self, offered: Option<&str>) -> bool {
        let Ok(token) = self.token.read() else { return false };
        match (token.as_deref(), offered) {
            (Some(expected), Some(offered)) => {
                expected.len() == offered.len()
                    && expected.bytes().zip(offered.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
            }
            _ => false,
        }
    }

    fn set_token(&self, token: Option<String>) {
        if let Ok(mut slot) = self.token.write() {
            *slot = token;
        }
    }

    fn token(&self) -> Option<String> {
        self.token.read().ok().and_then(|t| t.clone())
    }

    /// The node from lookup.
    pub fn node(&self) -> Option<Value> {
        self.node.read().ok().and_then(|n| n.clone())
    }

    fn set_node(&self, node: Value) {
        if let Ok(mut slot) = self.node.write() {
            *slot = Some(node);
        }
    }
}

/// Serves the API on `listener` and runs lookup and heartbeats until `shutdown`.
pub async fn serve(
    options: AgentOptions,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), AgentError> {
    if options.macs.is_empty() && options.node_uuid.is_none() {
        return Err(AgentError::InvalidOptions("no MAC address and no node UUID to look up with".into()));
    }
    if !options.api_url.starts_with("http://") && !options.api_url.starts_with("https://") {
        return Err(AgentError::InvalidOptions(format!("the API URL {} is not http(s)", options.api_url)));
    }
    let bound = listener
        .local_addr()
        .map_err(|source| AgentError::Listen { address: options.listen.to_string(), source })?;
    let callback_url = match &options.advertise_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!(
            "http://{}",
            SocketAddr::new(local_address_towards(&options.api_url, bound), bound.port())
        ),
    };
    let agent = Arc::new(Agent::new(&options));
    let (stop, stopped) = watch::channel(false);
    let app = api::router(agent.clone());
    let mut server_stopped = stopped.clone();
    let server = tokio::spawn(async move {
        let graceful = async move {
            let _ = server_stopped.wait_for(|s| *s).await;
        };
        axum::serve(listener, app).with_graceful_shutdown(graceful).await
    });
    tracing::info!(target: "ferric_agent::console", %callback_url, "FERRIC-AGENT-UP listening on {bound}");
    let outcome = tokio::select! {
        () = shutdown => Ok(()),
        outcome = life(&options, &agent, &callback_url) => outcome,
    };
    let _ = stop.send(true);
    agent.commands.abort_all();
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, "agent API stopped with an error"),
        Err(error) => tracing::warn!(%error, "agent API task failed"),
    }
    outcome
}

/// The local address the kernel would use to reach the API, so the callback URL
/// is one the conductor can reach (IPA's `_get_route_source`).
fn local_address_towards(api_url: &str, bound: SocketAddr) -> std::net::IpAddr {
    if !bound.ip().is_unspecified() {
        return bound.ip();
    }
    let host_port = api_url.split("://").nth(1).unwrap_or_default().split('/').next().unwrap_or_default();
    let target = if host_port.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        host_port.to_owned()
    } else {
        format!("{host_port}:80")
    };
    let probe = || -> std::io::Result<std::net::IpAddr> {
        let socket = UdpSocket::bind(("0.0.0.0", 0))?;
        socket.connect(target.as_str())?;
        Ok(socket.local_addr()?.ip())
    };
    probe().unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]))
}

/// Lookup, then heartbeats; back to lookup when the token is refused.
async fn life(options: &AgentOptions, agent: &Agent, callback_url: &str) -> Result<(), AgentError> {
    let client = IronicClient::new(&options.api_url);
    let started = Instant::now();
    if let Some(url) = &options.inspection_callback_url {
        inspect(options, &client, url).await;
    }
    loop {
        let found = lookup(options, &client, started).await?;
        tracing::info!(target: "ferric_agent::console", "FERRIC-AGENT-LOOKUP-OK node={}", found.uuid);
        agent.set_node(found.node.clone());
        let Some(token) = found.token.or_else(|| agent.token()) else {
            tracing::warn!(node = %found.uuid, "lookup masked the token (handed out to an earlier boot); retrying");
            tokio::time::sleep(options.lookup_backoff.1).await;
            continue;
        };
        agent.set_token(Some(token.clone()));
        let interval = options.heartbeat_interval.unwrap_or_else(|| ipa_interval(found.heartbeat_timeout));
        heartbeat_until_refused(&client, &found.uuid, callback_url, &token, interval).await;
        agent.set_token(None);
        // A token refused again and again must not become a tight loop.
        tokio::time::sleep(options.lookup_backoff.0).await;
    }
}

/// Sends the inventory to the inspection callback, retrying transport errors
/// with the lookup backoff; a refusal (the node does not wait for inspection) is
/// logged and the agent goes on to lookup, as IPA does.
async fn inspect(options: &AgentOptions, client: &IronicClient, url: &str) {
    let hardware = options.hardware.clone();
    let inventory = match tokio::task::spawn_blocking(move || hardware.inventory()).await {
        Ok(Ok(inventory)) => inventory,
        Ok(Err(error)) => return tracing::error!(%error, "cannot collect the inventory for inspection"),
        Err(error) => return tracing::error!(%error, "inventory collection failed"),
    };
    let root_disk = crate::root_device::choose(&inventory.disks, None, options.min_root_disk_bytes).ok();
    let body = serde_json::json!({
        "inventory": inventory,
        "root_disk": root_disk,
        "boot_interface": inventory.boot.pxe_interface,
        "error": null,
    });
    let (mut pause, largest) = options.lookup_backoff;
    for attempt in 1..=10 {
        match client.continue_inspection(url, &body).await {
            Ok(()) => {
                return tracing::info!(target: "ferric_agent::console", "FERRIC-AGENT-INSPECTION-SENT");
            }
            Err(CallError::Other(error)) if attempt < 10 => {
                tracing::warn!(%error, attempt, "inspection callback failed; retrying");
            }
            Err(error) => return tracing::error!(%error, "inspection callback refused; going on to lookup"),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(largest);
    }
}

/// IPA's heartbeat period: a random 30–60 % of `heartbeat_timeout`, so a fleet
/// booted together does not heartbeat together.
fn ipa_interval(heartbeat_timeout: u64) -> Duration {
    let jitter = 0.3 + 0.3 * (f64::from(uuid::Uuid::new_v4().as_u128() as u16) / f64::from(u16::MAX));
    Duration::from_secs_f64((heartbeat_timeout.max(1) as f64 * jitter).max(1.0))
}

async fn lookup(
    options: &AgentOptions,
    client: &IronicClient,
    started: Instant,
) -> Result<crate::ironic::Lookup, AgentError> {
    let (first, largest) = options.lookup_backoff;
    let mut pause = first;
    loop {
        match client.lookup(&options.macs, options.node_uuid.as_deref()).await {
            Ok(found) => return Ok(found),
            Err(CallError::NotFound) => tracing::debug!(macs = ?options.macs, "lookup found no node yet"),
            Err(error) => tracing::warn!(%error, "lookup failed"),
        }
        if let Some(timeout) = options.lookup_timeout
            && started.elapsed() >= timeout
        {
            return Err(AgentError::LookupTimeout(timeout));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(largest);
    }
}

/// Heartbeats every `interval` until the API refuses the token.
async fn heartbeat_until_refused(
    client: &IronicClient,
    node: &str,
    callback_url: &str,
    token: &str,
    interval: Duration,
) {
    loop {
        let next = match client.heartbeat(node, callback_url, token).await {
            Ok(()) => {
                tracing::debug!(%node, "heartbeat accepted");
                interval
            }
            Err(CallError::Unauthorized) => {
                tracing::warn!(%node, "heartbeat refused the token; looking up again");
                return;
            }
            Err(CallError::Conflict) => {
                tracing::info!(%node, "node busy; heartbeating again soon");
                interval.min(Duration::from_secs(5))
            }
            Err(error) => {
                tracing::warn!(%node, %error, "heartbeat failed");
                interval.min(Duration::from_secs(5))
            }
        };
        tokio::time::sleep(next).await;
    }
}
