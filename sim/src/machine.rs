//! One simulated machine: its power, its boot override, and what runs on it.
//!
//! Power is a flag the BMC flips; what happens at power-on is what firmware
//! would do: with a `Pxe` override the machine netboots ([`crate::boot`]) into
//! the agent, with `Hdd` (or no override) it "boots from disk", which is only
//! counted — the disk holds the image, nothing more is simulated. Whatever runs
//! is stopped when the power goes off, by the BMC or by the agent's own
//! `standby.power_off`.
//!
//! A boot still running when the machine is reset is told to stop and waited
//! for before the new boot takes the machine's address, as a real reset would
//! not let two OS instances overlap.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::boot::{self, NetBoot};

/// The boot source override, as Redfish names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootOverride {
    /// `None`, `Pxe`, `Hdd`, ...
    pub target: String,
    /// `Disabled`, `Once` or `Continuous`.
    pub enabled: String,
    /// `UEFI` or `Legacy`.
    pub mode: String,
}

impl Default for BootOverride {
    fn default() -> Self {
        Self { target: "None".into(), enabled: "Disabled".into(), mode: "UEFI".into() }
    }
}

/// What the BMC reports and changes.
#[derive(Debug, Default)]
pub struct MachineState {
    /// Whether the machine is powered on.
    pub powered: bool,
    /// The boot override.
    pub boot: BootOverride,
    /// Bumped on every change, for the Redfish `ETag`.
    pub revision: u64,
    /// What the current power-on runs: its stop signal and task.
    running: Option<Running>,
}

#[derive(Debug)]
struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// One machine of the fleet.
#[derive(Debug)]
pub struct Machine {
    /// Position in the fleet (0-based).
    pub index: usize,
    /// Redfish system id.
    pub system_id: String,
    /// Its one NIC.
    pub mac: [u8; 6],
    /// The sparse file that is its disk.
    pub disk: PathBuf,
    /// Size of the disk in bytes.
    pub disk_bytes: u64,
    state: Mutex<MachineState>,
    netboot: Arc<NetBoot>,
}

/// `52:54:00:..` as text, lowercase.
pub fn mac_text(mac: &[u8; 6]) -> String {
    mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// How a reset request changes power.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    /// `On`, `ForceOn`.
    On,
    /// `ForceOff`, `GracefulShutdown`.
    Off,
    /// `ForceRestart`, `GracefulRestart`, `PowerCycle`.
    Restart,
}

impl Reset {
    /// The Redfish `ResetType`s this fleet's BMCs accept.
    pub const ALLOWED: &[&str] =
        &["On", "ForceOn", "ForceOff", "GracefulShutdown", "ForceRestart", "GracefulRestart", "PowerCycle"];

    /// Parses a Redfish `ResetType`.
    pub fn parse(kind: &str) -> Option<Self> {
        match kind {
            "On" | "ForceOn" => Some(Reset::On),
            "ForceOff" | "GracefulShutdown" => Some(Reset::Off),
            "ForceRestart" | "GracefulRestart" | "PowerCycle" => Some(Reset::Restart),
            _ => None,
        }
    }
}

impl Machine {
    /// Machine `index` with its disk at `disk` (not created here: the agent's
    /// simulated hardware creates it as a sparse file).
    pub fn new(index: usize, disk: PathBuf, disk_bytes: u64, netboot: Arc<NetBoot>) -> Self {
        let n = u32::try_from(index).unwrap_or(u32::MAX).to_be_bytes();
        Self {
            index,
            system_id: format!("sim{index:05}"),
            mac: [0x52, 0x54, 0x00, n[1], n[2], n[3]],
            disk,
            disk_bytes,
            state: Mutex::new(MachineState::default()),
            netboot,
        }
    }

    /// The MAC as text.
    pub fn mac(&self) -> String {
        mac_text(&self.mac)
    }

    /// The BMC's view of the machine, for a read.
    pub fn state(&self) -> MutexGuard<'_, MachineState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets the boot override (a Redfish PATCH).
    pub fn set_boot(&self, target: Option<&str>, enabled: Option<&str>, mode: Option<&str>) {
        let mut state = self.state();
        if let Some(target) = target {
            state.boot.target = target.to_owned();
        }
        if let Some(enabled) = enabled {
            state.boot.enabled = enabled.to_owned();
        }
        if let Some(mode) = mode {
            state.boot.mode = mode.to_owned();
        }
        state.revision += 1;
    }

    /// Applies a reset (a Redfish `ComputerSystem.Reset`, or the agent's own power
    /// action).
    pub fn reset(self: &Arc<Self>, reset: Reset) {
        let mut state = self.state();
        state.revision += 1;
        match reset {
            Reset::Off => {
                state.powered = false;
                if let Some(running) = &state.running {
                    let _ = running.stop.send(true);
                }
            }
            Reset::On if state.powered => {}
            Reset::On | Reset::Restart => {
                state.powered = true;
                self.power_on(&mut state);
            }
        }
    }

    /// Starts what firmware does at power-on: netboot or local disk.
    fn power_on(self: &Arc<Self>, state: &mut MachineState) {
        let previous = state.running.take();
        if let Some(previous) = &previous {
            let _ = previous.stop.send(true);
        }
        let device =
            if state.boot.enabled == "Disabled" { "Hdd".to_owned() } else { state.boot.target.clone() };
        if state.boot.enabled == "Once" {
            state.boot = BootOverride { mode: state.boot.mode.clone(), ..BootOverride::default() };
        }
        if device != "Pxe" {
            // Booting the disk: counted at once, nothing further is simulated.
            self.netboot.counters.disk_boots.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let (stop, stopped) = watch::channel(false);
        let machine = self.clone();
        let netboot = self.netboot.clone();
        let task = tokio::spawn(async move {
            if let Some(previous) = previous {
                // The old OS releases the machine's address before the new one boots.
                let _ = tokio::time::timeout(Duration::from_secs(30), previous.task).await;
            }
            boot::netboot(netboot, machine, stopped).await;
        });
        state.running = Some(Running { stop, task });
    }

    /// Stops whatever runs, for the end of a run.
    pub fn halt(&self) {
        let mut state = self.state();
        state.powered = false;
        if let Some(running) = state.running.take() {
            let _ = running.stop.send(true);
            running.task.abort();
        }
    }
}
