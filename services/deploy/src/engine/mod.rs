//! The engine: everything a conductor instance shares between its RPCs, its
//! background node tasks and its periodic work.
//!
//! - [`task`]: a node held under its exclusive lock, with compare-and-swap saves
//!   and state-machine events.
//! - [`start`]: accepting a provision request — lock, check, first transition,
//!   then the work in the background.
//! - [`drive`]: the loop that moves a locked node through its working states.
//! - [`admission`]: how many deploys and cleanings run at once.
//!
//! Exclusivity is two-layered. Across conductors, the store lock tied to this
//! conductor's membership lease. Inside this process, a set of claimed nodes:
//! the store lock is re-entrant for the same holder and lease, so without the set
//! a second local request (or the takeover scan) could drive a node a local task
//! is already driving.

pub mod admission;
pub mod drive;
pub mod start;
pub mod task;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use ferric_catalog::{DeployTemplateRecord, NodeRecord, PortRecord, node_lock};
use ferric_cluster::MembershipView;
use ferric_store::DynStore;
use ferric_store::lock::{LockGuard, Locks};
use ferric_store::records::{Collection, Versioned};
use std::time::Duration;

use uuid::Uuid;

use crate::agent::client::AgentClient;
use crate::error::{DeployError, Result};
use crate::history::History;
use crate::interfaces::Services;
use crate::interfaces::images::Images;
use crate::interfaces::netboot::Netboot;
use crate::interfaces::power::Power;
use crate::settings::Settings;
use admission::Admission;
use task::Task;

/// Extra attempts to take a held node before answering NodeLocked.
pub const LOCK_RETRIES: u32 = 3;
/// Pause between those attempts.
pub const LOCK_RETRY_PAUSE: Duration = Duration::from_millis(50);
/// Attempts to release a lock while the store is briefly unavailable.
const RELEASE_ATTEMPTS: u32 = 10;

/// A cheap handle to the conductor's shared state.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

/// The shared state behind [`Engine`].
pub struct Inner {
    /// The store everything lives in.
    pub store: DynStore,
    /// Node records.
    pub nodes: Collection<NodeRecord>,
    /// Port records (agent lookup by MAC).
    pub ports: Collection<PortRecord>,
    /// Deploy templates (matched by instance traits).
    pub templates: Collection<DeployTemplateRecord>,
    /// Node locks.
    pub locks: Locks,
    /// This conductor's membership: its lease and the ring.
    pub membership: MembershipView,
    /// Tunables.
    pub settings: Settings,
    /// Node history.
    pub history: History,
    /// Power and management interfaces.
    pub power: Power,
    /// Netboot registrations of `pxe`/`ipxe` nodes.
    pub netboot: Netboot,
    /// Instance images staged for the agent.
    pub images: Images,
    /// The agent's HTTP API client.
    pub agent: AgentClient,
    /// Admission of deploys and cleanings.
    pub admission: Admission,
    /// Nodes a local task is driving right now.
    claimed: Mutex<HashSet<Uuid>>,
}

impl std::ops::Deref for Engine {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.inner
    }
}

/// A node claimed by one local task; dropping it gives the claim back.
pub struct Claim {
    engine: Engine,
    uuid: Uuid,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Ok(mut claimed) = self.engine.claimed.lock() {
            claimed.remove(&self.uuid);
        }
    }
}

impl Engine {
    /// An engine over `store` for the conductor `membership` describes.
    pub fn new(store: DynStore, membership: MembershipView, settings: Settings, services: Services) -> Self {
        let admission = Admission::new(&settings);
        Self {
            inner: Arc::new(Inner {
                nodes: Collection::new(store.clone()),
                ports: Collection::new(store.clone()),
                templates: Collection::new(store.clone()),
                locks: Locks::new(store.clone()),
                history: History::start(store.clone()),
                agent: AgentClient::new(),
                store,
                membership,
                settings,
                power: services.power,
                netboot: services.netboot,
                images: services.images,
                admission,
                claimed: Mutex::new(HashSet::new()),
            }),
        }
    }

    /// This conductor's name: the holder of its locks, the node's `reservation`.
    pub fn hostname(&self) -> &str {
        self.membership.hostname()
    }

    /// Claims `uuid` for a local task, or answers NodeLocked naming this conductor
    /// when a local task already drives it.
    pub fn claim(&self, uuid: Uuid) -> Result<Claim> {
        let mut claimed =
            self.claimed.lock().map_err(|_| DeployError::Unavailable("claim set poisoned".into()))?;
        if !claimed.insert(uuid) {
            return Err(DeployError::NodeLocked { node: uuid.to_string(), host: self.hostname().to_owned() });
        }
        Ok(Claim { engine: self.clone(), uuid })
    }

    /// Whether a local task drives `uuid` now.
    pub fn is_claimed(&self, uuid: Uuid) -> bool {
        self.claimed.lock().map(|c| c.contains(&uuid)).unwrap_or(true)
    }

    /// Reads a node, NOT_FOUND when absent.
    pub async fn node(&self, uuid: &str) -> Result<Versioned<NodeRecord>> {
        self.nodes.get(uuid).await?.ok_or_else(|| DeployError::NodeNotFound(uuid.to_owned()))
    }

    /// Claims and locks the node, then reads it: the start of every operation.
    ///
    /// A held node is retried briefly before NodeLocked, as Ironic retries
    /// (`node_locked_retry_attempts`, there 3 × 1 s; here [`LOCK_RETRIES`] ×
    /// [`LOCK_RETRY_PAUSE`]): a task that has just saved its final state releases
    /// its lock and its local claim a moment later, and a client that saw the
    /// final state must not be refused for that moment. Work is never queued.
    pub async fn acquire(&self, uuid: Uuid) -> Result<Task> {
        let mut attempt = 0;
        loop {
            match self.try_acquire(uuid).await {
                Err(DeployError::NodeLocked { .. }) if attempt < LOCK_RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(LOCK_RETRY_PAUSE).await;
                }
                outcome => return outcome,
            }
        }
    }

    async fn try_acquire(&self, uuid: Uuid) -> Result<Task> {
        let claim = self.claim(uuid)?;
        let lease = self
            .membership
            .lease()
            .ok_or_else(|| DeployError::Unavailable("this conductor has no valid membership lease".into()))?;
        let id = uuid.to_string();
        // Existence first, so an unknown node is a 404 rather than a lock taken.
        self.node(&id).await?;
        let guard = self.locks.lock_exclusive(&node_lock(&id), self.hostname(), lease).await?;
        match self.node(&id).await {
            Ok(node) => Ok(Task::new(self.clone(), claim, guard, node)),
            Err(error) => {
                self.release_guard(&guard).await;
                Err(error)
            }
        }
    }

    /// Releases a lock, logging (not failing) when it was already gone.
    ///
    /// A store that is briefly unavailable (an etcd member just died) is retried
    /// with backoff: the lease this lock hangs on stays alive with this
    /// conductor, so a release given up would hold the node until a periodic
    /// stale-lock sweep ([`Engine::release_stale_locks`]) frees it.
    pub async fn release_guard(&self, guard: &LockGuard) {
        let mut pause = Duration::from_millis(50);
        for _ in 0..RELEASE_ATTEMPTS {
            match self.locks.release(guard).await {
                Ok(true) => return,
                Ok(false) => {
                    tracing::warn!(lock = guard.name(), "lock was already gone when released");
                    return;
                }
                Err(error) if error.is_transient() => {
                    tracing::debug!(lock = guard.name(), %error, "lock release failed; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                Err(error) => {
                    tracing::warn!(lock = guard.name(), %error, "cannot release lock; the stale-lock sweep will");
                    return;
                }
            }
        }
        tracing::warn!(lock = guard.name(), "store unavailable while releasing; the stale-lock sweep will");
    }

    /// Frees node locks this conductor holds in the store without a local task
    /// driving the node: a release that never reached the store. Each is taken
    /// through the local claim first, so no task can start on the node meanwhile.
    pub async fn release_stale_locks(&self) -> Result<usize> {
        let prefix = format!("{}nodes%2F", ferric_store::lock::LOCK_PREFIX);
        let page = self.store.range(ferric_store::RangeRequest::prefix(&prefix)).await?;
        let mut freed = 0;
        for kv in page.kvs {
            let Some(uuid) = kv.key.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix("/exclusive"))
            else {
                continue;
            };
            let Ok(uuid) = uuid.parse::<Uuid>() else { continue };
            if kv.value != self.hostname().as_bytes() || kv.lease != self.membership.lease() {
                continue;
            }
            let Ok(_claim) = self.claim(uuid) else { continue };
            let txn = ferric_store::Txn::new()
                .when(ferric_store::Compare::mod_revision(&kv.key, kv.mod_revision))
                .then(ferric_store::Op::delete(&kv.key));
            if self.store.txn(txn).await?.succeeded {
                tracing::warn!(node = %uuid, "freed a lock whose release never reached the store");
                freed += 1;
            }
        }
        Ok(freed)
    }
}
