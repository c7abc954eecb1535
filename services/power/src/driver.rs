//! The hardware boundary: [`PowerDriver`] turns a node's driver_info into a [`Bmc`]
//! handle, and a handle does the operations. IPMI, Redfish and the fake sit side by
//! side behind these traits, so the gRPC layer and the orchestration tests never
//! know which one they drive.
//!
//! Parsing driver_info happens in [`PowerDriver::bmc`], without I/O: `Validate`
//! is just that call, and a handle is cheap enough to build per request (the
//! expensive state, IPMI sessions and Redfish clients, is cached in the driver).

use std::fmt;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::error::PowerError;
use crate::info::DriverInfo;

/// Result of every driver operation.
pub type PowerResult<T> = Result<T, PowerError>;

/// What a BMC reports about chassis power.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerState {
    /// Powered on.
    On,
    /// Powered off.
    Off,
}

impl PowerState {
    /// The word Ironic uses, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            PowerState::On => "on",
            PowerState::Off => "off",
        }
    }
}

/// A power transition, one per Ironic target state plus a hard cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerAction {
    /// Hard power on.
    On,
    /// Hard power off.
    Off,
    /// Hard reboot (off then on, or the BMC's reset).
    Reboot,
    /// ACPI shutdown, waiting up to the timeout.
    SoftOff,
    /// ACPI shutdown then power on.
    SoftReboot,
    /// Off then on whatever the current state.
    PowerCycle,
}

impl PowerAction {
    /// The state the action ends in.
    pub fn target(self) -> PowerState {
        match self {
            PowerAction::Off | PowerAction::SoftOff => PowerState::Off,
            _ => PowerState::On,
        }
    }
}

/// A boot device, as Ironic's `boot_devices`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BootDevice {
    /// Network boot.
    Pxe,
    /// Local disk.
    Disk,
    /// CD/DVD (or virtual CD).
    Cdrom,
    /// Firmware setup.
    Bios,
    /// Safe mode disk boot.
    Safe,
    /// UEFI HTTP boot.
    UefiHttp,
    /// Floppy / removable media.
    Floppy,
}

/// Firmware boot mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootMode {
    /// Legacy BIOS.
    Bios,
    /// UEFI.
    Uefi,
}

/// The next boot device as the BMC reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BootSetting {
    /// None when the BMC has no override or does not say.
    pub device: Option<BootDevice>,
    /// None when the BMC does not say.
    pub persistent: Option<bool>,
    /// None when the BMC does not say.
    pub mode: Option<BootMode>,
}

/// A virtual media slot type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// CD or DVD.
    Cd,
    /// USB stick or floppy.
    Usb,
}

/// Builds BMC handles from driver_info; one instance per driver, shared by all
/// requests, holding the driver's caches (sessions, HTTP clients).
#[async_trait]
pub trait PowerDriver: Send + Sync + fmt::Debug + 'static {
    /// The `BmcTarget.driver` value this driver answers to.
    fn name(&self) -> &'static str;

    /// Checks driver_info and returns a handle for it, without I/O.
    fn bmc(&self, info: &DriverInfo) -> PowerResult<Box<dyn Bmc>>;

    /// Releases what the driver holds (IPMI sessions are closed), on shutdown.
    async fn shutdown(&self) {}
}

/// Operations on one BMC.
#[async_trait]
pub trait Bmc: Send + Sync {
    /// A stable identity of the BMC (host:port or URL + system), for per-BMC
    /// serialisation, the circuit breaker and messages. Never holds a secret.
    fn address(&self) -> String;

    /// Reads the power state.
    async fn power_state(&self) -> PowerResult<PowerState>;

    /// Starts `action` (without waiting for the target state: see [`set_power`]).
    async fn power_action(&self, action: PowerAction) -> PowerResult<()>;

    /// How long to poll between reads while waiting for a power state.
    fn poll_interval(&self) -> Duration {
        Duration::from_millis(100)
    }

    /// Reads the next boot device.
    async fn boot_device(&self) -> PowerResult<BootSetting>;

    /// Sets the next boot device; `mode` None leaves the mode alone.
    async fn set_boot_device(
        &self,
        device: BootDevice,
        persistent: bool,
        mode: Option<BootMode>,
    ) -> PowerResult<()>;

    /// The boot devices this BMC accepts.
    async fn supported_boot_devices(&self) -> PowerResult<Vec<BootDevice>>;

    /// Sends a diagnostic interrupt (NMI).
    async fn inject_nmi(&self) -> PowerResult<()>;

    /// Talks to the BMC with the credentials (reachability and authentication).
    async fn probe(&self) -> PowerResult<()>;

    /// Inserts `image_url` into a virtual media slot of `kind`.
    async fn insert_media(&self, kind: MediaKind, image_url: &str) -> PowerResult<()> {
        let _ = (kind, image_url);
        Err(self.unsupported("virtual media"))
    }

    /// Ejects the virtual media of `kind` (no error when already empty).
    async fn eject_media(&self, kind: MediaKind) -> PowerResult<()> {
        let _ = kind;
        Err(self.unsupported("virtual media"))
    }

    /// The driver's name, for unsupported-operation errors.
    fn driver(&self) -> &'static str;

    /// An [`PowerError::Unsupported`] for `operation` on this BMC.
    fn unsupported(&self, operation: &str) -> PowerError {
        PowerError::Unsupported {
            driver: self.driver(),
            operation: operation.to_owned(),
            address: self.address(),
        }
    }
}

/// Performs `action` and waits until the target state is read back or `timeout`
/// passes; shared by every driver so "done" means the same everywhere.
///
/// Reboot-like actions that a BMC performs as one step still pass through "off",
/// which a poll may or may not see; so for them the helper drives the cycle as
/// off-then-on itself when the driver asks for it (see [`CycleStyle`]).
pub async fn set_power(
    bmc: &dyn Bmc,
    action: PowerAction,
    timeout: Duration,
    style: CycleStyle,
) -> PowerResult<PowerState> {
    let deadline = Instant::now() + timeout;
    let two_step = match (style, action) {
        (CycleStyle::OffThenOn, PowerAction::Reboot | PowerAction::PowerCycle) => Some(PowerAction::Off),
        (CycleStyle::OffThenOn, PowerAction::SoftReboot) => Some(PowerAction::SoftOff),
        (CycleStyle::Native, PowerAction::PowerCycle | PowerAction::Reboot | PowerAction::SoftReboot) => {
            // A BMC cannot cycle what is off: power it on instead, as Ironic does.
            if bmc.power_state().await? == PowerState::Off {
                bmc.power_action(PowerAction::On).await?;
                return wait_for_state(bmc, PowerState::On, deadline, timeout).await;
            }
            None
        }
        _ => None,
    };
    if let Some(first) = two_step {
        if bmc.power_state().await? == PowerState::On {
            bmc.power_action(first).await?;
            wait_for_state(bmc, PowerState::Off, deadline, timeout).await?;
        }
        bmc.power_action(PowerAction::On).await?;
        return wait_for_state(bmc, PowerState::On, deadline, timeout).await;
    }
    bmc.power_action(action).await?;
    wait_for_state(bmc, action.target(), deadline, timeout).await
}

/// How a driver's BMC performs reboots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycleStyle {
    /// Off, wait, on, wait: observable and the same on every BMC (IPMI, fake).
    OffThenOn,
    /// The BMC's own reset action (Redfish ForceRestart, PowerCycle, ...).
    Native,
}

async fn wait_for_state(
    bmc: &dyn Bmc,
    target: PowerState,
    deadline: Instant,
    timeout: Duration,
) -> PowerResult<PowerState> {
    let mut pause = bmc.poll_interval();
    loop {
        let state = bmc.power_state().await?;
        if state == target {
            return Ok(state);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(PowerError::Timeout { address: bmc.address(), target: target.as_str(), timeout });
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}
