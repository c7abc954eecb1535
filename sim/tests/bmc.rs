//! The simulated BMCs against Ferric's own `redfish` driver: what the driver
//! reads and changes (power state, resets, the boot override under ETags) is
//! what the machines see, and wrong credentials or a stale ETag are refused as
//! a real BMC refuses them.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use ferric_power::PowerDriver;
use ferric_power::driver::{BootDevice, PowerAction, PowerState};
use ferric_power::info::DriverInfo;
use ferric_power::redfish::RedfishDriver;
use ferric_sim::agent::AgentSettings;
use ferric_sim::bmc::{self, Credentials};
use ferric_sim::boot::NetBoot;
use ferric_sim::dhcp::Relay;
use ferric_sim::machine::Machine;
use serde_json::json;

async fn one_machine() -> (Arc<Machine>, Arc<NetBoot>, SocketAddr) {
    let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let netboot = Arc::new(NetBoot {
        // Never used: the machine only boots from disk here.
        relay: Relay::bind(loopback, Ipv4Addr::LOCALHOST, SocketAddr::from((Ipv4Addr::LOCALHOST, 9)))
            .await
            .expect("relay"),
        http: reqwest::Client::new(),
        counters: Default::default(),
        timings: Default::default(),
        agent: AgentSettings { port: 0 },
    });
    let dir = std::env::temp_dir().join(format!("ferric-sim-bmc-{}", std::process::id()));
    let machine = Arc::new(Machine::new(7, dir.join("disk.img"), 1 << 30, netboot.clone()));
    let credentials = Credentials { username: "admin".into(), password: "secret".into() };
    let (_task, address) =
        bmc::serve(loopback, std::slice::from_ref(&machine), &credentials).await.expect("serve");
    (machine, netboot, address)
}

fn driver_info(address: SocketAddr, password: &str) -> DriverInfo {
    DriverInfo::from_json(json!({
        "redfish_address": format!("http://{address}"),
        "redfish_system_id": "/redfish/v1/Systems/sim00007",
        "redfish_username": "admin",
        "redfish_password": password,
        "redfish_verify_ca": false,
    }))
}

#[tokio::test]
async fn the_redfish_driver_powers_and_boots_a_simulated_machine() {
    let (machine, netboot, address) = one_machine().await;
    let driver = RedfishDriver::default();
    let bmc = driver.bmc(&driver_info(address, "secret")).expect("driver_info parses");

    assert_eq!(bmc.power_state().await.expect("power state"), PowerState::Off);
    bmc.set_boot_device(BootDevice::Disk, true, None).await.expect("set boot device");
    let setting = bmc.boot_device().await.expect("boot device");
    assert_eq!((setting.device, setting.persistent), (Some(BootDevice::Disk), Some(true)));

    bmc.power_action(PowerAction::On).await.expect("power on");
    assert_eq!(bmc.power_state().await.expect("power state"), PowerState::On);
    assert!(machine.state().powered);
    assert_eq!(netboot.counters.disk_boots.load(Ordering::Relaxed), 1, "booted its disk");

    bmc.power_action(PowerAction::Off).await.expect("power off");
    assert_eq!(bmc.power_state().await.expect("power state"), PowerState::Off);
    assert!(!machine.state().powered);
}

#[tokio::test]
async fn wrong_credentials_and_stale_etags_are_refused() {
    let (machine, _netboot, address) = one_machine().await;
    let wrong = RedfishDriver::default().bmc(&driver_info(address, "wrong")).expect("driver_info parses");
    assert!(wrong.power_state().await.is_err(), "a wrong password must not read the machine");

    let patch = reqwest::Client::new()
        .patch(format!("http://{address}/redfish/v1/Systems/sim00007"))
        .basic_auth("admin", Some("secret"))
        .header("If-Match", "\"not-the-etag\"")
        .json(&json!({"Boot": {"BootSourceOverrideTarget": "Pxe"}}))
        .send()
        .await
        .expect("PATCH");
    assert_eq!(patch.status().as_u16(), 412);
    assert_eq!(machine.state().boot.target, "None", "a refused PATCH changes nothing");
}
