//! The single-machine backend: etcd's semantics re-created on one `redb` file.
//!
//! - **Revisions**: one global counter in the file, bumped once per transaction that
//!   changes something; every record carries create/mod revision and version.
//! - **Durability**: every write is committed with `Durability::Immediate` (fsync)
//!   before it is acknowledged, so an acknowledged write survives `kill -9`; a single
//!   writer thread folds concurrently queued requests into one commit (group commit).
//! - **Watches**: every revision's events are also written to a history table, so a
//!   watch can start from an older revision, even one from before a restart, until
//!   that history is compacted (automatically past [`EmbeddedOptions::history_retention`]
//!   revisions, or by [`EmbeddedStore::compact`]).
//! - **Leases**: persisted with their TTL; deadlines are in memory and, as in etcd,
//!   restart at a full TTL when the file is reopened. A background task expires them.

mod lease;
mod tables;
mod txn;
mod watch;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::BoxStream;
use redb::{Database, ReadableDatabase as _, ReadableTable as _};
use tokio::sync::{broadcast, oneshot};

use self::lease::LeaseTable;
use self::tables::{HISTORY, KV, LEASE_KEYS, LEASES, META, META_REVISION, db_err, decode_kv};
use self::txn::{Reply, Request, Revision, Writer};
use crate::{
    KeyValue, LeaseId, RangePage, RangeRequest, Result, Store, StoreError, Txn, TxnOutcome, WatchEvent,
};

/// Tuning of the embedded store; the defaults suit a single all-in-one process.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// How many recent revisions of history are kept for watches that start in the
    /// past (e.g. a cache resuming after a restart). Older history is compacted.
    pub history_retention: i64,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        Self { history_retention: 100_000 }
    }
}

/// The embedded store. Cheap to clone: clones share one file, one writer thread and
/// one lease reaper, and the file is released when the last clone (and the last
/// watch stream) is gone, or at once by [`EmbeddedStore::close`].
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<Database>,
    /// The writer's queue; the reaper holds a weak reference so it stops with us.
    requests: Arc<std::sync::mpsc::Sender<Request>>,
    leases: Arc<LeaseTable>,
    events: broadcast::Sender<Arc<Revision>>,
    path: PathBuf,
}

impl EmbeddedStore {
    /// Opens (creating if needed) the store file at `path` with default options.
    pub async fn open(path: impl AsRef<Path>) -> Result<EmbeddedStore> {
        Self::open_with(path, EmbeddedOptions::default()).await
    }

    /// Opens (creating if needed) the store file at `path`. Must be called inside a
    /// tokio runtime: the lease reaper runs as a task on it.
    pub async fn open_with(path: impl AsRef<Path>, options: EmbeddedOptions) -> Result<EmbeddedStore> {
        let path = path.as_ref().to_path_buf();
        let opened = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || open_file(&path))
                .await
                .map_err(|e| StoreError::Internal(format!("opening embedded store: {e}")))??
        };
        let (db, lease_rows) = opened;
        let db = Arc::new(db);
        let leases = Arc::new(LeaseTable::restore(lease_rows));
        let (events, _) = broadcast::channel(1024);
        let (sender, receiver) = std::sync::mpsc::channel();
        let writer = Writer {
            db: db.clone(),
            leases: leases.clone(),
            events: events.clone(),
            retention: options.history_retention.max(1),
        };
        std::thread::Builder::new()
            .name("ferric-store-writer".into())
            .spawn(move || writer.run(receiver))
            .map_err(|e| StoreError::Internal(format!("starting the embedded store writer: {e}")))?;
        let requests = Arc::new(sender);
        tokio::spawn(lease::reaper(leases.clone(), Arc::downgrade(&requests)));
        Ok(EmbeddedStore { inner: Arc::new(Inner { db, requests, leases, events, path }) })
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Drops watch history before `revision`: watches from earlier revisions then
    /// fail with [`StoreError::Compacted`] (etcd's compaction).
    pub async fn compact(&self, revision: i64) -> Result<()> {
        self.call(|reply| Request::Compact(revision, reply)).await
    }

    /// Stops the writer after the writes already queued and releases the file, so
    /// the same path can be reopened in this process. Other clones of this handle
    /// fail with [`StoreError::Unavailable`] afterwards; open watch streams keep the
    /// file open until they are dropped.
    pub async fn close(self) -> Result<()> {
        let (ack, done) = oneshot::channel();
        if self.inner.requests.send(Request::Shutdown(ack)).is_ok() {
            let _ = done.await;
        }
        Ok(())
    }

    async fn call<T>(&self, request: impl FnOnce(Reply<T>) -> Request) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        self.inner.requests.send(request(reply)).map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    fn read(&self) -> Result<redb::ReadTransaction> {
        self.inner.db.begin_read().map_err(db_err)
    }
}

fn closed() -> StoreError {
    StoreError::Unavailable("embedded store is closed".into())
}

/// Opens the file, creates missing tables and reads back the leases.
fn open_file(path: &Path) -> Result<(Database, Vec<(i64, Duration)>)> {
    let db = Database::create(path).map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => {
            StoreError::Unavailable(format!("{} is already open by another store", path.display()))
        }
        other => db_err(other),
    })?;
    let wtx = db.begin_write().map_err(db_err)?;
    wtx.open_table(KV).map_err(db_err)?;
    wtx.open_table(META).map_err(db_err)?;
    wtx.open_table(LEASES).map_err(db_err)?;
    wtx.open_table(LEASE_KEYS).map_err(db_err)?;
    wtx.open_table(HISTORY).map_err(db_err)?;
    wtx.commit().map_err(db_err)?;
    let rtx = db.begin_read().map_err(db_err)?;
    let mut leases = Vec::new();
    for entry in rtx.open_table(LEASES).map_err(db_err)?.iter().map_err(db_err)? {
        let (id, ttl_ms) = entry.map_err(db_err)?;
        leases.push((id.value(), Duration::from_millis(ttl_ms.value())));
    }
    drop(rtx);
    Ok((db, leases))
}

#[async_trait::async_trait]
impl Store for EmbeddedStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let rtx = self.read()?;
        let kv = rtx.open_table(KV).map_err(db_err)?;
        let found = kv.get(key).map_err(db_err)?;
        found.map(|bytes| decode_kv(key, bytes.value())).transpose()
    }

    async fn range(&self, range: RangeRequest) -> Result<RangePage> {
        let rtx = self.read()?;
        let revision = rtx
            .open_table(META)
            .map_err(db_err)?
            .get(META_REVISION)
            .map_err(db_err)?
            .map_or(1, |v| v.value());
        let kv = rtx.open_table(KV).map_err(db_err)?;
        let Some(end) = range.end else {
            let found = kv.get(range.start.as_str()).map_err(db_err)?;
            let kvs = found.map(|bytes| decode_kv(&range.start, bytes.value())).transpose()?;
            return Ok(RangePage { kvs: kvs.into_iter().collect(), more: false, revision });
        };
        if range.start >= end {
            return Ok(RangePage { kvs: Vec::new(), more: false, revision });
        }
        let limit = if range.limit == 0 { usize::MAX } else { range.limit };
        let mut kvs = Vec::new();
        let mut more = false;
        for entry in kv.range::<&str>(range.start.as_str()..end.as_str()).map_err(db_err)? {
            let (key, bytes) = entry.map_err(db_err)?;
            if kvs.len() == limit {
                more = true;
                break;
            }
            kvs.push(decode_kv(key.value(), bytes.value())?);
        }
        Ok(RangePage { kvs, more, revision })
    }

    async fn txn(&self, txn: Txn) -> Result<TxnOutcome> {
        self.call(|reply| Request::Txn(txn, reply)).await
    }

    async fn watch(
        &self,
        prefix: &str,
        from_revision: i64,
    ) -> Result<BoxStream<'static, Result<WatchEvent>>> {
        watch::watch(self.inner.db.clone(), &self.inner.events, prefix.to_owned(), from_revision)
    }

    async fn lease_grant(&self, ttl: Duration) -> Result<LeaseId> {
        if ttl.is_zero() {
            return Err(StoreError::InvalidArgument("a lease needs a positive TTL".into()));
        }
        self.call(|reply| Request::Grant(ttl, reply)).await
    }

    async fn lease_keep_alive(&self, lease: LeaseId) -> Result<Duration> {
        self.inner.leases.keep_alive(lease.0)
    }

    async fn lease_revoke(&self, lease: LeaseId) -> Result<()> {
        self.call(|reply| Request::Revoke(lease, reply)).await
    }

    async fn current_revision(&self) -> Result<i64> {
        let rtx = self.read()?;
        let meta = rtx.open_table(META).map_err(db_err)?;
        Ok(meta.get(META_REVISION).map_err(db_err)?.map_or(1, |v| v.value()))
    }

    fn backend_name(&self) -> &'static str {
        "embedded"
    }
}
