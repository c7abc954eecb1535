//! End to end against the real conductor: a `ferric all-in-one` process, a
//! `fake-hardware` node with `deploy_interface: direct` and a port with the
//! agent's MAC, and this agent in-process on a sparse-file disk acting as the
//! machine: it "boots" (runs) when the node waits for its agent and stops when
//! the conductor powers it off. The node goes manage → inspect (the agent posts
//! its inventory) → provide (automated
//! cleaning through the agent) → deploy of an image from a local origin → active,
//! and the disk holds the image. Which URL the agent downloads from (the origin
//! or Ferric's image cache) is the conductor's choice; the test does not care.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{Origin, image, sha256};
use ferric_agent::{AgentOptions, PowerAction, SimulatedDisk, SimulatedHardware};
use ferric_integration::FerricProcess;
use ferric_testkit::wait_for;
use serde_json::{Value, json};

const MAC: &str = "52:54:00:fe:44:01";
const DISK: u64 = 64 << 20;
const PATIENCE: Duration = Duration::from_secs(120);

/// The `ferric` binary of this build: beside the test's own `deps/` directory,
/// built with cargo when absent (`cargo nextest run --workspace` builds it).
fn ferric_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("FERRIC_BIN") {
        return path.into();
    }
    let exe = std::env::current_exe().expect("test path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>");
    let bin = profile_dir.join("ferric");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let target_dir = profile_dir.parent().expect("target dir");
        let status = Command::new(cargo)
            .args(["build", "-p", "ferric", "--bin", "ferric"])
            .env("CARGO_TARGET_DIR", target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build");
        assert!(status.success() && bin.exists(), "could not build {}", bin.display());
    }
    bin
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("X-OpenStack-Ironic-API-Version", "latest")
    }

    async fn node(&self, uuid: &str) -> Value {
        self.request(reqwest::Method::GET, &format!("/v1/nodes/{uuid}"))
            .send()
            .await
            .expect("get node")
            .json()
            .await
            .expect("node json")
    }

    async fn provision(&self, uuid: &str, target: &str) {
        let response = self
            .request(reqwest::Method::PUT, &format!("/v1/nodes/{uuid}/states/provision"))
            .json(&json!({"target": target}))
            .send()
            .await
            .expect("provision");
        let status = response.status().as_u16();
        assert_eq!(status, 202, "{target} refused: {}", response.text().await.unwrap_or_default());
    }

    /// Waits until the node rests in `state` (no reservation); fails fast on a
    /// failure state, with the node's last_error.
    async fn settle(&self, uuid: &str, state: &str, log: &dyn Fn() -> String) -> Value {
        wait_for(PATIENCE, &format!("node to rest in {state}"), || async {
            let node = self.node(uuid).await;
            let current = node["provision_state"].as_str().unwrap_or_default().to_owned();
            assert!(
                !current.ends_with("failed"),
                "node went to {current}: {}\n--- ferric log ---\n{}",
                node["last_error"],
                log()
            );
            (current == state && node["reservation"].is_null()).then_some(node)
        })
        .await
    }
}

/// The simulated machine: boots the agent whenever the node waits for it, and
/// runs it until the machine is powered off, through the agent or out of band
/// (the API reports `power off`). In `inspect wait` the agent is booted with the
/// inspection callback, as the `agent` inspect interface boots it.
fn machine(api_url: String, disk: SimulatedDisk, api: Arc<Api>, node: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let state = wait_for(PATIENCE, "the node to wait for its agent", || async {
                let state = api.node(&node).await["provision_state"].as_str().map(str::to_owned)?;
                ["clean wait", "wait call-back", "inspect wait"].contains(&state.as_str()).then_some(state)
            })
            .await;
            let (off, powered_off) = tokio::sync::oneshot::channel::<()>();
            let off = std::sync::Mutex::new(Some(off));
            let hardware = SimulatedHardware::new(&[MAC]).with_disk(disk.clone()).on_power(move |action| {
                assert_eq!(action, PowerAction::PowerOff);
                if let Some(off) = off.lock().ok().and_then(|mut o| o.take()) {
                    let _ = off.send(());
                }
            });
            let mut options = AgentOptions::new(api_url.clone(), Arc::new(hardware))
                .listen_on(SocketAddr::from(([127, 0, 0, 1], 0)));
            options.lookup_backoff = (Duration::from_millis(50), Duration::from_millis(500));
            options.heartbeat_interval = Some(Duration::from_secs(2));
            if state == "inspect wait" {
                options.inspection_callback_url = Some(format!("{api_url}/v1/continue_inspection"));
            }
            let powered_off_out_of_band = {
                let api = api.clone();
                let node = node.clone();
                async move {
                    loop {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        if api.node(&node).await["power_state"] == "power off" {
                            return;
                        }
                    }
                }
            };
            ferric_agent::run(options, async move {
                tokio::select! {
                    _ = powered_off => {}
                    () = powered_off_out_of_band => {}
                }
            })
            .await
            .expect("the agent runs until powered off");
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conductor_cleans_and_deploys_through_the_agent() {
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("ferric_agent=debug").try_init();
    let dir = tempfile::tempdir().expect("tempdir");
    let ferric = FerricProcess::all_in_one(
        &ferric_bin(),
        &dir.path().join("ferric"),
        &[
            ("FERRIC_DEPLOY__PERIODIC_INTERVAL_SECS", "1"),
            ("FERRIC_DEPLOY__AGENT_COMMAND_POLL_MS", "100"),
            ("FERRIC_DEPLOY__HOSTNAME", "agent-e2e-conductor"),
        ],
    )
    .await;
    let log_path = ferric.log_path().to_owned();
    let log = move || std::fs::read_to_string(&log_path).unwrap_or_default();
    let api = Arc::new(Api { base: ferric.api.clone(), http: reqwest::Client::new() });
    let body = json!({"driver": "fake-hardware", "deploy_interface": "direct", "inspect_interface": "agent",
                      "name": "agent-e2e",
                      "properties": {"root_device": {"name": "/dev/vda"}}});
    // The gateway learns which conductor serves fake-hardware from the ring just
    // after start-up: retry until it knows.
    let node: Value = wait_for(PATIENCE, "the node to be created", || async {
        let response = api.request(reqwest::Method::POST, "/v1/nodes").json(&body).send().await.ok()?;
        if response.status() == 201 { response.json().await.ok() } else { None }
    })
    .await;
    let uuid = node["uuid"].as_str().expect("uuid").to_owned();
    let port = api
        .request(reqwest::Method::POST, "/v1/ports")
        .json(&json!({"node_uuid": uuid, "address": MAC}))
        .send()
        .await
        .expect("create port");
    assert_eq!(port.status().as_u16(), 201, "{}", port.text().await.unwrap_or_default());

    let disk_path = dir.path().join("vda.img");
    let disk = SimulatedDisk::create("/dev/vda", &disk_path, DISK).expect("disk");
    // What the machine held before: a partition table at both ends and data.
    let mut old = std::fs::read(&disk_path).expect("disk");
    old[..512].copy_from_slice(&[0xee; 512]);
    old[DISK as usize - 512..].copy_from_slice(&[0xee; 512]);
    std::fs::write(&disk_path, &old).expect("old contents");
    let machine = machine(ferric.api.clone(), disk, api.clone(), uuid.clone());

    api.provision(&uuid, "manage").await;
    api.settle(&uuid, "manageable", &log).await;
    api.provision(&uuid, "inspect").await;
    api.settle(&uuid, "manageable", &log).await;
    let inventory: Value = api
        .request(reqwest::Method::GET, &format!("/v1/nodes/{uuid}/inventory"))
        .send()
        .await
        .expect("inventory")
        .json()
        .await
        .expect("inventory json");
    assert_eq!(
        inventory["inventory"]["disks"][0]["name"],
        "/dev/vda",
        "{inventory}\n--- ferric log ---\n{}",
        log()
    );
    assert_eq!(inventory["inventory"]["disks"][0]["size"], DISK);
    assert_eq!(inventory["inventory"]["interfaces"][0]["mac_address"], MAC);
    api.provision(&uuid, "provide").await;
    api.settle(&uuid, "available", &log).await;
    let cleaned = std::fs::read(&disk_path).expect("disk");
    assert!(cleaned.iter().all(|b| *b == 0), "automated cleaning erased the disk through the agent");

    let origin = Origin::start().await;
    let data = image(5 << 20 | 777);
    let url = origin.put("e2e.img", &data);
    let patch = json!([
        {"op": "add", "path": "/instance_info/image_source", "value": url},
        {"op": "add", "path": "/instance_info/image_os_hash_algo", "value": "sha256"},
        {"op": "add", "path": "/instance_info/image_os_hash_value", "value": sha256(&data)},
        {"op": "add", "path": "/instance_info/image_disk_format", "value": "raw"},
    ]);
    let patched = api
        .request(reqwest::Method::PATCH, &format!("/v1/nodes/{uuid}"))
        .json(&patch)
        .send()
        .await
        .expect("patch");
    assert_eq!(patched.status().as_u16(), 200, "{}", patched.text().await.unwrap_or_default());
    api.provision(&uuid, "active").await;
    let active = api.settle(&uuid, "active", &log).await;
    assert!(active["last_error"].is_null(), "{}", active["last_error"]);
    let written = std::fs::read(&disk_path).expect("disk");
    assert_eq!(sha256(&written[..data.len()]), sha256(&data), "the disk holds the image");
    assert!(written[data.len()..].iter().all(|b| *b == 0));
    machine.abort();
}
