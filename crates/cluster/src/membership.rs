//! Conductor membership: joining under a lease, keeping it alive, following the
//! others, and leaving.
//!
//! A deploy instance [`Membership::join`]s by writing its [`ConductorInfo`] under
//! `/ferric/conductors/<hostname>` attached to a fresh lease. Two background tasks
//! then run until [`Membership::leave`] (or drop):
//!
//! - the *keeper* refreshes the lease every third of its TTL; if the store says the
//!   lease is gone (it lapsed while this process was paused or cut off), the
//!   instance has lost its membership and every lock tied to it, so the keeper
//!   registers again under a fresh lease and logs a warning;
//! - the *follower* reads the membership prefix and watches it from the read's
//!   revision, rebuilding the [`Ring`] whenever the set of conductors changes and
//!   publishing it on a `tokio::sync::watch` channel ([`MembershipView::changes`]).
//!   On any watch failure it re-reads the prefix, so the view converges to the store.
//!
//! This instance claims a node ([`MembershipView::owns`]) only while the ring names
//! it *and* its lease is known to be valid (refreshed less than one TTL ago), so an
//! instance cut off from the store stops claiming nodes by the time the others may
//! take them over.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferric_store::{DynStore, LeaseId};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::ClusterError;
use crate::follower::{Follower, read_members};
use crate::keeper::{Keeper, LeaseState, Registrar, Registration};
use crate::record::ConductorInfo;
use crate::ring::Ring;

/// This instance's place in the conductor cluster, from [`Membership::join`] until
/// [`Membership::leave`]. Dropping it leaves too (in the background).
#[derive(Debug)]
pub struct Membership {
    view: MembershipView,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// A cheap, cloneable read side of a [`Membership`]: what the deploy service keeps
/// to decide, per node, whether it is the owner, and to hear about changes.
#[derive(Debug, Clone)]
pub struct MembershipView {
    hostname: Arc<str>,
    ring: watch::Receiver<Arc<Ring>>,
    lease: Arc<LeaseState>,
}

impl Membership {
    /// Registers this instance as a conductor and starts following the others.
    ///
    /// Returns once the registration is written and the first view (which includes
    /// this instance) is read. If another live instance holds the hostname, waits
    /// up to two TTLs for it to go (a crashed predecessor's lease lapsing) and then
    /// fails with [`ClusterError::AlreadyRegistered`]. `ttl` is how long a crashed
    /// instance keeps its nodes; keep-alives are sent every third of it.
    pub async fn join(
        store: DynStore,
        mut info: ConductorInfo,
        ttl: Duration,
    ) -> Result<Membership, ClusterError> {
        let hostname = info.hostname.clone();
        if hostname.is_empty() || hostname.contains('/') || hostname.chars().any(char::is_control) {
            return Err(ClusterError::InvalidHostname(hostname));
        }
        if info.version.is_empty() {
            info.version = env!("CARGO_PKG_VERSION").to_owned();
        }
        let registrar = Registrar::new(store.clone(), info, ttl).await?;
        let deadline = Instant::now() + 2 * ttl;
        let mut pause = Duration::from_millis(50);
        let held = loop {
            match registrar.register().await {
                Ok(held) => break held,
                Err(Registration::Taken) if Instant::now() < deadline => {
                    tracing::info!(%hostname, "conductor hostname still registered; waiting for it to lapse");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(ttl / 4).max(Duration::from_millis(10));
                }
                Err(Registration::Taken) => return Err(ClusterError::AlreadyRegistered { hostname }),
                Err(Registration::Failed(err)) => return Err(err),
            }
        };
        tracing::info!(%hostname, group = %registrar.info.conductor_group, "joined conductor membership");

        let (members, revision) =
            read_members(&store).await.map_err(ClusterError::store("reading conductor membership"))?;
        let (publish, ring) = watch::channel(Arc::new(Ring::new(members.values().cloned())));
        let lease = Arc::new(LeaseState::default());
        lease.set(held);
        let (stop, stopped) = watch::channel(false);
        let follower = Follower { store, publish, members };
        let keeper = Keeper::new(registrar, lease.clone());
        let tasks =
            vec![tokio::spawn(follower.run(revision, stopped.clone())), tokio::spawn(keeper.run(stopped))];
        Ok(Membership { view: MembershipView { hostname: hostname.into(), ring, lease }, stop, tasks })
    }

    /// The read side, to hand to whoever decides ownership.
    pub fn view(&self) -> MembershipView {
        self.view.clone()
    }

    /// See [`MembershipView::hostname`].
    pub fn hostname(&self) -> &str {
        self.view.hostname()
    }

    /// See [`MembershipView::ring`].
    pub fn ring(&self) -> Arc<Ring> {
        self.view.ring()
    }

    /// See [`MembershipView::changes`].
    pub fn changes(&self) -> watch::Receiver<Arc<Ring>> {
        self.view.changes()
    }

    /// See [`MembershipView::owns`].
    pub fn owns(&self, node_uuid: &str, conductor_group: &str, hardware_type: &str) -> bool {
        self.view.owns(node_uuid, conductor_group, hardware_type)
    }

    /// See [`MembershipView::owner_of`].
    pub fn owner_of(&self, node_uuid: &str, conductor_group: &str, hardware_type: &str) -> Option<String> {
        self.view.owner_of(node_uuid, conductor_group, hardware_type)
    }

    /// See [`MembershipView::lease`].
    pub fn lease(&self) -> Option<LeaseId> {
        self.view.lease()
    }

    /// Leaves gracefully: revokes the lease (so the membership key and every lock
    /// tied to it vanish at once and the others take this instance's nodes over
    /// without waiting a TTL), removes the conductor's record, and stops the
    /// background tasks. Returns when that is done.
    pub async fn leave(mut self) {
        let _ = self.stop.send(true);
        for task in std::mem::take(&mut self.tasks) {
            if let Err(err) = task.await {
                tracing::warn!(hostname = %self.view.hostname, error = %err, "membership task failed");
            }
        }
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        // The keeper revokes the lease when told to stop; if the runtime is already
        // gone the lease simply lapses after one TTL.
        let _ = self.stop.send(true);
    }
}

impl MembershipView {
    /// This conductor's hostname: its name on the ring.
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// The current placement, as of the last membership change seen.
    pub fn ring(&self) -> Arc<Ring> {
        self.ring.borrow().clone()
    }

    /// A receiver that wakes (`changed()`) whenever the set of live conductors
    /// changes, carrying the new ring: the deploy service's cue to take over nodes
    /// that became its own and drop those that did not.
    pub fn changes(&self) -> watch::Receiver<Arc<Ring>> {
        let mut changes = self.ring.clone();
        changes.mark_unchanged();
        changes
    }

    /// Whether this instance should act on the node now: the ring of the node's
    /// group and hardware type names this conductor, and this conductor's lease is
    /// known to be valid.
    pub fn owns(&self, node_uuid: &str, conductor_group: &str, hardware_type: &str) -> bool {
        self.lease.valid().is_some()
            && self.ring.borrow().owner_of(node_uuid, conductor_group, hardware_type) == Some(&*self.hostname)
    }

    /// The conductor that owns the node in the current view, `None` if no live
    /// conductor of its group drives its hardware type.
    pub fn owner_of(&self, node_uuid: &str, conductor_group: &str, hardware_type: &str) -> Option<String> {
        self.ring.borrow().owner_of(node_uuid, conductor_group, hardware_type).map(str::to_owned)
    }

    /// The lease this instance's membership hangs on, if known valid: attach node
    /// locks to it so they vanish with the membership. It changes when the keeper
    /// has to register again after losing the lease (locks under the old one are
    /// gone by then).
    pub fn lease(&self) -> Option<LeaseId> {
        self.lease.valid()
    }

    /// Whether this instance is currently a member with a valid lease.
    pub fn is_member(&self) -> bool {
        self.lease.valid().is_some()
    }
}
