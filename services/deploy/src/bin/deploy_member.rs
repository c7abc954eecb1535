//! Test helper behind `tests/failover.rs`: one conductor per OS process on etcd,
//! so a test can `kill -9` it. Fake power only; agents are the test's.
//!
//! Usage: `deploy-member --etcd ENDPOINTS --hostname NAME [--ttl-secs N]`.

use std::sync::Arc;
use std::time::Duration;

use ferric_cluster::{ConductorInfo, Membership};
use ferric_deploy::interfaces::Services;
use ferric_deploy::{Engine, Settings};
use ferric_mesh::{ServerOptions, ServiceKind};
use ferric_store::DynStore;
use ferric_store::etcd::{EtcdOptions, EtcdStore};

#[tokio::main]
async fn main() {
    if let Err(message) = member().await {
        eprintln!("deploy-member: {message}");
        std::process::exit(1);
    }
}

async fn member() -> Result<(), String> {
    let mut endpoints = Vec::new();
    let mut hostname = String::new();
    let mut ttl = Duration::from_secs(3);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--etcd" => endpoints = value.split(',').map(str::to_owned).collect(),
            "--hostname" => hostname = value,
            "--ttl-secs" => ttl = Duration::from_secs(value.parse().map_err(|e| format!("--ttl-secs: {e}"))?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let store: DynStore =
        Arc::new(EtcdStore::connect(&endpoints, EtcdOptions::default()).await.map_err(|e| e.to_string())?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let address = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let registration =
        ferric_mesh::register(store.clone(), ServiceKind::Deploy, hostname.clone(), address.clone(), ttl)
            .await
            .map_err(|e| e.to_string())?;
    let info = ConductorInfo {
        hostname: hostname.clone(),
        hardware_types: vec!["fake-hardware".into()],
        address,
        ..Default::default()
    };
    let membership = Membership::join(store.clone(), info, ttl).await.map_err(|e| e.to_string())?;
    let settings = Settings {
        periodic_interval: Duration::from_millis(500),
        agent_command_poll: Duration::from_millis(100),
        ..Settings::default()
    };
    let engine = Engine::new(store, membership.view(), settings, Services::offline());
    let options = ServerOptions { kind: ServiceKind::Deploy, instance_id: hostname, tls: None };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    println!("deploy-member ready");
    let served = ferric_deploy::serve(options, listener, shutdown, engine).await;
    registration.shutdown().await;
    membership.leave().await;
    served.map_err(|e| e.to_string())
}
