//! The ipmi driver through the gRPC service against real `ipmi_sim` BMCs, every
//! effect confirmed independently with `ipmitool -I lanplus -C 3`.

mod common;

use std::time::{Duration, Instant};

use common::{Served, node, target};
use ferric_power::driver::PowerDriver;
use ferric_power::info::DriverInfo;
use ferric_power::ipmi::crypto::CipherSuite;
use ferric_power::ipmi::{IpmiDriver, IpmiOptions};
use ferric_proto::v1::{
    BootDevice, BootMode, GetBootDeviceRequest, GetPowerStateRequest, GetSupportedBootDevicesRequest,
    PowerAction, PowerState, SetBootDeviceRequest, SetPowerStateRequest, ValidateCredentialsRequest,
    ValidateRequest,
};
use ferric_testkit::IpmiSim;
use serde_json::{Value, json};
use tonic::Code;

fn info(sim: &IpmiSim) -> Value {
    serde_json::from_str(&sim.driver_info_json()).unwrap()
}

async fn ipmitool(sim: &IpmiSim, args: &[&str]) -> String {
    let out = sim.ipmitool(args).await.expect("ipmitool runs");
    assert!(out.status.success(), "ipmitool {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn set_power(served: &mut Served, info: &Value, action: PowerAction) -> PowerState {
    let response = served
        .client
        .set_power_state(SetPowerStateRequest {
            node: node(),
            bmc: target("ipmi", info.clone()),
            action: action as i32,
            timeout: Some(prost_types::Duration { seconds: 20, nanos: 0 }),
        })
        .await
        .unwrap_or_else(|e| panic!("{action:?}: {e}"));
    response.into_inner().power_state()
}

async fn get_power(served: &mut Served, info: &Value) -> PowerState {
    served
        .client
        .get_power_state(GetPowerStateRequest { node: node(), bmc: target("ipmi", info.clone()) })
        .await
        .unwrap()
        .into_inner()
        .power_state()
}

#[tokio::test]
async fn power_on_off_status_and_cycle_confirmed_by_ipmitool() {
    let sim = IpmiSim::start().await.unwrap();
    let mut served = Served::with_defaults().await;
    let info = info(&sim);

    assert_eq!(get_power(&mut served, &info).await, PowerState::Off);
    assert!(ipmitool(&sim, &["chassis", "power", "status"]).await.contains("Chassis Power is off"));

    assert_eq!(set_power(&mut served, &info, PowerAction::On).await, PowerState::On);
    assert!(ipmitool(&sim, &["chassis", "power", "status"]).await.contains("Chassis Power is on"));
    assert_eq!(get_power(&mut served, &info).await, PowerState::On);

    assert_eq!(set_power(&mut served, &info, PowerAction::Off).await, PowerState::Off);
    assert!(ipmitool(&sim, &["chassis", "power", "status"]).await.contains("Chassis Power is off"));

    // Cycle from on: the BMC sees off then on, and ipmitool reads on afterwards.
    set_power(&mut served, &info, PowerAction::On).await;
    let before = sim.events().len();
    assert_eq!(set_power(&mut served, &info, PowerAction::PowerCycle).await, PowerState::On);
    assert_eq!(sim.events()[before..], ["power 0".to_owned(), "power 1".to_owned()], "{:?}", sim.events());
    assert!(ipmitool(&sim, &["chassis", "power", "status"]).await.contains("Chassis Power is on"));

    // Reboot and soft off go through the BMC too.
    assert_eq!(set_power(&mut served, &info, PowerAction::Reboot).await, PowerState::On);
    assert_eq!(set_power(&mut served, &info, PowerAction::SoftOff).await, PowerState::Off);
    assert_eq!(sim.events().last().map(String::as_str), Some("soft-off"));
    assert!(ipmitool(&sim, &["chassis", "power", "status"]).await.contains("Chassis Power is off"));

    // A change made by someone else is read back.
    ipmitool(&sim, &["chassis", "power", "on"]).await;
    assert_eq!(get_power(&mut served, &info).await, PowerState::On);
}

#[tokio::test]
async fn boot_device_pxe_and_disk_confirmed_by_ipmitool() {
    let sim = IpmiSim::start().await.unwrap();
    let mut served = Served::with_defaults().await;
    let info = info(&sim);
    let set = |device: BootDevice, persistent: bool| SetBootDeviceRequest {
        node: node(),
        bmc: target("ipmi", info.clone()),
        boot_device: device as i32,
        persistent,
        boot_mode: BootMode::Uefi as i32,
    };

    served.client.set_boot_device(set(BootDevice::Pxe, false)).await.unwrap();
    let param = ipmitool(&sim, &["chassis", "bootparam", "get", "5"]).await;
    assert!(param.contains("Force PXE"), "{param}");
    assert_eq!(sim.events().last().map(String::as_str), Some("boot pxe"));
    let got = served
        .client
        .get_boot_device(GetBootDeviceRequest { node: node(), bmc: target("ipmi", info.clone()) })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.boot_device(), BootDevice::Pxe);

    served.client.set_boot_device(set(BootDevice::Disk, true)).await.unwrap();
    let param = ipmitool(&sim, &["chassis", "bootparam", "get", "5"]).await;
    assert!(param.contains("Hard-Drive"), "{param}");
    let got = served
        .client
        .get_boot_device(GetBootDeviceRequest { node: node(), bmc: target("ipmi", info.clone()) })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.boot_device(), BootDevice::Disk);

    // And a device set by ipmitool is read back by us.
    ipmitool(&sim, &["chassis", "bootdev", "pxe"]).await;
    let got = served
        .client
        .get_boot_device(GetBootDeviceRequest { node: node(), bmc: target("ipmi", info.clone()) })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.boot_device(), BootDevice::Pxe);

    let supported = served
        .client
        .get_supported_boot_devices(GetSupportedBootDevicesRequest {
            node: node(),
            bmc: target("ipmi", info.clone()),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        supported.boot_devices().any(|d| d == BootDevice::Pxe)
            && !supported.boot_devices().any(|d| d == BootDevice::Uefihttp)
    );
    let err = served.client.set_boot_device(set(BootDevice::Uefihttp, false)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented, "{err}");
}

#[tokio::test]
async fn wrong_password_is_refused_clearly_and_quickly() {
    let sim = IpmiSim::start().await.unwrap();
    let mut served = Served::with_defaults().await;
    let mut bad = info(&sim);
    bad["ipmi_password"] = json!("not-the-password");

    let started = Instant::now();
    let err = served
        .client
        .get_power_state(GetPowerStateRequest { node: node(), bmc: target("ipmi", bad.clone()) })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err}");
    assert!(err.message().contains("rejected the credentials"), "{}", err.message());
    assert!(err.message().contains(&format!("127.0.0.1:{}", sim.port())), "{}", err.message());
    assert!(!err.message().contains("not-the-password"));
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());

    // ValidateCredentials answers rather than failing.
    let answer = served
        .client
        .validate_credentials(ValidateCredentialsRequest { node: node(), bmc: target("ipmi", bad) })
        .await
        .unwrap()
        .into_inner();
    assert!(!answer.valid);
    assert!(answer.detail.contains("rejected the credentials"), "{}", answer.detail);
    let good = served
        .client
        .validate_credentials(ValidateCredentialsRequest { node: node(), bmc: target("ipmi", info(&sim)) })
        .await
        .unwrap()
        .into_inner();
    assert!(good.valid, "{}", good.detail);
    assert!(good.latency.is_some());

    // ipmitool agrees the password is wrong, so the test is not fooling itself.
    let out = ferric_testkit::ipmi::ipmitool(sim.port(), "not-the-password", &["chassis", "power", "status"])
        .await
        .unwrap();
    assert!(!out.status.success());
}

#[tokio::test]
async fn unreachable_bmc_is_unavailable_within_a_bounded_time() {
    let mut served = Served::with_defaults().await;
    // A port nothing listens on.
    let port = ferric_testkit::free_port();
    let info = json!({"ipmi_address": "127.0.0.1", "ipmi_port": port, "ipmi_username": "admin", "ipmi_password": "password"});
    let started = Instant::now();
    let err = served
        .client
        .get_power_state(GetPowerStateRequest { node: node(), bmc: target("ipmi", info.clone()) })
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert!(
        err.message().contains(&format!("127.0.0.1:{port}")) && err.message().contains("unreachable"),
        "{}",
        err.message()
    );
    // The default retry budget is 3.5 s.
    assert!(took < Duration::from_secs(6), "took {took:?}");

    let answer = served
        .client
        .validate_credentials(ValidateCredentialsRequest { node: node(), bmc: target("ipmi", info) })
        .await
        .unwrap()
        .into_inner();
    assert!(!answer.valid && answer.detail.contains("unreachable"), "{}", answer.detail);
}

#[tokio::test]
async fn bad_driver_info_names_the_key() {
    let mut served = Served::with_defaults().await;
    let err = served
        .client
        .get_power_state(GetPowerStateRequest {
            node: node(),
            bmc: target("ipmi", json!({"ipmi_address": "127.0.0.1", "ipmi_port": "x"})),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("ipmi_port"), "{}", err.message());
    let verdict = served
        .client
        .validate(ValidateRequest {
            node: node(),
            bmc: target("ipmi", json!({"ipmi_address": "h", "ipmi_cipher_suite": 1})),
        })
        .await
        .unwrap()
        .into_inner();
    let power = verdict.power.unwrap();
    assert_eq!(power.result, Some(false));
    assert!(power.reason.contains("ipmi_cipher_suite"), "{}", power.reason);
    let ok = served
        .client
        .validate(ValidateRequest { node: node(), bmc: target("ipmi", json!({"ipmi_address": "h"})) })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.power.unwrap().result, Some(true));
    let err = served
        .client
        .get_power_state(GetPowerStateRequest { node: node(), bmc: target("nope", json!({})) })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn sessions_are_reused_negotiated_and_serialised() {
    let sim = IpmiSim::start().await.unwrap();
    let driver = IpmiDriver::new(IpmiOptions::default());
    // No ipmi_cipher_suite: 17 is tried first; ipmi_sim refuses it, so 3 is used.
    let di = DriverInfo::from_json(info(&sim));
    let bmc = driver.bmc(&di).unwrap();
    for _ in 0..20 {
        assert_eq!(bmc.power_state().await.unwrap(), ferric_power::driver::PowerState::Off);
    }
    assert_eq!(driver.open_sessions().await, 1);
    assert_eq!(driver.session_suite(&format!("127.0.0.1:{}", sim.port())).await, Some(CipherSuite::Three));

    // Many callers at once share the one session, one at a time.
    let calls = (0..32).map(|_| {
        let bmc = driver.bmc(&di).unwrap();
        async move { bmc.power_state().await }
    });
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(driver.open_sessions().await, 1);

    // Asking for suite 17 explicitly fails clearly: ipmi_sim does not offer it.
    let mut only17 = info(&sim);
    only17["ipmi_cipher_suite"] = json!(17);
    let err = driver.bmc(&DriverInfo::from_json(only17)).unwrap().power_state().await.unwrap_err();
    assert!(err.to_string().contains("cipher suite 17"), "{err}");

    driver.shutdown().await;
    assert_eq!(driver.open_sessions().await, 0);
}

#[tokio::test]
async fn shutdown_returns_and_closes_sessions() {
    let sim = IpmiSim::start().await.unwrap();
    let mut served = Served::with_defaults().await;
    let info = info(&sim);
    assert_eq!(get_power(&mut served, &info).await, PowerState::Off);
    served.shutdown().await.unwrap();
    // ipmi_sim still serves others after our session is closed.
    assert!(ipmitool(&sim, &["chassis", "power", "status"]).await.contains("off"));
}
