//! Registration records live exactly as long as their instance.

use std::time::Duration;

use ferric_mesh::{ServiceKind, list_instances, register};

use crate::common::{eventually, store};

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn record_describes_the_instance_and_goes_away_on_shutdown() {
    let store = store();
    let registration = register(
        store.clone(),
        ServiceKind::Bootnet,
        "bn-1",
        "https://10.0.0.7:50051",
        Duration::from_secs(5),
    )
    .await
    .expect("register");
    assert_eq!(registration.key(), "/ferric/services/bootnet/bn-1");

    let listed = list_instances(&store, ServiceKind::Bootnet).await.expect("list");
    assert_eq!(listed.len(), 1);
    let record = &listed[0];
    assert_eq!(
        (record.instance_id.as_str(), record.address.as_str(), record.tls),
        ("bn-1", "https://10.0.0.7:50051", true)
    );
    assert!(!record.hostname.is_empty());

    let raw = store
        .get("/ferric/services/bootnet/bn-1")
        .await
        .ok()
        .flatten()
        .map(|kv| kv.value)
        .unwrap_or_default();
    let json: serde_json::Value = serde_json::from_slice(&raw).unwrap_or_default();
    for field in ["address", "instance_id", "hostname", "started_at", "tls"] {
        assert!(json.get(field).is_some(), "missing {field} in {json}");
    }

    registration.shutdown().await;
    assert_eq!(store.get("/ferric/services/bootnet/bn-1").await.ok().flatten(), None);
}

#[tokio::test]
async fn dropping_the_registration_deregisters() {
    let store = store();
    let registration =
        register(store.clone(), ServiceKind::ImageCache, "ic-1", "127.0.0.1:1", Duration::from_secs(5))
            .await
            .expect("register");
    let key = registration.key().to_owned();
    drop(registration);
    let gone = eventually(WAIT, || async { store.get(&key).await.ok().flatten().is_none() }).await;
    assert!(gone);
}

#[tokio::test]
async fn lost_lease_is_replaced_and_the_record_comes_back() {
    let store = store();
    let ttl = Duration::from_millis(600);
    let registration =
        register(store.clone(), ServiceKind::Deploy, "d-1", "127.0.0.1:2", ttl).await.expect("register");
    let key = registration.key().to_owned();
    let lease = store.get(&key).await.ok().flatten().and_then(|kv| kv.lease).expect("leased record");

    // Simulate expiry (e.g. a long store outage): the lease and record vanish.
    store.lease_revoke(lease).await.expect("revoke");
    assert_eq!(store.get(&key).await.ok().flatten(), None);

    // The keep-alive task notices at its next round and registers again.
    let back = eventually(WAIT, || async {
        store.get(&key).await.ok().flatten().is_some_and(|kv| kv.lease.is_some_and(|l| l != lease))
    })
    .await;
    assert!(back, "registration did not come back after losing its lease");

    // And it is kept alive beyond one TTL.
    tokio::time::sleep(ttl * 2).await;
    assert!(store.get(&key).await.ok().flatten().is_some());
    registration.shutdown().await;
    assert_eq!(store.get(&key).await.ok().flatten(), None);
}
