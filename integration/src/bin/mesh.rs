//! `just mesh`: starts the distributed harness by hand — a 3-member etcd cluster
//! and gateway ×2, deploy ×3, power ×2, bootnet ×2, imagecache ×2 as separate
//! `ferric` processes — prints where everything listens, and keeps it running
//! until Ctrl-C, so an operator can try distributed mode (and kill pieces of it)
//! without writing any configuration.
//!
//! Usage: `ferric-mesh [--ferric PATH] [--lease-ttl SECS]`; the binary defaults to
//! `$CARGO_TARGET_DIR/debug/ferric`.

use std::path::PathBuf;

use ferric_integration::{Mesh, MeshSpec, Role};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mut bin = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("debug/ferric");
    let mut spec = MeshSpec { lease_ttl_secs: 5, request_timeout_ms: 5000, ..MeshSpec::default() };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--ferric" => bin = args.next().expect("--ferric PATH").into(),
            "--lease-ttl" => {
                spec.lease_ttl_secs = args.next().and_then(|s| s.parse().ok()).expect("--lease-ttl SECS")
            }
            other => {
                eprintln!("usage: ferric-mesh [--ferric PATH] [--lease-ttl SECS] (unknown argument {other})");
                std::process::exit(2);
            }
        }
    }
    assert!(bin.exists(), "no ferric binary at {} (build it, or pass --ferric PATH)", bin.display());
    let mesh = Mesh::start(&bin, spec).await;
    println!("etcd: {}", mesh.etcd_endpoints().join(","));
    for role in Role::ALL {
        for instance in mesh.live(role) {
            let address = instance.api.as_deref().or(instance.grpc.as_deref()).unwrap_or_default();
            println!(
                "{:<13} {address:<24} pid {:<8} metrics {}",
                instance.name,
                instance.pid().unwrap_or_default(),
                instance.metrics
            );
        }
    }
    println!("gateway URLs (Ironic API; e.g. OS_ENDPOINT=<url> baremetal node list):");
    for url in mesh.gateway_urls() {
        println!("  {url}");
    }
    println!("state and logs under {}; Ctrl-C stops everything", mesh.dir().display());
    // Ctrl-C or a plain `kill`: either way the processes go down with the harness.
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    drop(mesh);
}
