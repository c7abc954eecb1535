//! Writing images and erasing disks on simulated hardware, against a real HTTP
//! origin: good images land byte for byte; corrupt, short and missing ones fail
//! with IPA's error classes; root device hints choose the disk; erasure clears
//! metadata at both ends.

mod common;

use std::io::{Read, Seek, SeekFrom, Write};

use common::{Harness, hex, image, image_info, sha256};
use serde_json::{Value, json};
use sha2::Digest;

fn read_disk(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).expect("read disk")
}

fn error_of(result: &Value) -> (String, String) {
    assert_eq!(result["command_status"], "FAILED", "{result}");
    let error = &result["command_error"];
    (
        error["type"].as_str().unwrap_or_default().to_owned(),
        error["details"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_image_is_written_byte_for_byte_and_the_rest_is_untouched() {
    let agent = Harness::start().await;
    let data = image(3 << 20 | 12_345);
    let url = agent.origin.put("disk.img", &data);
    let result = agent.write_image(image_info(&url, &sha256(&data)), json!({"name": "/dev/vda"})).await;
    assert_eq!(result["command_status"], "SUCCEEDED", "{result}");
    assert_eq!(result["command_name"], "execute_deploy_step");
    assert_eq!(result["command_result"]["deploy_step"]["step"], "write_image");
    let disk = read_disk(&agent.disks[0]);
    assert_eq!(disk.len(), 64 << 20, "the disk keeps its size");
    assert_eq!(&disk[..data.len()], &data[..]);
    assert!(disk[data.len()..].iter().all(|b| *b == 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_md5_sha512_and_checksum_files_verify_too() {
    let agent = Harness::start().await;
    let data = image(1 << 20);
    let url = agent.origin.put("disk.img", &data);
    let md5 = hex(&md5::Md5::digest(&data));
    let legacy = json!({"id": "i", "urls": [url], "disk_format": "raw", "checksum": md5,
                        "os_hash_algo": null, "os_hash_value": null});
    assert_eq!(agent.write_image(legacy, Value::Null).await["command_status"], "SUCCEEDED");
    let sha512 = hex(&sha2::Sha512::digest(&data));
    let modern =
        json!({"id": "i", "urls": [url], "os_hash_algo": "sha512", "os_hash_value": sha512.to_uppercase()});
    assert_eq!(agent.write_image(modern, Value::Null).await["command_status"], "SUCCEEDED");
    let sums = agent.origin.put(
        "SHA256SUMS",
        format!("{}  other.img\n{}  disk.img\n", "0".repeat(64), sha256(&data)).as_bytes(),
    );
    let by_file = json!({"id": "i", "urls": [url], "os_hash_algo": "sha256", "os_hash_value": sums});
    assert_eq!(agent.write_image(by_file, Value::Null).await["command_status"], "SUCCEEDED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_image_fails_with_the_checksum_error_and_both_sums() {
    let agent = Harness::start().await;
    let data = image(2 << 20);
    let expected = sha256(&data);
    let mut corrupt = data.clone();
    corrupt[1_000_000] ^= 0xff;
    let url = agent.origin.put("disk.img", &corrupt);
    let result = agent.write_image(image_info(&url, &expected), Value::Null).await;
    let (kind, details) = error_of(&result);
    assert_eq!(kind, "ImageChecksumError");
    assert_eq!(result["command_error"]["message"], "Error verifying image checksum");
    assert!(details.contains("Image checksum mismatch"), "{details}");
    assert!(details.contains(&expected), "expected sum in {details}");
    assert!(details.contains(&sha256(&corrupt)), "actual sum in {details}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_missing_oversized_qcow2_and_unverifiable_images_fail_clearly() {
    let agent = Harness::start().await;
    let data = image(1 << 20);
    let short = common::lying_origin(2 << 20, &data).await;
    let (kind, details) = error_of(&agent.write_image(image_info(&short, &sha256(&data)), Value::Null).await);
    assert_eq!(kind, "ImageDownloadError", "{details}");
    assert!(details.contains(&format!("{}", 2 << 20)), "names the announced length: {details}");

    let missing = format!("{}/missing.img", agent.origin.url);
    let (kind, details) =
        error_of(&agent.write_image(image_info(&missing, &sha256(&data)), Value::Null).await);
    assert_eq!(kind, "ImageDownloadError");
    assert!(details.contains("404"), "{details}");

    let big = image((64 << 20) + 1);
    let url = agent.origin.put("big.img", &big);
    let (kind, details) = error_of(&agent.write_image(image_info(&url, &sha256(&big)), Value::Null).await);
    assert_eq!(kind, "ImageWriteError");
    assert!(details.contains("larger than the disk"), "{details}");

    let (qcow, _) = qcow2(&image(1 << 20), true);
    let url = agent.origin.put("disk.qcow2", &qcow);
    let (kind, details) = error_of(&agent.write_image(image_info(&url, &sha256(&qcow)), Value::Null).await);
    assert_eq!(kind, "ImageWriteError");
    assert!(details.contains("compressed clusters") && details.contains("image cache"), "{details}");

    let url = agent.origin.put("disk.img", &data);
    let unverified = json!({"id": "i", "urls": [url], "checksum": null, "os_hash_value": null});
    let (kind, details) = error_of(&agent.write_image(unverified, Value::Null).await);
    assert_eq!(kind, "InvalidCommandParamsError");
    assert!(details.contains("no checksum"), "{details}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_device_hints_choose_the_disk_and_a_miss_fails() {
    let gib = 1u64 << 30;
    let agent = Harness::with_disks(
        &[("/dev/sda", 20 * gib), ("/dev/sdb", 5 * gib), ("/dev/vdc", 64 << 20)],
        ferric_agent::root_device::DEFAULT_MIN_ROOT_DISK_BYTES,
    )
    .await;
    let data = image(1 << 20);
    let url = agent.origin.put("disk.img", &data);
    let info = image_info(&url, &sha256(&data));
    let head = |index: usize| {
        let mut file = std::fs::File::open(&agent.disks[index]).expect("disk");
        let mut buf = vec![0u8; data.len()];
        file.read_exact(&mut buf).expect("read");
        buf == data
    };
    // No hints: the smallest disk of at least 4 GiB.
    assert_eq!(agent.write_image(info.clone(), Value::Null).await["command_status"], "SUCCEEDED");
    assert_eq!([head(0), head(1), head(2)], [false, true, false]);
    // A name hint picks a disk below the minimum.
    assert_eq!(agent.write_image(info.clone(), json!({"name": "vdc"})).await["command_status"], "SUCCEEDED");
    assert!(head(2));
    assert_eq!(
        agent.write_image(info.clone(), json!({"size": ">= 10"})).await["command_status"],
        "SUCCEEDED"
    );
    assert!(head(0));
    let (kind, details) = error_of(&agent.write_image(info.clone(), json!({"serial": "nope"})).await);
    assert_eq!(kind, "DeviceNotFound");
    assert!(details.contains("/dev/sda") && details.contains("serial"), "{details}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erase_devices_metadata_clears_both_ends_and_erase_devices_everything() {
    let agent = Harness::with_disks(&[("/dev/vda", 64 << 20), ("/dev/vdb", 8 << 20)], 0).await;
    let mark = |path: &std::path::Path, offset: u64| {
        let mut file = std::fs::OpenOptions::new().write(true).open(path).expect("disk");
        file.seek(SeekFrom::Start(offset)).expect("seek");
        file.write_all(b"EFI PART-signature").expect("write");
    };
    for path in &agent.disks {
        let size = std::fs::metadata(path).expect("size").len();
        for offset in [0, 512, (1 << 20) - 18, 4 << 20, size - (1 << 20), size - 512] {
            mark(path, offset);
        }
    }
    let step = |name: &str| {
        json!({"step": {"interface": "deploy", "step": name, "priority": 99, "args": {}},
                                   "node": {"uuid": common::NODE}, "ports": [], "clean_version": null})
    };
    let result = agent.run("clean.execute_clean_step", step("erase_devices_metadata")).await;
    assert_eq!(result["command_status"], "SUCCEEDED", "{result}");
    assert_eq!(result["command_result"]["clean_step"]["step"], "erase_devices_metadata");
    for path in &agent.disks {
        let disk = read_disk(path);
        let mib = 1 << 20;
        assert!(disk[..mib].iter().all(|b| *b == 0), "first MiB of {path:?}");
        assert!(disk[disk.len() - mib..].iter().all(|b| *b == 0), "last MiB (GPT backup) of {path:?}");
        assert_eq!(&disk[4 << 20..(4 << 20) + 18], b"EFI PART-signature", "the middle is data, kept");
    }
    let result = agent.run("clean.execute_clean_step", step("erase_devices")).await;
    assert_eq!(result["command_status"], "SUCCEEDED", "{result}");
    for path in &agent.disks {
        assert!(read_disk(path).iter().all(|b| *b == 0), "{path:?} erased");
    }
    let unknown = agent.run("clean.execute_clean_step", step("burnin_cpu")).await;
    let (kind, _) = error_of(&unknown);
    assert_eq!(kind, "IncompatibleHardwareMethodError");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepare_image_writes_with_the_lookup_nodes_hints() {
    let agent = Harness::start().await;
    let data = image(1 << 20);
    let url = agent.origin.put("disk.img", &data);
    let result = agent
        .run(
            "standby.prepare_image",
            json!({"image_info": image_info(&url, &sha256(&data)), "configdrive": null}),
        )
        .await;
    assert_eq!(result["command_status"], "SUCCEEDED", "{result}");
    assert!(result["command_result"]["result"].as_str().is_some_and(|r| r.contains("/dev/vda")), "{result}");
    assert_eq!(&read_disk(&agent.disks[0])[..data.len()], &data[..]);
}

/// A qcow2 v3 image (64 KiB clusters) of `guest`: all-zero clusters are left
/// unallocated except one marked with the zero flag, data clusters are stored in
/// reverse order; with `compressed`, the first data cluster is marked compressed.
/// Returns the file and the virtual size.
fn qcow2(guest: &[u8], compressed: bool) -> (Vec<u8>, u64) {
    const CLUSTER: usize = 1 << 16;
    let clusters = guest.len().div_ceil(CLUSTER);
    assert!(clusters <= CLUSTER / 8, "one L2 table");
    let mut file = vec![0u8; 4 * CLUSTER];
    let header = &mut file[..104];
    header[..4].copy_from_slice(b"QFI\xfb");
    header[4..8].copy_from_slice(&3u32.to_be_bytes());
    header[20..24].copy_from_slice(&16u32.to_be_bytes());
    header[24..32].copy_from_slice(&(guest.len() as u64).to_be_bytes());
    header[36..40].copy_from_slice(&1u32.to_be_bytes());
    header[40..48].copy_from_slice(&(CLUSTER as u64).to_be_bytes());
    header[48..56].copy_from_slice(&(2 * CLUSTER as u64).to_be_bytes());
    header[56..60].copy_from_slice(&1u32.to_be_bytes());
    header[96..100].copy_from_slice(&4u32.to_be_bytes());
    header[100..104].copy_from_slice(&104u32.to_be_bytes());
    let l2_offset = 3 * CLUSTER as u64;
    file[CLUSTER..CLUSTER + 8].copy_from_slice(&(l2_offset | 1 << 63).to_be_bytes());
    let mut entries = vec![0u64; clusters];
    let mut zero_flagged = false;
    let mut first_data = true;
    for index in (0..clusters).rev() {
        let data = &guest[index * CLUSTER..guest.len().min((index + 1) * CLUSTER)];
        if data.iter().all(|b| *b == 0) {
            if !zero_flagged {
                entries[index] = 1;
                zero_flagged = true;
            }
            continue;
        }
        let host = file.len() as u64;
        let mut cluster = data.to_vec();
        cluster.resize(CLUSTER, 0);
        file.extend_from_slice(&cluster);
        entries[index] = host | 1 << 63;
        if compressed && first_data {
            entries[index] |= 1 << 62;
        }
        first_data = false;
    }
    for (index, entry) in entries.iter().enumerate() {
        let at = 3 * CLUSTER + index * 8;
        file[at..at + 8].copy_from_slice(&entry.to_be_bytes());
    }
    (file, guest.len() as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qcow2_image_is_verified_then_written_as_the_disk_it_describes() {
    let agent = Harness::start().await;
    std::fs::write(&agent.disks[0], vec![0xaa; 64 << 20]).expect("old data on the disk");
    // 3 MiB and a bit: data, two zero clusters, data, a partial last cluster.
    let mut guest = image((3 << 20) + 1536);
    guest[1 << 20..(1 << 20) + (2 << 16)].fill(0);
    let (file, size) = qcow2(&guest, false);
    let url = agent.origin.put("disk.qcow2", &file);
    let mut info = image_info(&url, &sha256(&file));
    info["disk_format"] = json!("qcow2");
    let result = agent.write_image(info, Value::Null).await;
    assert_eq!(result["command_status"], "SUCCEEDED", "{result}");
    let disk = read_disk(&agent.disks[0]);
    assert_eq!(sha256(&disk[..size as usize]), sha256(&guest), "the guest disk, zero clusters included");
    assert!(disk[size as usize..].iter().all(|b| *b == 0xaa), "nothing past the virtual size");
    let scratch: Vec<_> = std::fs::read_dir(&agent.scratch).expect("scratch").flatten().collect();
    assert!(scratch.is_empty(), "the scratch copy is removed: {scratch:?}");

    let mut info = image_info(&url, &sha256(b"another image"));
    info["disk_format"] = json!("qcow2");
    let (kind, _) = error_of(&agent.write_image(info, Value::Null).await);
    assert_eq!(kind, "ImageChecksumError", "verified before conversion");
}
