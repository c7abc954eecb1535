//! The etcd harness against the real etcd: start, outage, restart, and a cluster
//! that keeps answering with one member down.

use std::time::Duration;

use ferric_testkit::{EtcdCluster, EtcdProcess};

async fn healthy(endpoint: &str) -> bool {
    let client = reqwest::Client::builder().timeout(Duration::from_millis(500)).build().unwrap();
    match client.get(format!("{endpoint}/health")).send().await {
        Ok(response) => response.text().await.is_ok_and(|body| body.contains("\"true\"")),
        Err(_) => false,
    }
}

#[tokio::test]
async fn single_member_stops_and_restarts_on_the_same_port() {
    let mut etcd = EtcdProcess::start().await.expect("etcd starts");
    let endpoint = etcd.endpoint();
    assert!(healthy(&endpoint).await, "fresh etcd is healthy");
    etcd.stop().await;
    assert!(!healthy(&endpoint).await, "stopped etcd does not answer");
    etcd.restart().await.expect("etcd restarts");
    assert!(healthy(&endpoint).await, "restarted etcd answers on the same endpoint");
}

#[tokio::test]
async fn three_member_cluster_survives_one_member_down() {
    let mut cluster = EtcdCluster::start(3).await.expect("cluster starts");
    let endpoints = cluster.endpoints();
    assert_eq!(endpoints.len(), 3);
    cluster.stop_member(0).await;
    assert!(!healthy(&endpoints[0]).await);
    ferric_testkit::wait_until(Duration::from_secs(10), "the two survivors to report healthy", || {
        let e1 = endpoints[1].clone();
        async move { healthy(&e1).await }
    })
    .await;
    cluster.restart_member(0).await.expect("member rejoins");
    assert!(healthy(&endpoints[0]).await);
}
