//! Following a service kind's registrations and feeding them to tonic's balancer.
//!
//! Read the prefix once, then watch from the revision after that read, so no
//! change is missed or applied twice. When the watch breaks (store restart,
//! compaction), read the prefix again and apply the difference: a full resync is
//! always correct, and cheap at the scale of a service list.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ferric_store::{DynStore, EventKind, KeyValue, RangeRequest, WatchEvent};
use futures::StreamExt as _;
use tokio::sync::mpsc::Sender;
use tonic::transport::channel::Change;
use tonic::transport::{Channel, Endpoint};

use crate::client::ClientOptions;
use crate::registry::{ServiceInstance, normalize_address};
use crate::{MeshError, ServiceKind};

/// Pending balancer changes; discovery waits (backpressure) when the balancer lags.
const CHANGE_BUFFER: usize = 64;
/// Pause before re-reading after the watch broke; doubles up to the maximum.
const RESYNC_BACKOFF: Duration = Duration::from_millis(100);
const RESYNC_BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Reads the current instances of `kind`, returns a channel balancing over them,
/// and keeps it current from a background task.
pub(crate) async fn start(
    store: DynStore,
    kind: ServiceKind,
    options: Arc<ClientOptions>,
) -> Result<(Channel, Arc<AtomicUsize>), MeshError> {
    let (channel, changes) = Channel::balance_channel::<String>(CHANGE_BUFFER);
    let live = Arc::new(AtomicUsize::new(0));
    let mut follower = Follower {
        store,
        kind,
        prefix: kind.prefix(),
        options,
        changes,
        live: live.clone(),
        known: HashMap::new(),
    };
    let revision = follower.resync().await?;
    tokio::spawn(follower.run(revision));
    Ok((channel, live))
}

/// The state of one discovery task.
struct Follower {
    store: DynStore,
    kind: ServiceKind,
    prefix: String,
    options: Arc<ClientOptions>,
    changes: Sender<Change<String, Endpoint>>,
    live: Arc<AtomicUsize>,
    /// Instances handed to the balancer, by store key, with the address they were
    /// handed with (a re-registration at the same address changes nothing).
    known: HashMap<String, String>,
}

/// Why following stopped.
enum Stop {
    /// Every clone of the client is gone: nothing to feed any more.
    ClientDropped,
}

impl Follower {
    async fn run(mut self, mut revision: i64) {
        let mut backoff = RESYNC_BACKOFF;
        loop {
            match self.follow(revision).await {
                Ok(Stop::ClientDropped) => return,
                Err(err) => tracing::warn!(kind = %self.kind, error = %err, "service watch broke; resyncing"),
            }
            loop {
                tokio::select! {
                    () = self.changes.closed() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                match self.resync().await {
                    Ok(read_at) => {
                        revision = read_at;
                        backoff = RESYNC_BACKOFF;
                        break;
                    }
                    Err(err) => {
                        tracing::warn!(kind = %self.kind, error = %err, "cannot read service registrations");
                        backoff = (backoff * 2).min(RESYNC_BACKOFF_MAX);
                    }
                }
            }
        }
    }

    /// Applies watch events after `revision` until the watch fails or the client
    /// goes away.
    async fn follow(&mut self, revision: i64) -> Result<Stop, MeshError> {
        let doing = format!("watching {}", self.prefix);
        let mut events =
            self.store.watch(&self.prefix, revision + 1).await.map_err(MeshError::store(doing.clone()))?;
        loop {
            let event = tokio::select! {
                () = self.changes.closed() => return Ok(Stop::ClientDropped),
                event = events.next() => event,
            };
            match event {
                Some(Ok(event)) => self.apply(event).await,
                Some(Err(err)) => return Err(MeshError::store(doing)(err)),
                None => {
                    return Err(MeshError::store(doing)(ferric_store::StoreError::Unavailable(
                        "watch ended".into(),
                    )));
                }
            }
            if self.changes.is_closed() {
                return Ok(Stop::ClientDropped);
            }
        }
    }

    async fn apply(&mut self, event: WatchEvent) {
        match event.kind {
            EventKind::Put => self.upsert(&event.kv).await,
            EventKind::Delete => self.remove(&event.kv.key).await,
        }
    }

    /// Reads every registration and makes the balancer match it; returns the
    /// revision the read was served at.
    async fn resync(&mut self) -> Result<i64, MeshError> {
        let page = self
            .store
            .range(RangeRequest::prefix(&self.prefix))
            .await
            .map_err(MeshError::store(format!("reading {}", self.prefix)))?;
        let present: Vec<&str> = page.kvs.iter().map(|kv| kv.key.as_str()).collect();
        let gone: Vec<String> =
            self.known.keys().filter(|k| !present.contains(&k.as_str())).cloned().collect();
        for key in gone {
            self.remove(&key).await;
        }
        for kv in &page.kvs {
            self.upsert(kv).await;
        }
        Ok(page.revision)
    }

    async fn upsert(&mut self, kv: &KeyValue) {
        let Some(instance) = ServiceInstance::decode(&kv.key, &kv.value) else {
            return self.remove(&kv.key).await;
        };
        let address = normalize_address(&instance.address);
        if self.known.get(&kv.key) == Some(&address) {
            return;
        }
        if instance.tls && self.options.tls.is_none() {
            tracing::warn!(key = %kv.key, %address, "instance requires TLS but this client has none configured; skipping");
            return self.remove(&kv.key).await;
        }
        let endpoint = match self.options.endpoint(&address) {
            Ok(endpoint) => endpoint,
            Err(err) => {
                tracing::warn!(key = %kv.key, error = %err, "skipping instance with unusable address");
                return self.remove(&kv.key).await;
            }
        };
        if self.changes.send(Change::Insert(kv.key.clone(), endpoint)).await.is_ok() {
            tracing::debug!(key = %kv.key, %address, "instance added");
            self.known.insert(kv.key.clone(), address);
            self.live.store(self.known.len(), Ordering::Release);
        }
    }

    async fn remove(&mut self, key: &str) {
        if self.known.remove(key).is_some() {
            // Count first: a caller must not pick an instance that is going away.
            self.live.store(self.known.len(), Ordering::Release);
            let _ = self.changes.send(Change::Remove(key.to_owned())).await;
            tracing::debug!(key, "instance removed");
        }
    }
}
