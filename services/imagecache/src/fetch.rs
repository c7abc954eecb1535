//! Getting bytes from an origin into a temporary file, hashing them on the way.
//!
//! http(s) downloads survive dropped connections: the next request asks for the
//! rest with `Range` (guarded by `If-Range` when the origin gave a validator) and
//! appends; an origin that answers 200 instead is read again from the start.
//! Redirects are followed and TLS is verified (system roots, plus an optional CA
//! file). `file://` sources are read only under the directories the operator
//! allowed, as Ironic's `file_url_allowed_paths`.
//!
//! The network side runs on the async runtime and hands chunks to a blocking
//! thread that writes and hashes, so on two cores receiving and hashing overlap.
//! Nothing here renames into the store: the caller gets a [`Downloaded`] whose
//! temporary file vanishes if it is dropped.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use reqwest::Url;
use reqwest::header::{CONTENT_RANGE, ETAG, HeaderValue, IF_RANGE, LAST_MODIFIED, RANGE};
use tempfile::NamedTempFile;
use tokio::sync::mpsc;

use crate::error::{ImageCacheError, chain};
use crate::verify::{Algorithm, Digests, Hasher};

/// How downloads behave; the defaults suit a data-centre origin.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Deadline for a TCP/TLS connection to an origin.
    pub connect_timeout: Duration,
    /// Longest silence between two reads before the connection is given up (and
    /// the download resumed on a new one).
    pub read_timeout: Duration,
    /// Consecutive failed requests (no byte gained) before a download fails.
    pub max_attempts: u32,
    /// First pause between retries; doubles up to 5 s.
    pub retry_backoff: Duration,
    /// Extra PEM CA certificates to trust for https origins.
    pub ca_file: Option<PathBuf>,
    /// Directories `file://` sources may be read from; none means file URLs are
    /// refused.
    pub file_url_allowed_paths: Vec<PathBuf>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            max_attempts: 5,
            retry_backoff: Duration::from_millis(250),
            ca_file: None,
            // Ironic's default `[conductor]file_url_allowed_paths`.
            file_url_allowed_paths: [
                "/var/lib/ironic",
                "/shared/html",
                "/templates",
                "/opt/cache/files",
                "/vagrant",
            ]
            .into_iter()
            .map(PathBuf::from)
            .collect(),
        }
    }
}

/// A parsed source URL together with the form that may be logged.
#[derive(Debug, Clone)]
pub struct SourceUrl {
    url: Url,
    shown: String,
}

impl SourceUrl {
    /// Parses an http(s) or file URL; anything else is an invalid argument.
    pub fn parse(raw: &str) -> Result<Self, ImageCacheError> {
        let url = Url::parse(raw.trim())
            .map_err(|e| ImageCacheError::InvalidUrl { url: redact_raw(raw), reason: e.to_string() })?;
        let shown = redact(&url);
        match url.scheme() {
            "http" | "https" if url.host().is_some() => {}
            "file" => {}
            "http" | "https" => {
                return Err(ImageCacheError::InvalidUrl { url: shown, reason: "no host".into() });
            }
            other => {
                return Err(ImageCacheError::InvalidUrl {
                    url: shown,
                    reason: format!("scheme {other:?} is not supported (http, https, file)"),
                });
            }
        }
        Ok(Self { url, shown })
    }

    /// The URL without credentials or query string: safe for logs and the API.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The full URL, for matching requests to cached images.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// The last path segment, which checksum files name images by.
    pub fn file_name(&self) -> &str {
        self.url.path_segments().and_then(|mut s| s.next_back()).unwrap_or_default()
    }
}

/// The URL with user info removed and any query replaced, since signed URLs
/// (Swift temp URLs, S3 presigned) carry their credential there.
fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    // Both only fail for URLs that cannot have credentials, which is fine.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    if shown.query().is_some() {
        shown.set_query(Some("redacted"));
    }
    shown.set_fragment(None);
    shown.to_string()
}

/// Best effort for text that did not even parse: drop everything before an `@`.
fn redact_raw(raw: &str) -> String {
    match (raw.find("://"), raw.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}{}", &raw[..scheme + 3], &raw[at + 1..]),
        _ => raw.to_owned(),
    }
}

/// A finished download: a synced temporary file (deleted if dropped), its size
/// and digests.
#[derive(Debug)]
pub struct Downloaded {
    /// The bytes, flushed and fsynced.
    pub file: NamedTempFile,
    /// Bytes in the file.
    pub size: u64,
    /// sha256 and the caller's algorithm.
    pub digests: Digests,
}

/// Called with (bytes done, total when known) as bytes arrive.
pub type ProgressFn<'a> = &'a (dyn Fn(u64, Option<u64>) + Send + Sync);

/// An owned progress callback, for work moved to a blocking thread.
pub type SharedProgress = std::sync::Arc<dyn Fn(u64, Option<u64>) + Send + Sync>;

/// Downloads sources; one per cache, sharing its connection pool.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    options: FetchOptions,
}

enum Cmd {
    Data(Bytes),
    Reset,
}

/// Writes and hashes on a blocking thread.
struct Sink {
    file: BufWriter<File>,
    hasher: Hasher,
}

impl Sink {
    fn new(file: File, algorithm: Option<Algorithm>) -> Self {
        Self { file: BufWriter::with_capacity(1 << 20, file), hasher: Hasher::new(algorithm) }
    }

    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.hasher.update(data);
        self.file.write_all(data)
    }

    fn reset(&mut self) -> io::Result<()> {
        self.file.flush()?;
        let file = self.file.get_mut();
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        self.hasher.reset();
        Ok(())
    }

    fn finish(self) -> io::Result<Digests> {
        let file = self.file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(self.hasher.finish())
    }
}

impl Fetcher {
    /// A fetcher with its own HTTP client (TLS verified, redirects followed).
    pub fn new(options: FetchOptions) -> Result<Self, ImageCacheError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .user_agent(concat!("ferric-imagecache/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &options.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| ImageCacheError::io(format!("reading CA file {}", path.display()), e))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                ImageCacheError::Internal(format!("CA file {}: {}", path.display(), chain(&e)))
            })?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client =
            builder.build().map_err(|e| ImageCacheError::Internal(format!("HTTP client: {}", chain(&e))))?;
        Ok(Self { client, options })
    }

    /// The local path of a file URL, if it is under an allowed directory.
    fn allowed_file(&self, source: &SourceUrl) -> Result<PathBuf, ImageCacheError> {
        let path = source.url.to_file_path().map_err(|()| ImageCacheError::InvalidUrl {
            url: source.shown.clone(),
            reason: "not a local absolute path".into(),
        })?;
        let resolved = match path.canonicalize() {
            Ok(p) => p,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ImageCacheError::SourceNotFound { url: source.shown.clone() });
            }
            Err(e) => return Err(ImageCacheError::io(format!("resolving {}", path.display()), e)),
        };
        let allowed = self
            .options
            .file_url_allowed_paths
            .iter()
            .filter_map(|dir| dir.canonicalize().ok())
            .any(|dir| resolved.starts_with(dir));
        if !allowed {
            return Err(ImageCacheError::FileNotAllowed { path: path.display().to_string() });
        }
        Ok(resolved)
    }

    /// Downloads `source` into a new temporary file in `tmp_dir`, computing
    /// sha256 and `algorithm`, reporting progress as it goes.
    pub async fn fetch(
        &self,
        source: &SourceUrl,
        tmp_dir: &Path,
        algorithm: Option<Algorithm>,
        progress: SharedProgress,
    ) -> Result<Downloaded, ImageCacheError> {
        let file = tempfile::Builder::new().prefix("download-").tempfile_in(tmp_dir).map_err(|e| {
            ImageCacheError::io(format!("creating a temporary file in {}", tmp_dir.display()), e)
        })?;
        let handle =
            file.as_file().try_clone().map_err(|e| ImageCacheError::io("cloning a file handle", e))?;
        let context = || format!("writing the download of {}", source.shown);
        if source.url.scheme() == "file" {
            let path = self.allowed_file(source)?;
            let context = format!("copying {}", path.display());
            let (size, digests) =
                tokio::task::spawn_blocking(move || copy_file(&path, handle, algorithm, &*progress))
                    .await
                    .map_err(|e| ImageCacheError::Internal(format!("copy task: {e}")))?
                    .map_err(|e| ImageCacheError::io(context, e))?;
            return Ok(Downloaded { file, size, digests });
        }

        let (tx, mut rx) = mpsc::channel::<Cmd>(64);
        let writer = tokio::task::spawn_blocking(move || -> io::Result<Digests> {
            let mut sink = Sink::new(handle, algorithm);
            while let Some(cmd) = rx.blocking_recv() {
                match cmd {
                    Cmd::Data(bytes) => sink.write(&bytes)?,
                    Cmd::Reset => sink.reset()?,
                }
            }
            sink.finish()
        });
        let received = self.http(source, &tx, &*progress).await;
        drop(tx);
        let written = writer.await.map_err(|e| ImageCacheError::Internal(format!("download writer: {e}")))?;
        // A writer failure (disk full) explains a "writer gone" transfer error.
        let digests = written.map_err(|e| ImageCacheError::io(context(), e))?;
        let size = received?;
        Ok(Downloaded { file, size, digests })
    }

    /// Fetches a small text (a checksum file), at most `limit` bytes.
    pub async fn fetch_text(&self, source: &SourceUrl, limit: u64) -> Result<String, ImageCacheError> {
        let too_big = || ImageCacheError::ChecksumFile {
            url: source.shown.clone(),
            reason: format!("is larger than {limit} bytes"),
        };
        let bytes = if source.url.scheme() == "file" {
            let path = self.allowed_file(source)?;
            let mut buf = Vec::new();
            File::open(&path)
                .and_then(|f| f.take(limit + 1).read_to_end(&mut buf))
                .map_err(|e| ImageCacheError::io(format!("reading {}", path.display()), e))?;
            buf
        } else {
            let transfer = |e: reqwest::Error| ImageCacheError::Download {
                url: source.shown.clone(),
                attempts: 1,
                reason: chain(&e.without_url()),
            };
            let mut response = self.client.get(source.url.clone()).send().await.map_err(transfer)?;
            check_status(response.status().as_u16(), &source.shown)?;
            let mut buf = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(transfer)? {
                buf.extend_from_slice(&chunk);
                if buf.len() as u64 > limit {
                    return Err(too_big());
                }
            }
            buf
        };
        if bytes.len() as u64 > limit {
            return Err(too_big());
        }
        String::from_utf8(bytes).map_err(|_| ImageCacheError::ChecksumFile {
            url: source.shown.clone(),
            reason: "is not text".into(),
        })
    }

    /// The http(s) transfer loop: request, append, resume. Returns the size.
    async fn http(
        &self,
        source: &SourceUrl,
        tx: &mpsc::Sender<Cmd>,
        progress: ProgressFn<'_>,
    ) -> Result<u64, ImageCacheError> {
        let shown = &source.shown;
        let writer_gone = || ImageCacheError::Internal("download writer stopped".into());
        let mut have: u64 = 0;
        let mut total: Option<u64> = None;
        let mut validator: Option<HeaderValue> = None;
        let mut failures = 0u32;
        let mut attempts = 0u32;
        let mut last_error = String::new();
        // Progress resets `failures`; this caps an origin that drips a byte per
        // connection.
        let max_total_attempts = self.options.max_attempts.saturating_mul(20).max(1);
        loop {
            if failures >= self.options.max_attempts.max(1) || attempts >= max_total_attempts {
                return Err(ImageCacheError::Download { url: shown.clone(), attempts, reason: last_error });
            }
            if failures > 0 {
                let backoff = self.options.retry_backoff.saturating_mul(1 << (failures - 1).min(5));
                tokio::time::sleep(backoff.min(Duration::from_secs(5))).await;
            }
            attempts += 1;
            let mut request = self.client.get(source.url.clone());
            if have > 0 {
                request = request.header(RANGE, format!("bytes={have}-"));
                if let Some(v) = &validator {
                    request = request.header(IF_RANGE, v.clone());
                }
            }
            let mut response = match request.send().await {
                Ok(r) => r,
                Err(e) => {
                    failures += 1;
                    last_error = chain(&e.without_url());
                    tracing::debug!(url = %shown, attempt = attempts, error = %last_error, "request failed");
                    continue;
                }
            };
            let status = response.status().as_u16();
            match status {
                200 => {
                    if have > 0 {
                        tracing::info!(url = %shown, offset = have, "origin ignored the range; downloading again from the start");
                        tx.send(Cmd::Reset).await.map_err(|_| writer_gone())?;
                        have = 0;
                    }
                    total = response.content_length();
                    validator = validator_of(&response);
                }
                206 => match content_range(&response) {
                    Some((start, whole)) if start == have => {
                        total = whole.or(total);
                        tracing::info!(url = %shown, offset = have, "resuming download");
                    }
                    _ => {
                        // Not the range we asked for: start again without one.
                        tx.send(Cmd::Reset).await.map_err(|_| writer_gone())?;
                        have = 0;
                        validator = None;
                        failures += 1;
                        last_error = "origin answered with a range that was not asked for".into();
                        continue;
                    }
                },
                416 if total == Some(have) => return Ok(have),
                416 => {
                    tx.send(Cmd::Reset).await.map_err(|_| writer_gone())?;
                    have = 0;
                    validator = None;
                    failures += 1;
                    last_error = "origin refused to resume (HTTP 416)".into();
                    continue;
                }
                408 | 429 | 500..=599 => {
                    failures += 1;
                    last_error = format!("HTTP {status}");
                    if failures >= self.options.max_attempts.max(1) {
                        return Err(ImageCacheError::OriginStatus { url: shown.clone(), status });
                    }
                    continue;
                }
                other => check_status(other, shown)?,
            }
            progress(have, total);
            let before = have;
            let outcome = loop {
                match response.chunk().await {
                    Ok(Some(chunk)) => {
                        have += chunk.len() as u64;
                        tx.send(Cmd::Data(chunk)).await.map_err(|_| writer_gone())?;
                        progress(have, total);
                    }
                    Ok(None) => break Ok(()),
                    Err(e) => break Err(e),
                }
            };
            if have > before {
                failures = 0;
            }
            match (outcome, total) {
                (Ok(()), Some(t)) if have < t => {
                    failures += 1;
                    last_error = format!("connection closed after {have} of {t} bytes");
                }
                (Ok(()), Some(t)) if have > t => {
                    return Err(ImageCacheError::Download {
                        url: shown.clone(),
                        attempts,
                        reason: format!("origin sent {have} bytes after announcing {t}"),
                    });
                }
                (Ok(()), _) => return Ok(have),
                (Err(e), _) => {
                    failures += 1;
                    last_error = chain(&e.without_url());
                }
            }
            tracing::info!(url = %shown, received = have, total = ?total, attempt = attempts, error = %last_error, "transfer interrupted");
        }
    }
}

/// Maps a final (non-retried) status to success or an error naming the URL.
fn check_status(status: u16, shown: &str) -> Result<(), ImageCacheError> {
    match status {
        200..=299 => Ok(()),
        404 | 410 => Err(ImageCacheError::SourceNotFound { url: shown.to_owned() }),
        other => Err(ImageCacheError::OriginStatus { url: shown.to_owned(), status: other }),
    }
}

/// A strong ETag, else Last-Modified: what `If-Range` may carry.
fn validator_of(response: &reqwest::Response) -> Option<HeaderValue> {
    let headers = response.headers();
    headers
        .get(ETAG)
        .filter(|v| !v.as_bytes().starts_with(b"W/"))
        .or_else(|| headers.get(LAST_MODIFIED))
        .cloned()
}

/// `Content-Range: bytes <start>-<end>/<total|*>` → (start, total).
fn content_range(response: &reqwest::Response) -> Option<(u64, Option<u64>)> {
    parse_content_range(response.headers().get(CONTENT_RANGE)?.to_str().ok()?)
}

fn parse_content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, whole) = rest.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    let whole = if whole == "*" { None } else { Some(whole.parse().ok()?) };
    Some((start.parse().ok()?, whole))
}

/// Copies a local file through the sink, reporting progress.
fn copy_file(
    path: &Path,
    out: File,
    algorithm: Option<Algorithm>,
    progress: ProgressFn<'_>,
) -> io::Result<(u64, Digests)> {
    let mut input = File::open(path)?;
    let total = input.metadata()?.len();
    let mut sink = Sink::new(out, algorithm);
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    progress(0, Some(total));
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        sink.write(&buf[..n])?;
        done += n as u64;
        progress(done, Some(total));
    }
    Ok((done, sink.finish()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_redacted() {
        let ok = SourceUrl::parse("https://user:secret@origin.example/images/disk.qcow2?temp_url_sig=abc")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.shown(), "https://origin.example/images/disk.qcow2?redacted");
        assert_eq!(ok.file_name(), "disk.qcow2");
        assert!(ok.as_str().contains("secret"));
        for bad in ["ftp://origin/x", "not a url", "https://", "nfs://x/y"] {
            assert!(SourceUrl::parse(bad).is_err(), "{bad}");
        }
        let err = SourceUrl::parse("http://user:pw@[bad/x").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(!err.contains("pw"), "{err}");
    }

    #[test]
    fn content_ranges() {
        assert_eq!(parse_content_range("bytes 100-199/200"), Some((100, Some(200))));
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(parse_content_range("bytes */200"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }
}
