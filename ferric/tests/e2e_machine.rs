//! The whole machine, end to end: a qemu VM behind a real IPMI BMC (ipmi_sim),
//! PXE-booted by Ferric into its deploy ramdisk (Debian's kernel, busybox and
//! `ferric-agent`, built by `just ramdisk`), driven only through the real
//! `baremetal` CLI: enroll, manage (BMC credentials checked), inspect (the
//! agent's inventory through the inspection callback), provide
//! (automated cleaning by the agent), deploy (the image fetched and verified by
//! the image cache, written by the agent), boot from the disk, undeploy.
//!
//! What proves it: the disk file on the host holds the image's bytes (sha256),
//! the VM prints the deployed boot sector's random tag on its console, ipmitool
//! (not Ferric) reports the power state, and undeploy wipes the disk's first
//! sector. Each lab is a network namespace of its own, removed at the end.

use std::path::Path;
use std::time::{Duration, Instant};

use ferric_integration::free_port;
use ferric_integration::machine::{LabOptions, MACHINE_MAC, MachineLab};
use ferric_integration::test_image::{TestImage, sha256_file};

/// The instance image: small, so writing it under TCG stays quick.
const IMAGE_BYTES: usize = 6 * 1024 * 1024;
/// Deadline of one ramdisk round (PXE, kernel boot, agent, work, power off):
/// ~15 s normally under TCG, so this is generous without hiding a hang.
const RAMDISK_ROUND: Duration = Duration::from_secs(90);

fn ferric() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ferric"))
}

/// `baremetal node create --driver ipmi` for the lab's VM (BMC on `ipmi_port`)
/// and its port; returns the node's UUID.
fn enroll(lab: &MachineLab, name: &str, ipmi_port: u16, extra: &[&str]) -> String {
    let mut args: Vec<String> =
        ["node", "create", "--driver", "ipmi", "--name", name].into_iter().map(str::to_owned).collect();
    args.extend(MachineLab::driver_info_args(ipmi_port));
    args.extend(["--property".to_owned(), r#"root_device={"name": "/dev/vda"}"#.to_owned()]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args.extend(["-f", "json"].map(str::to_owned));
    let borrowed: Vec<&str> = args.iter().map(String::as_str).collect();
    let node = lab.run(&borrowed).json();
    assert_eq!(node["provision_state"], "enroll", "{node}");
    assert_eq!(node["properties"]["root_device"]["name"], "/dev/vda", "{node}");
    assert_eq!(node["driver_info"]["ipmi_password"], "******", "{node}");
    let uuid = node["uuid"].as_str().expect("uuid").to_owned();
    lab.cli.ok(&["port", "create", MACHINE_MAC, "--node", &uuid]);
    uuid
}

/// Sets the instance image of `node`.
fn set_image(lab: &MachineLab, node: &str, url: &str, sha256: &str) {
    lab.cli.ok(&[
        "node",
        "set",
        node,
        "--instance-info",
        &format!("image_source={url}"),
        "--instance-info",
        "image_os_hash_algo=sha256",
        "--instance-info",
        &format!("image_os_hash_value={sha256}"),
    ]);
}

#[test]
fn a_vm_is_cleaned_deployed_booted_from_disk_and_undeployed_through_the_cli() {
    let lab = MachineLab::start("e2e", ferric(), LabOptions::default());
    let image = TestImage::new(IMAGE_BYTES).expect("test image");
    let image_url = lab.publish("instance.img", &image.bytes);
    let mut phases: Vec<(&str, Duration)> = Vec::new();
    let mut clock = Instant::now();
    let mut phase = |name: &'static str, clock: &mut Instant| {
        phases.push((name, clock.elapsed()));
        *clock = Instant::now();
    };

    let node = enroll(&lab, "e2e-node", lab.bmc().port(), &[]);
    lab.cli.ok(&["node", "manage", &node]);
    let shown = lab.wait_provision_state(&node, "manageable", &["enroll"], Duration::from_secs(30));
    assert_eq!(shown["power_state"], "power off", "{shown}");
    assert_eq!(lab.ipmi_power_status(), "Chassis Power is off");
    phase("manage", &mut clock);

    // inspect: the ramdisk's agent posts the VM's inventory to the inspection
    // callback; the node gets its scheduling properties and is powered off.
    lab.cli.ok(&["node", "set", &node, "--inspect-interface", "agent"]);
    lab.cli.ok(&["node", "inspect", &node]);
    let inspected = lab.wait_provision_state(&node, "manageable", &["inspect failed"], RAMDISK_ROUND);
    assert!(!inspected["inspection_finished_at"].is_null(), "{inspected}");
    let properties = &inspected["properties"];
    assert_eq!((&properties["cpus"], &properties["cpu_arch"]), (&1.into(), &"x86_64".into()), "{inspected}");
    assert!(properties["memory_mb"].as_u64().is_some_and(|mb| mb > 128), "{inspected}");
    let inventory = lab.run(&["node", "inventory", "save", &node]).json();
    let macs: Vec<&str> = inventory["inventory"]["interfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["mac_address"].as_str())
        .collect();
    assert!(macs.contains(&MACHINE_MAC), "the VM's NIC is in the inventory: {macs:?}");
    lab.wait_machine(Duration::from_secs(30), "the machine to be off after inspection", |m| !m.running());
    phase("inspect", &mut clock);

    // provide: automated cleaning boots the ramdisk, whose agent erases the
    // disk's metadata, then powers the machine off.
    lab.cli.ok(&["node", "provide", &node]);
    lab.wait_provision_state(&node, "available", &["clean failed"], RAMDISK_ROUND);
    let console = lab.machine().serial();
    assert!(console.contains("FERRIC-RAMDISK-UP"), "the ramdisk's /init ran");
    assert!(console.contains(&format!("FERRIC-AGENT-LOOKUP-OK node={node}")), "the agent found its node");
    assert!(lab.machine().events().iter().any(|e| e == "boot pxe"), "{:?}", lab.machine().events());
    lab.wait_machine(Duration::from_secs(30), "the machine to be off after cleaning", |m| !m.running());
    assert_eq!(lab.ipmi_power_status(), "Chassis Power is off");
    phase("provide (automated clean)", &mut clock);

    set_image(&lab, &node, &image_url, &image.sha256);
    lab.cli.ok(&["node", "deploy", &node]);
    let active = lab.wait_provision_state(&node, "active", &["deploy failed"], RAMDISK_ROUND);
    assert_eq!(active["last_error"], serde_json::Value::Null, "{active}");
    assert!(
        lab.machine().serial().contains(&format!("FERRIC-AGENT-IMAGE-WRITTEN sha256={}", image.sha256)),
        "the agent reports the image's checksum"
    );
    let on_disk = sha256_file(&lab.machine().disk(), Some(IMAGE_BYTES as u64)).expect("sha256 of the disk");
    assert_eq!(on_disk, image.sha256, "the VM's disk holds the image");
    phase("deploy to active", &mut clock);

    // The conductor set the boot device to disk and powered the machine on:
    // the deployed boot sector prints its tag and switches the VM off.
    lab.wait_machine(Duration::from_secs(60), "the deployed disk to boot", |m| {
        m.serial().contains(&image.marker())
    });
    let events = lab.machine().events();
    let last_power_on = events.iter().rev().find(|e| e.starts_with("power on")).cloned().unwrap_or_default();
    assert_ne!(last_power_on, "power on bootdev=pxe", "the instance boots from disk: {events:?}");
    lab.wait_machine(Duration::from_secs(30), "the deployed image to power the VM off", |m| !m.running());
    assert_eq!(lab.ipmi_power_status(), "Chassis Power is off");
    phase("boot from disk", &mut clock);

    lab.cli.ok(&["node", "undeploy", &node]);
    lab.wait_provision_state(&node, "available", &["clean failed", "error"], RAMDISK_ROUND);
    let first_sector = lab.machine().disk_prefix(512);
    assert!(
        first_sector.iter().all(|b| *b == 0),
        "undeploy wiped the disk's metadata: {:02x?}",
        &first_sector[..16]
    );
    phase("undeploy (clean)", &mut clock);

    let report: Vec<String> =
        phases.iter().map(|(name, took)| format!("{name} {:.1}s", took.as_secs_f64())).collect();
    eprintln!("e2e phases: {} (total {:.1}s)", report.join(", "), lab.elapsed().as_secs_f64());
}

#[test]
fn a_wrong_image_checksum_fails_the_deploy_with_the_checksum_error() {
    let lab = MachineLab::start("e2e-sum", ferric(), LabOptions::default());
    let image = TestImage::new(IMAGE_BYTES).expect("test image");
    let image_url = lab.publish("instance.img", &image.bytes);
    let node = enroll(&lab, "e2e-bad-sum", lab.bmc().port(), &["--no-automated-clean"]);
    lab.cli.ok(&["node", "manage", &node]);
    lab.wait_provision_state(&node, "manageable", &["enroll"], Duration::from_secs(30));
    lab.cli.ok(&["node", "provide", &node]);
    lab.wait_provision_state(&node, "available", &["clean failed"], Duration::from_secs(30));

    let wrong = "0".repeat(64);
    set_image(&lab, &node, &image_url, &wrong);
    lab.cli.ok(&["node", "deploy", &node]);
    let failed = lab.wait_provision_state(&node, "deploy failed", &["active"], RAMDISK_ROUND);
    let error = failed["last_error"].as_str().unwrap_or_default().to_lowercase();
    eprintln!("last_error: {error}");
    assert!(error.contains("checksum") || error.contains("sha256"), "last_error: {error}");
    assert!(error.contains(&wrong) || error.contains(&image.sha256), "names the checksums: {error}");
    assert_ne!(
        sha256_file(&lab.machine().disk(), Some(IMAGE_BYTES as u64)).expect("sha256 of the disk"),
        image.sha256,
        "nothing was written"
    );
}

#[test]
fn a_ramdisk_without_an_agent_fails_the_deploy_by_callback_timeout() {
    let options = LabOptions { callback_timeout_secs: 15, ..LabOptions::default() };
    let lab = MachineLab::start("e2e-noagent", ferric(), options);
    let image = TestImage::new(IMAGE_BYTES).expect("test image");
    let image_url = lab.publish("instance.img", &image.bytes);
    // The ramdisk's kernel is told to run an init that does not exist: it
    // panics and (panic=-1, qemu -no-reboot) the VM powers off; no agent ever
    // calls back.
    let node = enroll(
        &lab,
        "e2e-no-agent",
        lab.bmc().port(),
        &[
            "--no-automated-clean",
            "--driver-info",
            "kernel_append_params=console=ttyS0 rdinit=/ferric-no-agent panic=-1",
        ],
    );
    lab.cli.ok(&["node", "manage", &node]);
    lab.wait_provision_state(&node, "manageable", &["enroll"], Duration::from_secs(30));
    lab.cli.ok(&["node", "provide", &node]);
    lab.wait_provision_state(&node, "available", &["clean failed"], Duration::from_secs(30));

    set_image(&lab, &node, &image_url, &image.sha256);
    lab.cli.ok(&["node", "deploy", &node]);
    let failed = lab.wait_provision_state(&node, "deploy failed", &["active"], RAMDISK_ROUND);
    let error = failed["last_error"].as_str().unwrap_or_default().to_lowercase();
    eprintln!("last_error: {error}");
    assert!(error.contains("timeout") || error.contains("timed out"), "last_error: {error}");
    // The machine did boot the ramdisk's kernel, which found no init to run.
    lab.wait_machine(Duration::from_secs(30), "the ramdisk kernel to give up", |m| {
        m.serial().contains("Kernel panic")
    });
    assert!(!lab.machine().serial().contains("FERRIC-AGENT-UP"), "no agent ran");
}

#[test]
fn manage_fails_verification_when_the_bmc_is_unreachable() {
    let lab =
        MachineLab::start("e2e-nobmc", ferric(), LabOptions { machine: false, ..LabOptions::default() });
    // A port nothing listens on: the BMC is down.
    let node = enroll(&lab, "e2e-no-bmc", free_port(), &[]);
    lab.cli.ok(&["node", "manage", &node]);
    let shown = lab.wait_provision_state(&node, "enroll", &["manageable"], Duration::from_secs(90));
    let error = shown["last_error"].as_str().unwrap_or_default();
    eprintln!("last_error: {error}");
    assert!(!error.is_empty(), "manage failed without saying why: {shown}");
    assert!(error.to_lowercase().contains("power") || error.contains("127.0.0.1"), "last_error: {error}");
}
