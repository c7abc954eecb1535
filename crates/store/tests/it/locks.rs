//! Exclusive and shared locks tied to leases, on every backend.

use std::time::Duration;

use ferric_store::StoreError;
use ferric_store::lock::{LockMode, LockState, Locks};

use crate::backends::Backend;

const LONG: Duration = Duration::from_secs(60);

fn locked_by(result: Result<impl std::fmt::Debug, StoreError>, holder: &str) {
    match result {
        Err(StoreError::Locked { holder: h, .. }) => assert_eq!(h, holder),
        other => panic!("expected Locked by {holder}, got {other:?}"),
    }
}

pub async fn exclusive_excludes_everyone_else(b: &Backend) {
    let locks = Locks::new(b.store.clone());
    let a = b.store.lease_grant(LONG).await.unwrap();
    let other = b.store.lease_grant(LONG).await.unwrap();
    let guard = locks.lock_exclusive("node-1", "conductor-a", a).await.unwrap();
    assert_eq!(
        (guard.name(), guard.holder(), guard.mode(), guard.lease()),
        ("node-1", "conductor-a", LockMode::Exclusive, a)
    );
    assert_eq!(locks.reservation("node-1").await.unwrap().as_deref(), Some("conductor-a"));

    locked_by(locks.lock_exclusive("node-1", "conductor-b", other).await, "conductor-a");
    locked_by(locks.lock_shared("node-1", "conductor-b", other).await, "conductor-a");
    // The same holder under another lease (a restarted process) is someone else.
    locked_by(locks.lock_exclusive("node-1", "conductor-a", other).await, "conductor-a");
    // Same holder, same lease: re-entrant.
    assert_eq!(locks.lock_exclusive("node-1", "conductor-a", a).await.unwrap(), guard);
    // Other names are independent, even ones sharing a prefix.
    locks.lock_exclusive("node-1/x", "conductor-b", other).await.unwrap();
    locks.lock_exclusive("node-10", "conductor-b", other).await.unwrap();

    assert!(locks.is_held(&guard).await.unwrap());
    assert!(locks.release(&guard).await.unwrap());
    assert!(!locks.is_held(&guard).await.unwrap());
    assert_eq!(locks.reservation("node-1").await.unwrap(), None);
    let next = locks.lock_exclusive("node-1", "conductor-b", other).await.unwrap();
    assert!(next.revision() > guard.revision(), "revisions fence successive holders");
    assert!(!locks.release(&guard).await.unwrap(), "an old guard cannot release a new holder's lock");
    assert_eq!(locks.reservation("node-1").await.unwrap().as_deref(), Some("conductor-b"));
}

pub async fn shared_holders_coexist(b: &Backend) {
    let locks = Locks::new(b.store.clone());
    let lease = b.store.lease_grant(LONG).await.unwrap();
    let a = locks.lock_shared("node-1", "reader-a", lease).await.unwrap();
    let r = locks.lock_shared("node-1", "reader-b", lease).await.unwrap();
    assert_eq!(
        locks.state("node-1").await.unwrap(),
        LockState::Shared(vec!["reader-a".into(), "reader-b".into()])
    );
    assert_eq!(locks.reservation("node-1").await.unwrap(), None);
    locked_by(locks.lock_exclusive("node-1", "writer", lease).await, "reader-a");
    assert!(locks.release(&a).await.unwrap());
    locked_by(locks.lock_exclusive("node-1", "writer", lease).await, "reader-b");
    assert!(locks.release(&r).await.unwrap());
    assert_eq!(locks.state("node-1").await.unwrap(), LockState::Free);
    let w = locks.lock_exclusive("node-1", "writer", lease).await.unwrap();
    assert_eq!(locks.state("node-1").await.unwrap(), LockState::Exclusive("writer".into()));
    locks.release(&w).await.unwrap();
}

pub async fn locks_die_with_their_lease(b: &Backend) {
    let locks = Locks::new(b.store.clone());
    let short = b.store.lease_grant(Duration::from_secs(1)).await.unwrap();
    let held = locks.lock_exclusive("node-1", "dying", short).await.unwrap();
    let shared_lease = b.store.lease_grant(Duration::from_secs(1)).await.unwrap();
    locks.lock_shared("node-2", "dying", shared_lease).await.unwrap();
    ferric_testkit::wait_until(Duration::from_secs(15), "the lock to vanish with its lease", || async {
        locks.state("node-1").await.unwrap() == LockState::Free
            && locks.state("node-2").await.unwrap() == LockState::Free
    })
    .await;
    assert!(!locks.is_held(&held).await.unwrap());
    let lease = b.store.lease_grant(LONG).await.unwrap();
    locks.lock_exclusive("node-1", "survivor", lease).await.unwrap();
    locks.lock_exclusive("node-2", "survivor", lease).await.unwrap();
    // Revoking the lease frees at once.
    b.store.lease_revoke(lease).await.unwrap();
    assert_eq!(locks.state("node-1").await.unwrap(), LockState::Free);
}

pub async fn racing_lockers_one_winner(b: &Backend) {
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = b.store.clone();
        tasks.push(tokio::spawn(async move {
            let lease = store.lease_grant(LONG).await.unwrap();
            let locks = Locks::new(store);
            if i % 2 == 0 {
                locks.lock_exclusive("node-1", &format!("x{i}"), lease).await.map(|g| g.mode())
            } else {
                locks.lock_shared("node-1", &format!("s{i}"), lease).await.map(|g| g.mode())
            }
        }));
    }
    let mut modes = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(mode) => modes.push(mode),
            Err(StoreError::Locked { .. }) => {}
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    let exclusive = modes.iter().filter(|m| **m == LockMode::Exclusive).count();
    assert!(!modes.is_empty());
    assert!(exclusive == 0 || modes.len() == 1, "an exclusive holder shares with nobody: {modes:?}");
    let state = Locks::new(b.store.clone()).state("node-1").await.unwrap();
    match state {
        LockState::Exclusive(_) => assert_eq!(modes, [LockMode::Exclusive]),
        LockState::Shared(holders) => assert_eq!(holders.len(), modes.len()),
        LockState::Free => panic!("somebody won"),
    }
}
