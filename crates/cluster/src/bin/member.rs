//! A conductor and nothing else, for the multi-process takeover test
//! (`tests/takeover.rs`): real separate processes are the only honest way to test
//! what happens when one is killed with SIGKILL.
//!
//! Usage: `ferric-cluster-member HOSTNAME TTL_MS NODES ENDPOINT...`
//!
//! Joins membership on etcd at `ENDPOINT...` with hardware type `ipmi` in the
//! default group, then writes one JSON line to stdout whenever its view changes:
//! `{"hostname", "members": [...], "member": bool, "owned": [node indices]}`, where
//! node `i` is [`node_uuid`]`(i)` for `i < NODES`. When stdin closes it leaves
//! gracefully and exits.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use ferric_cluster::{ConductorInfo, Membership, MembershipView};
use ferric_store::etcd::{EtcdOptions, EtcdStore};
use std::io::{Read as _, Write as _};

/// How often the view is sampled besides membership changes: lease validity can
/// lapse without any change to announce.
const SAMPLE: Duration = Duration::from_millis(100);

/// The UUID of test node `i`; the test computes the same ones.
fn node_uuid(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(hostname), Some(ttl), Some(nodes), endpoints) = (
        args.first(),
        args.get(1).and_then(|t| t.parse().ok()),
        args.get(2).and_then(|n| n.parse().ok()),
        args.get(3..),
    ) else {
        eprintln!("usage: ferric-cluster-member HOSTNAME TTL_MS NODES ENDPOINT...");
        return ExitCode::from(2);
    };
    match run(hostname, Duration::from_millis(ttl), nodes, endpoints.unwrap_or_default()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("member {hostname}: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(
    hostname: &str,
    ttl: Duration,
    nodes: usize,
    endpoints: &[String],
) -> Result<(), Box<dyn std::error::Error>> {
    let store = EtcdStore::connect(endpoints, EtcdOptions::default()).await?;
    let info = ConductorInfo {
        hostname: hostname.to_owned(),
        hardware_types: vec!["ipmi".into()],
        ..Default::default()
    };
    let membership = Membership::join(Arc::new(store), info, ttl).await?;
    let view = membership.view();
    let uuids: Vec<String> = (0..nodes).map(node_uuid).collect();

    // A thread of its own blocks on stdin until the test closes it.
    let (closed, mut stdin_closed) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        let _ = closed.send(());
    });
    let mut changes = view.changes();
    let mut last = None;
    loop {
        let report = report(&view, &uuids);
        if last.as_ref() != Some(&report) {
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{report}")?;
            stdout.flush()?;
            last = Some(report);
        }
        tokio::select! {
            _ = &mut stdin_closed => break,
            _ = changes.changed() => {}
            () = tokio::time::sleep(SAMPLE) => {}
        }
    }
    membership.leave().await;
    Ok(())
}

/// This instance's view as one JSON value.
fn report(view: &MembershipView, uuids: &[String]) -> serde_json::Value {
    let ring = view.ring();
    let owned: BTreeSet<usize> = (0..uuids.len()).filter(|&i| view.owns(&uuids[i], "", "ipmi")).collect();
    serde_json::json!({
        "hostname": view.hostname(),
        "members": ring.hostnames(),
        "member": view.is_member(),
        "owned": owned,
    })
}
