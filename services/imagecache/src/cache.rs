//! The image cache itself: Ensure's pipeline (resolve the expected digest, look
//! in the store, join or start a flight that downloads, verifies, inspects,
//! converts and commits) and the store operations behind Stat, List, Evict, Pin.
//! The gRPC and HTTP front ends are thin layers over [`ImageCache`].

use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, watch};
use tracing::Instrument;

use crate::convert::{self, ImageInfo};
use crate::error::ImageCacheError;
use crate::fetch::{Downloaded, Fetcher, SourceUrl};
use crate::flight::{FlightHandle, FlightState, Flights, Joined, Phase};
use crate::store::{Commit, ImageKey, Record, Source, Store};
use crate::verify::{self, Checksum, ChecksumSpec, Hasher};
use crate::{ImageCacheSettings, Settings};

/// Checksum files are a few lines; anything bigger is not one.
const CHECKSUM_FILE_LIMIT: u64 = 1 << 20;

/// What an Ensure asks for, validated.
#[derive(Debug, Clone)]
pub struct EnsureSpec {
    /// The source.
    pub source: SourceUrl,
    /// What the bytes must hash to.
    pub checksum: ChecksumSpec,
    /// Store the raw conversion instead of the download.
    pub convert_to_raw: bool,
    /// Pin for this holder as the image becomes ready.
    pub pin: Option<String>,
}

/// The cache: store, fetcher, flights in progress and the serving base URL.
#[derive(Debug)]
pub struct ImageCache {
    store: Store,
    fetcher: Fetcher,
    flights: Flights,
    downloads: Semaphore,
    http_base: String,
}

/// sha256 of a source URL: how records remember sources without keeping
/// credentials in clear.
pub fn url_key(source: &SourceUrl) -> String {
    verify::to_hex(&Sha256::digest(source.as_str().as_bytes()))
}

impl ImageCache {
    /// Opens the store (recovering from any crash) and builds the fetcher;
    /// blocks on disk I/O.
    pub fn open(settings: &ImageCacheSettings, http_base: String) -> Result<Arc<Self>, ImageCacheError> {
        let Settings { cache_dir, max_bytes, max_concurrent_downloads, fetch, .. } = settings.clone();
        let store = Store::open(&cache_dir, max_bytes)?;
        Ok(Arc::new(Self {
            store,
            fetcher: Fetcher::new(fetch)?,
            flights: Flights::default(),
            downloads: Semaphore::new(max_concurrent_downloads.max(1)),
            http_base: http_base.trim_end_matches('/').to_owned(),
        }))
    }

    /// The store, for the HTTP side.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The URL agents download an image from.
    pub fn http_url(&self, id: &str) -> String {
        format!("{}/images/{id}", self.http_base)
    }

    /// Downloads in progress.
    pub fn flights_in_progress(&self) -> usize {
        self.flights.len()
    }

    /// The expected digest: inline, or read from the checksum file (fetched on
    /// every Ensure, as Ironic does, so a changed image is noticed).
    async fn expected(&self, spec: &EnsureSpec) -> Result<Option<Checksum>, ImageCacheError> {
        match &spec.checksum {
            ChecksumSpec::None => Ok(None),
            ChecksumSpec::Inline(c) => Ok(Some(c.clone())),
            ChecksumSpec::File { url, algorithm } => {
                let file_url = SourceUrl::parse(url)?;
                let text = self.fetcher.fetch_text(&file_url, CHECKSUM_FILE_LIMIT).await?;
                verify::parse_checksum_file(&text, spec.source.file_name(), *algorithm).map(Some).map_err(
                    |reason| ImageCacheError::ChecksumFile { url: file_url.shown().to_owned(), reason },
                )
            }
        }
    }

    /// Makes the image available: a receiver that ends in `Ready` or `Failed`.
    /// A cached image answers at once; otherwise the caller joins the flight for
    /// the same request or starts one.
    pub async fn ensure(
        self: &Arc<Self>,
        spec: EnsureSpec,
    ) -> Result<watch::Receiver<FlightState>, ImageCacheError> {
        let expected = self.expected(&spec).await?;
        let key = url_key(&spec.source);
        let flight_key = format!(
            "{key}|{}|{}",
            spec.convert_to_raw,
            expected.as_ref().map(|c| format!("{}:{}", c.algorithm.name(), c.hex)).unwrap_or_default()
        );
        let lookup = {
            let this = self.clone();
            let (key, expected, pin) = (key.clone(), expected.clone(), spec.pin.clone());
            move || this.store.lookup(&key, spec.convert_to_raw, expected.as_ref(), pin.as_deref())
        };
        // Record writes fsync: off the async threads.
        let first = lookup.clone();
        let cached = tokio::task::spawn_blocking(first)
            .await
            .map_err(|e| ImageCacheError::Internal(e.to_string()))??;
        if let Some(record) = cached {
            tracing::info!(id = %record.id, "image already cached");
            return Ok(watch::channel(FlightState::Ready(record)).1);
        }
        let joined = self.flights.join(&flight_key, spec.pin.as_deref(), lookup)?;
        match joined {
            Joined::Cached(record) => Ok(watch::channel(FlightState::Ready(record)).1),
            Joined::Existing(rx) => {
                tracing::info!("joined a download in progress");
                Ok(rx)
            }
            Joined::Started(rx, handle) => {
                let span = tracing::info_span!(parent: None, "image_flight", url = %spec.source.shown(), convert = spec.convert_to_raw);
                let this = self.clone();
                tokio::spawn(
                    async move {
                        let outcome = this.fly(&spec, expected, key, &handle).await;
                        match &outcome {
                            Ok(record) => {
                                tracing::info!(id = %record.id, size = record.size, "image ready");
                                metrics::counter!("imagecache_ensure_downloads_total", "outcome" => "ok")
                                    .increment(1);
                            }
                            Err(e) => {
                                tracing::warn!(error = %crate::error::chain(e), "image failed");
                                metrics::counter!("imagecache_ensure_downloads_total", "outcome" => "error")
                                    .increment(1);
                            }
                        }
                        handle.finish(outcome);
                    }
                    .instrument(span),
                );
                Ok(rx)
            }
        }
    }

    /// One flight: download, verify, inspect, convert if asked, commit.
    async fn fly(
        self: &Arc<Self>,
        spec: &EnsureSpec,
        expected: Option<Checksum>,
        url_key: String,
        handle: &FlightHandle,
    ) -> Result<Record, ImageCacheError> {
        let _slot =
            self.downloads.acquire().await.map_err(|_| ImageCacheError::Internal("cache closed".into()))?;
        handle.progress(Phase::Downloading, 0, None);
        let downloaded = self
            .fetcher
            .fetch(
                &spec.source,
                self.store.tmp_dir(),
                expected.as_ref().map(|c| c.algorithm),
                handle.reporter(Phase::Downloading),
            )
            .await?;
        metrics::counter!("imagecache_download_bytes_total").increment(downloaded.size);
        handle.progress(Phase::Verifying, downloaded.size, Some(downloaded.size));
        if let Some(expected) = &expected {
            verify::check(expected, &downloaded.digests, spec.source.shown())?;
        }
        let mut checksums = std::collections::BTreeMap::new();
        checksums.insert("sha256".to_owned(), downloaded.digests.sha256.clone());
        if let Some((algorithm, hex)) = &downloaded.digests.other {
            checksums.insert(algorithm.name().to_owned(), hex.clone());
        }
        let source = Source {
            url_key,
            shown_url: spec.source.shown().to_owned(),
            convert_to_raw: spec.convert_to_raw,
            checksums,
        };
        let info = inspect(downloaded.file.path(), downloaded.size).await?;
        let pin = handle.pins().into_iter().next();
        let commit = if spec.convert_to_raw && info.format != "raw" {
            self.convert(downloaded, &info, source, pin, handle).await?
        } else {
            Commit {
                id: downloaded.digests.sha256,
                size: downloaded.size,
                virtual_size: info.virtual_size,
                disk_format: info.format,
                file: downloaded.file,
                source,
                pin,
            }
        };
        let extra_pins: Vec<String> = handle.pins().into_iter().skip(1).collect();
        let record = self.blocking_store(move |store| store.commit(commit)).await?;
        for holder in extra_pins {
            let id = ImageKey::Id(record.id.clone());
            self.blocking_store(move |store| store.set_pin(&id, &holder, true)).await?;
        }
        let id = ImageKey::Id(record.id.clone());
        self.store.get(&id).ok_or_else(|| ImageCacheError::NotCached(record.id.clone()))
    }

    async fn convert(
        self: &Arc<Self>,
        downloaded: Downloaded,
        info: &ImageInfo,
        source: Source,
        pin: Option<String>,
        handle: &FlightHandle,
    ) -> Result<Commit, ImageCacheError> {
        handle.progress(Phase::Converting, 0, Some(info.virtual_size));
        let out = tempfile::Builder::new()
            .prefix("convert-")
            .tempfile_in(self.store.tmp_dir())
            .map_err(|e| ImageCacheError::io("creating a conversion file", e))?;
        convert::to_raw(downloaded.file.path(), &info.format, out.path()).await?;
        drop(downloaded);
        // The artifact's own sha256 is its id; reading a sparse file's holes costs
        // no disk I/O.
        let path = out.path().to_owned();
        let report = handle.reporter(Phase::Converting);
        let (size, sha256) = tokio::task::spawn_blocking(move || hash_file(&path, &*report))
            .await
            .map_err(|e| ImageCacheError::Internal(format!("hash task: {e}")))?
            .map_err(|e| ImageCacheError::io("hashing the converted image", e))?;
        Ok(Commit {
            file: out,
            id: sha256,
            size,
            virtual_size: info.virtual_size,
            disk_format: "raw".into(),
            source,
            pin,
        })
    }

    /// Runs a store operation (it fsyncs) on the blocking pool.
    pub async fn blocking_store<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Store) -> Result<T, ImageCacheError> + Send + 'static,
    ) -> Result<T, ImageCacheError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || f(&this.store))
            .await
            .map_err(|e| ImageCacheError::Internal(format!("store task: {e}")))?
    }

    /// Stat: the record a key names.
    pub fn get(&self, key: &ImageKey) -> Result<Record, ImageCacheError> {
        self.store.get(key).ok_or_else(|| ImageCacheError::NotCached(crate::store::describe(key)))
    }
}

/// Format and virtual size; qemu-img when it is installed, else the qcow2 header
/// (raw for anything else), so a host without qemu-utils still caches raw images.
async fn inspect(path: &Path, size: u64) -> Result<ImageInfo, ImageCacheError> {
    match convert::inspect(path).await {
        Err(ImageCacheError::QemuImg { detail, .. }) if detail.starts_with("cannot run") => {
            tracing::warn!(%detail, "qemu-img unavailable; sniffing the format");
            sniff(path, size)
        }
        other => other,
    }
}

fn sniff(path: &Path, size: u64) -> Result<ImageInfo, ImageCacheError> {
    use std::io::Read;
    let mut header = [0u8; 32];
    let read = std::fs::File::open(path)
        .and_then(|f| f.take(32).read(&mut header))
        .map_err(|e| ImageCacheError::io("reading the image header", e))?;
    if read == 32 && header[..4] == *b"QFI\xfb" {
        let field = |at: usize| header[at..at + 8].iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        if field(8) != 0 {
            return Err(ImageCacheError::UnsafeImage("qcow2 image has a backing file".into()));
        }
        return Ok(ImageInfo { format: "qcow2".into(), virtual_size: field(24) });
    }
    Ok(ImageInfo { format: "raw".into(), virtual_size: size })
}

/// Size and sha256 of a file, reporting progress.
fn hash_file(
    path: &Path,
    progress: &(dyn Fn(u64, Option<u64>) + Send + Sync),
) -> std::io::Result<(u64, String)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let total = file.metadata()?.len();
    let mut hasher = Hasher::new(None);
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        done += n as u64;
        progress(done, Some(total));
    }
    Ok((done, hasher.finish().sha256))
}
