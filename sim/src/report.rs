//! What a run measured, printed as the benchmark's summary (and as JSON with
//! `--json`, for tests and scripts).

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::stats::Summary;

/// One phase of the run across the fleet.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    /// `enroll`, `manage`, `clean`, `deploy`.
    pub name: String,
    /// Wall time of the whole phase, seconds.
    pub wall_seconds: f64,
    /// Each node's time from its verb to its target state, ms.
    pub per_node_ms: Option<Summary>,
}

impl Phase {
    /// A phase that took `wall`.
    pub fn new(name: &str, wall: Duration, per_node_ms: Option<Summary>) -> Self {
        Self { name: name.to_owned(), wall_seconds: wall.as_secs_f64(), per_node_ms }
    }
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Machines provisioned.
    pub nodes: usize,
    /// Image size.
    pub image_bytes: u64,
    /// Enroll to the last node active, seconds.
    pub wall_seconds: f64,
    /// Nodes per minute over the whole run.
    pub nodes_per_minute: f64,
    /// Enroll, manage, clean, deploy.
    pub phases: Vec<Phase>,
    /// Time per provision state, per node, ms.
    pub states: Vec<(String, Summary)>,
    /// DHCP datagrams the relay sent.
    pub dhcp_sent: u64,
    /// Of which retransmissions.
    pub dhcp_retransmissions: u64,
    /// Completed DHCP exchanges.
    pub dhcp_leases: u64,
    /// NAKs.
    pub dhcp_naks: u64,
    /// Leases without a boot answer (machine not registered for netboot yet).
    pub dhcp_no_boot_answer: u64,
    /// Power-ons that netbooted.
    pub netboots: u64,
    /// Power-ons that booted the disk.
    pub disk_boots: u64,
    /// Failed netboot attempts and agent failures.
    pub boot_failures: u64,
    /// iPXE scripts fetched.
    pub scripts: u64,
    /// Boot files over TFTP.
    pub tftp_files: u64,
    /// Bytes over TFTP.
    pub tftp_bytes: u64,
    /// Scripts and boot files over HTTP.
    pub http_files: u64,
    /// Bytes over HTTP.
    pub http_bytes: u64,
    /// Agents started.
    pub agents_started: u64,
    /// DHCP exchange time.
    pub dhcp_ms: Option<Summary>,
    /// Script + kernel + ramdisk fetch time.
    pub boot_fetch_ms: Option<Summary>,
    /// One TFTP file (the kernel).
    pub tftp_file_ms: Option<Summary>,
    /// One HTTP file (script or ramdisk).
    pub http_file_ms: Option<Summary>,
    /// Power-on to agent start.
    pub power_on_to_agent_ms: Option<Summary>,
    /// Image downloads from the origin.
    pub origin_downloads: u64,
    /// Bytes the origin sent.
    pub origin_bytes: u64,
    /// Bytes allocated on all disks at the end.
    pub disk_bytes_allocated: u64,
    /// Disks whose content was hashed and matched.
    pub disks_verified: usize,
    /// CPU seconds Ferric used during the run.
    pub ferric_cpu_seconds: f64,
    /// CPU seconds the simulator used (BMCs, DHCP, agents, API client).
    pub sim_cpu_seconds: f64,
    /// Ferric's peak resident memory, MiB.
    pub ferric_peak_rss_mib: f64,
    /// The simulator's peak resident memory, MiB.
    pub sim_peak_rss_mib: f64,
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn dist(summary: &Option<Summary>) -> String {
    match summary {
        Some(s) => {
            format!("p50 {:>8.0} ms  p95 {:>8.0} ms  max {:>8.0} ms  (n={})", s.p50, s.p95, s.max, s.count)
        }
        None => "-".into(),
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "ferric-sim: {} machines, image {:.1} MiB", self.nodes, mib(self.image_bytes))?;
        writeln!(
            f,
            "  total           {:>8.1} s   {:.1} nodes/minute",
            self.wall_seconds, self.nodes_per_minute
        )?;
        for phase in &self.phases {
            writeln!(
                f,
                "  {:<15} {:>8.1} s   per node: {}",
                phase.name,
                phase.wall_seconds,
                dist(&phase.per_node_ms)
            )?;
        }
        writeln!(f, "  time per provision state (per node):")?;
        for (state, summary) in &self.states {
            writeln!(f, "    {:<18} {}", state, dist(&Some(*summary)))?;
        }
        writeln!(
            f,
            "  DHCP: {} sent ({} retransmitted), {} leases, {} NAKs, {} without boot answer; exchange {}",
            self.dhcp_sent,
            self.dhcp_retransmissions,
            self.dhcp_leases,
            self.dhcp_naks,
            self.dhcp_no_boot_answer,
            dist(&self.dhcp_ms)
        )?;
        writeln!(
            f,
            "  boots: {} netboots, {} from disk, {} failures; {} scripts; TFTP {} files {:.1} MiB; HTTP {} files {:.1} MiB",
            self.netboots,
            self.disk_boots,
            self.boot_failures,
            self.scripts,
            self.tftp_files,
            mib(self.tftp_bytes),
            self.http_files,
            mib(self.http_bytes)
        )?;
        writeln!(f, "  boot file fetch {}", dist(&self.boot_fetch_ms))?;
        writeln!(f, "    one TFTP file {}", dist(&self.tftp_file_ms))?;
        writeln!(f, "    one HTTP file {}", dist(&self.http_file_ms))?;
        writeln!(f, "  power-on→agent  {}", dist(&self.power_on_to_agent_ms))?;
        writeln!(
            f,
            "  image: origin served {} downloads ({:.1} MiB); {} agents; disks hold {:.1} MiB; {} disks verified by sha256",
            self.origin_downloads,
            mib(self.origin_bytes),
            self.agents_started,
            mib(self.disk_bytes_allocated),
            self.disks_verified
        )?;
        write!(
            f,
            "  CPU: ferric {:.1} s, simulator {:.1} s; peak RSS: ferric {:.0} MiB, simulator {:.0} MiB",
            self.ferric_cpu_seconds, self.sim_cpu_seconds, self.ferric_peak_rss_mib, self.sim_peak_rss_mib
        )
    }
}
