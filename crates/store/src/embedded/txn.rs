//! The single writer of the embedded store.
//!
//! Every change — transactions, lease grants, revocations, expiry, compaction — goes
//! through one thread, which gives the store a total order of revisions for free.
//! Group commit: the writer takes every request queued while it was busy, applies
//! them one after another inside one redb write transaction (each still getting its
//! own revision and seeing the effects of the ones before it), commits once with
//! `Durability::Immediate` (fsync), and only then answers. An acknowledged write is
//! therefore on disk, and concurrent writers share the cost of one fsync.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use redb::{Database, Durability, ReadableTable, Table, WriteTransaction};
use tokio::sync::{broadcast, oneshot};

use super::lease::LeaseTable;
use super::tables::{
    HISTORY, KV, LEASE_KEYS, LEASES, META, META_COMPACT, META_NEXT_LEASE, META_REVISION, db_err, decode_kv,
    encode_events, encode_kv,
};
use crate::{
    Compare, CompareOp, CompareTarget, EventKind, KeyValue, LeaseId, Op, Result, StoreError, Txn, TxnOutcome,
    WatchEvent,
};

/// Most requests folded into one commit; bounds the latency of the first of them.
const MAX_BATCH: usize = 256;

/// A reply channel for one request.
pub(super) type Reply<T> = oneshot::Sender<Result<T>>;

/// What the writer can be asked to do.
pub(super) enum Request {
    Txn(Txn, Reply<TxnOutcome>),
    Grant(Duration, Reply<LeaseId>),
    Revoke(LeaseId, Reply<()>),
    /// Expire these leases if their deadline has (still) passed.
    Expire(Vec<i64>, Reply<()>),
    Compact(i64, Reply<()>),
    /// Stop after this batch and release the database file.
    Shutdown(oneshot::Sender<()>),
}

/// The events of one committed revision, as published to watchers.
#[derive(Debug)]
pub(super) struct Revision {
    pub(super) revision: i64,
    pub(super) events: Vec<WatchEvent>,
}

/// The writer thread's state.
pub(super) struct Writer {
    pub(super) db: Arc<Database>,
    pub(super) leases: Arc<LeaseTable>,
    pub(super) events: broadcast::Sender<Arc<Revision>>,
    /// Revisions of history kept for watch replay.
    pub(super) retention: i64,
}

/// A request's answer, held back until the batch is durable.
type Answer = Box<dyn FnOnce(Option<&StoreError>) + Send>;

fn answer<T: Send + 'static>(reply: Reply<T>, result: Result<T>) -> Answer {
    Box::new(move |fatal| {
        let _ = reply.send(match fatal {
            Some(err) => Err(err.clone()),
            None => result,
        });
    })
}

/// Changes made by the batch so far, visible to later requests of the same batch
/// and applied to the in-memory state only once the commit succeeds.
struct Batch {
    revision: i64,
    compact: i64,
    next_lease: i64,
    published: Vec<Arc<Revision>>,
    granted: HashMap<i64, Duration>,
    ended: HashSet<i64>,
}

impl Writer {
    /// Serves requests until every sender is gone or a shutdown is asked for.
    pub(super) fn run(self, requests: Receiver<Request>) {
        while let Ok(first) = requests.recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match requests.try_recv() {
                    Ok(request) => batch.push(request),
                    Err(_) => break,
                }
            }
            let (stops, batch): (Vec<Request>, Vec<Request>) =
                batch.into_iter().partition(|r| matches!(r, Request::Shutdown(_)));
            let shutdown: Vec<oneshot::Sender<()>> = stops
                .into_iter()
                .filter_map(|r| match r {
                    Request::Shutdown(ack) => Some(ack),
                    _ => None,
                })
                .collect();
            if !batch.is_empty() {
                self.process(batch);
            }
            if !shutdown.is_empty() {
                drop(self);
                for ack in shutdown {
                    let _ = ack.send(());
                }
                return;
            }
        }
    }

    fn process(&self, batch: Vec<Request>) {
        let mut answers: Vec<Answer> = Vec::with_capacity(batch.len());
        let outcome = self.apply_all(batch, &mut answers);
        match outcome {
            Ok(done) => {
                for id in &done.ended {
                    self.leases.remove(*id);
                }
                for (id, ttl) in &done.granted {
                    self.leases.insert(*id, *ttl);
                }
                for revision in done.published {
                    // No receiver is fine: nobody watches.
                    let _ = self.events.send(revision);
                }
                for answer in answers {
                    answer(None);
                }
            }
            Err(err) => {
                tracing::error!(error = %err, "embedded store: commit failed");
                for answer in answers {
                    answer(Some(&err));
                }
            }
        }
    }

    /// Applies the batch in one write transaction. An `Err` is fatal for the whole
    /// batch (nothing committed); per-request refusals are in `answers`.
    fn apply_all(&self, batch: Vec<Request>, answers: &mut Vec<Answer>) -> Result<Batch> {
        let mut pending: Vec<Request> = batch;
        let mut wtx = match self.db.begin_write() {
            Ok(wtx) => wtx,
            Err(err) => {
                let err = db_err(err);
                answers.extend(pending.drain(..).map(|r| refuse(r, err.clone())));
                return Err(err);
            }
        };
        if let Err(err) = wtx.set_durability(Durability::Immediate) {
            let err = StoreError::Internal(format!("embedded store: {err}"));
            answers.extend(pending.drain(..).map(|r| refuse(r, err.clone())));
            return Err(err);
        }
        let mut state = match read_batch_state(&wtx) {
            Ok(state) => state,
            Err(err) => {
                answers.extend(pending.drain(..).map(|r| refuse(r, err.clone())));
                return Err(err);
            }
        };
        let mut fatal = None;
        for request in pending {
            if fatal.is_some() {
                answers.push(refuse(request, StoreError::Internal("batch aborted".into())));
                continue;
            }
            let result = self.apply_one(&wtx, &mut state, request, answers);
            if let Err(err) = result {
                fatal = Some(err);
            }
        }
        if let Some(err) = fatal {
            return Err(err);
        }
        self.auto_compact(&wtx, &mut state)?;
        write_meta(&wtx, &state)?;
        wtx.commit().map_err(db_err)?;
        Ok(state)
    }

    /// Applies one request. `Err` = storage failure (fatal for the batch); a refusal
    /// of this request alone is pushed to `answers` as an `Err` answer.
    fn apply_one(
        &self,
        wtx: &WriteTransaction,
        state: &mut Batch,
        request: Request,
        answers: &mut Vec<Answer>,
    ) -> Result<()> {
        match request {
            Request::Txn(txn, reply) => {
                let result = self.apply_txn(wtx, state, txn)?;
                answers.push(answer(reply, result));
            }
            Request::Grant(ttl, reply) => {
                let id = state.next_lease;
                state.next_lease += 1;
                let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
                wtx.open_table(LEASES).map_err(db_err)?.insert(id, ttl_ms).map_err(db_err)?;
                state.granted.insert(id, Duration::from_millis(ttl_ms));
                answers.push(answer(reply, Ok(LeaseId(id))));
            }
            Request::Revoke(lease, reply) => {
                let exists = !state.ended.contains(&lease.0)
                    && (state.granted.contains_key(&lease.0) || self.leases.exists(lease.0));
                if exists {
                    end_lease(wtx, state, lease.0)?;
                    answers.push(answer(reply, Ok(())));
                } else {
                    answers.push(answer(reply, Err(StoreError::LeaseNotFound(lease.0))));
                }
            }
            Request::Expire(ids, reply) => {
                let now = Instant::now();
                for id in ids {
                    if !state.ended.contains(&id) && self.leases.is_expired(id, now) {
                        tracing::debug!(lease = id, "embedded store: lease expired");
                        end_lease(wtx, state, id)?;
                    }
                }
                answers.push(answer(reply, Ok(())));
            }
            Request::Compact(revision, reply) => {
                let result = if revision > state.revision {
                    Err(StoreError::InvalidArgument(format!(
                        "cannot compact to revision {revision}: the store is at {}",
                        state.revision
                    )))
                } else {
                    compact(wtx, state, revision)?;
                    Ok(())
                };
                answers.push(answer(reply, result));
            }
            Request::Shutdown(ack) => {
                // Filtered out before the batch; answer anyway rather than hang.
                let _ = ack.send(());
            }
        }
        Ok(())
    }

    /// Outer `Err`: storage failure. Inner: this transaction's answer.
    fn apply_txn(&self, wtx: &WriteTransaction, state: &mut Batch, txn: Txn) -> Result<Result<TxnOutcome>> {
        if let Err(err) = crate::validate::txn(&txn) {
            return Ok(Err(err));
        }
        let mut kv = wtx.open_table(KV).map_err(db_err)?;
        for compare in &txn.compares {
            let current = match kv.get(compare.key.as_str()).map_err(db_err)? {
                Some(bytes) => match decode_kv(&compare.key, bytes.value()) {
                    Ok(record) => Some(record),
                    // A damaged record fails this transaction only, not the batch.
                    Err(err) => return Ok(Err(err)),
                },
                None => None,
            };
            if !holds(compare, current.as_ref()) {
                return Ok(Ok(TxnOutcome { succeeded: false, revision: state.revision }));
            }
        }
        for op in &txn.ops {
            if let Op::Put { lease: Some(LeaseId(id)), .. } = op {
                let live =
                    !state.ended.contains(id) && (state.granted.contains_key(id) || self.leases.is_live(*id));
                if !live {
                    return Ok(Err(StoreError::LeaseNotFound(*id)));
                }
            }
        }
        let revision = state.revision + 1;
        let mut lease_keys = wtx.open_table(LEASE_KEYS).map_err(db_err)?;
        let mut events = Vec::new();
        for op in txn.ops {
            match op {
                Op::Put { key, value, lease } => {
                    let old = match kv.get(key.as_str()).map_err(db_err)? {
                        // A damaged record is overwritten as if new: writing is the repair.
                        Some(bytes) => decode_kv(&key, bytes.value())
                            .inspect_err(
                                |err| tracing::warn!(%err, "embedded store: overwriting a damaged record"),
                            )
                            .ok(),
                        None => None,
                    };
                    let record = KeyValue {
                        key,
                        value,
                        create_revision: old.as_ref().map_or(revision, |o| o.create_revision),
                        mod_revision: revision,
                        version: old.as_ref().map_or(1, |o| o.version + 1),
                        lease,
                    };
                    let old_lease = old.and_then(|o| o.lease);
                    if old_lease != lease {
                        if let Some(LeaseId(id)) = old_lease {
                            lease_keys.remove((id, record.key.as_str())).map_err(db_err)?;
                        }
                        if let Some(LeaseId(id)) = lease {
                            lease_keys.insert((id, record.key.as_str()), ()).map_err(db_err)?;
                        }
                    }
                    kv.insert(record.key.as_str(), encode_kv(&record).as_slice()).map_err(db_err)?;
                    events.push(WatchEvent { kind: EventKind::Put, kv: record });
                }
                Op::Delete { key } => {
                    if let Some(event) = delete_key(&mut kv, &mut lease_keys, &key, revision)? {
                        events.push(event);
                    }
                }
                Op::DeleteRange { start, end } => {
                    let keys = keys_in(&kv, &start, &end)?;
                    for key in keys {
                        if let Some(event) = delete_key(&mut kv, &mut lease_keys, &key, revision)? {
                            events.push(event);
                        }
                    }
                }
            }
        }
        drop(kv);
        drop(lease_keys);
        if !events.is_empty() {
            record_revision(wtx, state, revision, events)?;
        }
        Ok(Ok(TxnOutcome { succeeded: true, revision: state.revision }))
    }

    fn auto_compact(&self, wtx: &WriteTransaction, state: &mut Batch) -> Result<()> {
        let slack = (self.retention / 10).max(1);
        if state.revision - state.compact > self.retention + slack {
            compact(wtx, state, state.revision - self.retention)?;
        }
        Ok(())
    }
}

fn refuse(request: Request, err: StoreError) -> Answer {
    match request {
        Request::Txn(_, reply) => answer(reply, Err(err)),
        Request::Grant(_, reply) => answer(reply, Err(err)),
        Request::Revoke(_, reply) | Request::Expire(_, reply) | Request::Compact(_, reply) => {
            answer(reply, Err(err))
        }
        Request::Shutdown(ack) => Box::new(move |_| {
            let _ = ack.send(());
        }),
    }
}

fn read_batch_state(wtx: &WriteTransaction) -> Result<Batch> {
    let meta = wtx.open_table(META).map_err(db_err)?;
    let get = |name: &str, default: i64| -> Result<i64> {
        Ok(meta.get(name).map_err(db_err)?.map_or(default, |v| v.value()))
    };
    Ok(Batch {
        revision: get(META_REVISION, 1)?,
        compact: get(META_COMPACT, 0)?,
        next_lease: get(META_NEXT_LEASE, 1)?,
        published: Vec::new(),
        granted: HashMap::new(),
        ended: HashSet::new(),
    })
}

fn write_meta(wtx: &WriteTransaction, state: &Batch) -> Result<()> {
    let mut meta = wtx.open_table(META).map_err(db_err)?;
    meta.insert(META_REVISION, state.revision).map_err(db_err)?;
    meta.insert(META_COMPACT, state.compact).map_err(db_err)?;
    meta.insert(META_NEXT_LEASE, state.next_lease).map_err(db_err)?;
    Ok(())
}

/// Evaluates a compare the way etcd does: an absent key has revisions 0 and never
/// matches a value compare.
fn holds(compare: &Compare, current: Option<&KeyValue>) -> bool {
    let ordering = match &compare.target {
        CompareTarget::ModRevision(r) => current.map_or(0, |kv| kv.mod_revision).cmp(r),
        CompareTarget::CreateRevision(r) => current.map_or(0, |kv| kv.create_revision).cmp(r),
        CompareTarget::Value(v) => match current {
            Some(kv) => kv.value.as_slice().cmp(v.as_slice()),
            None => return false,
        },
    };
    match compare.op {
        CompareOp::Equal => ordering.is_eq(),
        CompareOp::NotEqual => ordering.is_ne(),
        CompareOp::Greater => ordering.is_gt(),
        CompareOp::Less => ordering.is_lt(),
    }
}

fn keys_in(kv: &Table<&str, &[u8]>, start: &str, end: &str) -> Result<Vec<String>> {
    if start >= end {
        return Ok(Vec::new());
    }
    let mut keys = Vec::new();
    for entry in kv.range::<&str>(start..end).map_err(db_err)? {
        let (key, _) = entry.map_err(db_err)?;
        keys.push(key.value().to_owned());
    }
    Ok(keys)
}

fn delete_key(
    kv: &mut Table<&str, &[u8]>,
    lease_keys: &mut Table<(i64, &str), ()>,
    key: &str,
    revision: i64,
) -> Result<Option<WatchEvent>> {
    let old = match kv.remove(key).map_err(db_err)? {
        // A damaged record can still be deleted; only its lease link is unknown.
        Some(bytes) => decode_kv(key, bytes.value()).ok(),
        None => return Ok(None),
    };
    if let Some(LeaseId(id)) = old.and_then(|o| o.lease) {
        lease_keys.remove((id, key)).map_err(db_err)?;
    }
    Ok(Some(deletion(key, revision)))
}

/// The event etcd sends for a deletion: the key, and the deletion's revision.
fn deletion(key: &str, revision: i64) -> WatchEvent {
    WatchEvent {
        kind: EventKind::Delete,
        kv: KeyValue {
            key: key.to_owned(),
            value: Vec::new(),
            create_revision: 0,
            mod_revision: revision,
            version: 0,
            lease: None,
        },
    }
}

/// Deletes a lease and every key attached to it, at one new revision.
fn end_lease(wtx: &WriteTransaction, state: &mut Batch, id: i64) -> Result<()> {
    let mut kv = wtx.open_table(KV).map_err(db_err)?;
    let mut lease_keys = wtx.open_table(LEASE_KEYS).map_err(db_err)?;
    let mut keys = Vec::new();
    for entry in lease_keys.range((id, "")..).map_err(db_err)? {
        let (key, _) = entry.map_err(db_err)?;
        let (lease, name) = key.value();
        if lease != id {
            break;
        }
        keys.push(name.to_owned());
    }
    let revision = state.revision + 1;
    let mut events = Vec::new();
    for key in keys {
        lease_keys.remove((id, key.as_str())).map_err(db_err)?;
        let old = match kv.remove(key.as_str()).map_err(db_err)? {
            Some(bytes) => decode_kv(&key, bytes.value()).ok(),
            None => continue,
        };
        // Only delete what still belongs to this lease (defensive: the index and the
        // record are always written together). A damaged record goes with its lease.
        match old {
            Some(other) if other.lease != Some(LeaseId(id)) => {
                kv.insert(key.as_str(), encode_kv(&other).as_slice()).map_err(db_err)?;
            }
            _ => events.push(deletion(&key, revision)),
        }
    }
    drop(kv);
    drop(lease_keys);
    wtx.open_table(LEASES).map_err(db_err)?.remove(id).map_err(db_err)?;
    state.granted.remove(&id);
    state.ended.insert(id);
    if !events.is_empty() {
        record_revision(wtx, state, revision, events)?;
    }
    Ok(())
}

fn record_revision(
    wtx: &WriteTransaction,
    state: &mut Batch,
    revision: i64,
    events: Vec<WatchEvent>,
) -> Result<()> {
    wtx.open_table(HISTORY)
        .map_err(db_err)?
        .insert(revision, encode_events(&events).as_slice())
        .map_err(db_err)?;
    state.revision = revision;
    state.published.push(Arc::new(Revision { revision, events }));
    Ok(())
}

/// Drops history before `revision`; watches from earlier then fail as compacted.
fn compact(wtx: &WriteTransaction, state: &mut Batch, revision: i64) -> Result<()> {
    if revision <= state.compact {
        return Ok(());
    }
    wtx.open_table(HISTORY).map_err(db_err)?.retain_in::<i64, _>(..revision, |_, _| false).map_err(db_err)?;
    state.compact = revision;
    Ok(())
}
