//! What only the embedded store has to get right: its state, revisions, history
//! and leases survive closing and reopening the file, and bad files or double opens
//! fail cleanly.

use std::time::Duration;

use ferric_store::embedded::EmbeddedStore;
use ferric_store::{EventKind, Op, RangeRequest, Store as _, StoreError, Txn};
use futures::StreamExt as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_revisions_and_history_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let store = EmbeddedStore::open(&path).await.unwrap();
    let first = store.txn(Txn::new().then(Op::put("/r/a", "1"))).await.unwrap().revision;
    store.txn(Txn::new().then(Op::put("/r/a", "2")).then(Op::put("/r/b", "x"))).await.unwrap();
    let last = store.txn(Txn::new().then(Op::delete("/r/b"))).await.unwrap().revision;
    let before = store.range(RangeRequest::prefix("/r/")).await.unwrap();
    store.close().await.unwrap();

    let store = EmbeddedStore::open(&path).await.unwrap();
    assert_eq!(store.current_revision().await.unwrap(), last);
    let after = store.range(RangeRequest::prefix("/r/")).await.unwrap();
    assert_eq!(after, before, "same records, same revisions and versions");
    let next = store.txn(Txn::new().then(Op::put("/r/c", "3"))).await.unwrap().revision;
    assert_eq!(next, last + 1, "the revision counter continues");

    // A watch from before the restart replays the old history, then the new write.
    let mut events = store.watch("/r/", first).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..5 {
        let event =
            tokio::time::timeout(Duration::from_secs(10), events.next()).await.unwrap().unwrap().unwrap();
        seen.push((event.kind, event.kv.key, event.kv.mod_revision));
    }
    assert_eq!(
        seen,
        [
            (EventKind::Put, "/r/a".to_owned(), first),
            (EventKind::Put, "/r/a".to_owned(), first + 1),
            (EventKind::Put, "/r/b".to_owned(), first + 1),
            (EventKind::Delete, "/r/b".to_owned(), last),
            (EventKind::Put, "/r/c".to_owned(), next),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_survive_restart_then_expire() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let store = EmbeddedStore::open(&path).await.unwrap();
    let kept = store.lease_grant(Duration::from_secs(2)).await.unwrap();
    let dropped = store.lease_grant(Duration::from_secs(2)).await.unwrap();
    store
        .txn(Txn::new().then(Op::put_leased("/l/kept", "k", kept)).then(Op::put_leased(
            "/l/dropped",
            "d",
            dropped,
        )))
        .await
        .unwrap();
    store.close().await.unwrap();

    // etcd's rule: leases come back with a fresh TTL; a holder still alive keeps
    // its lease, one that is gone loses it a TTL later.
    let store = EmbeddedStore::open(&path).await.unwrap();
    assert!(store.get("/l/kept").await.unwrap().is_some());
    assert!(store.get("/l/dropped").await.unwrap().is_some());
    assert_eq!(store.lease_keep_alive(kept).await.unwrap(), Duration::from_secs(2));
    let fresh = store.lease_grant(Duration::from_secs(60)).await.unwrap();
    assert!(fresh.0 > dropped.0, "lease ids are not reused after a restart");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    while store.get("/l/dropped").await.unwrap().is_some() {
        assert!(tokio::time::Instant::now() < deadline, "the abandoned lease never expired");
        tick.tick().await;
        store.lease_keep_alive(kept).await.unwrap();
    }
    assert!(store.get("/l/kept").await.unwrap().is_some(), "the kept-alive lease survived");
    assert_eq!(store.lease_keep_alive(dropped).await, Err(StoreError::LeaseNotFound(dropped.0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_files_and_double_opens_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let store = EmbeddedStore::open(&path).await.unwrap();
    let second = EmbeddedStore::open(&path).await;
    assert!(
        matches!(second, Err(StoreError::Unavailable(ref m)) if m.contains("already open")),
        "{:?}",
        second.err()
    );

    let clone = store.clone();
    store.close().await.unwrap();
    let refused = clone.txn(Txn::new().then(Op::put("/x", "y"))).await;
    assert!(matches!(refused, Err(StoreError::Unavailable(_))), "{refused:?}");
    drop(clone);

    let garbage = dir.path().join("garbage.redb");
    std::fs::write(
        &garbage,
        (0..100_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(EmbeddedStore::open(&garbage).await.is_err(), "a garbage file is refused, not trusted");
    assert!(EmbeddedStore::open(dir.path()).await.is_err(), "a directory is refused");
}
