//! `write_image` (deploy step) and `standby.prepare_image` (older conductors): the
//! image is streamed over HTTP straight onto the install disk, hashed while it is
//! written, then flushed. A checksum mismatch, a short body, an HTTP error or a
//! write error fails the command with IPA's error class and both checksums.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use serde_json::{Map, Value, json};
use sha2::Digest;

use super::blocking;
use crate::agent::Agent;
use crate::error::CommandError;
use crate::hardware::BlockDevice;
use crate::{qcow2, root_device};

/// How often progress is logged while an image streams.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// Chunks in flight between the download and the disk writer.
const QUEUE: usize = 32;

/// What was written where.
#[derive(Debug, Clone)]
pub struct Written {
    /// The install disk.
    pub device: String,
    /// Bytes written.
    pub bytes: u64,
    /// SHA-256 of what was written, for the console line tests match.
    pub sha256: String,
}

/// The checksum algorithms Glance and Ironic use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// Legacy `checksum`.
    Md5,
    /// `os_hash_algo: sha256`.
    Sha256,
    /// `os_hash_algo: sha512` (Glance's default).
    Sha512,
}

impl Algorithm {
    fn named(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "md5" => Some(Self::Md5),
            "sha256" => Some(Self::Sha256),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }

    /// A legacy `checksum` is md5 unless its length says otherwise (IPA's rule).
    fn by_length(value: &str) -> Self {
        match value.len() {
            64 => Self::Sha256,
            128 => Self::Sha512,
            _ => Self::Md5,
        }
    }
}

enum Hasher {
    Md5(md5::Md5),
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Md5 => Self::Md5(md5::Md5::new()),
            Algorithm::Sha256 => Self::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => Self::Sha512(sha2::Sha512::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Self::Md5(h) => h.update(data),
            Self::Sha256(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }

    fn hex(self) -> String {
        match self {
            Self::Md5(h) => hex(&h.finalize()),
            Self::Sha256(h) => hex(&h.finalize()),
            Self::Sha512(h) => hex(&h.finalize()),
        }
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `standby.prepare_image(image_info, configdrive)`: the same writer, answered as
/// IPA's string result.
pub async fn prepare_image(agent: Arc<Agent>, params: Map<String, Value>) -> Result<Value, CommandError> {
    let written = write_image(&agent, &params).await?;
    let id = params.get("image_info").and_then(|i| i.get("id")).and_then(Value::as_str).unwrap_or_default();
    Ok(json!({"result": format!("prepare_image: image ({id}) written to device {}", written.device)}))
}

/// The deploy step: `args.image_info` as the conductor builds it, the node (for
/// root device hints) from the command or from lookup.
pub async fn write_image(agent: &Agent, args: &Map<String, Value>) -> Result<Written, CommandError> {
    let Some(Value::Object(info)) = args.get("image_info") else {
        return Err(CommandError::invalid_params("image_info is required"));
    };
    let url = info
        .get("urls")
        .and_then(Value::as_array)
        .and_then(|urls| urls.first())
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| CommandError::invalid_params("image_info.urls must hold the image's URL"))?
        .to_owned();
    let id = info.get("id").and_then(Value::as_str).unwrap_or(&url).to_owned();
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .read_timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| CommandError::download(&id, e))?;
    let (algorithm, expected) = expected_checksum(&http, info, &id, &url).await?;
    if args.get("configdrive").is_some_and(|d| !d.is_null()) {
        tracing::warn!("a config drive was given; ferric-agent does not write config drives yet");
    }
    let node = args.get("node").filter(|n| n.is_object()).cloned().or_else(|| agent.node());
    let hints = node.as_ref().and_then(|n| n.pointer("/properties/root_device")).cloned();
    let hardware = agent.hardware.clone();
    let disks = blocking(move || hardware.block_devices())
        .await
        .map_err(|e| CommandError::device_not_found(format!("cannot list disks: {e}")))?;
    let device = root_device::choose(&disks, hints.as_ref(), agent.min_root_disk_bytes)?;
    tracing::info!(device = %device.name, size = device.size, image = %id, "writing the image");
    let written = stream_to_disk(agent, &http, &url, &id, &device, algorithm, &expected).await?;
    tracing::info!(target: "ferric_agent::console", device = %written.device, bytes = written.bytes,
        "FERRIC-AGENT-IMAGE-WRITTEN sha256={}", written.sha256);
    Ok(written)
}

/// The checksum to verify: `os_hash_algo`/`os_hash_value`, else the legacy
/// `checksum`; a value that is a URL names a checksum file.
async fn expected_checksum(
    http: &reqwest::Client,
    info: &Map<String, Value>,
    id: &str,
    url: &str,
) -> Result<(Algorithm, String), CommandError> {
    let text = |k: &str| info.get(k).and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty());
    let (algorithm, value) = match (text("os_hash_algo"), text("os_hash_value"), text("checksum")) {
        (Some(algo), Some(value), _) => {
            let algorithm = Algorithm::named(algo)
                .ok_or_else(|| CommandError::invalid_params(format!("Unsupported os_hash_algo {algo}")))?;
            (Some(algorithm), value)
        }
        (_, _, Some(checksum)) => (None, checksum),
        _ => {
            return Err(CommandError::invalid_params(format!(
                "Image {id} has no checksum (image_info.os_hash_value or image_info.checksum); refusing to write it unverified"
            )));
        }
    };
    let value = if value.starts_with("http://") || value.starts_with("https://") {
        checksum_from_file(http, value, id, url).await?
    } else {
        value.to_ascii_lowercase()
    };
    Ok((algorithm.unwrap_or_else(|| Algorithm::by_length(&value)), value))
}

/// A checksum file: a lone checksum, or `sha  name` lines (the one naming the
/// image's file).
async fn checksum_from_file(
    http: &reqwest::Client,
    checksum_url: &str,
    id: &str,
    image_url: &str,
) -> Result<String, CommandError> {
    let failed =
        |e: String| CommandError::download(id, format!("cannot fetch checksum file {checksum_url}: {e}"));
    let response = http.get(checksum_url).send().await.map_err(|e| failed(e.to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("HTTP {}", response.status())));
    }
    let body = response.text().await.map_err(|e| failed(e.to_string()))?;
    parse_checksum_file(&body, image_url).ok_or_else(|| failed("no checksum for the image in it".into()))
}

/// The checksum for `image_url`'s file name in a checksum file's text.
pub fn parse_checksum_file(body: &str, image_url: &str) -> Option<String> {
    let lines: Vec<&str> =
        body.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    if let [line] = lines.as_slice()
        && let [only] = line.split_whitespace().collect::<Vec<_>>().as_slice()
    {
        return Some(only.to_ascii_lowercase());
    }
    let file = image_url.rsplit('/').next().unwrap_or(image_url).split('?').next().unwrap_or_default();
    lines.iter().find_map(|line| {
        let mut parts = line.split_whitespace();
        let sum = parts.next()?;
        let name = parts.next()?.trim_start_matches('*');
        (name.rsplit('/').next() == Some(file)).then(|| sum.to_ascii_lowercase())
    })
}

/// Downloads `url` onto `device`, hashing as it goes; verifies length and checksum.
async fn stream_to_disk(
    agent: &Agent,
    http: &reqwest::Client,
    url: &str,
    id: &str,
    device: &BlockDevice,
    algorithm: Algorithm,
    expected: &str,
) -> Result<Written, CommandError> {
    let response = http.get(url).send().await.map_err(|e| CommandError::download(id, without_url(&e)))?;
    if !response.status().is_success() {
        return Err(CommandError::download(id, format!("HTTP {} from {url}", response.status())));
    }
    let length = response.content_length();
    let mut body = response.bytes_stream();
    // The first chunk says whether this is qcow2 whatever disk_format claims.
    let first = match body.next().await {
        Some(Ok(chunk)) => chunk,
        Some(Err(e)) => return Err(CommandError::download(id, without_url(&e))),
        None => Bytes::new(),
    };
    let qcow = qcow2::is_qcow2(&first);
    let scratch =
        qcow.then(|| Scratch(agent.scratch_dir.join(format!("ferric-agent-{}.qcow2", uuid::Uuid::new_v4()))));
    let hardware = agent.hardware.clone();
    let target = device.clone();
    let scratch_path = scratch.as_ref().map(|s| s.0.clone());
    let file = blocking(move || match scratch_path {
        // qcow2 is verified whole before a byte reaches the disk.
        Some(path) => std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(path),
        None => hardware.open_device(&target, true),
    })
    .await
    .map_err(|e| CommandError::write(&device.name, format!("cannot open it: {e}")))?;
    let capacity = if qcow { u64::MAX } else { device.size };
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Bytes>(QUEUE);
    let device_name = device.name.clone();
    let writer = tokio::task::spawn_blocking(move || -> Result<(u64, String, String), String> {
        let mut file = file;
        let mut wanted = Hasher::new(algorithm);
        let mut sha256 = sha2::Sha256::new();
        let mut written: u64 = 0;
        while let Some(chunk) = receiver.blocking_recv() {
            if written + chunk.len() as u64 > capacity {
                return Err(format!("the image is larger than the disk ({capacity} bytes)"));
            }
            file.write_all(&chunk).map_err(|e| e.to_string())?;
            wanted.update(&chunk);
            if algorithm != Algorithm::Sha256 {
                sha256.update(&chunk);
            }
            written += chunk.len() as u64;
        }
        file.sync_all().map_err(|e| format!("fsync failed: {e}"))?;
        let wanted = wanted.hex();
        let sha256 = if algorithm == Algorithm::Sha256 { wanted.clone() } else { hex(&sha256.finalize()) };
        Ok((written, wanted, sha256))
    });
    let started = Instant::now();
    let mut received = first.len() as u64;
    let mut last_report = Instant::now();
    let mut download_error = None;
    if !first.is_empty() && sender.send(first).await.is_err() {
        download_error = Some(None);
    }
    while download_error.is_none() {
        match body.next().await {
            None => break,
            Some(Ok(chunk)) => {
                received += chunk.len() as u64;
                if last_report.elapsed() >= PROGRESS_EVERY {
                    last_report = Instant::now();
                    let rate = received as f64 / started.elapsed().as_secs_f64().max(0.001) / 1_048_576.0;
                    tracing::info!(received, total = ?length, rate_mib_s = format!("{rate:.1}"), "image download progress");
                }
                if sender.send(chunk).await.is_err() {
                    // The writer stopped: its error says why.
                    download_error = Some(None);
                }
            }
            Some(Err(e)) => download_error = Some(Some(without_url(&e))),
        }
    }
    drop(sender);
    let outcome = writer.await.map_err(|e| CommandError::write(&device_name, e.to_string()))?;
    let (written, actual, sha256) = outcome.map_err(|e| CommandError::write(&device_name, e))?;
    let short = length.filter(|total| received < *total);
    match (download_error, short) {
        (Some(Some(error)), _) => {
            return Err(CommandError::download(id, format!("{error} after {received} of {length:?} bytes")));
        }
        (_, Some(total)) => {
            return Err(CommandError::download(
                id,
                format!("short body: received {received} of {total} bytes (Content-Length)"),
            ));
        }
        _ => {}
    }
    let seconds = started.elapsed().as_secs_f64().max(0.001);
    tracing::info!(
        written,
        seconds,
        rate_mib_s = format!("{:.1}", written as f64 / seconds / 1_048_576.0),
        "image written"
    );
    if actual != expected {
        return Err(CommandError::checksum(id, url, expected, &actual));
    }
    if let Some(scratch) = scratch {
        let hardware = agent.hardware.clone();
        let target = device.clone();
        let path = scratch.0.clone();
        let size = blocking(move || {
            let image = std::fs::File::open(&path)?;
            let mut disk = hardware.open_device(&target, true)?;
            qcow2::convert(&image, &mut disk, target.size).map_err(std::io::Error::other)
        })
        .await
        .map_err(|e| CommandError::write(&device.name, e))?;
        tracing::info!(device = %device.name, virtual_size = size, "qcow2 image converted onto the disk");
        return Ok(Written { device: device.name.clone(), bytes: size, sha256 });
    }
    Ok(Written { device: device.name.clone(), bytes: written, sha256 })
}

/// A scratch file, removed when the write ends however it ends.
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A reqwest error's text without its URL (which may carry credentials).
fn without_url(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "connection failed".to_owned()
    } else if error.is_body() || error.is_decode() {
        "the body ended early or could not be read".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_files_name_the_image_or_hold_one_sum() {
        assert_eq!(parse_checksum_file("ABC123\n", "http://x/disk.img").as_deref(), Some("abc123"));
        let file = "# SHA256\naaa  other.img\nbbb *disk.img\n";
        assert_eq!(parse_checksum_file(file, "http://x/images/disk.img?x=1").as_deref(), Some("bbb"));
        assert_eq!(parse_checksum_file(file, "http://x/none.img"), None);
    }

    #[test]
    fn legacy_checksums_pick_the_algorithm_by_length() {
        assert_eq!(Algorithm::by_length(&"a".repeat(32)), Algorithm::Md5);
        assert_eq!(Algorithm::by_length(&"a".repeat(64)), Algorithm::Sha256);
        assert_eq!(Algorithm::by_length(&"a".repeat(128)), Algorithm::Sha512);
        assert_eq!(Algorithm::named("SHA512"), Some(Algorithm::Sha512));
        assert_eq!(Algorithm::named("sha1"), None);
    }
}
