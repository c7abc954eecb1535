//! [`PrefixView`]: an in-memory copy of every key under a prefix, decoded once
//! and kept current by a watch.
//!
//! Listing a thousand nodes by reading and decoding a thousand records per
//! request costs milliseconds of CPU each time; a view pays the decoding once
//! per change instead. It is built the etcd way: a range read, then a watch
//! from the revision after it, and on any watch failure (compaction, a lost
//! connection) a fresh read — so it never misses a change and never applies
//! one twice. Readers that must see their own writes wait for the view to
//! reach the revision those writes returned ([`PrefixView::wait_for`]).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;

use crate::records::{Collection, Record, Versioned};
use crate::{DynStore, EventKind, KeyValue, RangeRequest, Result, StoreError};

/// Turns a stored key-value into the view's item; `None` skips it (a key the
/// view does not care about, or one it cannot read — which is logged).
pub type Decode<T> = fn(&KeyValue) -> Option<T>;

/// Longest pause between attempts to re-read after the watch failed.
const MAX_RESYNC_PAUSE: Duration = Duration::from_secs(2);

/// The items under one prefix, by key.
pub struct PrefixView<T> {
    shared: Arc<Shared<T>>,
    _stop: Arc<StopOnDrop>,
}

impl<T> Clone for PrefixView<T> {
    fn clone(&self) -> Self {
        Self { shared: self.shared.clone(), _stop: self._stop.clone() }
    }
}

struct Shared<T> {
    items: RwLock<HashMap<String, Arc<T>>>,
    /// The revision the view has applied every change up to.
    applied: watch::Sender<i64>,
}

struct StopOnDrop(watch::Sender<bool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(true);
    }
}

impl<T: Send + Sync + 'static> PrefixView<T> {
    /// Reads everything under `prefix` (failing if the store cannot be read)
    /// and follows it in the background until the last clone is dropped.
    pub async fn follow(store: DynStore, prefix: &str, decode: Decode<T>) -> Result<Self> {
        let (items, revision) = read_all(&store, prefix, decode).await?;
        let (applied, _) = watch::channel(revision);
        let shared = Arc::new(Shared { items: RwLock::new(items), applied });
        let (stop, stopped) = watch::channel(false);
        let follower = Follower { store, prefix: prefix.to_owned(), decode, shared: shared.clone() };
        tokio::spawn(follower.run(revision, stopped));
        Ok(Self { shared, _stop: Arc::new(StopOnDrop(stop)) })
    }

    /// Every item now, in no particular order.
    pub fn snapshot(&self) -> Vec<Arc<T>> {
        match self.shared.items.read() {
            Ok(items) => items.values().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().values().cloned().collect(),
        }
    }

    /// The item at `key`, if any.
    pub fn get(&self, key: &str) -> Option<Arc<T>> {
        match self.shared.items.read() {
            Ok(items) => items.get(key).cloned(),
            Err(poisoned) => poisoned.into_inner().get(key).cloned(),
        }
    }

    /// The revision the view has caught up to.
    pub fn revision(&self) -> i64 {
        *self.shared.applied.borrow()
    }

    /// Waits until the view has applied every change up to `revision` (a
    /// revision a write of this process returned), at most `timeout`.
    /// [`StoreError::Timeout`] if it does not get there in time: the watch is
    /// lagging or broken, and a caller may fall back to reading the store.
    pub async fn wait_for(&self, revision: i64, timeout: Duration) -> Result<()> {
        let mut applied = self.shared.applied.subscribe();
        let reached = tokio::time::timeout(timeout, applied.wait_for(|at| *at >= revision)).await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(StoreError::Internal("the view stopped following the store".into())),
            Err(_) => Err(StoreError::Timeout),
        }
    }
}

async fn read_all<T>(
    store: &DynStore,
    prefix: &str,
    decode: Decode<T>,
) -> Result<(HashMap<String, Arc<T>>, i64)> {
    let page = store.range(RangeRequest::prefix(prefix)).await?;
    let items =
        page.kvs.iter().filter_map(|kv| decode(kv).map(|item| (kv.key.clone(), Arc::new(item)))).collect();
    Ok((items, page.revision))
}

struct Follower<T> {
    store: DynStore,
    prefix: String,
    decode: Decode<T>,
    shared: Arc<Shared<T>>,
}

impl<T: Send + Sync + 'static> Follower<T> {
    async fn run(self, mut revision: i64, mut stopped: watch::Receiver<bool>) {
        let mut pause = Duration::from_millis(20);
        loop {
            tokio::select! {
                _ = stopped.wait_for(|stop| *stop) => return,
                () = self.follow(revision) => {}
            }
            // The watch failed or ended: pause, then read everything again.
            loop {
                tokio::select! {
                    _ = stopped.wait_for(|stop| *stop) => return,
                    () = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(MAX_RESYNC_PAUSE);
                match read_all(&self.store, &self.prefix, self.decode).await {
                    Ok((items, at)) => {
                        self.replace(items, at);
                        revision = at;
                        pause = Duration::from_millis(20);
                        break;
                    }
                    Err(error) => {
                        tracing::warn!(prefix = %self.prefix, %error, "view cannot re-read the store")
                    }
                }
            }
        }
    }

    /// Applies changes after `revision` until the watch fails.
    async fn follow(&self, mut revision: i64) {
        let mut events = match self.store.watch(&self.prefix, revision + 1).await {
            Ok(events) => events,
            Err(error) => {
                tracing::warn!(prefix = %self.prefix, %error, "view cannot watch the store");
                return;
            }
        };
        while let Some(event) = events.next().await {
            let event = match event {
                Ok(event) => event,
                Err(error) => {
                    tracing::warn!(prefix = %self.prefix, %error, "view watch failed; re-reading");
                    return;
                }
            };
            let at = event.kv.mod_revision;
            {
                let mut items = match self.shared.items.write() {
                    Ok(items) => items,
                    Err(poisoned) => poisoned.into_inner(),
                };
                match event.kind {
                    EventKind::Put => match (self.decode)(&event.kv) {
                        Some(item) => {
                            items.insert(event.kv.key.clone(), Arc::new(item));
                        }
                        None => {
                            items.remove(&event.kv.key);
                        }
                    },
                    EventKind::Delete => {
                        items.remove(&event.kv.key);
                    }
                }
            }
            if at > revision {
                revision = at;
                self.shared.applied.send_replace(revision);
            }
        }
    }

    fn replace(&self, fresh: HashMap<String, Arc<T>>, revision: i64) {
        match self.shared.items.write() {
            Ok(mut items) => *items = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        self.shared.applied.send_replace(revision);
    }
}

/// A view of every record of kind `R`, decoded with its revisions.
pub async fn records<R: Record + 'static>(store: DynStore) -> Result<PrefixView<Versioned<R>>> {
    PrefixView::follow(store, &Collection::<R>::prefix(), decode_record::<R>).await
}

fn decode_record<R: Record>(kv: &KeyValue) -> Option<Versioned<R>> {
    match serde_json::from_slice::<R>(&kv.value) {
        Ok(record) => {
            Some(Versioned { record, mod_revision: kv.mod_revision, create_revision: kv.create_revision })
        }
        Err(error) => {
            tracing::error!(key = %kv.key, %error, "view skips a record it cannot decode");
            None
        }
    }
}
