//! The store contract, written once and run against every backend (see `main.rs`).
//! Revisions are compared relative to what the store reports, never as absolute
//! numbers, because etcd and the embedded store start from their own revision.

use std::time::Duration;

use ferric_store::{
    Compare, CompareOp, CompareTarget, EventKind, LeaseId, Op, RangeRequest, StoreError, Txn, WatchEvent,
};
use futures::StreamExt as _;
use futures::stream::BoxStream;

use crate::backends::Backend;

/// Requested lease TTL in the lease tests (etcd may round it up to its minimum).
const TTL: Duration = Duration::from_secs(1);
/// Upper bound for anything the tests wait for.
const PATIENCE: Duration = Duration::from_secs(15);

type Events = BoxStream<'static, ferric_store::Result<WatchEvent>>;

/// The next watch event, or a panic naming what was expected.
async fn next_event(events: &mut Events, what: &str) -> WatchEvent {
    match tokio::time::timeout(PATIENCE, events.next()).await {
        Ok(Some(Ok(event))) => event,
        Ok(Some(Err(err))) => panic!("watch failed while waiting for {what}: {err}"),
        Ok(None) => panic!("watch ended while waiting for {what}"),
        Err(_) => panic!("no watch event within {PATIENCE:?} while waiting for {what}"),
    }
}

async fn put(b: &Backend, key: &str, value: &str) -> i64 {
    let outcome = b.store.txn(Txn::new().then(Op::put(key, value))).await.expect("put");
    assert!(outcome.succeeded);
    outcome.revision
}

async fn value_of(b: &Backend, key: &str) -> Option<String> {
    b.store.get(key).await.expect("get").map(|kv| String::from_utf8(kv.value).expect("utf-8 value"))
}

pub async fn revisions_and_versions(b: &Backend) {
    let start = b.store.current_revision().await.unwrap();
    assert!(start >= 1, "a fresh store is at revision >= 1, got {start}");
    assert_eq!(b.store.get("/t/a").await.unwrap(), None);

    let r1 = put(b, "/t/a", "one").await;
    assert_eq!(r1, start + 1, "one write, one revision");
    let kv = b.store.get("/t/a").await.unwrap().unwrap();
    assert_eq!((kv.key.as_str(), kv.value.as_slice()), ("/t/a", b"one".as_slice()));
    assert_eq!((kv.create_revision, kv.mod_revision, kv.version, kv.lease), (r1, r1, 1, None));

    let r2 = put(b, "/t/a", "two").await;
    assert_eq!(r2, r1 + 1);
    let kv = b.store.get("/t/a").await.unwrap().unwrap();
    assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (r1, r2, 2));
    assert_eq!(b.store.current_revision().await.unwrap(), r2);

    // A write to another key moves the global revision, not this key's.
    let r3 = put(b, "/t/b", "x").await;
    assert_eq!(r3, r2 + 1);
    assert_eq!(b.store.get("/t/a").await.unwrap().unwrap().mod_revision, r2);

    // Deleting and re-creating starts a new life: new create revision, version 1.
    let r4 = b.store.txn(Txn::new().then(Op::delete("/t/a"))).await.unwrap().revision;
    assert_eq!(r4, r3 + 1);
    assert_eq!(b.store.get("/t/a").await.unwrap(), None);
    let r5 = put(b, "/t/a", "three").await;
    let kv = b.store.get("/t/a").await.unwrap().unwrap();
    assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (r5, r5, 1));
}

pub async fn compare_and_swap(b: &Backend) {
    // Create only if absent: first wins, second changes nothing.
    let create = || Txn::new().when(Compare::absent("/cas/k")).then(Op::put("/cas/k", "first"));
    let won = b.store.txn(create()).await.unwrap();
    assert!(won.succeeded);
    let lost = b.store.txn(create()).await.unwrap();
    assert!(!lost.succeeded);
    assert_eq!(lost.revision, won.revision, "a failed compare writes nothing");
    assert_eq!(value_of(b, "/cas/k").await.as_deref(), Some("first"));

    // CAS on mod_revision: the stale token loses, the fresh one wins.
    let rev = b.store.get("/cas/k").await.unwrap().unwrap().mod_revision;
    let update = |token: i64, v: &str| {
        Txn::new().when(Compare::mod_revision("/cas/k", token)).then(Op::put("/cas/k", v.to_owned()))
    };
    let ok = b.store.txn(update(rev, "second")).await.unwrap();
    assert!(ok.succeeded);
    assert_eq!(ok.revision, rev + 1);
    let stale = b.store.txn(update(rev, "third")).await.unwrap();
    assert!(!stale.succeeded);
    assert_eq!(value_of(b, "/cas/k").await.as_deref(), Some("second"));

    // Value compares.
    let by_value =
        b.store.txn(Txn::new().when(Compare::value("/cas/k", "second")).then(Op::put("/cas/v", "1")));
    assert!(by_value.await.unwrap().succeeded);
    let wrong = b.store.txn(Txn::new().when(Compare::value("/cas/k", "nope")).then(Op::put("/cas/v", "2")));
    assert!(!wrong.await.unwrap().succeeded);
    // etcd: a value compare on an absent key fails whatever the operator.
    let absent_ne = Compare {
        key: "/cas/missing".into(),
        op: CompareOp::NotEqual,
        target: CompareTarget::Value(b"x".to_vec()),
    };
    assert!(!b.store.txn(Txn::new().when(absent_ne).then(Op::put("/cas/v", "3"))).await.unwrap().succeeded);
    assert_eq!(value_of(b, "/cas/v").await.as_deref(), Some("1"));

    // Ordering operators and create revision.
    let kv = b.store.get("/cas/k").await.unwrap().unwrap();
    let cmp = |op, target| Compare { key: "/cas/k".into(), op, target };
    let holds = |c: Compare| async { b.store.txn(Txn::new().when(c)).await.unwrap().succeeded };
    assert!(holds(cmp(CompareOp::Greater, CompareTarget::ModRevision(kv.mod_revision - 1))).await);
    assert!(!holds(cmp(CompareOp::Greater, CompareTarget::ModRevision(kv.mod_revision))).await);
    assert!(holds(cmp(CompareOp::Less, CompareTarget::ModRevision(kv.mod_revision + 1))).await);
    assert!(holds(cmp(CompareOp::NotEqual, CompareTarget::ModRevision(0))).await);
    assert!(holds(cmp(CompareOp::Equal, CompareTarget::CreateRevision(kv.create_revision))).await);
    assert!(
        holds(Compare {
            key: "/cas/missing".into(),
            op: CompareOp::Equal,
            target: CompareTarget::CreateRevision(0)
        })
        .await
    );
}

pub async fn multi_op_txn_is_atomic(b: &Backend) {
    put(b, "/m/old", "x").await;
    let txn = Txn::new()
        .when(Compare::absent("/m/a"))
        .then(Op::put("/m/a", "1"))
        .then(Op::put("/m/b", "2"))
        .then(Op::delete("/m/old"));
    let outcome = b.store.txn(txn).await.unwrap();
    assert!(outcome.succeeded);
    let a = b.store.get("/m/a").await.unwrap().unwrap();
    let bb = b.store.get("/m/b").await.unwrap().unwrap();
    assert_eq!(a.mod_revision, outcome.revision, "every op of a txn shares its revision");
    assert_eq!(bb.mod_revision, outcome.revision);
    assert_eq!(b.store.get("/m/old").await.unwrap(), None);

    // One failing compare among several: nothing happens.
    let txn = Txn::new()
        .when(Compare::mod_revision("/m/a", a.mod_revision))
        .when(Compare::absent("/m/b"))
        .then(Op::put("/m/a", "changed"))
        .then(Op::put("/m/c", "3"));
    assert!(!b.store.txn(txn).await.unwrap().succeeded);
    assert_eq!(value_of(b, "/m/a").await.as_deref(), Some("1"));
    assert_eq!(b.store.get("/m/c").await.unwrap(), None);

    // DeleteRange removes exactly [start, end).
    for k in ["/m/r/1", "/m/r/2", "/m/r/3", "/m/s"] {
        put(b, k, "v").await;
    }
    let range = Op::DeleteRange { start: "/m/r/".into(), end: ferric_store::prefix_end("/m/r/") };
    b.store.txn(Txn::new().then(range)).await.unwrap();
    assert!(b.store.range(RangeRequest::prefix("/m/r/")).await.unwrap().kvs.is_empty());
    assert_eq!(value_of(b, "/m/s").await.as_deref(), Some("v"));
}

pub async fn no_change_no_revision(b: &Backend) {
    put(b, "/n/a", "x").await;
    let rev = b.store.current_revision().await.unwrap();
    // A compare-only transaction and a delete of an absent key change nothing.
    let only_compare = b.store.txn(Txn::new().when(Compare::absent("/n/zzz"))).await.unwrap();
    assert!(only_compare.succeeded);
    assert_eq!(only_compare.revision, rev);
    let noop = b.store.txn(Txn::new().then(Op::delete("/n/missing"))).await.unwrap();
    assert!(noop.succeeded);
    assert_eq!(noop.revision, rev);
    assert_eq!(b.store.current_revision().await.unwrap(), rev);
}

pub async fn bad_requests_are_typed(b: &Backend) {
    let empty_key = b.store.txn(Txn::new().then(Op::put("", "x"))).await;
    assert!(matches!(empty_key, Err(StoreError::InvalidArgument(_))), "{empty_key:?}");
    let twice = b.store.txn(Txn::new().then(Op::put("/bad/k", "1")).then(Op::put("/bad/k", "2"))).await;
    assert!(matches!(twice, Err(StoreError::InvalidArgument(_))), "{twice:?}");
    assert_eq!(b.store.get("/bad/k").await.unwrap(), None);
    // Odd but legal keys round-trip.
    let odd = "/bad/ünïcødé key with spaces/\u{1F600}";
    put(b, odd, "ok").await;
    assert_eq!(value_of(b, odd).await.as_deref(), Some("ok"));
    // Binary values round-trip.
    let binary: Vec<u8> = (0..=255u8).collect();
    b.store.txn(Txn::new().then(Op::put("/bad/bin", binary.clone()))).await.unwrap();
    assert_eq!(b.store.get("/bad/bin").await.unwrap().unwrap().value, binary);
}

pub async fn range_and_pagination(b: &Backend) {
    put(b, "/p", "outside").await;
    put(b, "/p0", "outside").await;
    for i in (0..25).rev() {
        put(b, &format!("/p/{i:02}"), &i.to_string()).await;
    }
    put(b, "/q/0", "outside").await;

    let all = b.store.range(RangeRequest::prefix("/p/")).await.unwrap();
    let keys: Vec<&str> = all.kvs.iter().map(|kv| kv.key.as_str()).collect();
    let expected: Vec<String> = (0..25).map(|i| format!("/p/{i:02}")).collect();
    assert_eq!(keys, expected, "ascending byte order, nothing outside the prefix");
    assert!(!all.more);
    assert_eq!(all.revision, b.store.current_revision().await.unwrap());

    // Pages of 10: 10, 10, 5, in order, with `more` on all but the last.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = b.store.range(RangeRequest::prefix_after("/p/", after.as_deref(), 10)).await.unwrap();
        pages += 1;
        assert!(page.kvs.len() <= 10);
        seen.extend(page.kvs.iter().map(|kv| kv.key.clone()));
        after = page.kvs.last().map(|kv| kv.key.clone());
        if !page.more {
            break;
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected);

    // Single key and an empty range.
    let one = b.store.range(RangeRequest { start: "/p/07".into(), end: None, limit: 0 }).await.unwrap();
    assert_eq!(one.kvs.len(), 1);
    assert_eq!(one.kvs[0].value, b"7");
    let none = b.store.range(RangeRequest::prefix("/nothing/")).await.unwrap();
    assert!(none.kvs.is_empty() && !none.more);
    let limited = b.store.range(RangeRequest::prefix("/p/").with_limit(25)).await.unwrap();
    assert_eq!((limited.kvs.len(), limited.more), (25, false));
}

pub async fn pagination_is_stable_under_writes(b: &Backend) {
    for i in 0..10 {
        put(b, &format!("/s/{i}"), "v").await;
    }
    let first = b.store.range(RangeRequest::prefix_after("/s/", None, 4)).await.unwrap();
    let last = first.kvs.last().unwrap().key.clone();
    assert_eq!(last, "/s/3");
    // Records come and go between pages: a deleted seen key, a deleted unseen key,
    // a new key after the cursor.
    b.store
        .txn(Txn::new().then(Op::delete("/s/1")).then(Op::delete("/s/5")).then(Op::put("/s/55", "n")))
        .await
        .unwrap();
    let rest = b.store.range(RangeRequest::prefix_after("/s/", Some(&last), 0)).await.unwrap();
    let keys: Vec<&str> = rest.kvs.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["/s/4", "/s/55", "/s/6", "/s/7", "/s/8", "/s/9"]);
}

pub async fn watch_from_a_revision(b: &Backend) {
    let r1 = put(b, "/w/a", "1").await;
    put(b, "/other/x", "noise").await;
    let r3 = put(b, "/w/b", "2").await;
    let r4 = b.store.txn(Txn::new().then(Op::delete("/w/a"))).await.unwrap().revision;

    let mut events = b.store.watch("/w/", r1).await.unwrap();
    let e = next_event(&mut events, "put /w/a").await;
    assert_eq!(
        (e.kind, e.kv.key.as_str(), e.kv.value.as_slice(), e.kv.mod_revision),
        (EventKind::Put, "/w/a", b"1".as_slice(), r1)
    );
    assert_eq!((e.kv.create_revision, e.kv.version), (r1, 1));
    let e = next_event(&mut events, "put /w/b").await;
    assert_eq!((e.kind, e.kv.key.as_str(), e.kv.mod_revision), (EventKind::Put, "/w/b", r3));
    let e = next_event(&mut events, "delete /w/a").await;
    assert_eq!((e.kind, e.kv.key.as_str(), e.kv.mod_revision), (EventKind::Delete, "/w/a", r4));
    assert!(e.kv.value.is_empty());

    // Then live changes, in order, only under the prefix.
    put(b, "/other/y", "noise").await;
    let r6 = put(b, "/w/c", "3").await;
    let txn = b.store.txn(Txn::new().then(Op::put("/w/d", "4")).then(Op::put("/w/e", "5"))).await.unwrap();
    let e = next_event(&mut events, "live put /w/c").await;
    assert_eq!((e.kv.key.as_str(), e.kv.mod_revision), ("/w/c", r6));
    let d = next_event(&mut events, "live put /w/d").await;
    let e = next_event(&mut events, "live put /w/e").await;
    assert_eq!((d.kv.key.as_str(), e.kv.key.as_str()), ("/w/d", "/w/e"));
    assert_eq!((d.kv.mod_revision, e.kv.mod_revision), (txn.revision, txn.revision));

    // A range read followed by a watch from its revision + 1 misses nothing.
    let page = b.store.range(RangeRequest::prefix("/w/")).await.unwrap();
    let mut after = b.store.watch("/w/", page.revision + 1).await.unwrap();
    let r = put(b, "/w/f", "6").await;
    let e = next_event(&mut after, "put after range").await;
    assert_eq!((e.kv.key.as_str(), e.kv.mod_revision), ("/w/f", r));
}

pub async fn watch_from_now(b: &Backend) {
    put(b, "/now/old", "x").await;
    let mut events = b.store.watch("/now/", 0).await.unwrap();
    let r = put(b, "/now/new", "y").await;
    let e = next_event(&mut events, "only the new put").await;
    assert_eq!((e.kv.key.as_str(), e.kv.mod_revision), ("/now/new", r));
}

pub async fn watch_replays_long_history(b: &Backend) {
    let first = b.store.current_revision().await.unwrap() + 1;
    // More revisions than the embedded store's live channel holds.
    for i in 0..1500 {
        put(b, &format!("/long/{i:05}"), "v").await;
    }
    let mut events = b.store.watch("/long/", first).await.unwrap();
    for i in 0..1500 {
        let e = next_event(&mut events, "replayed put").await;
        assert_eq!(e.kv.key, format!("/long/{i:05}"));
        assert_eq!(e.kv.mod_revision, first + i);
    }
}

pub async fn watch_of_compacted_history_fails(b: &Backend) {
    let r1 = put(b, "/c/a", "1").await;
    put(b, "/c/a", "2").await;
    let r3 = put(b, "/c/a", "3").await;
    b.compact(r3).await.unwrap();
    match b.store.watch("/c/", r1).await {
        Err(StoreError::Compacted { requested, oldest }) => {
            assert_eq!((requested, oldest), (r1, r3));
        }
        Err(other) => panic!("expected Compacted, got {other}"),
        Ok(mut events) => match tokio::time::timeout(PATIENCE, events.next()).await {
            Ok(Some(Err(StoreError::Compacted { requested, oldest }))) => {
                assert_eq!((requested, oldest), (r1, r3))
            }
            other => panic!("expected a Compacted error, got {other:?}"),
        },
    }
    // From the compaction revision on, history is still there.
    let mut events = b.store.watch("/c/", r3).await.unwrap();
    let e = next_event(&mut events, "put at the compaction revision").await;
    assert_eq!((e.kv.mod_revision, e.kv.value.as_slice()), (r3, b"3".as_slice()));
}

pub async fn leases_keep_alive_and_revoke(b: &Backend) {
    let lease = b.store.lease_grant(Duration::from_secs(30)).await.unwrap();
    assert_ne!(lease.0, 0);
    let r = b
        .store
        .txn(Txn::new().then(Op::put_leased("/l/a", "1", lease)).then(Op::put_leased("/l/b", "2", lease)))
        .await
        .unwrap();
    assert!(r.succeeded);
    assert_eq!(b.store.get("/l/a").await.unwrap().unwrap().lease, Some(lease));
    let ttl = b.store.lease_keep_alive(lease).await.unwrap();
    assert!(ttl >= Duration::from_secs(30), "keep-alive returns the full TTL, got {ttl:?}");

    // Re-putting without a lease detaches the key.
    b.store.txn(Txn::new().then(Op::put("/l/b", "2"))).await.unwrap();
    let mut events = b.store.watch("/l/", 0).await.unwrap();
    b.store.lease_revoke(lease).await.unwrap();
    let e = next_event(&mut events, "delete of the leased key").await;
    assert_eq!((e.kind, e.kv.key.as_str()), (EventKind::Delete, "/l/a"));
    assert_eq!(b.store.get("/l/a").await.unwrap(), None);
    assert!(b.store.get("/l/b").await.unwrap().is_some(), "a detached key outlives the lease");

    // A dead lease refuses everything.
    assert_eq!(b.store.lease_keep_alive(lease).await, Err(StoreError::LeaseNotFound(lease.0)));
    let put = b.store.txn(Txn::new().then(Op::put_leased("/l/c", "3", lease))).await;
    assert_eq!(put, Err(StoreError::LeaseNotFound(lease.0)));
    assert_eq!(b.store.get("/l/c").await.unwrap(), None);
    assert_eq!(b.store.lease_revoke(lease).await, Err(StoreError::LeaseNotFound(lease.0)));
    let unknown = LeaseId(0x7eadbeef);
    assert_eq!(b.store.lease_keep_alive(unknown).await, Err(StoreError::LeaseNotFound(unknown.0)));
}

pub async fn lease_expires_after_ttl(b: &Backend) {
    let lease = b.store.lease_grant(TTL).await.unwrap();
    let mut events = b.store.watch("/exp/", 0).await.unwrap();
    b.store.txn(Txn::new().then(Op::put_leased("/exp/k", "v", lease))).await.unwrap();
    let e = next_event(&mut events, "put of the leased key").await;
    assert_eq!(e.kind, EventKind::Put);
    let e = next_event(&mut events, "delete when the lease expires").await;
    assert_eq!((e.kind, e.kv.key.as_str()), (EventKind::Delete, "/exp/k"));
    assert_eq!(b.store.get("/exp/k").await.unwrap(), None);
    assert_eq!(b.store.lease_keep_alive(lease).await, Err(StoreError::LeaseNotFound(lease.0)));
}

pub async fn keep_alive_keeps_a_lease(b: &Backend) {
    let lease = b.store.lease_grant(TTL).await.unwrap();
    b.store.txn(Txn::new().then(Op::put_leased("/ka/k", "v", lease))).await.unwrap();
    let granted = b.store.lease_keep_alive(lease).await.unwrap();
    assert!(granted >= TTL);
    // Refresh at a third of the TTL for three TTLs: the key must never vanish.
    let mut tick = tokio::time::interval(granted / 3);
    let until = tokio::time::Instant::now() + granted * 3;
    while tokio::time::Instant::now() < until {
        tick.tick().await;
        b.store.lease_keep_alive(lease).await.unwrap();
        assert!(b.store.get("/ka/k").await.unwrap().is_some(), "key lost while its lease was kept alive");
    }
    b.store.lease_revoke(lease).await.unwrap();
}

pub async fn concurrent_compare_and_swap(b: &Backend) {
    put(b, "/cc/counter", "0").await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = b.store.clone();
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0u32;
            for _ in 0..10 {
                loop {
                    let kv = store.get("/cc/counter").await.unwrap().unwrap();
                    let n: u64 = String::from_utf8(kv.value).unwrap().parse().unwrap();
                    let txn = Txn::new()
                        .when(Compare::mod_revision("/cc/counter", kv.mod_revision))
                        .then(Op::put("/cc/counter", (n + 1).to_string()));
                    if store.txn(txn).await.unwrap().succeeded {
                        break;
                    }
                    conflicts += 1;
                }
            }
            conflicts
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(value_of(b, "/cc/counter").await.as_deref(), Some("80"), "no increment lost");
    assert_eq!(b.store.get("/cc/counter").await.unwrap().unwrap().version, 81);
}
