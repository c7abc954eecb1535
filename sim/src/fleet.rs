//! One benchmark run: Ferric, the BMCs, the image origin and N machines
//! started; every node enrolled, managed, cleaned and deployed through the REST
//! API; the disks checked; and the numbers gathered into a [`Report`].
//!
//! Expects to run inside the fleet's network namespace (see
//! [`crate::network`]): `main` enters it before the runtime starts.

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::agent::AgentSettings;
use crate::api::{self, Api, Tracks};
use crate::bmc::{self, Credentials};
use crate::boot::{BootTimings, NetBoot};
use crate::dhcp::Relay;
use crate::error::SimError;
use crate::ferric::{self, Ferric, FerricSettings};
use crate::machine::Machine;
use crate::network::{self, AGENT_PORT, BOOT_HTTP_PORT, ORIGIN_PORT, REDFISH_PORT, RELAY, SERVER, SIM};
use crate::origin::{self, Image};
use crate::report::{Phase, Report};
use crate::stats::summarize;

/// What to run.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// The `ferric` binary.
    pub ferric: PathBuf,
    /// Machines in the fleet.
    pub nodes: usize,
    /// Size of the instance image, MiB.
    pub image_mib: usize,
    /// Size of each machine's (sparse) disk, GiB.
    pub disk_gib: u64,
    /// REST calls in flight at once.
    pub concurrency: usize,
    /// Where Ferric's state and the disks go.
    pub work_dir: PathBuf,
    /// Disks whose content is hashed at the end (0: all).
    pub verify: usize,
    /// `deploy.agent_command_poll_ms`.
    pub agent_command_poll_ms: u64,
    /// Ferric's log filter.
    pub log_filter: String,
    /// How long each phase may take.
    pub phase_timeout: Duration,
    /// Give machines the deploy kernel over HTTP instead of TFTP.
    pub kernel_over_http: bool,
}

/// The root device every machine's disk is reported as.
pub const ROOT_DEVICE: &str = "/dev/sda";

/// Runs the whole fleet once; `netns` is the namespace the process is in.
pub async fn run(options: &FleetOptions, netns: &ferric_testkit::netns::Netns) -> Result<Report, SimError> {
    let state_dir = options.work_dir.join("ferric");
    let disks_dir = options.work_dir.join("disks");
    std::fs::create_dir_all(&disks_dir).map_err(|e| SimError::io(&disks_dir, e))?;
    let settings = FerricSettings {
        binary: options.ferric.clone(),
        log_filter: options.log_filter.clone(),
        agent_command_poll_ms: options.agent_command_poll_ms,
        max_concurrent: options.nodes,
    };
    let ferric = Ferric::start(&settings, netns, &state_dir).await?;
    let result = drive(options, &ferric, &disks_dir).await;
    if let Err(error) = &result {
        tracing::error!(%error, log = %ferric.log_path().display(), "fleet run failed");
    }
    result
}

async fn drive(
    options: &FleetOptions,
    ferric: &Ferric,
    disks_dir: &std::path::Path,
) -> Result<Report, SimError> {
    let netboot = Arc::new(NetBoot {
        relay: Relay::bind(network::at(RELAY, 67), RELAY, network::at(SERVER, 67)).await?,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| SimError::Boot(format!("HTTP client: {e}")))?,
        counters: Default::default(),
        timings: BootTimings::default(),
        agent: AgentSettings { port: AGENT_PORT },
    });
    let disk_bytes = options.disk_gib.max(1) << 30;
    let machines: Vec<Arc<Machine>> = (0..options.nodes)
        .map(|i| {
            Arc::new(Machine::new(i, disks_dir.join(format!("disk-{i:05}.img")), disk_bytes, netboot.clone()))
        })
        .collect();
    let credentials = Credentials { username: "admin".into(), password: "sim-password".into() };
    let (bmc_task, _) = bmc::serve(network::at(SIM, REDFISH_PORT), &machines, &credentials).await?;
    let image = Image::generate(options.image_mib);
    let (origin_task, origin_counters) = origin::serve(network::at(SIM, ORIGIN_PORT), image.clone()).await?;
    let api = Api::new(&ferric.api);
    let tracks: Tracks = Arc::default();
    let watcher = tokio::spawn(api.clone().watch(tracks.clone()));
    let ferric_cpu_before = cpu_seconds(ferric.pid());
    let own_cpu_before = cpu_seconds(std::process::id());

    let result = provision(options, &api, &tracks, &machines, &credentials, &image).await;

    watcher.abort();
    for machine in &machines {
        machine.halt();
    }
    bmc_task.abort();
    origin_task.abort();
    let (uuids, phases, wall) = result?;

    let verified = verify(&machines, &image, options.verify)?;
    let allocated: u64 =
        machines.iter().filter_map(|m| std::fs::metadata(&m.disk).ok()).map(|meta| meta.blocks() * 512).sum();
    let counters = &netboot.counters;
    let relay = &netboot.relay.counters;
    Ok(Report {
        nodes: uuids.len(),
        image_bytes: image.content.len() as u64,
        wall_seconds: wall.as_secs_f64(),
        nodes_per_minute: uuids.len() as f64 / wall.as_secs_f64() * 60.0,
        phases,
        states: state_summaries(&tracks, &uuids),
        dhcp_sent: relay.sent.load(Ordering::Relaxed),
        dhcp_retransmissions: relay.retransmissions.load(Ordering::Relaxed),
        dhcp_leases: relay.leases.load(Ordering::Relaxed),
        dhcp_naks: relay.naks.load(Ordering::Relaxed),
        dhcp_no_boot_answer: counters.no_boot_answer.load(Ordering::Relaxed),
        netboots: counters.netboots.load(Ordering::Relaxed),
        disk_boots: counters.disk_boots.load(Ordering::Relaxed),
        boot_failures: counters.failures.load(Ordering::Relaxed),
        scripts: counters.scripts.load(Ordering::Relaxed),
        tftp_files: counters.tftp_files.load(Ordering::Relaxed),
        tftp_bytes: counters.tftp_bytes.load(Ordering::Relaxed),
        http_files: counters.http_files.load(Ordering::Relaxed),
        http_bytes: counters.http_bytes.load(Ordering::Relaxed),
        agents_started: counters.agents.load(Ordering::Relaxed),
        dhcp_ms: netboot.timings.dhcp.summary(),
        boot_fetch_ms: netboot.timings.fetch.summary(),
        tftp_file_ms: netboot.timings.tftp_file.summary(),
        http_file_ms: netboot.timings.http_file.summary(),
        power_on_to_agent_ms: netboot.timings.to_agent.summary(),
        origin_downloads: origin_counters.downloads.load(Ordering::Relaxed),
        origin_bytes: origin_counters.bytes.load(Ordering::Relaxed),
        disk_bytes_allocated: allocated,
        disks_verified: verified,
        ferric_cpu_seconds: cpu_seconds(ferric.pid()) - ferric_cpu_before,
        sim_cpu_seconds: cpu_seconds(std::process::id()) - own_cpu_before,
        ferric_peak_rss_mib: peak_rss_mib(ferric.pid()),
        sim_peak_rss_mib: peak_rss_mib(std::process::id()),
    })
}

type Provisioned = (Vec<String>, Vec<Phase>, Duration);

async fn provision(
    options: &FleetOptions,
    api: &Api,
    tracks: &Tracks,
    machines: &[Arc<Machine>],
    credentials: &Credentials,
    image: &Image,
) -> Result<Provisioned, SimError> {
    let concurrency = options.concurrency.max(1);
    let started = Instant::now();
    let mut phases = Vec::new();

    let uuids: Vec<String> = futures::stream::iter(machines.iter().map(|machine| {
        let body = node_body(machine, credentials, options.kernel_over_http);
        let mac = machine.mac();
        async move {
            let uuid = api.create_node(&body).await?;
            api.create_port(&uuid, &mac).await?;
            Ok::<_, SimError>(uuid)
        }
    }))
    .buffered(concurrency)
    .try_collect()
    .await?;
    phases.push(Phase::new("enroll", started.elapsed(), None));

    let timeout = options.phase_timeout;
    phases
        .push(verb_phase(api, tracks, &uuids, "manage", "manageable", concurrency, timeout, "manage").await?);
    phases
        .push(verb_phase(api, tracks, &uuids, "provide", "available", concurrency, timeout, "clean").await?);

    let patch = json!([
        {"op": "add", "path": "/instance_info/image_source", "value": format!("http://{SIM}:{ORIGIN_PORT}{}", origin::IMAGE_PATH)},
        {"op": "add", "path": "/instance_info/image_os_hash_algo", "value": "sha256"},
        {"op": "add", "path": "/instance_info/image_os_hash_value", "value": image.sha256},
        {"op": "add", "path": "/instance_info/image_checksum", "value": image.sha256},
        {"op": "add", "path": "/instance_info/image_disk_format", "value": "raw"},
        {"op": "add", "path": "/instance_info/root_gb", "value": 1},
    ]);
    futures::stream::iter(uuids.iter().map(|uuid| api.patch_node(uuid, &patch)))
        .buffer_unordered(concurrency)
        .try_collect::<Vec<()>>()
        .await?;
    phases.push(verb_phase(api, tracks, &uuids, "active", "active", concurrency, timeout, "deploy").await?);
    Ok((uuids, phases, started.elapsed()))
}

/// Sends `verb` to every node, waits for all to be `target`, and times it:
/// the phase's wall time and each node's time from its verb to its arrival.
#[allow(clippy::too_many_arguments)]
async fn verb_phase(
    api: &Api,
    tracks: &Tracks,
    uuids: &[String],
    verb: &str,
    target: &str,
    concurrency: usize,
    timeout: Duration,
    name: &str,
) -> Result<Phase, SimError> {
    let started = Instant::now();
    let sent: HashMap<String, Instant> = futures::stream::iter(uuids.iter().map(|uuid| async move {
        api.provision(uuid, verb).await?;
        Ok::<_, SimError>((uuid.clone(), Instant::now()))
    }))
    .buffer_unordered(concurrency)
    .try_collect()
    .await?;
    api::wait_all(tracks, uuids, target, timeout).await?;
    let wall = started.elapsed();
    let arrived = api::reached(tracks, uuids, target, started);
    let per_node: Vec<f64> = arrived
        .iter()
        .filter_map(|(uuid, at)| Some(at.saturating_duration_since(*sent.get(uuid)?).as_secs_f64() * 1000.0))
        .collect();
    Ok(Phase::new(name, wall, summarize(&per_node)))
}

fn node_body(machine: &Machine, credentials: &Credentials, kernel_over_http: bool) -> Value {
    let kernel_url = if kernel_over_http {
        format!("http://{SERVER}:{BOOT_HTTP_PORT}/files/{}", ferric::DEPLOY_KERNEL)
    } else {
        format!("tftp://{SERVER}/{}", ferric::DEPLOY_KERNEL)
    };
    json!({
        "name": machine.system_id,
        "driver": "redfish",
        "boot_interface": "ipxe",
        "deploy_interface": "direct",
        "driver_info": {
            "redfish_address": format!("http://{SIM}:{REDFISH_PORT}"),
            "redfish_system_id": format!("/redfish/v1/Systems/{}", machine.system_id),
            "redfish_username": credentials.username,
            "redfish_password": credentials.password,
            "redfish_verify_ca": false,
            "deploy_kernel": kernel_url,
            "deploy_ramdisk": format!("http://{SERVER}:{BOOT_HTTP_PORT}/files/{}", ferric::DEPLOY_RAMDISK),
        },
        "properties": {
            "cpus": 2,
            "memory_mb": 2048,
            "cpu_arch": "x86_64",
            "local_gb": machine.disk_bytes >> 30,
            "root_device": {"name": ROOT_DEVICE},
        },
    })
}

/// Per-state time of every node: from when it was first seen in a state to when
/// it was first seen in the next one.
fn state_summaries(tracks: &Tracks, uuids: &[String]) -> Vec<(String, crate::stats::Summary)> {
    let tracks = tracks.lock().unwrap_or_else(|p| p.into_inner());
    let mut by_state: Vec<(String, Vec<f64>)> = Vec::new();
    for uuid in uuids {
        let Some(track) = tracks.get(uuid) else { continue };
        for pair in track.states.windows(2) {
            let ms = pair[1].1.saturating_duration_since(pair[0].1).as_secs_f64() * 1000.0;
            match by_state.iter_mut().find(|(s, _)| *s == pair[0].0) {
                Some((_, values)) => values.push(ms),
                None => by_state.push((pair[0].0.clone(), vec![ms])),
            }
        }
    }
    by_state.into_iter().filter_map(|(state, values)| Some((state, summarize(&values)?))).collect()
}

/// Hashes the image-sized head of `sample` disks (0: all) and checks it is the
/// image; returns how many were checked.
fn verify(machines: &[Arc<Machine>], image: &Image, sample: usize) -> Result<usize, SimError> {
    let step = if sample == 0 || sample >= machines.len() { 1 } else { machines.len() / sample };
    let mut checked = 0;
    for machine in machines.iter().step_by(step.max(1)) {
        let digest = head_sha256(&machine.disk, image.content.len())?;
        if digest != image.sha256 {
            return Err(SimError::Fleet(format!(
                "disk of {} ({}) does not hold the image: sha256 {digest}",
                machine.system_id,
                machine.disk.display()
            )));
        }
        checked += 1;
    }
    Ok(checked)
}

/// SHA-256 of the first `len` bytes of `path`.
pub fn head_sha256(path: &std::path::Path, len: usize) -> Result<String, SimError> {
    let file = std::fs::File::open(path).map_err(|e| SimError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut reader = file.take(len as u64);
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buffer).map_err(|e| SimError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(origin::hex(&hasher.finalize()))
}

/// User plus system CPU seconds of process `pid` (0 when unreadable).
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    // Fields after the command (which may hold spaces) start after the last ')'.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat(5); here 0-based after ')' they are 11 and 12.
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak resident memory of process `pid` in MiB (`VmHWM`; 0 when unreadable).
fn peak_rss_mib(pid: u32) -> f64 {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { return 0.0 };
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}
