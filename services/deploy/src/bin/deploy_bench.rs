//! `just bench deploy`: moves N `fake-hardware` nodes from `manageable` to
//! `active` (provide, then deploy) through the REST API of a real
//! `ferric all-in-one` process on the embedded store, and prints the time and
//! nodes per second. Ironic on this machine: 13 s for 100 nodes.
//!
//! Usage: `deploy-bench --ferric PATH [--nodes N] [--concurrency C]`.
//! Setup (create and manage the nodes) is not timed; the timer covers sending
//! every `provide`, waiting until all are `available` and unlocked, sending every
//! deploy and waiting until all are `active` and unlocked.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

struct Options {
    ferric: PathBuf,
    nodes: usize,
    concurrency: usize,
}

fn parse() -> Result<Options, String> {
    let mut options = Options { ferric: PathBuf::new(), nodes: 1000, concurrency: 64 };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--ferric" => options.ferric = PathBuf::from(value()?),
            "--nodes" => options.nodes = value()?.parse().map_err(|e| format!("--nodes: {e}"))?,
            "--concurrency" => {
                options.concurrency = value()?.parse().map_err(|e| format!("--concurrency: {e}"))?
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if options.ferric.as_os_str().is_empty() {
        return Err("--ferric PATH (the ferric binary) is required".into());
    }
    Ok(options)
}

/// The ferric process, killed on drop.
struct Ferric(Child);

impl Drop for Ferric {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::main]
async fn main() {
    let options = match parse() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("deploy-bench: {message}");
            std::process::exit(2);
        }
    };
    if let Err(message) = bench(options).await {
        eprintln!("deploy-bench: {message}");
        std::process::exit(1);
    }
}

async fn bench(options: Options) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("ferric-deploy-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let log = std::fs::File::create(dir.join("ferric.log")).map_err(|e| e.to_string())?;
    let child = Command::new(&options.ferric)
        .arg("all-in-one")
        .env("FERRIC_STATE_DIR", &dir)
        .env("FERRIC_GATEWAY__LISTEN", format!("127.0.0.1:{port}"))
        .env("FERRIC_TELEMETRY__LOG_FILTER", "warn")
        .env_remove("FERRIC_CONFIG")
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", options.ferric.display()))?;
    let _ferric = Ferric(child);
    let api = Arc::new(Api { base: format!("http://127.0.0.1:{port}"), http: reqwest::Client::new() });
    api.wait_ready().await?;

    let uuids: Vec<String> = run_all(
        options.concurrency,
        (0..options.nodes).map(|i| {
            let api = api.clone();
            async move { api.create(i).await }
        }),
    )
    .await?;
    send_all(&api, &uuids, "manage", options.concurrency).await?;
    api.wait_all(&uuids, "manageable").await?;
    println!("deploy-bench: {} fake-hardware nodes manageable; timing provide + deploy", uuids.len());

    let started = Instant::now();
    send_all(&api, &uuids, "provide", options.concurrency).await?;
    api.wait_all(&uuids, "available").await?;
    let provided = started.elapsed();
    send_all(&api, &uuids, "active", options.concurrency).await?;
    api.wait_all(&uuids, "active").await?;
    let total = started.elapsed();
    let rate = uuids.len() as f64 / total.as_secs_f64();
    println!("| nodes | provide (s) | deploy (s) | total (s) | nodes/s |");
    println!("|------:|------------:|-----------:|----------:|--------:|");
    println!(
        "| {} | {:.2} | {:.2} | {:.2} | {:.1} |",
        uuids.len(),
        provided.as_secs_f64(),
        (total - provided).as_secs_f64(),
        total.as_secs_f64(),
        rate
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn run_all<T, F>(concurrency: usize, futures: impl Iterator<Item = F>) -> Result<Vec<T>, String>
where
    F: std::future::Future<Output = Result<T, String>>,
{
    futures::stream::iter(futures)
        .buffered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

async fn send_all(api: &Arc<Api>, uuids: &[String], target: &str, concurrency: usize) -> Result<(), String> {
    run_all(
        concurrency,
        uuids.iter().map(|uuid| {
            let api = api.clone();
            let uuid = uuid.clone();
            let target = target.to_owned();
            async move { api.provision(&uuid, &target).await }
        }),
    )
    .await
    .map(|_| ())
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

    async fn wait_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let body = json!({"driver": "fake-hardware", "name": "bench-probe"});
            if let Ok(response) = self.request(reqwest::Method::POST, "/v1/nodes").json(&body).send().await
                && response.status() == 201
            {
                let _ = self.request(reqwest::Method::DELETE, "/v1/nodes/bench-probe").send().await;
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("ferric did not accept fake-hardware nodes within 60 s".into())
    }

    async fn create(&self, index: usize) -> Result<String, String> {
        let body = json!({"driver": "fake-hardware", "name": format!("bench-{index}")});
        let response = self
            .request(reqwest::Method::POST, "/v1/nodes")
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status() != 201 {
            return Err(format!("create node: HTTP {}", response.status()));
        }
        let node: Value = response.json().await.map_err(|e| e.to_string())?;
        node["uuid"].as_str().map(str::to_owned).ok_or_else(|| "create node: no uuid".to_owned())
    }

    /// Sends a provision verb, retrying a 409 (the node's lock is released a
    /// moment after its state settles) as Ironic's clients do.
    async fn provision(&self, uuid: &str, target: &str) -> Result<(), String> {
        for _ in 0..200 {
            let response = self
                .request(reqwest::Method::PUT, &format!("/v1/nodes/{uuid}/states/provision"))
                .json(&json!({"target": target}))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            match response.status().as_u16() {
                202 => return Ok(()),
                409 | 503 => tokio::time::sleep(Duration::from_millis(20)).await,
                status => {
                    let text = response.text().await.unwrap_or_default();
                    return Err(format!("{target} {uuid}: HTTP {status}: {text}"));
                }
            }
        }
        Err(format!("{target} {uuid}: still locked after 200 attempts"))
    }

    /// Waits until every node is in `state` with no reservation, reading the
    /// node list (1000 per page).
    async fn wait_all(&self, uuids: &[String], state: &str) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(600);
        let wanted: std::collections::HashSet<&str> = uuids.iter().map(String::as_str).collect();
        loop {
            let mut done = 0;
            let mut marker: Option<String> = None;
            loop {
                let mut path =
                    "/v1/nodes?fields=uuid,provision_state,reservation,last_error&limit=1000".to_owned();
                if let Some(marker) = &marker {
                    path.push_str(&format!("&marker={marker}"));
                }
                let page: Value = self
                    .request(reqwest::Method::GET, &path)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?
                    .json()
                    .await
                    .map_err(|e| e.to_string())?;
                let nodes = page["nodes"].as_array().cloned().unwrap_or_default();
                for node in &nodes {
                    let uuid = node["uuid"].as_str().unwrap_or_default();
                    if !wanted.contains(uuid) {
                        continue;
                    }
                    if node["provision_state"] == state && node["reservation"].is_null() {
                        done += 1;
                    } else if node["provision_state"].as_str().is_some_and(|s| s.ends_with("failed")) {
                        return Err(format!("node {uuid} failed: {}", node["last_error"]));
                    }
                }
                marker = nodes.last().and_then(|n| n["uuid"].as_str()).map(str::to_owned);
                if nodes.len() < 1000 {
                    break;
                }
            }
            if done == uuids.len() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("only {done}/{} nodes reached {state}", uuids.len()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
