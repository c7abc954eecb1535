//! Following the ring without joining it: the gateway shows each node's
//! `conductor` and checks that some conductor serves a driver, but conducts
//! nothing itself.

use std::sync::Arc;

use ferric_store::DynStore;
use tokio::sync::watch;

use crate::ClusterError;
use crate::follower::{Follower, read_members};
use crate::ring::Ring;

/// A read-only, always-current view of the live conductors' ring. Following
/// stops when the last clone is dropped.
#[derive(Clone)]
pub struct RingObserver {
    ring: watch::Receiver<Arc<Ring>>,
    _stop: Arc<StopOnDrop>,
}

struct StopOnDrop(watch::Sender<bool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(true);
    }
}

impl RingObserver {
    /// Reads the membership once (failing if the store cannot be read) and
    /// follows it in the background from then on.
    pub async fn follow(store: DynStore) -> Result<Self, ClusterError> {
        let (members, revision) =
            read_members(&store).await.map_err(ClusterError::store("reading conductor membership"))?;
        let (publish, ring) = watch::channel(Arc::new(Ring::new(members.values().cloned())));
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(Follower { store, publish, members }.run(revision, stopped));
        Ok(Self { ring, _stop: Arc::new(StopOnDrop(stop)) })
    }

    /// The ring as last seen.
    pub fn ring(&self) -> Arc<Ring> {
        self.ring.borrow().clone()
    }

    /// Fires when the set of live conductors changes.
    pub fn changes(&self) -> watch::Receiver<Arc<Ring>> {
        self.ring.clone()
    }
}
