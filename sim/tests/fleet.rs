//! A small fleet provisioned end to end: five simulated machines enrolled with
//! the `redfish` driver, managed, cleaned and deployed by a real `ferric
//! all-in-one` through its REST API, every machine netbooting through the relay
//! path (DHCP, iPXE script, TFTP kernel, HTTP ramdisk) into Ferric's agent.
//! Asserts every node went `active` and every sparse disk holds the image, read
//! back here from the files themselves.

use std::path::{Path, PathBuf};
use std::process::Command;

use ferric_sim::fleet::head_sha256;
use ferric_sim::origin::Image;
use serde_json::Value;

/// The `ferric` binary next to this test's target directory, built when absent
/// (`cargo nextest run --workspace` has built it already).
fn ferric_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>");
    let ferric = profile_dir.join("ferric");
    if !ferric.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "ferric", "--bin", "ferric"])
            .status()
            .expect("run cargo build -p ferric");
        assert!(status.success(), "cargo build -p ferric failed");
    }
    assert!(ferric.exists(), "no ferric binary at {}", ferric.display());
    ferric
}

#[test]
fn five_machines_go_from_enroll_to_active_with_the_image_on_disk() {
    const NODES: usize = 5;
    const IMAGE_MIB: usize = 1;
    let work = tempfile::tempdir().expect("temp dir");
    let report_path = work.path().join("report.json");
    let output = Command::new(env!("CARGO_BIN_EXE_ferric-sim"))
        .arg("--ferric")
        .arg(ferric_binary())
        .args(["--nodes", &NODES.to_string(), "--image-mib", &IMAGE_MIB.to_string()])
        .args(["--concurrency", "4", "--phase-timeout", "600", "--ferric-log", "info"])
        .arg("--work-dir")
        .arg(work.path())
        .arg("--json")
        .arg(&report_path)
        .output()
        .expect("run ferric-sim");
    let log = std::fs::read_to_string(work.path().join("ferric/ferric.log")).unwrap_or_default();
    assert!(
        output.status.success(),
        "ferric-sim failed:\nstdout:\n{}\nstderr:\n{}\nferric log:\n{log}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report_path).expect("report written"))
        .expect("report JSON");
    assert_eq!(report["nodes"], NODES, "{report:#}");

    // Every machine netbooted twice (cleaning, deploying) through the relay and
    // fetched its kernel over TFTP and its ramdisk over HTTP, then booted its disk.
    let count = |key: &str| report[key].as_u64().unwrap_or_default();
    assert!(count("dhcp_leases") >= 2 * NODES as u64, "{report:#}");
    assert!(count("scripts") >= 2 * NODES as u64, "{report:#}");
    assert!(count("tftp_files") >= 2 * NODES as u64, "{report:#}");
    assert!(count("agents_started") >= 2 * NODES as u64, "{report:#}");
    assert!(count("disk_boots") >= NODES as u64, "{report:#}");

    // Each disk holds the image, read back from the sparse files themselves.
    let image = Image::generate(IMAGE_MIB);
    for index in 0..NODES {
        let disk = work.path().join(format!("disks/disk-{index:05}.img"));
        let digest = head_sha256(&disk, image.content.len()).expect("read disk");
        assert_eq!(digest, image.sha256, "disk {} does not hold the image", disk.display());
    }
}
