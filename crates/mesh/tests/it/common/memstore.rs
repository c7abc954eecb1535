//! A small in-memory `Store` for these tests only, used while the real embedded
//! backend is not available: revisions, prefix ranges, transactions, leases (with
//! lazy expiry) and watches from a revision, enough for registration and discovery.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ferric_store::{
    CompareOp, CompareTarget, DynStore, EventKind, KeyValue, LeaseId, Op, RangePage, RangeRequest, Result,
    Store, StoreError, Txn, TxnOutcome, WatchEvent,
};
use futures::StreamExt as _;
use futures::stream::BoxStream;
use tokio::sync::broadcast;

#[derive(Default)]
struct Inner {
    kvs: BTreeMap<String, KeyValue>,
    revision: i64,
    next_lease: i64,
    leases: HashMap<i64, (Duration, Instant)>,
    history: Vec<WatchEvent>,
}

pub struct MemStore {
    inner: Mutex<Inner>,
    events: broadcast::Sender<WatchEvent>,
}

pub fn mem_store() -> DynStore {
    Arc::new(MemStore { inner: Mutex::new(Inner::default()), events: broadcast::channel(1024).0 })
}

impl MemStore {
    fn lock(&self) -> Result<MutexGuard<'_, Inner>> {
        let mut inner = self.inner.lock().map_err(|_| StoreError::Internal("poisoned".into()))?;
        self.expire(&mut inner);
        Ok(inner)
    }

    fn expire(&self, inner: &mut Inner) {
        let now = Instant::now();
        let dead: Vec<i64> =
            inner.leases.iter().filter(|(_, (_, at))| *at <= now).map(|(id, _)| *id).collect();
        for id in dead {
            self.drop_lease(inner, id);
        }
    }

    fn drop_lease(&self, inner: &mut Inner, id: i64) {
        inner.leases.remove(&id);
        let keys: Vec<String> =
            inner.kvs.values().filter(|kv| kv.lease == Some(LeaseId(id))).map(|kv| kv.key.clone()).collect();
        if !keys.is_empty() {
            inner.revision += 1;
            for key in keys {
                self.delete(inner, &key);
            }
        }
    }

    fn delete(&self, inner: &mut Inner, key: &str) {
        if inner.kvs.remove(key).is_some() {
            let kv = KeyValue {
                key: key.to_owned(),
                value: Vec::new(),
                create_revision: 0,
                mod_revision: inner.revision,
                version: 0,
                lease: None,
            };
            self.emit(inner, WatchEvent { kind: EventKind::Delete, kv });
        }
    }

    fn emit(&self, inner: &mut Inner, event: WatchEvent) {
        inner.history.push(event.clone());
        let _ = self.events.send(event);
    }
}

fn holds(inner: &Inner, compare: &ferric_store::Compare) -> bool {
    let kv = inner.kvs.get(&compare.key);
    let ordering = match &compare.target {
        CompareTarget::ModRevision(r) => kv.map_or(0, |kv| kv.mod_revision).cmp(r),
        CompareTarget::CreateRevision(r) => kv.map_or(0, |kv| kv.create_revision).cmp(r),
        CompareTarget::Value(v) => match kv {
            Some(kv) => kv.value.cmp(v),
            None => return compare.op == CompareOp::NotEqual,
        },
    };
    match compare.op {
        CompareOp::Equal => ordering.is_eq(),
        CompareOp::NotEqual => ordering.is_ne(),
        CompareOp::Greater => ordering.is_gt(),
        CompareOp::Less => ordering.is_lt(),
    }
}

#[async_trait::async_trait]
impl Store for MemStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        Ok(self.lock()?.kvs.get(key).cloned())
    }

    async fn range(&self, range: RangeRequest) -> Result<RangePage> {
        let inner = self.lock()?;
        let end = range.end.unwrap_or_else(|| format!("{}\0", range.start));
        let kvs: Vec<KeyValue> = inner.kvs.range(range.start..end).map(|(_, kv)| kv.clone()).collect();
        Ok(RangePage { kvs, more: false, revision: inner.revision })
    }

    async fn txn(&self, txn: Txn) -> Result<TxnOutcome> {
        let mut inner = self.lock()?;
        if !txn.compares.iter().all(|c| holds(&inner, c)) {
            return Ok(TxnOutcome { succeeded: false, revision: inner.revision });
        }
        if txn.ops.is_empty() {
            return Ok(TxnOutcome { succeeded: true, revision: inner.revision });
        }
        for op in &txn.ops {
            if let Op::Put { lease: Some(LeaseId(id)), .. } = op
                && !inner.leases.contains_key(id)
            {
                return Err(StoreError::LeaseNotFound(*id));
            }
        }
        inner.revision += 1;
        let revision = inner.revision;
        for op in txn.ops {
            match op {
                Op::Put { key, value, lease } => {
                    let old = inner.kvs.get(&key);
                    let kv = KeyValue {
                        key: key.clone(),
                        value,
                        create_revision: old.map_or(revision, |o| o.create_revision),
                        mod_revision: revision,
                        version: old.map_or(1, |o| o.version + 1),
                        lease,
                    };
                    inner.kvs.insert(key, kv.clone());
                    self.emit(&mut inner, WatchEvent { kind: EventKind::Put, kv });
                }
                Op::Delete { key } => self.delete(&mut inner, &key),
                Op::DeleteRange { start, end } => {
                    let keys: Vec<String> = inner.kvs.range(start..end).map(|(k, _)| k.clone()).collect();
                    for key in keys {
                        self.delete(&mut inner, &key);
                    }
                }
            }
        }
        Ok(TxnOutcome { succeeded: true, revision })
    }

    async fn watch(
        &self,
        prefix: &str,
        from_revision: i64,
    ) -> Result<BoxStream<'static, Result<WatchEvent>>> {
        let inner = self.lock()?;
        let prefix = prefix.to_owned();
        let past: Vec<Result<WatchEvent>> = inner
            .history
            .iter()
            .filter(|e| e.kv.mod_revision >= from_revision && e.kv.key.starts_with(&prefix))
            .cloned()
            .map(Ok)
            .collect();
        // Subscribed under the lock: every later event arrives here and not in `past`.
        let future =
            tokio_stream::wrappers::BroadcastStream::new(self.events.subscribe()).filter_map(move |e| {
                let item = match e {
                    Ok(e) if e.kv.key.starts_with(&prefix) => Some(Ok(e)),
                    Ok(_) => None,
                    Err(_) => Some(Err(StoreError::Unavailable("watch lagged".into()))),
                };
                std::future::ready(item)
            });
        Ok(futures::stream::iter(past).chain(future).boxed())
    }

    async fn lease_grant(&self, ttl: Duration) -> Result<LeaseId> {
        let mut inner = self.lock()?;
        inner.next_lease += 1;
        let id = inner.next_lease;
        inner.leases.insert(id, (ttl, Instant::now() + ttl));
        Ok(LeaseId(id))
    }

    async fn lease_keep_alive(&self, lease: LeaseId) -> Result<Duration> {
        let mut inner = self.lock()?;
        let entry = inner.leases.get_mut(&lease.0).ok_or(StoreError::LeaseNotFound(lease.0))?;
        entry.1 = Instant::now() + entry.0;
        Ok(entry.0)
    }

    async fn lease_revoke(&self, lease: LeaseId) -> Result<()> {
        let mut inner = self.lock()?;
        if !inner.leases.contains_key(&lease.0) {
            return Err(StoreError::LeaseNotFound(lease.0));
        }
        self.drop_lease(&mut inner, lease.0);
        Ok(())
    }

    async fn current_revision(&self) -> Result<i64> {
        Ok(self.lock()?.revision)
    }

    fn backend_name(&self) -> &'static str {
        "memory-test-double"
    }
}
