//! qcow2 to raw with qemu-img: sparse, virtual size reported, content intact;
//! images pointing at host files are refused.

mod common;

use std::os::unix::fs::MetadataExt;
use std::process::Command;

use common::{Mode, Origin, ensure, files_in, image_bytes, open_cache, settings, sha256_hex, spec};
use tonic::Code;

const MIB: u64 = 1 << 20;

fn qemu_img(args: &[&str]) {
    let status =
        Command::new("qemu-img").args(args).status().expect("qemu-img (scripts/install-deps.sh installs it)");
    assert!(status.success(), "qemu-img {args:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qcow2_becomes_sparse_raw_with_its_virtual_size() {
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    // A 64 MiB disk holding 1 MiB of data at 8 MiB, the rest holes.
    let raw = work.path().join("disk.raw");
    let data = image_bytes(MIB as usize, 50);
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::File::create(&raw).unwrap();
        f.set_len(64 * MIB).unwrap();
        f.seek(SeekFrom::Start(8 * MIB)).unwrap();
        f.write_all(&data).unwrap();
    }
    let expected_raw = std::fs::read(&raw).unwrap();
    let qcow2 = work.path().join("disk.qcow2");
    qemu_img(&["convert", "-f", "raw", "-O", "qcow2", raw.to_str().unwrap(), qcow2.to_str().unwrap()]);
    let qcow2_bytes = std::fs::read(&qcow2).unwrap();

    let origin = Origin::start().await;
    let url = origin.put("/disk.qcow2", qcow2_bytes.clone(), Mode::Good);
    let cache = open_cache(&settings(dir.path(), dir.path()));

    let as_is = ensure(&cache, spec(&url, &sha256_hex(&qcow2_bytes), "", false)).await.result.unwrap();
    assert_eq!(as_is.disk_format, "qcow2");
    assert_eq!(as_is.virtual_size, 64 * MIB);
    assert_eq!(as_is.size, qcow2_bytes.len() as u64);

    // The checksum is of what the origin serves (the qcow2), as in Ironic.
    let converted = ensure(&cache, spec(&url, &sha256_hex(&qcow2_bytes), "", true)).await.result.unwrap();
    assert_eq!(converted.disk_format, "raw");
    assert_eq!(converted.virtual_size, 64 * MIB);
    assert_eq!(converted.size, 64 * MIB);
    assert_eq!(converted.id, sha256_hex(&expected_raw));
    let path = cache.store().image_path(&converted.id);
    assert_eq!(std::fs::read(&path).unwrap(), expected_raw);
    let allocated = std::fs::metadata(&path).unwrap().blocks() * 512;
    assert!(allocated < 16 * MIB, "raw kept sparse: {allocated} bytes allocated");
    assert!(files_in(&dir.path().join("tmp")).is_empty());
    // Both forms are cached, one download each.
    assert_eq!(cache.store().list("", 10).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_with_backing_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let overlay = work.path().join("overlay.qcow2");
    qemu_img(&[
        "create",
        "-q",
        "-f",
        "qcow2",
        "-b",
        "/etc/hostname",
        "-F",
        "raw",
        overlay.to_str().unwrap(),
        "1M",
    ]);
    let origin = Origin::start().await;
    let url = origin.put("/overlay.qcow2", std::fs::read(&overlay).unwrap(), Mode::Good);
    let cache = open_cache(&settings(dir.path(), dir.path()));
    let outcome = ensure(&cache, spec(&url, "", "", true)).await;
    let error = outcome.result.unwrap_err();
    assert_eq!(error.code(), Code::FailedPrecondition);
    assert!(error.to_string().contains("backing file"), "{error}");
    assert!(files_in(&dir.path().join("tmp")).is_empty());
    assert!(files_in(&dir.path().join("images")).is_empty());
}
