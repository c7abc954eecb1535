//! Following membership: a range read of the membership prefix, then a watch from
//! its revision, rebuilding and publishing the [`Ring`] whenever the set of live
//! conductors changes; any watch failure falls back to a fresh read.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ferric_store::{DynStore, EventKind, RangeRequest, StoreError, WatchEvent};
use futures::{FutureExt as _, StreamExt as _};
use tokio::sync::watch;

use crate::record::{ConductorInfo, MEMBERS_PREFIX, MemberValue, decode, hostname_of};
use crate::ring::Ring;

/// Longest pause between attempts to re-read membership after a watch failure.
const MAX_RESYNC_PAUSE: Duration = Duration::from_secs(2);

/// Reads every live conductor and the revision the read was served at.
pub(crate) async fn read_members(
    store: &DynStore,
) -> Result<(BTreeMap<String, ConductorInfo>, i64), StoreError> {
    let page = store.range(RangeRequest::prefix(MEMBERS_PREFIX)).await?;
    let members = page
        .kvs
        .iter()
        .filter_map(|kv| {
            let hostname = hostname_of(MEMBERS_PREFIX, &kv.key)?;
            let value: MemberValue = decode(&kv.key, &kv.value)?;
            Some((hostname.to_owned(), ConductorInfo { hostname: hostname.to_owned(), ..value.info }))
        })
        .collect();
    Ok((members, page.revision))
}

/// The background task that follows membership and publishes the ring.
pub(crate) struct Follower {
    pub(crate) store: DynStore,
    pub(crate) publish: watch::Sender<Arc<Ring>>,
    /// The live conductors as last seen.
    pub(crate) members: BTreeMap<String, ConductorInfo>,
}

impl Follower {
    pub(crate) async fn run(mut self, mut revision: i64, mut stopped: watch::Receiver<bool>) {
        let mut pause = Duration::from_millis(50);
        loop {
            tokio::select! {
                _ = stopped.wait_for(|stop| *stop) => return,
                () = self.follow(revision) => {}
            }
            // The watch failed or ended: pause, then re-read everything.
            loop {
                tokio::select! {
                    _ = stopped.wait_for(|stop| *stop) => return,
                    () = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(MAX_RESYNC_PAUSE);
                match read_members(&self.store).await {
                    Ok((members, read_at)) => {
                        self.members = members;
                        self.publish_if_changed();
                        revision = read_at;
                        pause = Duration::from_millis(50);
                        break;
                    }
                    Err(err) => tracing::warn!(error = %err, "cannot read conductor membership; retrying"),
                }
            }
        }
    }

    /// Applies watch events after `revision` until the watch fails or ends.
    async fn follow(&mut self, revision: i64) {
        let mut events = match self.store.watch(MEMBERS_PREFIX, revision + 1).await {
            Ok(events) => events,
            Err(err) => {
                tracing::warn!(error = %err, "cannot watch conductor membership");
                return;
            }
        };
        while let Some(event) = events.next().await {
            let mut event = Some(event);
            // Apply everything already delivered before publishing once, so a burst
            // (e.g. several leases lapsing together) is one ring change.
            while let Some(next) = event.take() {
                match next {
                    Ok(event) => self.apply(event),
                    Err(err) => {
                        tracing::warn!(error = %err, "conductor membership watch failed");
                        self.publish_if_changed();
                        return;
                    }
                }
                match events.next().now_or_never() {
                    Some(Some(ready)) => event = Some(ready),
                    Some(None) => {
                        self.publish_if_changed();
                        tracing::debug!("conductor membership watch ended");
                        return;
                    }
                    None => {}
                }
            }
            self.publish_if_changed();
        }
        tracing::debug!("conductor membership watch ended");
    }

    fn apply(&mut self, event: WatchEvent) {
        let Some(hostname) = hostname_of(MEMBERS_PREFIX, &event.kv.key) else { return };
        match event.kind {
            EventKind::Put => {
                if let Some(value) = decode::<MemberValue>(&event.kv.key, &event.kv.value) {
                    let info = ConductorInfo { hostname: hostname.to_owned(), ..value.info };
                    self.members.insert(hostname.to_owned(), info);
                }
            }
            EventKind::Delete => {
                self.members.remove(hostname);
            }
        }
    }

    fn publish_if_changed(&self) {
        self.publish.send_if_modified(|ring| {
            let same = ring.conductors().eq(self.members.values());
            if !same {
                *ring = Arc::new(Ring::new(self.members.values().cloned()));
                tracing::info!(conductors = ?self.members.keys().collect::<Vec<_>>(), "conductor membership changed");
            }
            !same
        });
    }
}
