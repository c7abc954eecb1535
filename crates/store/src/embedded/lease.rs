//! Lease deadlines of the embedded store and the task that expires them.
//!
//! The lease rows (id, TTL) are on disk; the deadlines are kept only here, in memory,
//! as etcd does: after a restart every surviving lease gets a fresh full TTL, so a
//! holder that is still alive can keep it, and one that died with the old process
//! loses it one TTL later. Expiry itself is a write (it deletes the lease's keys with
//! a new revision), so the reaper only decides *when* and hands the work to the
//! single writer, which re-checks the deadline so a keep-alive racing the reaper wins.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, oneshot};

use super::txn::Request;
use crate::{Result, StoreError};

/// The longest the reaper sleeps, so it notices a dropped store promptly.
const MAX_NAP: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
struct LeaseState {
    ttl: Duration,
    deadline: Instant,
}

/// In-memory lease deadlines, shared by the store handle, the writer and the reaper.
#[derive(Debug, Default)]
pub(super) struct LeaseTable {
    leases: Mutex<HashMap<i64, LeaseState>>,
    /// Woken when a lease is added, so the reaper can sleep until the nearest deadline.
    changed: Notify,
}

impl LeaseTable {
    /// Leases read back from disk at open: each gets a fresh full TTL.
    pub(super) fn restore(rows: impl IntoIterator<Item = (i64, Duration)>) -> Self {
        let now = Instant::now();
        let leases =
            rows.into_iter().map(|(id, ttl)| (id, LeaseState { ttl, deadline: now + ttl })).collect();
        Self { leases: Mutex::new(leases), changed: Notify::new() }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<i64, LeaseState>> {
        // Nothing panics while holding this lock; recover the map if something did.
        self.leases.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether keys may still be attached to `id`: it exists and has not lapsed.
    pub(super) fn is_live(&self, id: i64) -> bool {
        self.lock().get(&id).is_some_and(|l| l.deadline > Instant::now())
    }

    /// Whether `id` exists at all (live, or lapsed but not yet reaped).
    pub(super) fn exists(&self, id: i64) -> bool {
        self.lock().contains_key(&id)
    }

    /// Whether `id` exists and its deadline has passed.
    pub(super) fn is_expired(&self, id: i64, now: Instant) -> bool {
        self.lock().get(&id).is_some_and(|l| l.deadline <= now)
    }

    /// Refreshes a live lease to its full TTL.
    pub(super) fn keep_alive(&self, id: i64) -> Result<Duration> {
        let mut leases = self.lock();
        let now = Instant::now();
        match leases.get_mut(&id) {
            Some(lease) if lease.deadline > now => {
                lease.deadline = now + lease.ttl;
                Ok(lease.ttl)
            }
            _ => Err(StoreError::LeaseNotFound(id)),
        }
    }

    /// Records a newly granted (and committed) lease.
    pub(super) fn insert(&self, id: i64, ttl: Duration) {
        self.lock().insert(id, LeaseState { ttl, deadline: Instant::now() + ttl });
        self.changed.notify_one();
    }

    /// Forgets a revoked or expired (and committed) lease.
    pub(super) fn remove(&self, id: i64) {
        self.lock().remove(&id);
    }

    fn expired(&self, now: Instant) -> Vec<i64> {
        self.lock().iter().filter(|(_, l)| l.deadline <= now).map(|(id, _)| *id).collect()
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.lock().values().map(|l| l.deadline).min()
    }
}

/// Expires lapsed leases until the store is dropped (`requests` can no longer be
/// upgraded).
pub(super) async fn reaper(leases: Arc<LeaseTable>, requests: Weak<std::sync::mpsc::Sender<Request>>) {
    loop {
        let now = Instant::now();
        let expired = leases.expired(now);
        if !expired.is_empty() {
            let Some(sender) = requests.upgrade() else { return };
            let (reply, done) = oneshot::channel();
            if sender.send(Request::Expire(expired, reply)).is_err() {
                return;
            }
            drop(sender);
            match done.await {
                Ok(Ok(())) => continue,
                // The writer failed (disk trouble): try again after a pause rather
                // than spinning.
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, "embedded store: expiring leases failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                Err(_) => return,
            }
        }
        if requests.strong_count() == 0 {
            return;
        }
        let nap = leases.next_deadline().map_or(MAX_NAP, |d| d.saturating_duration_since(now).min(MAX_NAP));
        tokio::select! {
            () = tokio::time::sleep(nap) => {}
            () = leases.changed.notified() => {}
        }
    }
}
