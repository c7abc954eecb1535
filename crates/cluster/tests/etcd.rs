//! Membership on a real etcd, in one process: views converge, and an instance cut
//! off from etcd stops claiming nodes once its lease may have lapsed, then comes
//! back when etcd does.

use std::sync::Arc;
use std::time::Duration;

use ferric_cluster::{ConductorInfo, Membership, MembershipView, list_conductors};
use ferric_store::DynStore;
use ferric_store::etcd::{EtcdOptions, EtcdStore};
use ferric_testkit::{EtcdProcess, wait_until};

const TTL: Duration = Duration::from_secs(3);
/// Etcd restarts, redials and lease-expiry checks all fit in this.
const PATIENCE: Duration = Duration::from_secs(30);

fn info(hostname: &str) -> ConductorInfo {
    ConductorInfo { hostname: hostname.into(), hardware_types: vec!["ipmi".into()], ..Default::default() }
}

async fn connect(etcd: &EtcdProcess) -> DynStore {
    let options = EtcdOptions { request_timeout: Duration::from_secs(1), ..EtcdOptions::default() };
    Arc::new(EtcdStore::connect(&etcd.endpoints(), options).await.expect("connect to etcd"))
}

fn owned(view: &MembershipView) -> usize {
    (0..100).filter(|i| view.owns(&format!("node-{i}"), "", "ipmi")).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conductor_cut_off_from_etcd_stops_claiming_nodes_and_recovers() {
    let mut etcd = EtcdProcess::start().await.expect("start etcd");
    let a = Membership::join(connect(&etcd).await, info("a"), TTL).await.expect("a joins");
    let b = Membership::join(connect(&etcd).await, info("b"), TTL).await.expect("b joins");
    let (va, vb) = (a.view(), b.view());
    wait_until(PATIENCE, "both views to list a and b", || async {
        va.ring().hostnames() == ["a", "b"] && vb.ring().hostnames() == ["a", "b"]
    })
    .await;
    assert_eq!(owned(&va) + owned(&vb), 100, "the two partition the nodes");
    let listed = list_conductors(&connect(&etcd).await).await.expect("list");
    assert_eq!(listed.iter().filter(|r| r.alive).count(), 2);

    etcd.stop().await;
    // Nobody can confirm the leases now, so nobody may act on any node: the others
    // may consider them lapsed.
    wait_until(PATIENCE, "both to stop claiming nodes while etcd is away", || async {
        !va.is_member() && !vb.is_member() && owned(&va) == 0 && owned(&vb) == 0
    })
    .await;
    assert!(va.lease().is_none(), "no lease to hang locks on while cut off");

    etcd.restart().await.expect("restart etcd");
    wait_until(PATIENCE, "both to be members with a partition again", || async {
        va.is_member()
            && vb.is_member()
            && va.ring().hostnames() == ["a", "b"]
            && vb.ring().hostnames() == ["a", "b"]
            && owned(&va) + owned(&vb) == 100
            && owned(&va) > 0
            && owned(&vb) > 0
    })
    .await;
    a.leave().await;
    wait_until(PATIENCE, "b to own everything after a leaves", || async { owned(&vb) == 100 }).await;
    b.leave().await;
}
