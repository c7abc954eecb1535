//! Registration and its upkeep: writing this conductor's records under a fresh
//! lease, refreshing the lease every third of its TTL, registering again when the
//! lease is lost, and revoking it on leave.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ferric_store::{Compare, DynStore, LeaseId, Op, StoreError, Txn};
use tokio::sync::watch;

use crate::error::ClusterError;
use crate::record::{ConductorInfo, KnownValue, MemberValue, decode, known_key, member_key};

/// The lease this instance currently holds and until when it is surely valid.
#[derive(Debug, Default)]
pub(crate) struct LeaseState(Mutex<Held>);

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Held {
    pub(crate) lease: Option<LeaseId>,
    /// Sent-time of the last successful grant or keep-alive plus the TTL: the lease
    /// cannot have lapsed before this.
    pub(crate) valid_until: Option<Instant>,
}

impl LeaseState {
    pub(crate) fn get(&self) -> Held {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn set(&self, held: Held) {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = held;
    }

    /// The lease, if it is known to be valid now.
    pub(crate) fn valid(&self) -> Option<LeaseId> {
        let held = self.get();
        held.lease.filter(|_| held.valid_until.is_some_and(|until| Instant::now() < until))
    }
}

/// Why one registration attempt did not succeed.
pub(crate) enum Registration {
    /// Another lease holds the membership key.
    Taken,
    /// The store failed.
    Failed(ClusterError),
}

/// Writes this instance's records; shared by join and the keeper.
pub(crate) struct Registrar {
    store: DynStore,
    pub(crate) info: ConductorInfo,
    ttl: Duration,
    /// When this hostname first registered (kept across re-registrations).
    created_at: DateTime<Utc>,
}

impl Registrar {
    pub(crate) async fn new(
        store: DynStore,
        info: ConductorInfo,
        ttl: Duration,
    ) -> Result<Self, ClusterError> {
        let key = known_key(&info.hostname);
        let known = store.get(&key).await.map_err(ClusterError::store(format!("reading {key}")))?;
        let created_at = known
            .and_then(|kv| decode::<KnownValue>(&kv.key, &kv.value))
            .map_or_else(Utc::now, |k| k.created_at);
        Ok(Self { store, info, ttl, created_at })
    }

    pub(crate) fn hostname(&self) -> &str {
        &self.info.hostname
    }

    fn known_value(&self) -> Result<Vec<u8>, ClusterError> {
        let known =
            KnownValue { info: self.info.clone(), created_at: self.created_at, updated_at: Utc::now() };
        serde_json::to_vec(&known)
            .map_err(|source| ClusterError::Encode { hostname: self.info.hostname.clone(), source })
    }

    /// One attempt: a fresh lease, then the membership key (only if absent) and the
    /// bookkeeping record in one transaction. Revokes the lease if that fails.
    pub(crate) async fn register(&self) -> Result<Held, Registration> {
        let hostname = self.hostname();
        let member = MemberValue { info: self.info.clone(), registered_at: Utc::now() };
        let member = serde_json::to_vec(&member).map_err(|source| {
            Registration::Failed(ClusterError::Encode { hostname: hostname.to_owned(), source })
        })?;
        let known = self.known_value().map_err(Registration::Failed)?;
        let sent = Instant::now();
        let lease = self.store.lease_grant(self.ttl).await.map_err(|e| {
            Registration::Failed(ClusterError::store(format!("granting a lease for {hostname}"))(e))
        })?;
        let key = member_key(hostname);
        let txn = Txn::new()
            .when(Compare::absent(key.clone()))
            .then(Op::put_leased(key.clone(), member, lease))
            .then(Op::put(known_key(hostname), known));
        let outcome = self.store.txn(txn).await;
        match outcome {
            Ok(outcome) if outcome.succeeded => {
                Ok(Held { lease: Some(lease), valid_until: Some(sent + self.ttl) })
            }
            Ok(_) => {
                self.revoke_quietly(lease).await;
                Err(Registration::Taken)
            }
            Err(err) => {
                self.revoke_quietly(lease).await;
                Err(Registration::Failed(ClusterError::store(format!("registering {key}"))(err)))
            }
        }
    }

    async fn revoke_quietly(&self, lease: LeaseId) {
        if let Err(err) = self.store.lease_revoke(lease).await {
            tracing::debug!(hostname = %self.hostname(), error = %err, "cannot revoke an unused lease; it will lapse");
        }
    }
}

/// The background task that keeps the registration alive.
pub(crate) struct Keeper {
    registrar: Registrar,
    lease: Arc<LeaseState>,
}

impl Keeper {
    /// A keeper for the registration `registrar` made, recording its lease in `lease`.
    pub(crate) fn new(registrar: Registrar, lease: Arc<LeaseState>) -> Self {
        Self { registrar, lease }
    }

    pub(crate) async fn run(self, mut stopped: watch::Receiver<bool>) {
        let period = (self.registrar.ttl / 3).max(Duration::from_millis(50));
        let mut pause = period;
        loop {
            tokio::select! {
                _ = stopped.wait_for(|stop| *stop) => break,
                () = tokio::time::sleep(pause) => {}
            }
            // After a failure, try again sooner: the lease may be close to lapsing.
            pause = if self.refresh().await { period } else { (period / 3).max(Duration::from_millis(50)) };
        }
        self.leave().await;
    }

    /// One keep-alive round; false when it did not leave a valid registration.
    async fn refresh(&self) -> bool {
        let hostname = self.registrar.hostname();
        let held = self.lease.get();
        if let Some(lease) = held.lease {
            let sent = Instant::now();
            match self.registrar.store.lease_keep_alive(lease).await {
                Ok(ttl) => {
                    self.lease.set(Held { lease: Some(lease), valid_until: Some(sent + ttl) });
                    self.touch().await;
                    return true;
                }
                Err(StoreError::LeaseNotFound(_)) => {
                    tracing::warn!(%hostname, lease = lease.0, "conductor lease lost; its locks are gone; registering again under a fresh lease");
                    self.lease.set(Held::default());
                }
                Err(err) => {
                    // Transient: the lease may still be alive; validity runs out on its own.
                    tracing::warn!(%hostname, error = %err, "conductor keep-alive failed");
                    return false;
                }
            }
        }
        match self.registrar.register().await {
            Ok(held) => {
                tracing::warn!(%hostname, lease = ?held.lease, "conductor registered again under a fresh lease");
                self.lease.set(held);
                true
            }
            Err(Registration::Taken) => {
                tracing::error!(%hostname, "conductor hostname taken by another instance; retrying");
                false
            }
            Err(Registration::Failed(err)) => {
                tracing::warn!(%hostname, error = %err, "conductor re-registration failed; retrying");
                false
            }
        }
    }

    /// Refreshes `updated_at` in the bookkeeping record, as Ironic's heartbeat does;
    /// best effort, membership does not depend on it.
    async fn touch(&self) {
        let key = known_key(self.registrar.hostname());
        let written = match self.registrar.known_value() {
            Ok(value) => self.registrar.store.txn(Txn::new().then(Op::put(key.clone(), value))).await.err(),
            Err(err) => Some(StoreError::Internal(err.to_string())),
        };
        if let Some(err) = written {
            tracing::debug!(%key, error = %err, "cannot refresh conductor record");
        }
    }

    /// Revokes the lease and removes the bookkeeping record: a graceful leave.
    async fn leave(&self) {
        let hostname = self.registrar.hostname();
        let held = self.lease.get();
        self.lease.set(Held::default());
        if let Some(lease) = held.lease {
            match self.registrar.store.lease_revoke(lease).await {
                Ok(()) | Err(StoreError::LeaseNotFound(_)) => {}
                Err(err) => {
                    tracing::warn!(%hostname, error = %err, "cannot revoke conductor lease; it will lapse");
                }
            }
        }
        let key = known_key(hostname);
        if let Err(err) = self.registrar.store.txn(Txn::new().then(Op::delete(key))).await {
            tracing::warn!(%hostname, error = %err, "cannot remove conductor record");
        }
        tracing::info!(%hostname, "left conductor membership");
    }
}
