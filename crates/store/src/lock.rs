//! Exclusive and shared locks tied to a lease, built once on the [`Store`] trait.
//!
//! A node's reservation in Ironic is exactly this: a conductor takes the node's
//! exclusive lock before changing it, other readers may share it, and if the
//! conductor dies its lease lapses and the lock vanishes with it. The holder name
//! stored in the lock is what the API shows as the node's `reservation`.
//!
//! Layout under `/ferric/locks/<name>/` (`<name>` escaped so one lock's keys never
//! fall under another's prefix):
//! - `exclusive` → holder, leased to the holder's lease;
//! - `shared/<holder>` → holder, leased to that holder's lease;
//! - `guard` → bumped by every shared acquisition (no lease).
//!
//! The trait can only compare single keys, so "no shared holder exists" is checked
//! through the guard: an exclusive acquisition reads the whole lock prefix, and its
//! transaction requires the exclusive key to be absent and the guard to be
//! unchanged since that read. A shared acquisition requires the exclusive key to be
//! absent and bumps the guard, so it cannot slip in between the read and the write
//! of a competing exclusive acquisition.

use crate::{Compare, DynStore, KeyValue, LeaseId, Op, RangeRequest, Result, StoreError, Txn};

/// Where all locks live.
pub const LOCK_PREFIX: &str = "/ferric/locks/";

/// How many times an acquisition retries when the lock changed under it (a holder
/// left, a shared holder arrived) before answering with the current holder.
const ATTEMPTS: usize = 8;

/// The two ways to hold a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// The only holder: may change what the lock protects.
    Exclusive,
    /// One of possibly many readers; excludes exclusive holders.
    Shared,
}

/// Who holds a lock right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockState {
    /// Nobody.
    Free,
    /// One exclusive holder (the node's `reservation`).
    Exclusive(String),
    /// Shared holders, in name order.
    Shared(Vec<String>),
}

/// A held lock. Dropping it does *not* release it (release is a store call): call
/// [`Locks::release`], or let the lease lapse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockGuard {
    name: String,
    holder: String,
    mode: LockMode,
    lease: LeaseId,
    key: String,
    /// Revision of the write that took the lock: release only deletes this write.
    revision: i64,
}

impl LockGuard {
    /// The lock's name (e.g. a node UUID).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Who holds it.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// How it is held.
    pub fn mode(&self) -> LockMode {
        self.mode
    }

    /// The lease the lock dies with.
    pub fn lease(&self) -> LeaseId {
        self.lease
    }

    /// The store revision at which the lock was taken (a fencing token: it only
    /// grows across successive holders).
    pub fn revision(&self) -> i64 {
        self.revision
    }
}

/// Lock operations on one store.
#[derive(Clone)]
pub struct Locks {
    store: DynStore,
}

impl Locks {
    /// Locks kept in `store`.
    pub fn new(store: DynStore) -> Self {
        Self { store }
    }

    /// The key prefix of `name`'s lock entries: what someone waiting for the lock
    /// watches, since a release or a lapsed lease deletes keys under it.
    pub fn prefix_of(name: &str) -> String {
        lock_base(name)
    }

    /// Takes `name` exclusively for `holder`, for as long as `lease` lives.
    ///
    /// Fails with [`StoreError::Locked`] naming the current holder when someone else
    /// holds it (exclusively or shared). Taking it again with the same holder and
    /// lease returns the existing guard (re-entrant for a restarted task of the same
    /// process); with another lease it is refused like any other holder.
    pub async fn lock_exclusive(&self, name: &str, holder: &str, lease: LeaseId) -> Result<LockGuard> {
        check_name(name, holder)?;
        let base = lock_base(name);
        let exclusive_key = format!("{base}exclusive");
        let guard_key = format!("{base}guard");
        for _ in 0..ATTEMPTS {
            let page = self.store.range(RangeRequest::prefix(&base)).await?;
            let exclusive = page.kvs.iter().find(|kv| kv.key == exclusive_key);
            let guard_rev = page.kvs.iter().find(|kv| kv.key == guard_key).map_or(0, |kv| kv.mod_revision);
            if let Some(kv) = exclusive {
                let current = holder_of(kv)?;
                if current == holder && kv.lease == Some(lease) {
                    return Ok(self.guard(name, holder, LockMode::Exclusive, lease, kv));
                }
                return Err(StoreError::Locked { name: name.to_owned(), holder: current });
            }
            if let Some(shared) = page.kvs.iter().find(|kv| kv.key.starts_with(&format!("{base}shared/"))) {
                return Err(StoreError::Locked { name: name.to_owned(), holder: holder_of(shared)? });
            }
            let txn = Txn::new()
                .when(Compare::absent(&exclusive_key))
                .when(Compare::mod_revision(&guard_key, guard_rev))
                .then(Op::put_leased(&exclusive_key, holder, lease));
            let outcome = self.store.txn(txn).await?;
            if outcome.succeeded {
                return Ok(LockGuard {
                    name: name.to_owned(),
                    holder: holder.to_owned(),
                    mode: LockMode::Exclusive,
                    lease,
                    key: exclusive_key,
                    revision: outcome.revision,
                });
            }
        }
        Err(self.contended(name).await)
    }

    /// Takes `name` shared for `holder`, for as long as `lease` lives. Fails with
    /// [`StoreError::Locked`] while someone holds it exclusively. Re-taking it with
    /// the same holder refreshes the entry onto `lease`.
    pub async fn lock_shared(&self, name: &str, holder: &str, lease: LeaseId) -> Result<LockGuard> {
        check_name(name, holder)?;
        let base = lock_base(name);
        let exclusive_key = format!("{base}exclusive");
        let shared_key = format!("{base}shared/{}", escape(holder));
        let txn = Txn::new()
            .when(Compare::absent(&exclusive_key))
            .then(Op::put_leased(&shared_key, holder, lease))
            .then(Op::put(format!("{base}guard"), Vec::new()));
        for _ in 0..ATTEMPTS {
            let outcome = self.store.txn(txn.clone()).await?;
            if outcome.succeeded {
                return Ok(LockGuard {
                    name: name.to_owned(),
                    holder: holder.to_owned(),
                    mode: LockMode::Shared,
                    lease,
                    key: shared_key,
                    revision: outcome.revision,
                });
            }
            if let Some(kv) = self.store.get(&exclusive_key).await? {
                return Err(StoreError::Locked { name: name.to_owned(), holder: holder_of(&kv)? });
            }
        }
        Err(self.contended(name).await)
    }

    /// Releases a lock taken by `guard`. `Ok(false)` when it was no longer held by
    /// this guard (its lease lapsed, or it was taken over): the caller must assume
    /// whatever it protected may have changed.
    pub async fn release(&self, guard: &LockGuard) -> Result<bool> {
        let txn =
            Txn::new().when(Compare::mod_revision(&guard.key, guard.revision)).then(Op::delete(&guard.key));
        Ok(self.store.txn(txn).await?.succeeded)
    }

    /// Whether `guard` still holds its lock (its lease has not lapsed and nobody
    /// took the lock over since).
    pub async fn is_held(&self, guard: &LockGuard) -> Result<bool> {
        Ok(self.store.get(&guard.key).await?.is_some_and(|kv| kv.mod_revision == guard.revision))
    }

    /// Who holds `name` now: the exclusive holder is the node's `reservation`.
    pub async fn state(&self, name: &str) -> Result<LockState> {
        let base = lock_base(name);
        let page = self.store.range(RangeRequest::prefix(&base)).await?;
        if let Some(kv) = page.kvs.iter().find(|kv| kv.key == format!("{base}exclusive")) {
            return Ok(LockState::Exclusive(holder_of(kv)?));
        }
        let shared_prefix = format!("{base}shared/");
        let holders = page
            .kvs
            .iter()
            .filter(|kv| kv.key.starts_with(&shared_prefix))
            .map(holder_of)
            .collect::<Result<Vec<_>>>()?;
        Ok(if holders.is_empty() { LockState::Free } else { LockState::Shared(holders) })
    }

    /// The exclusive holder of `name`, if any: what the API shows as `reservation`.
    pub async fn reservation(&self, name: &str) -> Result<Option<String>> {
        Ok(match self.state(name).await? {
            LockState::Exclusive(holder) => Some(holder),
            _ => None,
        })
    }

    fn guard(&self, name: &str, holder: &str, mode: LockMode, lease: LeaseId, kv: &KeyValue) -> LockGuard {
        LockGuard {
            name: name.to_owned(),
            holder: holder.to_owned(),
            mode,
            lease,
            key: kv.key.clone(),
            revision: kv.mod_revision,
        }
    }

    /// The answer after too many lost races: who holds it now, if anyone.
    async fn contended(&self, name: &str) -> StoreError {
        let holder = match self.state(name).await {
            Ok(LockState::Exclusive(holder)) => holder,
            Ok(LockState::Shared(holders)) => holders.join(","),
            Ok(LockState::Free) => "a concurrent locker".to_owned(),
            Err(err) => return err,
        };
        StoreError::Locked { name: name.to_owned(), holder }
    }
}

fn check_name(name: &str, holder: &str) -> Result<()> {
    if name.is_empty() || holder.is_empty() {
        return Err(StoreError::InvalidArgument("a lock needs a name and a holder".into()));
    }
    Ok(())
}

fn lock_base(name: &str) -> String {
    format!("{LOCK_PREFIX}{}/", escape(name))
}

/// Escapes `%` and `/` so a name is one path segment.
pub(crate) fn escape(segment: &str) -> String {
    segment.replace('%', "%25").replace('/', "%2F")
}

fn holder_of(kv: &KeyValue) -> Result<String> {
    String::from_utf8(kv.value.clone()).map_err(|e| StoreError::Corrupt {
        key: kv.key.clone(),
        reason: format!("lock holder is not UTF-8: {e}"),
    })
}
