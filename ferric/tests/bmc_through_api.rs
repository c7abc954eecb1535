//! Nodes with the `ipmi` and `redfish` hardware types, driven through the REST API of a
//! running all-in-one: the gateway asks the conductor, the conductor asks the
//! power service, the power service speaks RMCP+ to a real `ipmi_sim` BMC — and
//! `ipmitool`, which we did not write, confirms what happened to the BMC.

use std::path::Path;
use std::time::Duration;

use ferric_integration::{FerricProcess, wait_until};
use ferric_testkit::ipmi::IpmiSim;
use serde_json::{Value, json};

const VERSION: (&str, &str) = ("X-OpenStack-Ironic-API-Version", "1.115");

#[tokio::test(flavor = "multi_thread")]
async fn power_and_boot_device_reach_a_real_bmc() {
    let sim = IpmiSim::start().await.expect("ipmi_sim starts");
    let dir = tempfile::tempdir().unwrap();
    let ferric = FerricProcess::all_in_one(Path::new(env!("CARGO_BIN_EXE_ferric")), dir.path(), &[]).await;
    let client = reqwest::Client::new();
    let api = &ferric.api;
    let driver_info: Value = serde_json::from_str(&sim.driver_info_json()).unwrap();

    let created = client
        .post(format!("{api}/v1/nodes"))
        .header(VERSION.0, VERSION.1)
        .json(&json!({"name": "bmc-node", "driver": "ipmi", "driver_info": driver_info}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let node: Value = created.json().await.unwrap();
    assert_eq!(node["power_interface"], "ipmitool");
    assert_eq!(node["driver_info"]["ipmi_password"], "******");

    for (target, state, ipmitool_says) in
        [("power on", "power on", "Chassis Power is on"), ("power off", "power off", "Chassis Power is off")]
    {
        let accepted = client
            .put(format!("{api}/v1/nodes/bmc-node/states/power"))
            .header(VERSION.0, VERSION.1)
            .json(&json!({"target": target}))
            .send()
            .await
            .unwrap();
        assert_eq!(accepted.status(), 202, "{}", accepted.text().await.unwrap_or_default());
        wait_until(Duration::from_secs(30), &format!("the API to report {state}"), || {
            let request = client.get(format!("{api}/v1/nodes/bmc-node")).header(VERSION.0, VERSION.1).send();
            async move {
                let Ok(response) = request.await else { return false };
                response
                    .json::<Value>()
                    .await
                    .is_ok_and(|n| n["power_state"] == state && n["target_power_state"].is_null())
            }
        })
        .await;
        let status = sim.ipmitool(&["chassis", "power", "status"]).await.unwrap();
        let text = String::from_utf8_lossy(&status.stdout);
        assert!(text.contains(ipmitool_says), "ipmitool says {text:?}, expected {ipmitool_says}");
    }

    let set = client
        .put(format!("{api}/v1/nodes/bmc-node/management/boot_device"))
        .header(VERSION.0, VERSION.1)
        .json(&json!({"boot_device": "pxe"}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204, "{}", set.text().await.unwrap_or_default());
    let param = sim.ipmitool(&["chassis", "bootparam", "get", "5"]).await.unwrap();
    let text = String::from_utf8_lossy(&param.stdout);
    assert!(text.contains("Force PXE"), "boot flags: {text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn redfish_power_and_boot_device_reach_sushy_tools() {
    use ferric_testkit::redfish::{SushyEmulator, SushyOptions};
    let sushy = SushyEmulator::start(SushyOptions::default()).await.expect("sushy-emulator starts");
    let dir = tempfile::tempdir().unwrap();
    let ferric = FerricProcess::all_in_one(Path::new(env!("CARGO_BIN_EXE_ferric")), dir.path(), &[]).await;
    let client = reqwest::Client::new();
    let api = &ferric.api;
    let system = format!("{}/redfish/v1/Systems/{}", sushy.base_url(), sushy.system_uuids()[0]);
    let created = client
        .post(format!("{api}/v1/nodes"))
        .header(VERSION.0, VERSION.1)
        .json(&json!({"name": "rf-node", "driver": "redfish", "driver_info": {"redfish_address": sushy.base_url()}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    for (target, state, redfish) in [("power on", "power on", "On"), ("power off", "power off", "Off")] {
        let accepted = client
            .put(format!("{api}/v1/nodes/rf-node/states/power"))
            .header(VERSION.0, VERSION.1)
            .json(&json!({"target": target}))
            .send()
            .await
            .unwrap();
        assert_eq!(accepted.status(), 202, "{}", accepted.text().await.unwrap_or_default());
        wait_until(Duration::from_secs(60), &format!("the API to report {state}"), || {
            let request = client.get(format!("{api}/v1/nodes/rf-node")).header(VERSION.0, VERSION.1).send();
            async move {
                let Ok(response) = request.await else { return false };
                response
                    .json::<Value>()
                    .await
                    .is_ok_and(|n| n["power_state"] == state && n["target_power_state"].is_null())
            }
        })
        .await;
        // The emulator's own view, read without Ferric.
        let seen: Value = client.get(&system).send().await.unwrap().json().await.unwrap();
        assert_eq!(seen["PowerState"], redfish, "{seen}");
    }

    let set = client
        .put(format!("{api}/v1/nodes/rf-node/management/boot_device"))
        .header(VERSION.0, VERSION.1)
        .json(&json!({"boot_device": "pxe", "persistent": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204, "{}", set.text().await.unwrap_or_default());
    let seen: Value = client.get(&system).send().await.unwrap().json().await.unwrap();
    assert_eq!(seen["Boot"]["BootSourceOverrideTarget"], "Pxe", "{seen}");
    assert_eq!(seen["Boot"]["BootSourceOverrideEnabled"], "Continuous", "{seen}");

    // Virtual media, read back from the emulator's own VirtualMedia resource.
    // The emulator downloads the image, so serve one.
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("boot.iso"), vec![0u8; 64 * 1024]).unwrap();
    let port = ferric_testkit::free_port();
    let mut server = std::process::Command::new("python3")
        .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1"])
        .current_dir(files.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 http.server");
    let image = format!("http://127.0.0.1:{port}/boot.iso");
    wait_until(Duration::from_secs(20), "the image server", || {
        let request = client.head(&image).send();
        async move { request.await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;
    let attach = client
        .post(format!("{api}/v1/nodes/rf-node/vmedia"))
        .header(VERSION.0, VERSION.1)
        .json(&json!({"device_type": "cdrom", "image_url": image}))
        .send()
        .await
        .unwrap();
    assert_eq!(attach.status(), 204, "{}", attach.text().await.unwrap_or_default());
    let cd = cd_media(&client, &system).await;
    assert_eq!((cd["Image"].as_str(), cd["Inserted"].as_bool()), (Some(image.as_str()), Some(true)), "{cd}");
    let listed: Value = client
        .get(format!("{api}/v1/nodes/rf-node/vmedia"))
        .header(VERSION.0, VERSION.1)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["vmedia"][0]["image_url"], image.as_str());
    let detach = client
        .delete(format!("{api}/v1/nodes/rf-node/vmedia?device_types=cdrom"))
        .header(VERSION.0, VERSION.1)
        .send()
        .await
        .unwrap();
    assert_eq!(detach.status(), 204, "{}", detach.text().await.unwrap_or_default());
    let cd = cd_media(&client, &system).await;
    assert_ne!(cd["Inserted"].as_bool(), Some(true), "{cd}");
    let _ = server.kill();
    let _ = server.wait();
}

/// The emulator's CD virtual media resource of `system` (sushy-tools keeps
/// virtual media under the system).
async fn cd_media(client: &reqwest::Client, system: &str) -> Value {
    client.get(format!("{system}/VirtualMedia/Cd")).send().await.unwrap().json::<Value>().await.unwrap()
}
