//! Membership on the embedded store: joining, converging views, graceful leave,
//! lease loss and re-registration, crashes and the conductor list.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use ferric_cluster::{ClusterError, ConductorInfo, Membership, MembershipView, list_conductors};
use ferric_store::DynStore;
use ferric_store::embedded::EmbeddedStore;
use ferric_testkit::wait_until;
use tempfile::TempDir;

/// Long enough that a lapse can never explain what a test sees within `QUICK`.
const LONG_TTL: Duration = Duration::from_secs(60);
/// How long a test may wait for something that should happen promptly.
const QUICK: Duration = Duration::from_secs(10);

async fn store() -> (DynStore, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path().join("store.redb")).await.expect("open embedded store");
    (Arc::new(store), dir)
}

fn info(hostname: &str) -> ConductorInfo {
    ConductorInfo {
        hostname: hostname.into(),
        hardware_types: vec!["ipmi".into()],
        address: format!("http://{hostname}:6385"),
        ..Default::default()
    }
}

fn nodes() -> Vec<String> {
    (0..300).map(|i| format!("00000000-0000-4000-8000-{i:012}")).collect()
}

fn members(view: &MembershipView) -> Vec<String> {
    view.ring().hostnames().into_iter().map(str::to_owned).collect()
}

fn owned(view: &MembershipView, nodes: &[String]) -> BTreeSet<String> {
    nodes.iter().filter(|n| view.owns(n, "", "ipmi")).cloned().collect()
}

async fn converge(views: &[&MembershipView], expected: &[&str]) {
    let what = format!("every view to show exactly {expected:?}");
    wait_until(QUICK, &what, || async { views.iter().all(|v| members(v) == expected) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joined_conductors_see_each_other_and_partition_the_nodes() {
    let (store, _dir) = store().await;
    let a = Membership::join(store.clone(), info("a"), LONG_TTL).await.expect("a joins");
    assert_eq!(members(&a.view()), ["a"], "the first view includes the joiner");
    let b = Membership::join(store.clone(), info("b"), LONG_TTL).await.expect("b joins");
    let c = Membership::join(store.clone(), info("c"), LONG_TTL).await.expect("c joins");
    converge(&[&a.view(), &b.view(), &c.view()], &["a", "b", "c"]).await;

    let nodes = nodes();
    let owned: Vec<BTreeSet<String>> = [&a, &b, &c].iter().map(|m| owned(&m.view(), &nodes)).collect();
    for node in &nodes {
        let owners = owned.iter().filter(|set| set.contains(node)).count();
        assert_eq!(owners, 1, "{node} is owned by {owners} conductors");
        let owner = a.owner_of(node, "", "ipmi").expect("owned");
        assert_eq!(b.owner_of(node, "", "ipmi").as_deref(), Some(owner.as_str()), "views agree");
    }
    assert!(owned.iter().all(|set| !set.is_empty()), "each conductor owns some nodes");
    assert!(a.lease().is_some() && a.view().is_member());

    let listed = list_conductors(&store).await.expect("list");
    let hostnames: Vec<&str> = listed.iter().map(|r| r.hostname.as_str()).collect();
    assert_eq!(hostnames, ["a", "b", "c"]);
    assert!(listed.iter().all(|r| r.alive && r.drivers == ["ipmi"] && r.updated_at.is_some()));
    assert_eq!(listed[0].address, "http://a:6385");
    assert_eq!(listed[0].version, env!("CARGO_PKG_VERSION"));

    for m in [a, b, c] {
        m.leave().await;
    }
    assert!(list_conductors(&store).await.expect("list").is_empty(), "a graceful leave unregisters");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_hands_nodes_over_at_once_and_signals_the_change() {
    let (store, _dir) = store().await;
    let a = Membership::join(store.clone(), info("a"), LONG_TTL).await.expect("a joins");
    let b = Membership::join(store.clone(), info("b"), LONG_TTL).await.expect("b joins");
    converge(&[&a.view(), &b.view()], &["a", "b"]).await;
    let nodes = nodes();
    let before = owned(&a.view(), &nodes);
    assert!(before.len() < nodes.len());

    let mut changes = a.changes();
    b.leave().await;
    // Far sooner than the 60 s TTL: the lease was revoked, not left to lapse.
    tokio::time::timeout(QUICK, changes.wait_for(|ring| ring.hostnames() == ["a"]))
        .await
        .expect("a hears that b left")
        .expect("membership still running");
    let after = owned(&a.view(), &nodes);
    assert_eq!(after.len(), nodes.len(), "a owns every node once alone");
    assert!(after.is_superset(&before), "a keeps its own nodes");
    a.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_lease_is_replaced_by_a_fresh_registration() {
    let (store, _dir) = store().await;
    let ttl = Duration::from_secs(3);
    let a = Membership::join(store.clone(), info("a"), ttl).await.expect("a joins");
    let lost = a.lease().expect("a holds a lease");
    // What a lapse looks like to the holder: the store no longer knows the lease.
    store.lease_revoke(lost).await.expect("revoke behind a's back");

    wait_until(QUICK, "a to register again under a new lease", || async {
        a.lease().is_some_and(|lease| lease != lost)
    })
    .await;
    let key = store.get("/ferric/conductors/a").await.expect("get").expect("membership key is back");
    assert_eq!(key.lease, a.lease(), "the key hangs on the new lease");
    wait_until(QUICK, "a's view to include a again", || async { members(&a.view()) == ["a"] }).await;
    assert!(a.owns("00000000-0000-4000-8000-000000000001", "", "ipmi"));
    a.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_conductor_lapses_is_listed_dead_and_can_rejoin() {
    let (store, _dir) = store().await;
    let ttl = Duration::from_secs(2);
    let survivor = Membership::join(store.clone(), info("survivor"), LONG_TTL).await.expect("survivor joins");

    // The crashing conductor runs on a runtime of its own, which is then torn down
    // without running any of its tasks again: no revoke, no keep-alive.
    let crashing =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("rt");
    let joined = crashing.spawn(Membership::join(store.clone(), info("crashed"), ttl));
    let crashed = joined.await.expect("join task").expect("crashed joins");
    converge(&[&survivor.view()], &["crashed", "survivor"]).await;
    let created_at = list_conductors(&store).await.expect("list")[0].created_at;
    crashing.shutdown_background();
    let crashed_at = std::time::Instant::now();
    // `crashed` stays alive (not dropped) so nothing tells its tasks to leave: had
    // they been woken before the runtime noticed its shutdown, they would revoke.

    let mut changes = survivor.changes();
    tokio::time::timeout(ttl * 5, changes.wait_for(|ring| ring.hostnames() == ["survivor"]))
        .await
        .expect("the crashed conductor's lease lapses")
        .expect("membership still running");
    assert!(
        crashed_at.elapsed() >= ttl / 2,
        "it went by lapsing, not by a revoke: {:?}",
        crashed_at.elapsed()
    );
    let listed = list_conductors(&store).await.expect("list");
    assert_eq!(listed.len(), 2);
    assert_eq!((listed[0].hostname.as_str(), listed[0].alive), ("crashed", false), "Ironic shows it dead");
    assert_eq!((listed[1].hostname.as_str(), listed[1].alive), ("survivor", true));

    let back = Membership::join(store.clone(), info("crashed"), ttl).await.expect("rejoins");
    let listed = list_conductors(&store).await.expect("list");
    assert!(listed[0].alive);
    assert_eq!(listed[0].created_at, created_at, "first registration time is kept");
    back.leave().await;
    survivor.leave().await;
    drop(crashed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_hostname_cannot_be_taken() {
    let (store, _dir) = store().await;
    let ttl = Duration::from_secs(1);
    let first = Membership::join(store.clone(), info("dup"), ttl).await.expect("first joins");
    let second = Membership::join(store.clone(), info("dup"), ttl).await;
    assert!(
        matches!(second, Err(ClusterError::AlreadyRegistered { ref hostname }) if hostname == "dup"),
        "{second:?}"
    );
    assert!(first.view().is_member(), "the holder is undisturbed");
    first.leave().await;

    let bad = Membership::join(store.clone(), info("a/b"), ttl).await;
    assert!(matches!(bad, Err(ClusterError::InvalidHostname(_))), "{bad:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_and_hardware_types_restrict_ownership() {
    let (store, _dir) = store().await;
    let rack = ConductorInfo { conductor_group: "rack-1".into(), ..info("rack") };
    let redfish = ConductorInfo { hardware_types: vec!["redfish".into()], ..info("redfish") };
    let rack = Membership::join(store.clone(), rack, LONG_TTL).await.expect("rack joins");
    let redfish = Membership::join(store.clone(), redfish, LONG_TTL).await.expect("redfish joins");
    converge(&[&rack.view(), &redfish.view()], &["rack", "redfish"]).await;
    for node in nodes().iter().take(50) {
        assert!(rack.owns(node, "rack-1", "ipmi"));
        assert!(!redfish.owns(node, "rack-1", "ipmi"), "another group's conductor never owns it");
        assert!(redfish.owns(node, "", "redfish"));
        assert_eq!(rack.owner_of(node, "", "ipmi"), None, "nobody in the default group drives ipmi");
    }
    rack.leave().await;
    redfish.leave().await;
}
