//! Three conductors in three OS processes on a real etcd: kill one with SIGKILL and
//! its nodes go to the survivors within the lease TTL, and no node is ever owned by
//! two of them.
//!
//! Each member is the `ferric-cluster-member` binary; it prints its view (members,
//! owned node indices) as a JSON line whenever it changes. The test checks every
//! report as it arrives:
//!
//! - each member claims exactly the nodes the ring of the membership *it reports*
//!   assigns to it (or none while its lease is in doubt);
//! - once the three have converged, no node is claimed by two live members, even
//!   while their views differ;
//! - whenever all live members agree on the membership and it is exactly the live
//!   set, every node is claimed by exactly one of them: ownership is a partition.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use ferric_cluster::{ConductorInfo, Ring};
use ferric_testkit::EtcdProcess;
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

const TTL: Duration = Duration::from_secs(4);
/// Beyond the TTL: etcd checks lease expiry every 500 ms, then the deletion travels
/// through the watch and the member samples its view.
const DETECTION_SLACK: Duration = Duration::from_secs(2);
const NODES: usize = 300;
const HOSTS: [&str; 3] = ["conductor-a", "conductor-b", "conductor-c"];
/// Generous bound for start-up, which includes connecting and joining.
const START: Duration = Duration::from_secs(30);

/// The UUID of node `i`, as the member binary computes it.
fn node_uuid(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// One line of a member's output.
#[derive(Debug, Clone, Deserialize)]
struct Report {
    hostname: String,
    members: BTreeSet<String>,
    member: bool,
    owned: BTreeSet<usize>,
}

struct Member {
    child: Child,
    stdin: Option<ChildStdin>,
}

fn spawn(hostname: &str, endpoints: &[String], reports: mpsc::UnboundedSender<Report>) -> Member {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferric-cluster-member"))
        .arg(hostname)
        .arg(TTL.as_millis().to_string())
        .arg(NODES.to_string())
        .args(endpoints)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start ferric-cluster-member");
    let stdout = child.stdout.take().expect("piped stdout");
    let stdin = child.stdin.take();
    let hostname = hostname.to_owned();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let report: Report =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("{hostname} wrote {line:?}: {e}"));
            assert_eq!(report.hostname, hostname);
            if reports.send(report).is_err() {
                break;
            }
        }
    });
    Member { child, stdin }
}

/// The nodes the ring of `members` gives to `hostname`.
fn assigned(members: &BTreeSet<String>, hostname: &str) -> BTreeSet<usize> {
    let ring = Ring::new(members.iter().map(|h| ConductorInfo {
        hostname: h.clone(),
        hardware_types: vec!["ipmi".into()],
        ..Default::default()
    }));
    (0..NODES).filter(|&i| ring.owner_of(&node_uuid(i), "", "ipmi") == Some(hostname)).collect()
}

/// Every report seen, checked against the invariants as it arrives.
struct Observer {
    reports: mpsc::UnboundedReceiver<Report>,
    latest: BTreeMap<String, Report>,
    live: BTreeSet<String>,
    converged: bool,
    /// How many observed points had all live members agreeing on the live set.
    partitions_checked: usize,
}

impl Observer {
    /// Takes reports until `done` holds, failing after `timeout`.
    async fn until(&mut self, timeout: Duration, what: &str, done: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            let report = tokio::time::timeout(left, self.reports.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!("timed out after {timeout:?} waiting for {what}; latest: {:?}", self.latest)
                })
                .expect("a member's output ended");
            self.observe(report);
        }
    }

    fn observe(&mut self, report: Report) {
        if !self.live.contains(&report.hostname) {
            return; // Buffered output of a member already killed.
        }
        let expected = assigned(&report.members, &report.hostname);
        assert!(
            report.owned == expected || (report.owned.is_empty() && !report.member),
            "{} claims nodes its own view does not give it: {report:?}",
            report.hostname
        );
        self.latest.insert(report.hostname.clone(), report);
        let live: Vec<&Report> = self.latest.values().filter(|r| self.live.contains(&r.hostname)).collect();
        let mut claims = vec![0usize; NODES];
        for report in &live {
            for &node in &report.owned {
                claims[node] += 1;
            }
        }
        if self.converged {
            let doubled: Vec<usize> = (0..NODES).filter(|&n| claims[n] > 1).collect();
            assert!(doubled.is_empty(), "nodes {doubled:?} claimed by two live members: {live:?}");
        }
        let agreed = live.len() == self.live.len() && live.iter().all(|r| r.members == live[0].members);
        if agreed && live[0].members == self.live && live.iter().all(|r| r.member) {
            let wrong: Vec<(usize, usize)> =
                (0..NODES).filter(|&n| claims[n] != 1).map(|n| (n, claims[n])).collect();
            assert!(
                wrong.is_empty(),
                "agreed on {:?} but (node, claims) {wrong:?} is not a partition",
                self.live
            );
            self.partitions_checked += 1;
            self.converged = true;
        }
    }

    /// Whether all live members agree that exactly `hosts` are members and own
    /// every node between them.
    fn settled_on(&self, hosts: &[&str]) -> bool {
        let hosts: BTreeSet<String> = hosts.iter().map(|h| (*h).to_owned()).collect();
        let live: Vec<&Report> = self.live.iter().filter_map(|h| self.latest.get(h)).collect();
        live.len() == hosts.len()
            && live.iter().all(|r| r.members == hosts && r.member)
            && live.iter().map(|r| r.owned.len()).sum::<usize>() == NODES
    }

    fn owned(&self, hostname: &str) -> BTreeSet<usize> {
        self.latest[hostname].owned.clone()
    }
}

async fn exit(member: &mut Member) -> ExitStatus {
    drop(member.stdin.take());
    tokio::time::timeout(START, member.child.wait()).await.expect("member exits").expect("wait for member")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_conductors_nodes_move_to_the_survivors_within_the_ttl() {
    let etcd = EtcdProcess::start().await.expect("start etcd");
    let (sender, reports) = mpsc::unbounded_channel();
    let mut members: BTreeMap<&str, Member> =
        HOSTS.iter().map(|h| (*h, spawn(h, &etcd.endpoints(), sender.clone()))).collect();
    drop(sender);
    let mut observer = Observer {
        reports,
        latest: BTreeMap::new(),
        live: HOSTS.iter().map(|h| (*h).to_owned()).collect(),
        converged: false,
        partitions_checked: 0,
    };
    observer.until(START, "three conductors to converge", |o| o.settled_on(&HOSTS)).await;
    let before: BTreeMap<&str, BTreeSet<usize>> = HOSTS.iter().map(|h| (*h, observer.owned(h))).collect();
    assert!(before.values().all(|owned| owned.len() > NODES / 6), "each owns a fair share: {before:?}");

    // Crash conductor-c: no revoke, its lease has to lapse.
    let victim = members.get_mut("conductor-c").expect("c");
    victim.child.start_kill().expect("SIGKILL conductor-c");
    let killed_at = Instant::now();
    victim.child.wait().await.expect("reap conductor-c");
    observer.live.remove("conductor-c");
    observer.latest.remove("conductor-c");
    observer
        .until(TTL + DETECTION_SLACK, "survivors to take over conductor-c's nodes", |o| {
            o.settled_on(&["conductor-a", "conductor-b"])
        })
        .await;
    let took = killed_at.elapsed();
    eprintln!("takeover after SIGKILL took {took:?} with a {TTL:?} TTL");
    for survivor in ["conductor-a", "conductor-b"] {
        let after = observer.owned(survivor);
        assert!(after.is_superset(&before[survivor]), "{survivor} kept its own nodes");
        assert!(after.len() > before[survivor].len(), "{survivor} took some of conductor-c's nodes");
    }

    // A graceful leave hands over at once, without waiting for a lapse.
    let left_at = Instant::now();
    let status = exit(members.get_mut("conductor-a").expect("a")).await;
    assert!(status.success(), "conductor-a exits cleanly: {status}");
    observer.live.remove("conductor-a");
    observer.latest.remove("conductor-a");
    observer
        .until(TTL, "conductor-b to own everything after a's leave", |o| o.settled_on(&["conductor-b"]))
        .await;
    eprintln!("takeover after a graceful leave took {:?}", left_at.elapsed());

    let status = exit(members.get_mut("conductor-b").expect("b")).await;
    assert!(status.success(), "conductor-b exits cleanly: {status}");
    assert!(observer.partitions_checked >= 3, "partitions were checked at each settled membership");
}
