//! A whole machine for end-to-end tests: a qemu VM (TCG, iPXE NIC ROM, virtio
//! disk) behind a real IPMI BMC (`ipmi_sim` whose chassis control starts and
//! stops the VM, `bmc/qemu-chassis.sh`), on a provisioning network where Ferric
//! (all-in-one) is the DHCP, TFTP/HTTP, image and API server — all inside a
//! network namespace of the test's own, so nothing leaks onto the host's
//! networks and parallel tests do not collide.
//!
//! The test thread enters the namespace before anything starts, so Ferric,
//! `ipmi_sim` (and the qemu it forks), the `baremetal` CLI and `ipmitool` all
//! run there, and the tokio runtime's threads too. Dropping the lab kills all
//! of it (the namespace's drop kills whatever is still running in it).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ferric_testkit::Netns;
use ferric_testkit::ipmi::{IPMI_PASSWORD, IPMI_USER, IpmiSim};
use ferric_testkit::netns::Entered;
use serde_json::Value;
use tokio::runtime::Runtime;

use crate::clients::{Baremetal, CliOutput};
use crate::process::FerricProcess;

/// The provisioning network's server address (Ferric's, on bridge `br0`).
pub const SERVER_IP: &str = "10.250.0.1";
/// Where the REST API listens (Ironic's port), reachable by the ramdisk agent.
pub const API_URL: &str = "http://10.250.0.1:6385";
/// bootnet's HTTP server: per-node iPXE scripts and `/files/` of `tftp_root`.
pub const FILES_URL: &str = "http://10.250.0.1:8080/files";
/// The VM's NIC.
pub const MACHINE_MAC: &str = "52:54:00:fe:00:01";
/// The VM's disk: big enough for the test image, small enough to be sparse
/// and quick; the node's root device hint names it, as the agent's default
/// (smallest disk of at least 4 GiB) would find none.
const DISK_BYTES: u64 = 64 * 1024 * 1024;
/// Ironic API version the lab's own reads use.
const API_VERSION: &str = "1.115";

/// What a lab is set up with.
#[derive(Debug, Clone)]
pub struct LabOptions {
    /// `deploy.deploy_callback_timeout_secs` (and the clean one): short in
    /// tests that wait for an agent that never calls back.
    pub callback_timeout_secs: u64,
    /// Whether to start the VM and its BMC (a test of an unreachable BMC
    /// needs neither).
    pub machine: bool,
}

impl Default for LabOptions {
    fn default() -> Self {
        Self { callback_timeout_secs: 120, machine: true }
    }
}

/// The VM behind the BMC: its files, as the chassis program sees them.
#[derive(Debug)]
pub struct Machine {
    dir: PathBuf,
}

impl Machine {
    fn create(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        let disk = dir.join("disk.img");
        std::fs::File::create(&disk)?.set_len(DISK_BYTES)?;
        let env = format!(
            "NAME=ferric-e2e\nMAC={MACHINE_MAC}\nTAP=tap0\nDISK={}\nSERIAL={}\nACCEL=tcg\nMEMORY_MB=256\n",
            disk.display(),
            dir.join("serial.log").display()
        );
        std::fs::write(dir.join("machine.env"), env)?;
        std::fs::write(dir.join("bootdev"), "pxe\n")?;
        Ok(Self { dir })
    }

    /// Everything the VM printed on its serial console, across all its boots.
    pub fn serial(&self) -> String {
        std::fs::read_to_string(self.dir.join("serial.log")).unwrap_or_default()
    }

    /// The VM's disk file on the host.
    pub fn disk(&self) -> PathBuf {
        self.dir.join("disk.img")
    }

    /// The first `len` bytes of the disk.
    pub fn disk_prefix(&self, len: usize) -> Vec<u8> {
        let mut bytes = std::fs::read(self.disk()).unwrap_or_default();
        bytes.truncate(len);
        bytes
    }

    /// What the BMC was asked to do (`power on bootdev=pxe`, `boot default`, ...).
    pub fn events(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("events"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Whether the VM process runs (what the BMC reports as power).
    pub fn running(&self) -> bool {
        self.pid().is_some_and(alive)
    }

    fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.join("qemu.pid")).ok()?.trim().parse().ok()
    }

    /// Kills the VM behind the BMC's back (cleanup).
    fn kill(&self) {
        if let Some(pid) = self.pid().filter(|pid| alive(*pid)) {
            let _ = std::process::Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

/// A live process that is not a zombie (a daemonized qemu that exited stays a
/// zombie until its new parent reaps it).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .is_ok_and(|status| !status.lines().any(|l| l.starts_with("State:") && l.contains('Z')))
}

/// The directory `scripts/build-ramdisk.sh` (`just ramdisk`) writes to.
pub fn ramdisk_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/ferric-target")
    });
    target.join("ramdisk")
}

/// The network namespace, Ferric, and (optionally) the machine and its BMC.
pub struct MachineLab {
    /// The real `baremetal` CLI, pointed at the lab's API.
    pub cli: Baremetal,
    /// The runtime whose threads live in the namespace.
    pub runtime: Runtime,
    ferric: Option<FerricProcess>,
    bmc: Option<IpmiSim>,
    machine: Option<Machine>,
    tftp_root: PathBuf,
    dir: tempfile::TempDir,
    started: Instant,
    _entered: Entered,
    _netns: Netns,
}

impl MachineLab {
    /// Sets up the namespace (bridge `br0` with 10.250.0.1/24 and a ULA for
    /// router advertisements, tap `tap0`), copies the deploy ramdisk into
    /// bootnet's root, starts Ferric there and, with `options.machine`, the
    /// BMC of a powered-off VM. `ferric` is the binary under test.
    pub fn start(tag: &str, ferric: &Path, options: LabOptions) -> Self {
        let ramdisk = ramdisk_dir();
        for file in ["ferric-agent.kernel", "ferric-agent.initramfs"] {
            assert!(
                ramdisk.join(file).exists(),
                "{} is missing: run `just ramdisk` (scripts/build-ramdisk.sh)",
                ramdisk.join(file).display()
            );
        }
        let netns = Netns::new(tag).expect("network namespace");
        netns.bridge("br0", &format!("{SERVER_IP}/24")).expect("bridge br0");
        // iPXE waits ~13 s for an IPv6 router unless someone answers its
        // solicitations; bootnet does (router lifetime 0) on an interface with
        // an IPv6 address.
        netns.ip(&["addr", "add", "fd00:250::1/64", "dev", "br0", "nodad"]).expect("ULA on br0");
        netns.tap("tap0", "br0").expect("tap0");
        let entered = netns.enter().expect("enter the namespace");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");

        let dir = tempfile::Builder::new().prefix("ferric-e2e-").tempdir().expect("temp dir");
        let tftp_root = dir.path().join("tftp");
        std::fs::create_dir_all(&tftp_root).expect("tftp root");
        for file in ["ferric-agent.kernel", "ferric-agent.initramfs"] {
            std::fs::copy(ramdisk.join(file), tftp_root.join(file)).expect("copy the ramdisk");
        }

        let (machine, bmc) = if options.machine {
            let machine = Machine::create(dir.path().join("machine")).expect("machine files");
            let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("bmc/qemu-chassis.sh");
            let bmc = runtime
                .block_on(IpmiSim::start_with_chassis_program(&program, &machine.dir))
                .expect("ipmi_sim starts");
            (Some(machine), Some(bmc))
        } else {
            (None, None)
        };

        let config = dir.path().join("ferric.toml");
        std::fs::write(&config, ferric_config(&tftp_root, &options)).expect("config");
        let state = dir.path().join("state");
        let config_path = config.display().to_string();
        let mut process =
            FerricProcess::spawn_role(ferric, "all-in-one", &state, &[("FERRIC_CONFIG", &config_path)]);
        process.api = API_URL.to_owned();
        runtime.block_on(process.wait_ready());

        Self {
            cli: Baremetal::new(API_URL),
            runtime,
            ferric: Some(process),
            bmc,
            machine,
            tftp_root,
            dir,
            started: Instant::now(),
            _entered: entered,
            _netns: netns,
        }
    }

    /// The machine; panics in a lab started without one.
    pub fn machine(&self) -> &Machine {
        self.machine.as_ref().expect("a lab with a machine")
    }

    /// The BMC; panics in a lab started without a machine.
    pub fn bmc(&self) -> &IpmiSim {
        self.bmc.as_ref().expect("a lab with a machine")
    }

    /// Puts `bytes` into bootnet's root as `name` and returns its URL.
    pub fn publish(&self, name: &str, bytes: &[u8]) -> String {
        std::fs::write(self.tftp_root.join(name), bytes).expect("publish a file");
        format!("{FILES_URL}/{name}")
    }

    /// `driver_info` arguments for `baremetal node create`: the BMC on
    /// `ipmi_port` and the lab's deploy ramdisk.
    pub fn driver_info_args(ipmi_port: u16) -> Vec<String> {
        [
            "ipmi_address=127.0.0.1".to_owned(),
            format!("ipmi_port={ipmi_port}"),
            format!("ipmi_username={IPMI_USER}"),
            format!("ipmi_password={IPMI_PASSWORD}"),
            format!("deploy_kernel={FILES_URL}/ferric-agent.kernel"),
            format!("deploy_ramdisk={FILES_URL}/ferric-agent.initramfs"),
        ]
        .into_iter()
        .flat_map(|kv| ["--driver-info".to_owned(), kv])
        .collect()
    }

    /// Runs `baremetal ARGS` (in the namespace).
    pub fn run(&self, args: &[&str]) -> CliOutput {
        self.cli.run(args)
    }

    /// The node as the API shows it (read directly, faster than the CLI for polling).
    pub fn node(&self, node: &str) -> Value {
        let url = format!("{API_URL}/v1/nodes/{node}");
        self.runtime.block_on(async {
            let response = reqwest::Client::new()
                .get(&url)
                .header("X-OpenStack-Ironic-API-Version", API_VERSION)
                .send()
                .await
                .unwrap_or_else(|e| panic!("GET {url}: {e}"));
            response.json::<Value>().await.unwrap_or_else(|e| panic!("GET {url}: {e}"))
        })
    }

    /// Waits until `node` reaches provision state `want` with no transition
    /// pending; panics at once (with `last_error`, the console and Ferric's
    /// log) if it lands in a state in `fail_on` instead, or after `timeout`.
    pub fn wait_provision_state(&self, node: &str, want: &str, fail_on: &[&str], timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_millis(50);
        loop {
            let shown = self.node(node);
            let state = shown["provision_state"].as_str().unwrap_or_default();
            // Settled: no lock held, and no transition pending — except that a
            // failed state keeps the target it failed to reach, as in Ironic.
            let settled = shown["reservation"].is_null()
                && (shown["target_provision_state"].is_null() || want.ends_with("failed"));
            if state == want && settled {
                return shown;
            }
            if fail_on.contains(&state) || Instant::now() > deadline {
                // The lab's drop prints the console, the BMC's actions and Ferric's log.
                panic!(
                    "node {node} is {state:?} (waiting {timeout:?} for {want:?}), last_error: {}",
                    shown["last_error"]
                );
            }
            self.runtime.block_on(async { tokio::time::sleep(pause).await });
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    /// Waits until `check` holds on the machine, or panics naming `what`.
    pub fn wait_machine(&self, timeout: Duration, what: &str, check: impl Fn(&Machine) -> bool) {
        let deadline = Instant::now() + timeout;
        while !check(self.machine()) {
            assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
            self.runtime.block_on(async { tokio::time::sleep(Duration::from_millis(100)).await });
        }
    }

    /// `ipmitool ... chassis power status` through the BMC, as printed.
    pub fn ipmi_power_status(&self) -> String {
        let output =
            self.runtime.block_on(self.bmc().ipmitool(&["chassis", "power", "status"])).expect("ipmitool");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// Seconds since the lab started, for phase timings.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Everything useful when a test fails: the console, the BMC's actions and
    /// the tail of Ferric's log.
    pub fn diagnostics(&self) -> String {
        let mut text = String::new();
        if let Some(machine) = &self.machine {
            text += &format!("--- machine console ---\n{}\n", tail(&machine.serial(), 80));
            text += &format!("--- BMC actions ---\n{}\n", machine.events().join("\n"));
        }
        if let Some(nodes) = self.nodes_summary() {
            text += &format!("--- nodes ---\n{nodes}\n");
        }
        if let Some(ferric) = &self.ferric {
            text += &format!(
                "--- ferric log (tail; all in {}) ---\n{}\n",
                ferric.log_path().display(),
                tail(&ferric.log(), 120)
            );
        }
        text
    }

    /// Each node's states, last error and what the conductor knows of its
    /// agent (secrets come back masked from the API).
    fn nodes_summary(&self) -> Option<String> {
        let url = format!("{API_URL}/v1/nodes/detail");
        let nodes: Value = self.runtime.block_on(async {
            let response = reqwest::Client::new()
                .get(&url)
                .header("X-OpenStack-Ironic-API-Version", API_VERSION)
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .ok()?;
            response.json::<Value>().await.ok()
        })?;
        let lines: Vec<String> = nodes["nodes"]
            .as_array()?
            .iter()
            .map(|n| {
                format!(
                    "{} {} -> {} power={} last_error={} driver_internal_info={}",
                    n["uuid"],
                    n["provision_state"],
                    n["target_provision_state"],
                    n["power_state"],
                    n["last_error"],
                    n["driver_internal_info"]
                )
            })
            .collect();
        Some(lines.join("\n"))
    }

    /// The lab's scratch directory (kept only for the lab's lifetime).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Ferric's configuration for the lab: everything on the provisioning
/// address, DHCP authoritative on `br0`, short polls and bounded timeouts.
fn ferric_config(tftp_root: &Path, options: &LabOptions) -> String {
    let timeout = options.callback_timeout_secs;
    format!(
        r#"[telemetry]
log_filter = "info,ferric_deploy=debug"

[gateway]
listen = "{SERVER_IP}:6385"
public_url = "{API_URL}"

[deploy]
api_url = "{API_URL}"
kernel_append_params = "console=ttyS0"
agent_command_poll_ms = 200
deploy_callback_timeout_secs = {timeout}
clean_callback_timeout_secs = {timeout}
power_state_change_timeout_secs = 30
periodic_interval_secs = 2
sync_power_state_interval_secs = 0

[bootnet]
dhcp_mode = "authoritative"
interface = "br0"
server_address = "{SERVER_IP}"
tftp_root = "{root}"
http_listen = "{SERVER_IP}:8080"

[[bootnet.subnets]]
network = "10.250.0.0/24"
pool_start = "10.250.0.100"
pool_end = "10.250.0.199"
lease_secs = 600

[imagecache]
http_listen = "{SERVER_IP}:8081"
"#,
        root = tftp_root.display()
    )
}

impl Drop for MachineLab {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Keep the console log, the BMC's files and Ferric's log for a look.
            self.dir.disable_cleanup(true);
            eprintln!("{}\n(lab files kept in {})", self.diagnostics(), self.dir.path().display());
        }
        self.ferric.take();
        if let Some(mut bmc) = self.bmc.take() {
            self.runtime.block_on(bmc.stop());
        }
        if let Some(machine) = &self.machine {
            machine.kill();
        }
    }
}
