//! Real IPMI BMCs: `ipmi_sim` (OpenIPMI's simulator) serving IPMI 1.5/2.0 over
//! LAN on a free loopback UDP port, with a chassis-control program whose power
//! and boot device live in files, so a test can check through the independent
//! `ipmitool` what our driver did, and read the simulator's event log.
//!
//! As in `shared/recipes/pxe-vm/` (`bmc-up.sh`, `bmc-chassis.sh`), minus qemu:
//! power is a file, not a VM. `ipmitool` is always called with `-C 3`, without
//! which it spends 10 s per call probing cipher suites against ipmi_sim.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use tempfile::TempDir;
use tokio::process::{Child, Command};

use crate::poll::{free_port, wait_until};

/// The admin user every simulated BMC has.
pub const IPMI_USER: &str = "admin";
/// Its password.
pub const IPMI_PASSWORD: &str = "password";

/// How long ipmi_sim may take to bind its port.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// The chassis program: `chassis.sh 0x20 get power|boot` / `set power 0|1 |
/// reset 1 | boot DEV | shutdown 1 | ...`. Must be quick: ipmi_sim is
/// single-threaded and blocks while it runs.
const CHASSIS: &str = r#"#!/bin/sh
D=$(dirname "$0"); shift 1; OP=$1; shift
case $OP in
  get) for p in "$@"; do case $p in
         power) echo "power:$(cat $D/power 2>/dev/null || echo 0)" ;;
         boot) echo "boot:$(cat $D/boot 2>/dev/null || echo none)" ;;
         *) echo "Invalid parameter: $p"; exit 1 ;; esac; done ;;
  set) while [ $# -gt 0 ]; do p=$1; v=${2:-}; shift 2 2>/dev/null || shift; case $p in
         power) echo "$v" > $D/power; echo "power $v" >> $D/events ;;
         reset) echo 1 > $D/power; echo "reset" >> $D/events ;;
         boot) echo "$v" > $D/boot; echo "boot $v" >> $D/events ;;
         shutdown) echo 0 > $D/power; echo "soft-off" >> $D/events ;;
         identify) shift 1 2>/dev/null || true ;;
         *) echo "Invalid parameter: $p"; exit 1 ;; esac; done ;;
  check) exit 1 ;;
  *) echo "Unknown operation: $OP"; exit 1 ;;
esac
exit 0
"#;

/// What ipmi_sim's chassis control does.
enum Control {
    /// The built-in program: power and boot device are files.
    Files,
    /// A program (with its leading arguments) that controls a real machine.
    Program(String),
    /// None: power status only, no control.
    None,
}

/// One running `ipmi_sim`, killed when dropped.
#[derive(Debug)]
pub struct IpmiSim {
    dir: TempDir,
    port: u16,
    child: Option<Child>,
}

/// `ipmi_sim` from PATH (Debian package `openipmi`).
pub fn ipmi_sim_binary() -> PathBuf {
    PathBuf::from(std::env::var_os("FERRIC_IPMI_SIM").unwrap_or_else(|| "ipmi_sim".into()))
}

/// Whether something is bound to UDP `port` on 127.0.0.1 (from /proc/net/udp,
/// so checking costs no process and no packet).
fn udp_bound(port: u16) -> bool {
    let needle = format!("0100007F:{port:04X}");
    // thread-self, not /proc/net (the main thread's namespace): a test that
    // entered a network namespace looks for the simulator in that namespace.
    std::fs::read_to_string("/proc/thread-self/net/udp")
        .map(|t| t.lines().any(|l| l.split_whitespace().nth(1) == Some(needle.as_str())))
        .unwrap_or(false)
}

impl IpmiSim {
    /// Starts a BMC on a free port and waits until it listens.
    pub async fn start() -> io::Result<Self> {
        let sim = Self::spawn()?;
        let port = sim.port;
        wait_until(READY_TIMEOUT, &format!("ipmi_sim on UDP port {port}"), || async move { udp_bound(port) })
            .await;
        Ok(sim)
    }

    /// Starts a BMC without waiting; [`IpmiSim::is_ready`] tells when it listens.
    /// Lets a bench start a hundred at once.
    pub fn spawn() -> io::Result<Self> {
        Self::spawn_with(Control::Files)
    }

    /// Starts a BMC whose chassis is driven by `program` — a real machine, such
    /// as a qemu VM (`integration/bmc/qemu-chassis.sh`) — and waits until it
    /// listens. ipmi_sim runs `program ARG 0x20 get|set ...`; `arg` tells the
    /// program which machine it controls. The simulator, and so the machine,
    /// start in the calling thread's network namespace.
    pub async fn start_with_chassis_program(program: &Path, arg: &Path) -> io::Result<Self> {
        let control = format!("{} {}", program.display(), arg.display());
        let sim = Self::spawn_with(Control::Program(control))?;
        let port = sim.port;
        wait_until(READY_TIMEOUT, &format!("ipmi_sim on UDP port {port}"), || async move { udp_bound(port) })
            .await;
        Ok(sim)
    }

    /// A BMC without the chassis program: ipmi_sim answers power status from its
    /// own state (always off) and refuses power control. A real BMC does not fork
    /// a script per status query, so benchmarks use this one to measure clients,
    /// not the simulator's forks.
    pub fn spawn_status_only() -> io::Result<Self> {
        Self::spawn_with(Control::None)
    }

    fn spawn_with(control: Control) -> io::Result<Self> {
        let dir = tempfile::Builder::new().prefix("ferric-ipmi-sim-").tempdir()?;
        // A free TCP port is almost always a free UDP port too; ipmi_sim fails
        // loudly (and readiness times out) in the rare other case.
        let port = free_port();
        let chassis = dir.path().join("chassis.sh");
        std::fs::write(&chassis, CHASSIS)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&chassis, std::fs::Permissions::from_mode(0o755))?;
        }
        std::fs::write(dir.path().join("power"), "0\n")?;
        std::fs::create_dir_all(dir.path().join("state"))?;
        let lan = format!(
            r#"name "ferric"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 {port}
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
{control}
  user 1 true  ""      "test"     user  10 none md2 md5 straight
  user 2 true  "{IPMI_USER}" "{IPMI_PASSWORD}" admin 10 none md2 md5 straight
"#,
            control = match control {
                Control::Files => format!("  chassis_control \"{} 0x20\"", chassis.display()),
                Control::Program(program) => format!("  chassis_control \"{program} 0x20\""),
                Control::None => String::new(),
            }
        );
        std::fs::write(dir.path().join("lan.conf"), lan)?;
        std::fs::write(
            dir.path().join("node.emu"),
            "mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nsel_enable 0x20 1000 0x0a\nmc_enable 0x20\n",
        )?;
        let log = std::fs::File::create(dir.path().join("ipmi_sim.log"))?;
        let child = Command::new(ipmi_sim_binary())
            .arg("-n")
            .arg("-c")
            .arg(dir.path().join("lan.conf"))
            .arg("-f")
            .arg(dir.path().join("node.emu"))
            .arg("-s")
            .arg(dir.path().join("state"))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot start {}: {e}", ipmi_sim_binary().display()))
            })?;
        Ok(Self { dir, port, child: Some(child) })
    }

    /// Whether the simulator listens yet.
    pub fn is_ready(&self) -> bool {
        udp_bound(self.port)
    }

    /// Its UDP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its working directory (power/boot files, events, ipmi_sim.log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// driver_info for Ferric's ipmi driver, as a JSON object string.
    pub fn driver_info_json(&self) -> String {
        format!(
            r#"{{"ipmi_address": "127.0.0.1", "ipmi_port": {}, "ipmi_username": "{IPMI_USER}", "ipmi_password": "{IPMI_PASSWORD}"}}"#,
            self.port
        )
    }

    /// What the chassis program was asked to do, one line per action
    /// (`power 1`, `boot pxe`, `reset`, `soft-off`).
    pub fn events(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("events"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Sets the simulated power directly, behind the BMC's back (test setup).
    pub fn set_power_file(&self, on: bool) -> io::Result<()> {
        std::fs::write(self.dir.path().join("power"), if on { "1\n" } else { "0\n" })
    }

    /// Runs `ipmitool -I lanplus -C 3 -H 127.0.0.1 -p PORT -U admin -P password ARGS`:
    /// the independent client that confirms what our driver did.
    pub async fn ipmitool(&self, args: &[&str]) -> io::Result<Output> {
        ipmitool(self.port, IPMI_PASSWORD, args).await
    }

    /// Stops the simulator (a BMC going away).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}

/// `ipmitool` against the BMC on 127.0.0.1:`port` as `admin` with `password`.
pub async fn ipmitool(port: u16, password: &str, args: &[&str]) -> io::Result<Output> {
    let port = port.to_string();
    Command::new("ipmitool")
        .args(["-I", "lanplus", "-C", "3", "-H", "127.0.0.1", "-p", &port, "-U", IPMI_USER, "-P", password])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
}
