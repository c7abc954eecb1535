//! The ramdisk's agent on a simulated machine: Ferric's own agent
//! (`ferric-agent`) run in-process, one per booted machine, listening on the
//! machine's leased address. Its disk is the machine's sparse file, reported
//! as [`ROOT_DEVICE`] so the node's root device hint picks it; its power
//! actions go back to the machine, so the agent's `standby.power_off` turns
//! the machine off as its BMC then reports.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Weak};
use std::time::Duration;

use ferric_agent::{AgentOptions, PowerAction, SimulatedDisk, SimulatedHardware};
use tokio::sync::watch;

use crate::boot::NetBoot;
use crate::error::SimError;
use crate::fleet::ROOT_DEVICE;
use crate::machine::{Machine, Reset};
use crate::script::BootPlan;

/// What every machine's agent shares.
#[derive(Debug, Clone)]
pub struct AgentSettings {
    /// The port each agent listens on, on its machine's address.
    pub port: u16,
}

/// Runs the agent of `machine` (booted with `plan`, leased `ip`) until `stopped`.
#[tracing::instrument(skip_all, fields(machine = %machine.system_id, %ip))]
pub async fn run(
    netboot: &NetBoot,
    machine: &Arc<Machine>,
    ip: Ipv4Addr,
    plan: &BootPlan,
    mut stopped: watch::Receiver<bool>,
) -> Result<(), SimError> {
    let api_url = plan
        .arg("ipa-api-url")
        .ok_or_else(|| SimError::Boot("the kernel command line has no ipa-api-url".into()))?;
    let disk = SimulatedDisk::create(ROOT_DEVICE, &machine.disk, machine.disk_bytes)
        .map_err(|e| SimError::io(&machine.disk, e))?;
    let weak: Weak<Machine> = Arc::downgrade(machine);
    let hardware = SimulatedHardware::new(&[&machine.mac()]).with_disk(disk).on_power(move |action| {
        if let Some(machine) = weak.upgrade() {
            machine.reset(match action {
                PowerAction::PowerOff => Reset::Off,
                PowerAction::Reboot => Reset::Restart,
            });
        }
    });
    let listen = SocketAddr::from((ip, netboot.agent.port));
    let mut options = AgentOptions::new(api_url, Arc::new(hardware)).listen_on(listen);
    options.advertise_url = Some(format!("http://{listen}"));
    options.lookup_backoff = (Duration::from_millis(200), Duration::from_secs(2));
    let shutdown = async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    ferric_agent::run(options, shutdown).await.map_err(|e| SimError::Boot(format!("agent: {e}")))
}
