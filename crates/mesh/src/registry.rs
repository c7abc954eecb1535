//! Service registration: an instance announces itself under
//! `/ferric/services/<kind>/<instance_id>` for as long as it lives.
//!
//! The record is attached to a store lease that a background task keeps alive, so
//! an instance that dies without saying goodbye vanishes after one TTL, and one that
//! shuts down cleanly vanishes at once (the lease is revoked). Callers watching the
//! prefix ([`crate::ServiceClient::discover`]) see both as a key deletion.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ferric_store::{DynStore, LeaseId, Op, RangeRequest, StoreError, Txn};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{MeshError, ServiceKind};

/// What an instance publishes about itself: enough to dial it and to show an
/// operator what is running where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInstance {
    /// The URI other instances dial, `http://host:port` or `https://host:port`.
    pub address: String,
    /// Unique among instances of its kind; the last segment of its key.
    pub instance_id: String,
    /// The machine it runs on, for operators.
    pub hostname: String,
    /// When this registration was first made.
    pub started_at: DateTime<Utc>,
    /// Whether `address` speaks TLS; callers need client TLS settings to dial it.
    pub tls: bool,
}

impl ServiceInstance {
    /// Decodes a stored record; `None` (logged) for a record this version cannot
    /// read, so one bad record does not hide the others.
    pub(crate) fn decode(key: &str, value: &[u8]) -> Option<Self> {
        match serde_json::from_slice(value) {
            Ok(instance) => Some(instance),
            Err(err) => {
                tracing::warn!(key, error = %err, "ignoring unreadable service registration");
                None
            }
        }
    }
}

/// Turns an advertised address into a dialable URI: a bare `host:port` becomes
/// `http://host:port`; `http://` and `https://` are kept.
pub fn normalize_address(advertised: &str) -> String {
    if advertised.starts_with("http://") || advertised.starts_with("https://") {
        advertised.to_owned()
    } else {
        format!("http://{advertised}")
    }
}

/// Lists the live instances of `kind`, for tools and status pages; callers that
/// make calls use [`crate::ServiceClient::discover`] instead.
pub async fn list_instances(store: &DynStore, kind: ServiceKind) -> Result<Vec<ServiceInstance>, MeshError> {
    let page = store
        .range(RangeRequest::prefix(&kind.prefix()))
        .await
        .map_err(MeshError::store(format!("listing {kind}")))?;
    Ok(page.kvs.iter().filter_map(|kv| ServiceInstance::decode(&kv.key, &kv.value)).collect())
}

/// Registers this instance and keeps the registration alive until the returned
/// [`Registration`] is shut down or dropped.
///
/// `advertised_addr` is what others dial: `host:port` (plain), or a URI whose
/// scheme says whether it is TLS (`https://host:port`). `ttl` is how long a crashed
/// instance stays visible; keep-alives are sent every third of it.
pub async fn register(
    store: DynStore,
    kind: ServiceKind,
    instance_id: impl Into<String>,
    advertised_addr: impl Into<String>,
    ttl: Duration,
) -> Result<Registration, MeshError> {
    let instance_id = instance_id.into();
    let address = normalize_address(&advertised_addr.into());
    let instance = ServiceInstance {
        tls: address.starts_with("https://"),
        address,
        hostname: hostname(),
        started_at: Utc::now(),
        instance_id,
    };
    let key = kind.instance_key(&instance.instance_id);
    let value =
        serde_json::to_vec(&instance).map_err(|source| MeshError::Encode { key: key.clone(), source })?;
    let lease = put_under_new_lease(&store, &key, &value, ttl)
        .await
        .map_err(MeshError::store(format!("registering {key}")))?;
    tracing::info!(%key, address = %instance.address, "registered");

    let (stop, stopped) = oneshot::channel();
    let keeper = KeepAlive { store, key: key.clone(), value, ttl };
    let task = tokio::spawn(keeper.run(lease, stopped));
    Ok(Registration { key, instance, stop: Some(stop), task: Some(task) })
}

/// A live registration. Dropping it revokes the lease in the background;
/// [`Registration::shutdown`] does the same and waits until it is done.
#[derive(Debug)]
pub struct Registration {
    key: String,
    instance: ServiceInstance,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Registration {
    /// The store key this instance is registered under.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The record as published.
    pub fn instance(&self) -> &ServiceInstance {
        &self.instance
    }

    /// Deregisters now: revokes the lease (so watchers drop this instance at once)
    /// and returns when that is done. Call it before draining in-flight requests.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take()
            && let Err(err) = task.await
        {
            tracing::warn!(key = %self.key, error = %err, "registration task failed");
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // The keep-alive task revokes the lease when told to stop; if the runtime
        // is already gone the lease simply expires after one TTL.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The background half of a [`Registration`].
struct KeepAlive {
    store: DynStore,
    key: String,
    value: Vec<u8>,
    ttl: Duration,
}

impl KeepAlive {
    async fn run(self, lease: LeaseId, mut stopped: oneshot::Receiver<()>) {
        let period = (self.ttl / 3).max(Duration::from_millis(50));
        // `None` while not registered (lost lease and re-registering failed).
        let mut lease = Some(lease);
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                () = tokio::time::sleep(period) => {}
            }
            lease = self.refresh(lease).await;
        }
        if let Some(lease) = lease {
            match self.store.lease_revoke(lease).await {
                Ok(()) | Err(StoreError::LeaseNotFound(_)) => tracing::info!(key = %self.key, "deregistered"),
                Err(err) => {
                    tracing::warn!(key = %self.key, error = %err, "cannot revoke registration lease; it will expire")
                }
            }
        }
    }

    /// One keep-alive round; returns the lease to use next time.
    async fn refresh(&self, lease: Option<LeaseId>) -> Option<LeaseId> {
        if let Some(lease) = lease {
            match self.store.lease_keep_alive(lease).await {
                Ok(_) => return Some(lease),
                Err(StoreError::LeaseNotFound(_)) => {
                    tracing::warn!(key = %self.key, "registration lease expired; registering again");
                }
                Err(err) => {
                    // Transient: the lease may still be alive; try again next period.
                    tracing::warn!(key = %self.key, error = %err, "registration keep-alive failed");
                    return Some(lease);
                }
            }
        }
        match put_under_new_lease(&self.store, &self.key, &self.value, self.ttl).await {
            Ok(lease) => {
                tracing::info!(key = %self.key, "registered again");
                Some(lease)
            }
            Err(err) => {
                tracing::warn!(key = %self.key, error = %err, "re-registration failed; retrying");
                None
            }
        }
    }
}

/// Grants a lease and writes `key` under it; revokes the lease if the write fails
/// so no orphan lease is left to expire.
async fn put_under_new_lease(
    store: &DynStore,
    key: &str,
    value: &[u8],
    ttl: Duration,
) -> Result<LeaseId, StoreError> {
    let lease = store.lease_grant(ttl).await?;
    let written = store.txn(Txn::new().then(Op::put_leased(key, value.to_vec(), lease))).await;
    match written {
        Ok(_) => Ok(lease),
        Err(err) => {
            let _ = store.lease_revoke(lease).await;
            Err(err)
        }
    }
}

/// This machine's hostname, for the registration record; best effort.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_become_uris() {
        assert_eq!(normalize_address("10.0.0.1:50051"), "http://10.0.0.1:50051");
        assert_eq!(normalize_address("https://power-0:50051"), "https://power-0:50051");
        assert_eq!(normalize_address("http://[::1]:1"), "http://[::1]:1");
    }
}
