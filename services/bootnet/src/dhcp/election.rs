//! Active/standby DHCP across bootnet instances.
//!
//! Two DHCP servers answering one provisioning network would hand the same
//! client different addresses, so only one bootnet instance serves DHCP at a
//! time: the one holding the `bootnet-dhcp` lock in the store. The lock hangs on
//! a lease this instance keeps alive; a standby watches the lock and takes it the
//! moment it is released or its holder's lease lapses (a killed active is replaced
//! within one lease TTL). An active that cannot renew its lease for a whole TTL
//! stops answering before a standby can start, so the two never overlap by more
//! than the store's own lease accounting allows. TFTP, HTTP and gRPC are
//! stateless and run on every instance.

use std::time::Duration;

use ferric_store::lock::{LockGuard, Locks};
use ferric_store::{DynStore, LeaseId, StoreError};
use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The lock whose holder serves DHCP.
pub const DHCP_LOCK: &str = "bootnet-dhcp";

/// One bootnet instance's candidacy for serving DHCP.
#[derive(Clone)]
pub struct Candidate {
    store: DynStore,
    locks: Locks,
    holder: String,
    ttl: Duration,
}

/// A won election: DHCP may be served until [`Term::lost`] resolves.
pub struct Term {
    guard: LockGuard,
    store: DynStore,
    lost: watch::Receiver<bool>,
    keeper: JoinHandle<()>,
}

impl Candidate {
    /// A candidate named `holder` (unique per process) whose leadership lapses
    /// `ttl` after its last successful keep-alive.
    pub fn new(store: DynStore, holder: String, ttl: Duration) -> Self {
        let locks = Locks::new(store.clone());
        Self { store, locks, holder, ttl }
    }

    /// The name other instances see as the active one.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// One attempt: the term when the lock was free, `None` when another
    /// instance holds it.
    pub async fn try_acquire(&self) -> Result<Option<Term>, StoreError> {
        let lease = self.store.lease_grant(self.ttl).await?;
        match self.locks.lock_exclusive(DHCP_LOCK, &self.holder, lease).await {
            Ok(guard) => Ok(Some(self.begin(guard, lease))),
            Err(error) => {
                // Best effort: an unused lease lapses by itself.
                let _ = self.store.lease_revoke(lease).await;
                match error {
                    StoreError::Locked { .. } => Ok(None),
                    other => Err(other),
                }
            }
        }
    }

    /// Waits until this instance holds the lock: retries whenever the lock's keys
    /// change (a release or a lapsed lease deletes them) and at least once per
    /// TTL, in case a watch event was missed.
    pub async fn acquire(&self) -> Term {
        loop {
            let revision = self.store.current_revision().await.unwrap_or(0);
            match self.try_acquire().await {
                Ok(Some(term)) => return term,
                Ok(None) => {
                    let holder = self.locks.reservation(DHCP_LOCK).await.ok().flatten();
                    tracing::debug!(active = ?holder, "standing by for DHCP");
                }
                Err(error) => tracing::warn!(%error, "DHCP election attempt failed; retrying"),
            }
            self.wait_for_change(revision).await;
        }
    }

    async fn wait_for_change(&self, after_revision: i64) {
        let deadline = tokio::time::sleep(self.ttl);
        tokio::pin!(deadline);
        let prefix = Locks::prefix_of(DHCP_LOCK);
        let events = self.store.watch(&prefix, after_revision + 1).await;
        let Ok(mut events) = events else {
            deadline.await;
            return;
        };
        tokio::select! {
            _ = events.next() => {}
            () = &mut deadline => {}
        }
    }

    fn begin(&self, guard: LockGuard, lease: LeaseId) -> Term {
        let (lost_tx, lost) = watch::channel(false);
        let store = self.store.clone();
        let ttl = self.ttl;
        let keeper = tokio::spawn(async move {
            let mut last_renewed = Instant::now();
            loop {
                tokio::time::sleep(ttl / 3).await;
                match store.lease_keep_alive(lease).await {
                    Ok(_) => last_renewed = Instant::now(),
                    Err(StoreError::LeaseNotFound(_)) => break,
                    Err(error) => {
                        tracing::warn!(%error, "DHCP leadership keep-alive failed");
                        // Stop before the lease can lapse in the store's eyes, so
                        // a standby never starts while this one still answers.
                        if last_renewed.elapsed() + ttl / 3 >= ttl {
                            break;
                        }
                    }
                }
            }
            let _ = lost_tx.send(true);
        });
        tracing::info!(holder = %guard.holder(), "this instance now serves DHCP");
        Term { guard, store: self.store.clone(), lost, keeper }
    }
}

impl Term {
    /// Resolves when leadership is lost (the lease could not be renewed).
    pub async fn lost(&mut self) {
        let _ = self.lost.wait_for(|lost| *lost).await;
    }

    /// Gives leadership up at once (a graceful stop), so a standby takes over
    /// without waiting for the lease to lapse.
    pub async fn resign(self) {
        self.keeper.abort();
        let _ = self.store.lease_revoke(self.guard.lease()).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    async fn store() -> (tempfile::TempDir, DynStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            ferric_store::embedded::EmbeddedStore::open(dir.path().join("s.redb")).await.expect("store");
        (dir, Arc::new(store))
    }

    #[tokio::test]
    async fn one_candidate_serves_and_a_standby_takes_over_on_resignation() {
        let (_dir, store) = store().await;
        let ttl = Duration::from_secs(5);
        let first = Candidate::new(store.clone(), "bootnet-a".into(), ttl);
        let second = Candidate::new(store.clone(), "bootnet-b".into(), ttl);
        let term = first.try_acquire().await.expect("store").expect("the lock is free");
        assert!(second.try_acquire().await.expect("store").is_none(), "held by the first");
        let standby = tokio::spawn(async move { second.acquire().await });
        term.resign().await;
        let term = standby.await.expect("standby task");
        assert_eq!(Locks::new(store).reservation(DHCP_LOCK).await.unwrap().as_deref(), Some("bootnet-b"));
        term.resign().await;
    }

    #[tokio::test]
    async fn a_term_whose_lease_is_gone_is_lost() {
        let (_dir, store) = store().await;
        let candidate = Candidate::new(store.clone(), "bootnet-a".into(), Duration::from_secs(3));
        let mut term = candidate.try_acquire().await.unwrap().unwrap();
        store.lease_revoke(term.guard.lease()).await.unwrap();
        term.lost().await;
        assert!(candidate.try_acquire().await.unwrap().is_some(), "free again once the lease is gone");
    }
}
