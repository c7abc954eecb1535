//! Crash safety: a `kill -9` mid-download leaves a partial file only in `tmp/`,
//! and the next start removes it and serves nothing torn; records and
//! artifacts that disagree are dropped at start.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Mode, Origin, ensure, files_in, image_bytes, open_cache, settings, sha256_hex, spec};

const MIB: usize = 1 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_download_leaves_no_torn_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let origin = Origin::start().await;
    let bytes = image_bytes(4 * MIB, 60);
    // Slow enough that the kill lands mid-body (about 6 s in all).
    let url = origin.put(
        "/disk.img",
        bytes.clone(),
        Mode::Slow { chunk: 64 * 1024, delay: Duration::from_millis(100) },
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_imagecache-tool"))
        .args([
            "fetch",
            "--cache-dir",
            dir.path().to_str().unwrap(),
            "--url",
            &url,
            "--checksum",
            &sha256_hex(&bytes),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Wait (on the child's own output) until bytes have reached its temp file.
    let started = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout).lines().map_while(Result::ok).any(|line| {
            line.split(' ')
                .collect::<Vec<_>>()
                .as_slice()
                .get(1)
                .and_then(|d| d.parse::<u64>().ok())
                .is_some_and(|d| d >= 256 * 1024)
        })
    });
    assert!(tokio::time::timeout(Duration::from_secs(30), started).await.unwrap().unwrap());
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // The partial download is in tmp/, never in images/.
    let tmp = files_in(&dir.path().join("tmp"));
    assert!(tmp.iter().any(|f| f.starts_with("download-")), "{tmp:?}");
    assert!(files_in(&dir.path().join("images")).is_empty());

    // Restart: leftovers gone, nothing listed, and the image can be fetched.
    let cache = open_cache(&settings(dir.path(), dir.path()));
    assert!(files_in(&dir.path().join("tmp")).is_empty());
    assert!(cache.store().list("", 10).is_empty());
    origin.put("/disk.img", bytes.clone(), Mode::Good);
    let record = ensure(&cache, spec(&url, &sha256_hex(&bytes), "", false)).await.result.unwrap();
    assert_eq!(std::fs::read(cache.store().image_path(&record.id)).unwrap(), bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_drops_torn_artifacts_and_orphans() {
    let dir = tempfile::tempdir().unwrap();
    let origin = Origin::start().await;
    let (a, b) = (image_bytes(MIB, 61), image_bytes(MIB, 62));
    let (url_a, url_b) =
        (origin.put("/a.img", a.clone(), Mode::Good), origin.put("/b.img", b.clone(), Mode::Good));
    let s = settings(dir.path(), dir.path());
    {
        let cache = open_cache(&s);
        ensure(&cache, spec(&url_a, "", "", false)).await.result.unwrap();
        ensure(&cache, spec(&url_b, "", "", false)).await.result.unwrap();
        // A second process may not use the directory meanwhile.
        let second = ferric_imagecache::ImageCache::open(&s, "http://x".into());
        assert!(matches!(second, Err(ferric_imagecache::ImageCacheError::Locked(_))));
    }
    let images = dir.path().join("images");
    // a is torn (shorter than its record says); an orphan has no record.
    std::fs::write(images.join(sha256_hex(&a)), &a[..1000]).unwrap();
    std::fs::write(images.join("f".repeat(64)), b"orphan").unwrap();
    std::fs::write(dir.path().join("meta").join("junk.json"), b"{").unwrap();

    let cache = open_cache(&s);
    let ids: Vec<String> = cache.store().list("", 10).into_iter().map(|r| r.id).collect();
    assert_eq!(ids, [sha256_hex(&b)]);
    let mut on_disk = files_in(&images);
    on_disk.sort();
    assert_eq!(on_disk, [sha256_hex(&b)]);
    assert_eq!(files_in(&dir.path().join("meta")), [format!("{}.json", sha256_hex(&b))]);
    // b is still a cache hit after the restart.
    let again = ensure(&cache, spec(&url_b, "", "", false)).await;
    assert_eq!(again.states.len(), 1);
    assert_eq!(origin.gets("/b.img"), 1);
}
