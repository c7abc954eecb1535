//! etcd going away and coming back: every call fails fast with a typed, transient
//! error that names the endpoints, and the same `EtcdStore` works again by itself
//! once etcd is back — no reconnect call, no new client.

use std::time::{Duration, Instant};

use ferric_store::etcd::{EtcdOptions, EtcdStore};
use ferric_store::{Op, Store as _, StoreError, Txn};
use ferric_testkit::EtcdProcess;
use futures::StreamExt as _;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

fn assert_unavailable<T: std::fmt::Debug>(what: &str, result: Result<T, StoreError>, endpoint: &str) {
    match result {
        Err(err @ StoreError::Unavailable(_)) => {
            assert!(err.is_transient());
            assert!(err.to_string().contains(endpoint), "{what}: the error names the endpoint: {err}");
        }
        Err(StoreError::Timeout) => {}
        other => panic!("{what}: expected a transient store error while etcd is down, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_fail_typed_while_etcd_is_down_and_recover_by_themselves() {
    let mut etcd = EtcdProcess::start().await.expect("start etcd");
    let endpoint = etcd.endpoint();
    let options = EtcdOptions { request_timeout: REQUEST_TIMEOUT, ..Default::default() };
    let store = EtcdStore::connect(&etcd.endpoints(), options).await.unwrap();
    let before = store.txn(Txn::new().then(Op::put("/o/a", "before"))).await.unwrap().revision;
    let mut watch = store.watch("/o/", 0).await.unwrap();

    etcd.stop().await;

    // Every kind of call fails within about one request timeout.
    let started = Instant::now();
    assert_unavailable("get", store.get("/o/a").await, &endpoint);
    assert_unavailable("txn", store.txn(Txn::new().then(Op::put("/o/b", "during"))).await, &endpoint);
    assert_unavailable("lease grant", store.lease_grant(Duration::from_secs(10)).await, &endpoint);
    assert_unavailable("revision", store.current_revision().await, &endpoint);
    assert_unavailable("watch", store.watch("/o/", 0).await.map(|_| ()), &endpoint);
    assert!(
        started.elapsed() < REQUEST_TIMEOUT * 5 + Duration::from_secs(2),
        "calls hang: {:?}",
        started.elapsed()
    );

    // The open watch reports the outage and ends, so its owner can resync.
    let item = tokio::time::timeout(Duration::from_secs(30), watch.next())
        .await
        .expect("the watch notices the outage");
    match item {
        Some(Err(err)) => assert!(err.is_transient(), "{err}"),
        Some(Ok(event)) => panic!("unexpected event during the outage: {event:?}"),
        None => {}
    }

    // A fresh client cannot connect either, and says where it tried.
    let fresh = EtcdStore::connect(
        &etcd.endpoints(),
        EtcdOptions { request_timeout: REQUEST_TIMEOUT, ..Default::default() },
    )
    .await;
    assert_unavailable("connect", fresh.map(|_| ()), &endpoint);

    etcd.restart().await.expect("restart etcd");

    // The same store recovers by itself.
    ferric_testkit::wait_until(
        Duration::from_secs(30),
        "the store to answer again after etcd restarted",
        || async { store.get("/o/a").await.is_ok() },
    )
    .await;
    let kv = store.get("/o/a").await.unwrap().unwrap();
    assert_eq!(
        (kv.value.as_slice(), kv.mod_revision),
        (b"before".as_slice(), before),
        "data survived the outage"
    );
    let after = store.txn(Txn::new().then(Op::put("/o/b", "after"))).await.unwrap();
    assert!(after.succeeded && after.revision > before);
    let lease = store.lease_grant(Duration::from_secs(10)).await.unwrap();
    store.lease_keep_alive(lease).await.unwrap();
    // Resuming the watch from the last seen revision misses nothing.
    let mut resumed = store.watch("/o/", before + 1).await.unwrap();
    let event =
        tokio::time::timeout(Duration::from_secs(10), resumed.next()).await.unwrap().unwrap().unwrap();
    assert_eq!((event.kv.key.as_str(), event.kv.mod_revision), ("/o/b", after.revision));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_validates_its_input() {
    let none = EtcdStore::connect(&[], EtcdOptions::default()).await;
    assert!(matches!(none, Err(StoreError::InvalidArgument(_))), "{:?}", none.err());
    let bad = EtcdStore::connect(&["not a url at all".to_owned()], EtcdOptions::default()).await;
    assert!(bad.is_err(), "a malformed endpoint is refused");
    // Nothing listens on port 1 of loopback.
    let options = EtcdOptions {
        request_timeout: REQUEST_TIMEOUT,
        connect_timeout: REQUEST_TIMEOUT,
        ..Default::default()
    };
    let started = Instant::now();
    let nobody = EtcdStore::connect(&["http://127.0.0.1:1".to_owned()], options).await;
    assert_unavailable("connect to nobody", nobody.map(|_| ()), "127.0.0.1:1");
    assert!(started.elapsed() < Duration::from_secs(5));
}
