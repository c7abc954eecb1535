//! A machine's network boot, step by step as PXE firmware and iPXE do it:
//! DHCP through the relay, the per-node iPXE script over HTTP, the kernel and
//! ramdisk it names (TFTP or HTTP, by URL scheme), then the ramdisk's agent.
//! Every step is counted and timed, so the report can say where boot time goes.
//!
//! A machine bootnet gives no boot answer (not registered yet) retries as
//! firmware does, a few seconds apart, until its power goes off.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::dhcp::Relay;
use crate::error::SimError;
use crate::machine::Machine;
use crate::script::{self, BootPlan};
use crate::stats::Samples;
use crate::{agent, tftp};

/// Pause between netboot attempts that got no boot answer.
const RETRY_PAUSE: Duration = Duration::from_secs(2);

/// Counters over every machine's boots.
#[derive(Debug, Default)]
pub struct BootCounters {
    /// Power-ons that netbooted.
    pub netboots: AtomicU64,
    /// Power-ons that booted from the local disk.
    pub disk_boots: AtomicU64,
    /// DHCP answers without a boot file (retried).
    pub no_boot_answer: AtomicU64,
    /// Netboots that failed (DHCP, script or file errors).
    pub failures: AtomicU64,
    /// iPXE scripts fetched.
    pub scripts: AtomicU64,
    /// Scripts that said "boot from disk".
    pub local_scripts: AtomicU64,
    /// Files fetched over TFTP.
    pub tftp_files: AtomicU64,
    /// Bytes fetched over TFTP.
    pub tftp_bytes: AtomicU64,
    /// Files fetched over HTTP.
    pub http_files: AtomicU64,
    /// Bytes fetched over HTTP.
    pub http_bytes: AtomicU64,
    /// Agents started.
    pub agents: AtomicU64,
}

/// Timings of the boot steps, in milliseconds.
#[derive(Debug, Default)]
pub struct BootTimings {
    /// DHCP DISCOVER to ACK.
    pub dhcp: Samples,
    /// Script, kernel and ramdisk fetches together.
    pub fetch: Samples,
    /// Each file over TFTP.
    pub tftp_file: Samples,
    /// Each file (script or ramdisk) over HTTP.
    pub http_file: Samples,
    /// Power-on to the agent starting.
    pub to_agent: Samples,
}

/// What every machine's boot shares: the relay, an HTTP client, counters.
pub struct NetBoot {
    /// The DHCP relay.
    pub relay: Relay,
    /// For scripts and boot files.
    pub http: reqwest::Client,
    /// Counts.
    pub counters: BootCounters,
    /// Timings.
    pub timings: BootTimings,
    /// What the agents need.
    pub agent: agent::AgentSettings,
}

impl std::fmt::Debug for NetBoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetBoot").field("counters", &self.counters).finish_non_exhaustive()
    }
}

/// What a successful netboot loaded.
struct Loaded {
    ip: Ipv4Addr,
    plan: BootPlan,
}

/// Netboots `machine` until it runs its agent (which returns when `stopped`
/// flips) or boots from disk.
pub async fn netboot(netboot: Arc<NetBoot>, machine: Arc<Machine>, mut stopped: watch::Receiver<bool>) {
    netboot.counters.netboots.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    let loaded = tokio::select! {
        loaded = load(&netboot, &machine) => loaded,
        _ = stopped.wait_for(|stop| *stop) => return,
    };
    let Some(loaded) = loaded else { return };
    match loaded.plan {
        BootPlan::Local => {
            netboot.counters.local_scripts.fetch_add(1, Ordering::Relaxed);
            netboot.counters.disk_boots.fetch_add(1, Ordering::Relaxed);
        }
        plan @ BootPlan::Ramdisk { .. } => {
            netboot.timings.to_agent.record(started.elapsed());
            netboot.counters.agents.fetch_add(1, Ordering::Relaxed);
            if let Err(error) = agent::run(&netboot, &machine, loaded.ip, &plan, stopped).await {
                netboot.counters.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(machine = %machine.system_id, %error, "agent failed");
            }
        }
    }
}

/// DHCP, script and boot files, retried while bootnet gives no boot answer.
async fn load(netboot: &NetBoot, machine: &Machine) -> Option<Loaded> {
    loop {
        match try_load(netboot, machine).await {
            Ok(Some(loaded)) => return Some(loaded),
            Ok(None) => {
                netboot.counters.no_boot_answer.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => {
                netboot.counters.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(machine = %machine.system_id, %error, "netboot failed; retrying");
            }
        }
        tokio::time::sleep(RETRY_PAUSE).await;
    }
}

async fn try_load(netboot: &NetBoot, machine: &Machine) -> Result<Option<Loaded>, SimError> {
    let started = Instant::now();
    let lease = netboot.relay.lease(machine.mac).await?;
    netboot.timings.dhcp.record(started.elapsed());
    if lease.boot_file.is_empty() {
        return Ok(None);
    }
    let fetching = Instant::now();
    let script = fetch(netboot, lease.ip, lease.next_server, &lease.boot_file).await?;
    netboot.counters.scripts.fetch_add(1, Ordering::Relaxed);
    let script = String::from_utf8(script).map_err(|_| SimError::Boot("the script is not UTF-8".into()))?;
    let plan = script::parse(&script)?;
    if let BootPlan::Ramdisk { kernel, initrd, .. } = &plan {
        fetch(netboot, lease.ip, lease.next_server, kernel).await?;
        fetch(netboot, lease.ip, lease.next_server, initrd).await?;
    }
    netboot.timings.fetch.record(fetching.elapsed());
    Ok(Some(Loaded { ip: lease.ip, plan }))
}

/// Fetches `url` (`http://`, `tftp://` or a bare TFTP path from `next_server`),
/// counting files and bytes by protocol.
async fn fetch(
    netboot: &NetBoot,
    ip: Ipv4Addr,
    next_server: Ipv4Addr,
    url: &str,
) -> Result<Vec<u8>, SimError> {
    let counters = &netboot.counters;
    let started = Instant::now();
    if url.starts_with("http://") || url.starts_with("https://") {
        let response =
            netboot.http.get(url).send().await.map_err(|e| SimError::Boot(format!("GET {url}: {e}")))?;
        if !response.status().is_success() {
            return Err(SimError::Boot(format!("GET {url}: HTTP {}", response.status())));
        }
        let body = response.bytes().await.map_err(|e| SimError::Boot(format!("GET {url}: {e}")))?;
        counters.http_files.fetch_add(1, Ordering::Relaxed);
        counters.http_bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        netboot.timings.http_file.record(started.elapsed());
        return Ok(body.to_vec());
    }
    let (server, path) = match url.strip_prefix("tftp://") {
        Some(rest) => {
            let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
            let server: SocketAddr = match host.parse::<SocketAddr>() {
                Ok(addr) => addr,
                Err(_) => SocketAddr::new(
                    host.parse().map_err(|_| SimError::Boot(format!("bad TFTP host in {url}")))?,
                    69,
                ),
            };
            (server, path.to_owned())
        }
        None => (SocketAddr::new(next_server.into(), 69), url.to_owned()),
    };
    let content = tftp::fetch(ip, server, &path).await?;
    counters.tftp_files.fetch_add(1, Ordering::Relaxed);
    counters.tftp_bytes.fetch_add(content.len() as u64, Ordering::Relaxed);
    netboot.timings.tftp_file.record(started.elapsed());
    Ok(content)
}
