//! The redfish driver through the gRPC service against a real `sushy-emulator`
//! (fake systems driver), every effect read back with a plain HTTP GET.

mod common;

use std::time::Duration;

use common::{Served, node, target};
use ferric_power::driver::MediaKind;
use ferric_power::info::DriverInfo;
use ferric_power::redfish::{RedfishDriver, RedfishOptions};
use ferric_power::{PowerOptions, PowerServiceImpl};
use ferric_proto::v1::{
    BootDevice, BootMode, EjectVirtualMediaRequest, GetBootDeviceRequest, GetPowerStateRequest,
    InjectNmiRequest, InsertVirtualMediaRequest, PowerAction, PowerState, SetBootDeviceRequest,
    SetPowerStateRequest, ValidateCredentialsRequest, VirtualMediaKind,
};
use ferric_testkit::{SushyEmulator, SushyOptions};
use serde_json::{Value, json};
use tonic::Code;

fn options() -> PowerOptions {
    PowerOptions {
        redfish: RedfishOptions { poll_interval: Duration::from_millis(200), ..RedfishOptions::default() },
        ..PowerOptions::default()
    }
}

async fn served() -> Served {
    Served::start(PowerServiceImpl::new(options())).await
}

/// GETs a system as JSON without our driver: the independent read-back.
async fn system_json(sushy: &SushyEmulator, i: usize) -> Value {
    let url = format!("{}/redfish/v1/Systems/{}", sushy.base_url(), sushy.system_uuids()[i]);
    reqwest::get(&url).await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn power_on_off_and_reboot() {
    let sushy = SushyEmulator::start(SushyOptions::default()).await.unwrap();
    let mut served = served().await;
    // No system id: the service's only system is discovered.
    let info = json!({"redfish_address": sushy.base_url()});
    let set = |action: PowerAction| SetPowerStateRequest {
        node: node(),
        bmc: target("redfish", info.clone()),
        action: action as i32,
        timeout: Some(prost_types::Duration { seconds: 40, nanos: 0 }),
    };
    let get = || GetPowerStateRequest { node: node(), bmc: target("redfish", info.clone()) };

    assert_eq!(
        served.client.get_power_state(get()).await.unwrap().into_inner().power_state(),
        PowerState::Off
    );
    let on = served
        .client
        .set_power_state(set(PowerAction::On))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", sushy.log()));
    assert_eq!(on.into_inner().power_state(), PowerState::On);
    assert_eq!(system_json(&sushy, 0).await["PowerState"], "On");

    let off = served.client.set_power_state(set(PowerAction::Off)).await.unwrap();
    assert_eq!(off.into_inner().power_state(), PowerState::Off);
    assert_eq!(system_json(&sushy, 0).await["PowerState"], "Off");

    // Reboot of a node that is off powers it on.
    let rebooted = served.client.set_power_state(set(PowerAction::Reboot)).await.unwrap();
    assert_eq!(rebooted.into_inner().power_state(), PowerState::On);
    assert_eq!(
        served.client.get_power_state(get()).await.unwrap().into_inner().power_state(),
        PowerState::On
    );
    assert!(sushy.log().contains("ComputerSystem.Reset"), "resets went through the Reset action");

    // The fake systems driver refuses NMI: a typed error naming the BMC, not a crash.
    let err = served
        .client
        .inject_nmi(InjectNmiRequest { node: node(), bmc: target("redfish", info.clone()) })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err}");
    assert!(err.message().contains(&sushy.base_url()), "{}", err.message());
}

#[tokio::test]
async fn boot_override_is_patched_and_read_back() {
    let sushy = SushyEmulator::start(SushyOptions { systems: 2, ..SushyOptions::default() }).await.unwrap();
    let mut served = served().await;
    let uuid = sushy.system_uuids()[1].clone();
    let info = json!({"redfish_address": sushy.base_url(), "redfish_system_id": format!("/redfish/v1/Systems/{uuid}"), "redfish_auth_type": "basic"});
    let set = |device: BootDevice, persistent: bool, mode: BootMode| SetBootDeviceRequest {
        node: node(),
        bmc: target("redfish", info.clone()),
        boot_device: device as i32,
        persistent,
        boot_mode: mode as i32,
    };

    served.client.set_boot_device(set(BootDevice::Pxe, false, BootMode::Uefi)).await.unwrap();
    let system = system_json(&sushy, 1).await;
    assert_eq!(
        (
            system["Boot"]["BootSourceOverrideTarget"].as_str(),
            system["Boot"]["BootSourceOverrideMode"].as_str()
        ),
        (Some("Pxe"), Some("UEFI"))
    );
    let got = served
        .client
        .get_boot_device(GetBootDeviceRequest { node: node(), bmc: target("redfish", info.clone()) })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.boot_device(), BootDevice::Pxe);

    // The other system is untouched.
    assert_ne!(system_json(&sushy, 0).await["Boot"]["BootSourceOverrideTarget"], "Pxe");

    served.client.set_boot_device(set(BootDevice::Disk, true, BootMode::Unspecified)).await.unwrap();
    assert_eq!(system_json(&sushy, 1).await["Boot"]["BootSourceOverrideTarget"], "Hdd");

    served.client.set_boot_device(set(BootDevice::Cdrom, false, BootMode::Bios)).await.unwrap();
    let system = system_json(&sushy, 1).await;
    assert_eq!(
        (
            system["Boot"]["BootSourceOverrideTarget"].as_str(),
            system["Boot"]["BootSourceOverrideMode"].as_str()
        ),
        (Some("Cd"), Some("Legacy"))
    );

    // BiosSetup is not among this system's allowed targets: refused before PATCH.
    let err =
        served.client.set_boot_device(set(BootDevice::Bios, false, BootMode::Unspecified)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented, "{err}");

    // Two systems and no id: the key is named.
    let err = served
        .client
        .get_power_state(GetPowerStateRequest {
            node: node(),
            bmc: target("redfish", json!({"redfish_address": sushy.base_url()})),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("redfish_system_id"), "{}", err.message());
    let err = served
        .client
        .get_power_state(GetPowerStateRequest {
            node: node(),
            bmc: target(
                "redfish",
                json!({"redfish_address": sushy.base_url(), "redfish_system_id": "no-such-system"}),
            ),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("redfish_system_id"), "{}", err.message());
}

#[tokio::test]
async fn virtual_media_insert_and_eject() {
    let sushy = SushyEmulator::start(SushyOptions::default()).await.unwrap();
    // The emulator downloads the image, so serve one.
    std::fs::write(sushy.dir().join("boot.iso"), b"not really an iso").unwrap();
    let port = ferric_testkit::free_port();
    let _http = tokio::process::Command::new("python3")
        .args(["-m", "http.server", "--bind", "127.0.0.1", &port.to_string(), "--directory"])
        .arg(sushy.dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    ferric_testkit::wait_until(Duration::from_secs(20), "image HTTP server", || async move {
        tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok()
    })
    .await;
    let image = format!("http://127.0.0.1:{port}/boot.iso");

    let mut served = served().await;
    let info = json!({"redfish_address": sushy.base_url(), "redfish_system_id": sushy.system_uuids()[0]});
    served
        .client
        .insert_virtual_media(InsertVirtualMediaRequest {
            node: node(),
            bmc: target("redfish", info.clone()),
            kind: VirtualMediaKind::Cd as i32,
            image_url: image.clone(),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", sushy.log()));
    let driver = RedfishDriver::new(RedfishOptions::default());
    let bmc = driver.redfish_bmc(&DriverInfo::from_json(info.clone())).unwrap();
    assert_eq!(bmc.media(MediaKind::Cd).await.unwrap(), Some((image.clone(), true)));
    // Inserting again replaces the media (eject first).
    served
        .client
        .insert_virtual_media(InsertVirtualMediaRequest {
            node: node(),
            bmc: target("redfish", info.clone()),
            kind: VirtualMediaKind::Cd as i32,
            image_url: image.clone(),
        })
        .await
        .unwrap();

    served
        .client
        .eject_virtual_media(EjectVirtualMediaRequest {
            node: node(),
            bmc: target("redfish", info.clone()),
            kind: VirtualMediaKind::Cd as i32,
        })
        .await
        .unwrap();
    assert_eq!(bmc.media(MediaKind::Cd).await.unwrap(), Some((String::new(), false)));
    // Ejecting an empty slot is fine.
    served
        .client
        .eject_virtual_media(EjectVirtualMediaRequest {
            node: node(),
            bmc: target("redfish", info.clone()),
            kind: VirtualMediaKind::Cd as i32,
        })
        .await
        .unwrap();

    // IPMI has no virtual media.
    let err = served
        .client
        .insert_virtual_media(InsertVirtualMediaRequest {
            node: node(),
            bmc: target("ipmi", json!({"ipmi_address": "127.0.0.1", "ipmi_port": 1})),
            kind: VirtualMediaKind::Cd as i32,
            image_url: image,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented, "{err}");
}

#[tokio::test]
async fn bad_password_is_refused() {
    let sushy = SushyEmulator::start(SushyOptions {
        auth: Some(("admin".into(), "secret".into())),
        ..SushyOptions::default()
    })
    .await
    .unwrap();
    let mut served = served().await;
    for auth in ["basic", "auto", "session"] {
        let good = json!({"redfish_address": sushy.base_url(), "redfish_username": "admin", "redfish_password": "secret", "redfish_auth_type": auth});
        let bad = json!({"redfish_address": sushy.base_url(), "redfish_username": "admin", "redfish_password": "wrong", "redfish_auth_type": auth});
        let result = served
            .client
            .get_power_state(GetPowerStateRequest { node: node(), bmc: target("redfish", good.clone()) })
            .await;
        if auth == "session" {
            // sushy-tools has no SessionService: asking for sessions only is a clear error.
            let err = result.unwrap_err();
            assert_eq!(err.code(), Code::Unimplemented, "{err}");
            continue;
        }
        assert_eq!(result.unwrap().into_inner().power_state(), PowerState::Off, "auth {auth}");
        let err = served
            .client
            .get_power_state(GetPowerStateRequest { node: node(), bmc: target("redfish", bad.clone()) })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{err}");
        assert!(
            err.message().contains("rejected the credentials") && !err.message().contains("wrong"),
            "{}",
            err.message()
        );
        let answer = served
            .client
            .validate_credentials(ValidateCredentialsRequest { node: node(), bmc: target("redfish", bad) })
            .await
            .unwrap()
            .into_inner();
        assert!(!answer.valid, "{}", answer.detail);
    }
}

#[tokio::test]
async fn tls_with_verification_on_and_off() {
    let sushy = SushyEmulator::start(SushyOptions { tls: true, ..SushyOptions::default() }).await.unwrap();
    let mut served = served().await;
    assert!(sushy.base_url().starts_with("https://"));
    let with = |verify: Value| json!({"redfish_address": sushy.base_url(), "redfish_verify_ca": verify});
    let get = |info: Value| GetPowerStateRequest { node: node(), bmc: target("redfish", info) };

    // Verified against the test CA.
    let ca = sushy.ca_path().display().to_string();
    assert_eq!(
        served.client.get_power_state(get(with(json!(ca)))).await.unwrap().into_inner().power_state(),
        PowerState::Off
    );
    // Verification off.
    assert_eq!(
        served.client.get_power_state(get(with(json!(false)))).await.unwrap().into_inner().power_state(),
        PowerState::Off
    );
    // Verification against the system store: the test CA is not in it.
    let err = served.client.get_power_state(get(with(json!(true)))).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err}");
    assert!(
        err.message().contains("TLS verification") && err.message().contains("redfish_verify_ca"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn unreachable_redfish_is_unavailable() {
    let mut served = served().await;
    let port = ferric_testkit::free_port();
    let err = served
        .client
        .get_power_state(GetPowerStateRequest {
            node: node(),
            bmc: target("redfish", json!({"redfish_address": format!("http://127.0.0.1:{port}")})),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert!(err.message().contains(&format!("127.0.0.1:{port}")), "{}", err.message());
}
