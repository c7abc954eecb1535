//! Peers for the agent's tests: an image origin (axum on loopback, plus a raw
//! socket that lies about Content-Length), a stand-in Ironic API answering lookup
//! and heartbeat, and an agent on simulated hardware that has looked up and is
//! ready for commands.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use ferric_agent::{AgentOptions, PowerAction, SimulatedDisk, SimulatedHardware};
use ferric_testkit::wait_for;
use serde_json::{Value, json};
use sha2::Digest;
use tokio::io::AsyncWriteExt;

/// How long any one thing may take.
pub const PATIENCE: Duration = Duration::from_secs(30);
/// The agent's MAC.
pub const MAC: &str = "52:54:00:aa:bb:01";
/// The token the stand-in API hands out.
pub const TOKEN: &str = "test-token-0123456789abcdefghijklmnopqrstuv";
/// The node the stand-in API knows.
pub const NODE: &str = "1be26c0b-03f2-4d2e-ae87-c02d7f33c123";

/// Lower-case hex SHA-256.
pub fn sha256(data: &[u8]) -> String {
    hex(&sha2::Sha256::digest(data))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A deterministic, incompressible-looking image of `len` bytes.
pub fn image(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}

/// Images by file name.
type Files = Arc<Mutex<HashMap<String, Vec<u8>>>>;

/// An HTTP origin serving files by name, and a path that never finishes.
pub struct Origin {
    pub url: String,
    files: Files,
}

impl Origin {
    pub async fn start() -> Self {
        let files: Files = Arc::default();
        let app = Router::new()
            .route("/stall", get(|| async { std::future::pending::<()>().await }))
            .route(
                "/{name}",
                get(|State(files): State<Files>, Path(name): Path<String>| async move {
                    match files.lock().expect("files").get(&name) {
                        Some(data) => (StatusCode::OK, data.clone()),
                        None => (StatusCode::NOT_FOUND, b"no such image".to_vec()),
                    }
                }),
            )
            .with_state(files.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind origin");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, files }
    }

    /// Serves `data` at `/{name}`; returns its URL.
    pub fn put(&self, name: &str, data: &[u8]) -> String {
        self.files.lock().expect("files").insert(name.to_owned(), data.to_vec());
        format!("{}/{name}", self.url)
    }
}

/// A server that announces `announced` bytes, sends `sent` of them, and hangs up.
pub async fn lying_origin(announced: usize, sent: &[u8]) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/short.img", listener.local_addr().expect("addr"));
    let body = sent.to_vec();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = vec![0u8; 4096];
            let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut request).await;
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {announced}\r\nConnection: close\r\n\r\n");
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&body).await;
            let _ = socket.shutdown().await;
        }
    });
    url
}

/// What the stand-in Ironic API saw.
#[derive(Default)]
pub struct Seen {
    pub lookups: Vec<String>,
    pub heartbeats: Vec<Value>,
    /// Heartbeats still to refuse with 401 (a token the conductor wiped).
    pub refuse: usize,
    /// Heartbeats refused.
    pub refused: usize,
}

/// A stand-in for Ferric's ramdisk API: lookup finds [`NODE`] by [`MAC`] and
/// hands out [`TOKEN`]; heartbeats are recorded.
pub struct FakeIronic {
    pub url: String,
    pub seen: Arc<Mutex<Seen>>,
    pub node: Arc<Mutex<Value>>,
}

impl FakeIronic {
    pub async fn start() -> Self {
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let node = Arc::new(Mutex::new(json!({"uuid": NODE, "properties": {}})));
        let lookup_seen = seen.clone();
        let lookup_node = node.clone();
        let beat_seen = seen.clone();
        let app = Router::new()
            .route(
                "/",
                get(|| async { axum::Json(json!({"default_version": {"id": "v1", "version": "1.99"}})) }),
            )
            .route(
                "/v1/lookup",
                get(move |axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>| async move {
                    let addresses = q.get("addresses").cloned().unwrap_or_default();
                    lookup_seen.lock().expect("seen").lookups.push(addresses.clone());
                    if !addresses.split(',').any(|a| a.eq_ignore_ascii_case(MAC)) {
                        return (StatusCode::NOT_FOUND, axum::Json(json!({})));
                    }
                    let node = lookup_node.lock().expect("node").clone();
                    (StatusCode::OK, axum::Json(json!({"node": node, "config": {"heartbeat_timeout": 300, "agent_token": TOKEN}})))
                }),
            )
            .route(
                "/v1/heartbeat/{node}",
                post(move |axum::Json(body): axum::Json<Value>| async move {
                    let mut seen = beat_seen.lock().expect("seen");
                    if seen.refuse > 0 {
                        seen.refuse -= 1;
                        seen.refused += 1;
                        return StatusCode::UNAUTHORIZED;
                    }
                    seen.heartbeats.push(body);
                    StatusCode::ACCEPTED
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind ironic");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, seen, node }
    }

    /// The callback URL of the first heartbeat, once there is one.
    pub async fn callback_url(&self) -> String {
        wait_for(PATIENCE, "a heartbeat", || async {
            let seen = self.seen.lock().expect("seen");
            seen.heartbeats.first().and_then(|b| b["callback_url"].as_str()).map(str::to_owned)
        })
        .await
    }
}

/// An agent on simulated disks, looked up, with a client for its API.
pub struct Harness {
    pub ironic: FakeIronic,
    pub origin: Origin,
    pub url: String,
    pub disks: Vec<PathBuf>,
    /// The agent's scratch directory (qcow2 copies).
    pub scratch: PathBuf,
    pub power: Arc<Mutex<Vec<PowerAction>>>,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<Result<(), ferric_agent::AgentError>>,
}

impl Harness {
    /// One 64 MiB disk `/dev/vda`, and no minimum size (it is a test disk).
    pub async fn start() -> Self {
        Self::with_disks(&[("/dev/vda", 64 << 20)], 0).await
    }

    /// Disks of the given names and sizes, and the minimum disk size.
    pub async fn with_disks(disks: &[(&str, u64)], min_root_disk_bytes: u64) -> Self {
        Self::with(disks, min_root_disk_bytes, 0).await
    }

    /// As [`Self::with_disks`], with the API refusing the first `refused` heartbeats.
    pub async fn with(disks: &[(&str, u64)], min_root_disk_bytes: u64, refused: usize) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let power: Arc<Mutex<Vec<PowerAction>>> = Arc::default();
        let recorded = power.clone();
        let mut hardware = SimulatedHardware::new(&[MAC])
            .on_power(move |action| recorded.lock().expect("power").push(action));
        let mut paths = Vec::new();
        for (index, (name, size)) in disks.iter().enumerate() {
            let path = dir.path().join(format!("disk{index}.img"));
            hardware = hardware.with_disk(SimulatedDisk::create(name, &path, *size).expect("disk"));
            paths.push(path);
        }
        let ironic = FakeIronic::start().await;
        ironic.seen.lock().expect("seen").refuse = refused;
        let origin = Origin::start().await;
        let mut options = AgentOptions::new(ironic.url.clone(), Arc::new(hardware))
            .listen_on(SocketAddr::from(([127, 0, 0, 1], 0)));
        options.lookup_backoff = (Duration::from_millis(20), Duration::from_millis(200));
        options.min_root_disk_bytes = min_root_disk_bytes;
        let scratch = dir.path().join("scratch");
        std::fs::create_dir_all(&scratch).expect("scratch");
        options.scratch_dir = scratch.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(ferric_agent::run(options, async move {
            let _ = stopped.await;
        }));
        let url = ironic.callback_url().await;
        Self {
            ironic,
            origin,
            url,
            disks: paths,
            scratch,
            power,
            http: reqwest::Client::new(),
            _dir: dir,
            stop: Some(stop),
            task,
        }
    }

    /// Stops the agent and waits for `run` to return.
    pub async fn shutdown(mut self) -> Result<(), ferric_agent::AgentError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(PATIENCE, &mut self.task)
            .await
            .expect("run returns after shutdown")
            .expect("join")
    }

    /// `POST /v1/commands/?wait=…` with the token; status and body.
    pub async fn send(&self, name: &str, params: Value, wait: bool) -> (u16, Value) {
        self.send_raw(&json!({"name": name, "params": params}).to_string(), wait, Some(TOKEN)).await
    }

    /// A raw body and token.
    pub async fn send_raw(&self, body: &str, wait: bool, token: Option<&str>) -> (u16, Value) {
        let mut query = vec![("wait", if wait { "true" } else { "false" })];
        if let Some(token) = token {
            query.push(("agent_token", token));
        }
        let response = self
            .http
            .post(format!("{}/v1/commands/", self.url))
            .query(&query)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("send command");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `GET path` with the token.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .query(&[("agent_token", TOKEN)])
            .send()
            .await
            .expect("get");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Runs `name` and waits for its end; returns the final result.
    pub async fn run(&self, name: &str, params: Value) -> Value {
        let (status, started) = self.send(name, params, false).await;
        assert_eq!(status, 200, "{name} refused: {started}");
        let id = started["id"].as_str().expect("id").to_owned();
        wait_for(PATIENCE, &format!("{name} to finish"), || async {
            let (_, result) = self.get(&format!("/v1/commands/{id}")).await;
            (result["command_status"] != "RUNNING").then_some(result)
        })
        .await
    }

    /// `deploy.execute_deploy_step` of `write_image` for `image_info`, with the
    /// node's root device hints.
    pub async fn write_image(&self, image_info: Value, root_device: Value) -> Value {
        let params = json!({
            "step": {"interface": "deploy", "step": "write_image", "priority": 80,
                     "args": {"image_info": image_info}},
            "node": {"uuid": NODE, "properties": {"root_device": root_device}},
            "ports": [],
            "deploy_version": {"generic_hardware_manager": "1.2"},
        });
        self.run("deploy.execute_deploy_step", params).await
    }
}

/// `image_info` as the conductor builds it, with a sha256.
pub fn image_info(url: &str, sha256: &str) -> Value {
    json!({"id": "image-1", "urls": [url], "disk_format": "raw", "container_format": "bare",
           "checksum": null, "os_hash_algo": "sha256", "os_hash_value": sha256,
           "stream_raw_images": true, "node_uuid": NODE})
}
