//! Watches on the embedded store: replay from the on-disk history, then live events.
//!
//! The writer publishes each committed revision on a broadcast channel *after* the
//! commit. A watch subscribes first and reads the history second, so every revision
//! is seen at least once (on disk, on the channel, or both) and duplicates are
//! dropped by revision. A watcher that falls behind the channel (lag) or sees a gap
//! goes back to the history on disk; if that history was compacted meanwhile, the
//! stream ends with [`StoreError::Compacted`], as an etcd watch is cancelled.

use std::sync::Arc;

use futures::StreamExt as _;
use futures::stream::BoxStream;
use redb::{Database, ReadableDatabase as _};
use tokio::sync::{broadcast, mpsc};

use super::tables::{HISTORY, META, META_COMPACT, META_REVISION, db_err, decode_events};
use super::txn::Revision;
use crate::{Result, StoreError, WatchEvent};

/// Revisions read from disk per step of a replay.
const REPLAY_CHUNK: usize = 256;
/// Events buffered between the watch task and its consumer.
const STREAM_BUFFER: usize = 256;

/// Starts a watch of `prefix` from `from_revision` (0 = only future changes).
pub(super) fn watch(
    db: Arc<Database>,
    events: &broadcast::Sender<Arc<Revision>>,
    prefix: String,
    from_revision: i64,
) -> Result<BoxStream<'static, Result<WatchEvent>>> {
    let live = events.subscribe();
    let (current, compacted) = revisions(&db)?;
    let start = if from_revision <= 0 { current + 1 } else { from_revision };
    if start < compacted {
        return Err(StoreError::Compacted { requested: from_revision, oldest: compacted });
    }
    let (tx, rx) = mpsc::channel(STREAM_BUFFER);
    tokio::spawn(Follower { db, prefix, next: start, tx }.run(live));
    Ok(futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) }).boxed())
}

/// The newest and the compacted revision.
fn revisions(db: &Database) -> Result<(i64, i64)> {
    let rtx = db.begin_read().map_err(db_err)?;
    let meta = rtx.open_table(META).map_err(db_err)?;
    let current = meta.get(META_REVISION).map_err(db_err)?.map_or(1, |v| v.value());
    let compacted = meta.get(META_COMPACT).map_err(db_err)?.map_or(0, |v| v.value());
    Ok((current, compacted))
}

struct Follower {
    db: Arc<Database>,
    prefix: String,
    /// The next revision this watch has to deliver.
    next: i64,
    tx: mpsc::Sender<Result<WatchEvent>>,
}

/// Why following stopped.
enum Stop {
    /// The consumer dropped the stream, or the store is gone.
    Done,
    /// Fell behind or saw a gap: replay from disk.
    Replay,
}

impl Follower {
    async fn run(mut self, mut live: broadcast::Receiver<Arc<Revision>>) {
        loop {
            match self.replay().await {
                Ok(true) => {}
                Ok(false) => return,
                Err(err) => {
                    let _ = self.tx.send(Err(err)).await;
                    return;
                }
            }
            match self.follow(&mut live).await {
                Stop::Done => return,
                Stop::Replay => continue,
            }
        }
    }

    /// Delivers every stored revision from `next` on. `Ok(false)` when the
    /// consumer is gone.
    async fn replay(&mut self) -> Result<bool> {
        loop {
            let (chunk, last, compacted) = self.read_chunk()?;
            if self.next < compacted {
                return Err(StoreError::Compacted { requested: self.next, oldest: compacted });
            }
            let full = chunk.len() == REPLAY_CHUNK;
            for event in chunk.into_iter().flatten() {
                if event.kv.key.starts_with(&self.prefix) && self.tx.send(Ok(event)).await.is_err() {
                    return Ok(false);
                }
            }
            if let Some(last) = last {
                self.next = last + 1;
            }
            if !full {
                return Ok(true);
            }
        }
    }

    fn read_chunk(&self) -> Result<(Vec<Vec<WatchEvent>>, Option<i64>, i64)> {
        let rtx = self.db.begin_read().map_err(db_err)?;
        let compacted =
            rtx.open_table(META).map_err(db_err)?.get(META_COMPACT).map_err(db_err)?.map_or(0, |v| v.value());
        let history = rtx.open_table(HISTORY).map_err(db_err)?;
        let mut chunk = Vec::new();
        let mut last = None;
        for entry in history.range(self.next..).map_err(db_err)?.take(REPLAY_CHUNK) {
            let (revision, bytes) = entry.map_err(db_err)?;
            let revision = revision.value();
            chunk.push(decode_events(revision, bytes.value())?);
            last = Some(revision);
        }
        Ok((chunk, last, compacted))
    }

    async fn follow(&mut self, live: &mut broadcast::Receiver<Arc<Revision>>) -> Stop {
        loop {
            let received = tokio::select! {
                () = self.tx.closed() => return Stop::Done,
                received = live.recv() => received,
            };
            let revision = match received {
                Ok(revision) => revision,
                Err(broadcast::error::RecvError::Lagged(_)) => return Stop::Replay,
                Err(broadcast::error::RecvError::Closed) => {
                    let closed = StoreError::Unavailable("embedded store is closed".into());
                    let _ = self.tx.send(Err(closed)).await;
                    return Stop::Done;
                }
            };
            if revision.revision < self.next {
                continue;
            }
            if revision.revision > self.next {
                return Stop::Replay;
            }
            for event in &revision.events {
                if event.kv.key.starts_with(&self.prefix) && self.tx.send(Ok(event.clone())).await.is_err() {
                    return Stop::Done;
                }
            }
            self.next = revision.revision + 1;
        }
    }
}
