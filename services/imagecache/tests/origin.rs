//! Ensure against an origin that misbehaves: resume works, corruption and lies
//! are caught with clear errors, and nothing half-written stays or is served.

mod common;

use std::time::Duration;

use common::{Mode, Origin, ensure, files_in, image_bytes, open_cache, settings, sha256_hex, spec};
use ferric_imagecache::flight::{FlightState, Phase};
use tonic::Code;

const MIB: usize = 1 << 20;

fn code(outcome: &common::Outcome) -> Option<Code> {
    outcome.result.as_ref().err().map(|e| e.code())
}

fn message(outcome: &common::Outcome) -> String {
    outcome.result.as_ref().err().map(|e| e.to_string()).unwrap_or_default()
}

/// After a failure: no temp file left, nothing committed.
fn assert_clean(dir: &std::path::Path) {
    assert!(files_in(&dir.join("tmp")).is_empty(), "tmp: {:?}", files_in(&dir.join("tmp")));
    assert!(files_in(&dir.join("images")).is_empty(), "images: {:?}", files_in(&dir.join("images")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn good_download_is_verified_and_stored_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let origin = Origin::start().await;
    let bytes = image_bytes(3 * MIB + 17, 1);
    let url = origin.put("/disk.img", bytes.clone(), Mode::Good);
    let cache = open_cache(&settings(dir.path(), dir.path()));
    let outcome = ensure(&cache, spec(&url, &sha256_hex(&bytes), "", false)).await;
    let record = outcome.result.unwrap();
    assert_eq!(record.id, sha256_hex(&bytes));
    assert_eq!(record.size, bytes.len() as u64);
    assert_eq!(record.disk_format, "raw");
    assert_eq!(std::fs::read(cache.store().image_path(&record.id)).unwrap(), bytes);
    assert!(files_in(&dir.path().join("tmp")).is_empty());
    // A second Ensure is a cache hit: no new request to the origin.
    let again = ensure(&cache, spec(&url, &sha256_hex(&bytes), "sha256", false)).await;
    assert_eq!(again.result.unwrap().id, record.id);
    assert_eq!(origin.gets("/disk.img"), 1);
    assert_eq!(again.states.len(), 1, "a hit answers at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_resume_with_range() {
    let dir = tempfile::tempdir().unwrap();
    let origin = Origin::start().await;
    let bytes = image_bytes(4 * MIB, 2);
    let url = origin.put("/disk.img", bytes.clone(), Mode::DropAfter { after: MIB, times: 2 });
    let cache = open_cache(&settings(dir.path(), dir.path()));
    let outcome = ensure(&cache, spec(&url, &sha256_hex(&bytes), "", false)).await;
    assert_eq!(outcome.result.unwrap().id, sha256_hex(&bytes));
    assert_eq!(origin.gets("/disk.img"), 3);
    assert_eq!(origin.ranges(), vec![format!("bytes={MIB}-"), format!("bytes={}-", 2 * MIB)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_ignoring_range_is_read_again_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let origin = Origin::start().await;
    let bytes = image_bytes(2 * MIB, 3);
    let url = origin.put("/disk.img", bytes.clone(), Mode::IgnoreRange { after: MIB, times: 1 });
    let cache = open_cache(&settings(dir.path(), dir.path()));
    let outcome = ensure(&cache, spec(&url, &sha256_hex(&bytes), "", false)).await;
    let record = outcome.result.unwrap();
    assert_eq!(record.id, sha256_hex(&bytes));
    assert_eq!(std::fs::read(cache.store().image_path(&record.id)).unwrap(), bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_lying_about_length_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let origin = Origin::start().await;
    let bytes = image_bytes(MIB, 4);
    let url = origin.put("/disk.img", bytes.clone(), Mode::LieLength { extra: 1000 });
    let cache = open_cache(&settings(dir.path(), dir.path()));
    let outcome = ensure(&cache, spec(&url, "", "", false)).await;
    assert_eq!(code(&outcome), Some(Code::Unavailable), "{}", message(&outcome));
    assert!(message(&outcome).contains(&url), "{}", message(&outcome));
    assert_clean(dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_bytes_are_caught_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let origin = Origin::start().await;
    let bytes = image_bytes(2 * MIB, 5);
    let url = origin.put("/disk.img", bytes.clone(), Mode::Corrupt);
    let cache = open_cache(&settings(dir.path(), dir.path()));
    for (algorithm, expected) in [("", sha256_hex(&bytes)), ("md5", md5_hex(&bytes))] {
        let outcome = ensure(&cache, spec(&url, &expected, algorithm, false)).await;
        assert_eq!(code(&outcome), Some(Code::DataLoss));
        let text = message(&outcome);
        assert!(text.contains(&expected) && text.contains("checksum mismatch"), "{text}");
        assert_clean(dir.path());
    }
    assert!(cache.store().list("", 10).is_empty());
}

fn md5_hex(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn md5_and_sha512_are_checked() {
    use sha2::{Digest, Sha512};
    let dir = tempfile::tempdir().unwrap();
    let origin = Origin::start().await;
    let bytes = image_bytes(MIB, 6);
    let url = origin.put("/disk.img", bytes.clone(), Mode::Good);
    let cache = open_cache(&settings(dir.path(), dir.path()));
    let outcome = ensure(&cache, spec(&url, &md5_hex(&bytes), "md5", false)).await;
    assert!(outcome.result.is_ok());
    let sha512: String = Sha512::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    // sha512 was not computed for the cached copy: fetched again, same artifact.
    let outcome = ensure(&cache, spec(&url, &sha512, "", false)).await;
    assert_eq!(outcome.result.unwrap().id, sha256_hex(&bytes));
    assert_eq!(origin.gets("/disk.img"), 2);
    assert_eq!(cache.store().list("", 10).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_url_and_map_to_codes() {
    let dir = tempfile::tempdir().unwrap();
    let origin = Origin::start().await;
    let cache = open_cache(&settings(dir.path(), dir.path()));
    let missing = origin.url("/nope.img");
    let outcome = ensure(&cache, spec(&missing, "", "", false)).await;
    assert_eq!(code(&outcome), Some(Code::NotFound));
    assert!(message(&outcome).contains(&missing));

    let url = origin.put("/broken.img", vec![1u8; 10], Mode::Status { status: 500, times: 100 });
    let outcome = ensure(&cache, spec(&url, "", "", false)).await;
    assert_eq!(code(&outcome), Some(Code::Unavailable));
    assert!(message(&outcome).contains("500"), "{}", message(&outcome));
    assert_eq!(origin.gets("/broken.img"), 3, "retried up to max_attempts");

    let url = origin.put("/forbidden.img", vec![1u8; 10], Mode::Status { status: 403, times: 100 });
    let outcome = ensure(&cache, spec(&url, "", "", false)).await;
    assert_eq!(code(&outcome), Some(Code::FailedPrecondition));

    // A port nobody listens on.
    let refused = "http://127.0.0.1:1/x.img";
    let outcome = ensure(&cache, spec(refused, "", "", false)).await;
    assert_eq!(code(&outcome), Some(Code::Unavailable));
    assert_clean(dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_errors_and_redirects_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    let origin = Origin::start().await;
    let bytes = image_bytes(MIB, 7);
    let url = origin.put("/flaky.img", bytes.clone(), Mode::Status { status: 503, times: 2 });
    origin.put("/moved.img", Vec::new(), Mode::Redirect("/flaky.img".into()));
    let cache = open_cache(&settings(dir.path(), dir.path()));
    let outcome = ensure(&cache, spec(&origin.url("/moved.img"), &sha256_hex(&bytes), "", false)).await;
    assert_eq!(outcome.result.unwrap().id, sha256_hex(&bytes));
    assert_eq!(origin.gets("/flaky.img"), 3);
    let _ = url;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_origin_reports_progress_until_ready() {
    let dir = tempfile::tempdir().unwrap();
    let origin = Origin::start().await;
    let bytes = image_bytes(MIB, 8);
    let url = origin.put(
        "/slow.img",
        bytes.clone(),
        Mode::Slow { chunk: 64 * 1024, delay: Duration::from_millis(40) },
    );
    let cache = open_cache(&settings(dir.path(), dir.path()));
    let outcome = ensure(&cache, spec(&url, &sha256_hex(&bytes), "", false)).await;
    assert!(outcome.result.is_ok());
    let downloading: Vec<u64> = outcome
        .states
        .iter()
        .filter_map(|s| match s {
            FlightState::Working { phase: Phase::Downloading, done, total } => {
                // Zero until the origin's headers give the length.
                assert!(*total == 0 || *total == bytes.len() as u64, "{total}");
                Some(*done)
            }
            _ => None,
        })
        .collect();
    assert!(downloading.len() >= 3, "progress events: {downloading:?}");
    assert!(downloading.windows(2).all(|w| w[0] <= w[1]), "{downloading:?}");
    assert!(outcome.states.iter().any(|s| matches!(s, FlightState::Working { phase: Phase::Verifying, .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checksum_files_are_fetched_and_matched_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let origin = Origin::start().await;
    let bytes = image_bytes(MIB, 9);
    let url = origin.put("/images/disk.img", bytes.clone(), Mode::Good);
    let sums = format!("{}  other.img\n{} *disk.img\n", "0".repeat(64), sha256_hex(&bytes));
    let sums_url = origin.put("/images/SHA256SUMS", sums, Mode::Good);
    let cache = open_cache(&settings(dir.path(), dir.path()));
    let outcome = ensure(&cache, spec(&url, &sums_url, "sha256", false)).await;
    assert_eq!(outcome.result.unwrap().id, sha256_hex(&bytes));

    let wrong = origin.put("/images/WRONG", format!("{}  disk.img\n", "a".repeat(64)), Mode::Good);
    let other = origin.put("/images/disk2.img", bytes.clone(), Mode::Good);
    let outcome = ensure(&cache, spec(&other, &wrong, "", false)).await;
    assert_eq!(code(&outcome), Some(Code::DataLoss));

    let outcome = ensure(&cache, spec(&other, &origin.url("/images/none"), "", false)).await;
    assert_eq!(code(&outcome), Some(Code::NotFound));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_urls_only_from_allowed_directories() {
    let dir = tempfile::tempdir().unwrap();
    let allowed = tempfile::tempdir().unwrap();
    let bytes = image_bytes(MIB + 3, 10);
    let path = allowed.path().join("disk.img");
    std::fs::write(&path, &bytes).unwrap();
    let cache = open_cache(&settings(dir.path(), allowed.path()));
    let url = format!("file://{}", path.display());
    let outcome = ensure(&cache, spec(&url, &sha256_hex(&bytes), "", false)).await;
    assert_eq!(outcome.result.unwrap().id, sha256_hex(&bytes));

    let outside = dir.path().join("outside.img");
    std::fs::write(&outside, &bytes).unwrap();
    let outcome = ensure(&cache, spec(&format!("file://{}", outside.display()), "", "", false)).await;
    assert_eq!(code(&outcome), Some(Code::PermissionDenied));
    let sneaky = format!("file://{}/../{}/outside.img", allowed.path().display(), dir.path().display());
    let outcome = ensure(&cache, spec(&sneaky, "", "", false)).await;
    assert_ne!(code(&outcome), None);
    let outcome =
        ensure(&cache, spec(&format!("file://{}/missing", allowed.path().display()), "", "", false)).await;
    assert_eq!(code(&outcome), Some(Code::NotFound));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_never_reach_errors_or_records() {
    let dir = tempfile::tempdir().unwrap();
    let origin = Origin::start().await;
    let bytes = image_bytes(1000, 11);
    origin.put("/disk.img", bytes.clone(), Mode::Good);
    let with_secret = origin.url("/disk.img").replace("http://", "http://user:s3cret@") + "?sig=t0ken";
    let cache = open_cache(&settings(dir.path(), dir.path()));
    let record = ensure(&cache, spec(&with_secret, "", "", false)).await.result.unwrap();
    let json = std::fs::read_to_string(dir.path().join("meta").join(format!("{}.json", record.id))).unwrap();
    assert!(!json.contains("s3cret") && !json.contains("t0ken"), "{json}");
    let missing = origin.url("/gone.img").replace("http://", "http://user:s3cret@");
    let outcome = ensure(&cache, spec(&missing, "", "", false)).await;
    assert!(!message(&outcome).contains("s3cret"), "{}", message(&outcome));
}
