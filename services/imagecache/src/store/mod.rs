//! The content-addressed store on disk, and its rules for what survives a crash.
//!
//! Layout under the cache directory:
//! - `tmp/`: downloads and conversions in progress; emptied at every start.
//! - `images/<sha256>`: committed artifacts, named by the sha256 of their bytes.
//! - `meta/<sha256>.json`: one [`Record`] per artifact.
//! - `lock`: held (flock) while a process uses the directory.
//!
//! A file reaches `images/` only by `rename` after `fsync`, and its record is
//! written (temp, fsync, rename) after it, so a crash leaves at worst an image
//! without a record, which the next start deletes together with any record
//! whose image is missing or of the wrong size. Removal goes the other way:
//! record first, then image. A partial file is therefore never served: the HTTP
//! side serves only ids in the index, and ids reach the index only complete.
//!
//! Methods block (fsync, rename); async callers run them on the blocking pool.

pub mod index;
pub mod lru;

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use tempfile::NamedTempFile;

use self::index::Index;
pub use self::index::{Record, Source};
use self::lru::Plan;
use crate::error::ImageCacheError;
use crate::verify::Checksum;

/// How a caller names a cached image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageKey {
    /// The cache id (sha256 of the artifact).
    Id(String),
    /// A source URL: the most recently used artifact from it, converted or not.
    Url {
        /// sha256 of the full URL.
        key: String,
        /// The URL without credentials, for errors.
        shown: String,
    },
}

/// A finished, verified file ready to enter the store.
#[derive(Debug)]
pub struct Commit {
    /// The artifact, fsynced, in the store's `tmp/`.
    pub file: NamedTempFile,
    /// sha256 of `file`.
    pub id: String,
    /// Bytes of `file`.
    pub size: u64,
    /// Size of the disk it describes.
    pub virtual_size: u64,
    /// Its format.
    pub disk_format: String,
    /// Where it came from.
    pub source: Source,
    /// Pin it for this holder in the same step, so no eviction slips in.
    pub pin: Option<String>,
}

/// The store: a directory and its in-memory index.
#[derive(Debug)]
pub struct Store {
    tmp: PathBuf,
    images: PathBuf,
    meta: PathBuf,
    quota: u64,
    index: Mutex<Index>,
    /// Held for the store's lifetime: a second process must not wipe our `tmp/`.
    _lock: File,
}

/// Milliseconds since the Unix epoch, for records.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn is_id(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn remove_quietly(path: &Path) {
    if let Err(e) = fs::remove_file(path)
        && e.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %e, "cannot remove file");
    }
}

impl Store {
    /// Opens (creating) the store in `dir`, with a quota in bytes (0: none):
    /// deletes leftovers of interrupted work, drops records whose artifact is
    /// missing or torn and artifacts without a record, then evicts down to the
    /// quota.
    pub fn open(dir: &Path, quota: u64) -> Result<Self, ImageCacheError> {
        let io = |what: &str, e| ImageCacheError::io(format!("{what} in {}", dir.display()), e);
        let (tmp, images, meta) = (dir.join("tmp"), dir.join("images"), dir.join("meta"));
        for d in [&tmp, &images, &meta] {
            fs::create_dir_all(d).map_err(|e| io("creating directories", e))?;
        }
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))
            .map_err(|e| io("opening the lock file", e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(ImageCacheError::Locked(dir.display().to_string()));
            }
            Err(fs::TryLockError::Error(e)) => return Err(io("locking", e)),
        }
        let store = Self { tmp, images, meta, quota, index: Mutex::new(Index::default()), _lock: lock };
        store.recover().map_err(|e| io("recovering the cache", e))?;
        store.enforce_quota()?;
        Ok(store)
    }

    fn recover(&self) -> io::Result<()> {
        for entry in fs::read_dir(&self.tmp)? {
            let path = entry?.path();
            tracing::info!(path = %path.display(), "removing leftover of interrupted work");
            if path.is_dir() { fs::remove_dir_all(&path)? } else { fs::remove_file(&path)? }
        }
        let mut index = self.lock();
        for entry in fs::read_dir(&self.meta)? {
            let path = entry?.path();
            let record = fs::read(&path)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Record>(&bytes).ok())
                .filter(|r| is_id(&r.id) && path.file_name() == Some(format!("{}.json", r.id).as_ref()));
            let Some(record) = record else {
                tracing::warn!(path = %path.display(), "removing unreadable image record");
                remove_quietly(&path);
                continue;
            };
            let image = self.images.join(&record.id);
            match fs::metadata(&image) {
                Ok(m) if m.is_file() && m.len() == record.size => {
                    index.insert(record);
                }
                found => {
                    tracing::warn!(id = %record.id, expected = record.size, found = ?found.map(|m| m.len()).ok(), "removing torn or missing image");
                    remove_quietly(&path);
                    remove_quietly(&image);
                }
            }
        }
        for entry in fs::read_dir(&self.images)? {
            let entry = entry?;
            let name = entry.file_name();
            if index.get(&name.to_string_lossy()).is_none() {
                tracing::warn!(path = %entry.path().display(), "removing image without a record");
                remove_quietly(&entry.path());
            }
        }
        sync_dir(&self.meta)?;
        sync_dir(&self.images)?;
        metrics::gauge!("imagecache_store_bytes").set(index.used_bytes() as f64);
        Ok(())
    }

    fn enforce_quota(&self) -> Result<(), ImageCacheError> {
        let mut index = self.lock();
        if let Plan::Evict(victims) = lru::plan(index.records(), 0, self.quota, "") {
            for id in victims {
                self.remove(&mut index, &id)?;
            }
        }
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Index> {
        // A panic while holding the lock cannot leave the index half-updated in a
        // way that matters more than stopping service; keep going with it.
        self.index.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Where downloads and conversions are written before commit.
    pub fn tmp_dir(&self) -> &Path {
        &self.tmp
    }

    /// The artifact's path (whether or not it exists).
    pub fn image_path(&self, id: &str) -> PathBuf {
        self.images.join(id)
    }

    /// Bytes held by artifacts.
    pub fn used_bytes(&self) -> u64 {
        self.lock().used_bytes()
    }

    /// The configured quota (0: none).
    pub fn quota(&self) -> u64 {
        self.quota
    }

    fn write_record(&self, record: &Record) -> Result<(), ImageCacheError> {
        let io = |e| ImageCacheError::io(format!("writing the record of {}", record.id), e);
        let mut file = NamedTempFile::with_prefix_in("record-", &self.tmp).map_err(io)?;
        let json = serde_json::to_vec_pretty(record).map_err(|e| io(io::Error::other(e)))?;
        file.write_all(&json).map_err(io)?;
        file.as_file().sync_all().map_err(io)?;
        file.persist(self.meta.join(format!("{}.json", record.id))).map_err(|e| io(e.error))?;
        sync_dir(&self.meta).map_err(io)
    }

    /// Removes an artifact: record first, so a crash in between leaves an image
    /// without a record, which the next start deletes.
    fn remove(&self, index: &mut Index, id: &str) -> Result<Option<Record>, ImageCacheError> {
        let Some(record) = index.remove(id) else { return Ok(None) };
        let io = |e| ImageCacheError::io(format!("removing image {id}"), e);
        match fs::remove_file(self.meta.join(format!("{id}.json"))) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io(e)),
            _ => {}
        }
        sync_dir(&self.meta).map_err(io)?;
        // Readers that opened it keep streaming; the space returns when they finish.
        remove_quietly(&self.images.join(id));
        tracing::info!(%id, size = record.size, "image evicted");
        metrics::counter!("imagecache_evictions_total").increment(1);
        metrics::gauge!("imagecache_store_bytes").set(index.used_bytes() as f64);
        Ok(Some(record))
    }

    /// A cached artifact for this source and conversion whose source bytes had
    /// the `expected` digest (any, when `None`); marks it used, and pins it for
    /// `pin` if given. `None` when it must be fetched.
    pub fn lookup(
        &self,
        url_key: &str,
        convert_to_raw: bool,
        expected: Option<&Checksum>,
        pin: Option<&str>,
    ) -> Result<Option<Record>, ImageCacheError> {
        let mut index = self.lock();
        let Some(record) = index.by_source(url_key, convert_to_raw) else { return Ok(None) };
        if let Some(expected) = expected {
            let source =
                record.sources.iter().find(|s| s.url_key == url_key && s.convert_to_raw == convert_to_raw);
            let known = source.and_then(|s| s.checksums.get(expected.algorithm.name()));
            if known != Some(&expected.hex) {
                return Ok(None);
            }
        }
        let id = record.id.clone();
        let record =
            index.get_mut(&id).ok_or_else(|| ImageCacheError::Internal("index changed under lock".into()))?;
        record.last_used_ms = now_ms();
        if let Some(holder) = pin {
            record.pinned_by.insert(holder.to_owned());
        }
        let record = record.clone();
        self.write_record(&record)?;
        Ok(Some(record))
    }

    /// Moves a verified file into the store (or merges it into an identical
    /// artifact), evicting least recently used unpinned images to fit the quota.
    pub fn commit(&self, commit: Commit) -> Result<Record, ImageCacheError> {
        let Commit { file, id, size, virtual_size, disk_format, source, pin } = commit;
        let mut index = self.lock();
        let now = now_ms();
        let record = match index.get(&id) {
            Some(existing) => {
                // Same bytes from another URL (or again): keep one copy.
                let mut record = existing.clone();
                record
                    .sources
                    .retain(|s| !(s.url_key == source.url_key && s.convert_to_raw == source.convert_to_raw));
                record.sources.push(source);
                record.last_used_ms = now;
                record.pinned_by.extend(pin);
                drop(file);
                record
            }
            None => {
                match lru::plan(index.records(), size, self.quota, &id) {
                    Plan::Evict(victims) => {
                        for victim in victims {
                            self.remove(&mut index, &victim)?;
                        }
                    }
                    Plan::NoRoom { pinned } => {
                        return Err(ImageCacheError::QuotaExceeded { size, quota: self.quota, pinned });
                    }
                }
                let path = self.images.join(&id);
                file.persist(&path)
                    .map_err(|e| ImageCacheError::io(format!("committing image {id}"), e.error))?;
                sync_dir(&self.images)
                    .map_err(|e| ImageCacheError::io(format!("committing image {id}"), e))?;
                Record {
                    id: id.clone(),
                    size,
                    virtual_size,
                    disk_format,
                    created_ms: now,
                    last_used_ms: now,
                    pinned_by: pin.into_iter().collect::<BTreeSet<_>>(),
                    sources: vec![source],
                }
            }
        };
        self.write_record(&record)?;
        for changed in index.insert(record.clone()) {
            if let Some(old) = index.get(&changed).cloned() {
                self.write_record(&old)?;
            }
        }
        metrics::gauge!("imagecache_store_bytes").set(index.used_bytes() as f64);
        Ok(record)
    }

    fn resolve_id(index: &Index, key: &ImageKey) -> Option<String> {
        match key {
            ImageKey::Id(id) => index.get(id).map(|r| r.id.clone()),
            ImageKey::Url { key: url_key, .. } => [false, true]
                .into_iter()
                .filter_map(|convert| index.by_source(url_key, convert))
                .max_by_key(|r| r.last_used_ms)
                .map(|r| r.id.clone()),
        }
    }

    /// The record a key names.
    pub fn get(&self, key: &ImageKey) -> Option<Record> {
        let index = self.lock();
        Self::resolve_id(&index, key).and_then(|id| index.get(&id).cloned())
    }

    /// A page of records after `after` (an id), in id order.
    pub fn list(&self, after: &str, limit: usize) -> Vec<Record> {
        self.lock().page(after, limit).into_iter().cloned().collect()
    }

    /// Evicts an image; refuses a pinned one unless `force`. `false` when absent.
    pub fn evict(&self, key: &ImageKey, force: bool) -> Result<bool, ImageCacheError> {
        let mut index = self.lock();
        let Some(id) = Self::resolve_id(&index, key) else { return Ok(false) };
        if let Some(record) = index.get(&id)
            && record.is_pinned()
            && !force
        {
            return Err(ImageCacheError::Pinned { id, holders: record.pinned_by.iter().cloned().collect() });
        }
        Ok(self.remove(&mut index, &id)?.is_some())
    }

    /// Adds (`pin`) or removes a holder's pin; returns the holders after.
    pub fn set_pin(&self, key: &ImageKey, holder: &str, pin: bool) -> Result<Vec<String>, ImageCacheError> {
        let mut index = self.lock();
        let id = Self::resolve_id(&index, key).ok_or_else(|| ImageCacheError::NotCached(describe(key)))?;
        let record = index.get_mut(&id).ok_or_else(|| ImageCacheError::NotCached(describe(key)))?;
        let changed = if pin {
            record.last_used_ms = now_ms();
            record.pinned_by.insert(holder.to_owned())
        } else {
            record.pinned_by.remove(holder)
        };
        let record = record.clone();
        if changed {
            self.write_record(&record)?;
        }
        Ok(record.pinned_by.into_iter().collect())
    }

    /// Marks an image used by a download (in memory; persisted with the next
    /// record write) and says whether it exists. Never waits on a commit in
    /// progress: a busy index just skips the update.
    pub fn touch(&self, id: &str) -> Option<bool> {
        let mut index = self.index.try_lock().ok()?;
        Some(index.get_mut(id).map(|r| r.last_used_ms = now_ms()).is_some())
    }

    /// Whether an id is committed (waits for the index).
    pub fn contains(&self, id: &str) -> bool {
        self.lock().get(id).is_some()
    }
}

/// A key as shown in errors.
pub fn describe(key: &ImageKey) -> String {
    match key {
        ImageKey::Id(id) => id.clone(),
        ImageKey::Url { shown, .. } => format!("from {shown}"),
    }
}
