//! Real etcd processes for the store conformance suite, the takeover tests and
//! the distributed harness.
//!
//! Each member gets free loopback ports and a data directory of its own, so tests
//! run side by side. A member can be stopped and restarted on the same ports and
//! data, which is how tests simulate an etcd outage and its recovery.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tempfile::TempDir;
use tokio::process::{Child, Command};

use crate::poll::{free_port, wait_until};

/// How long a member may take to answer `/health` after starting.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// One etcd member's fixed identity: restarting it reuses all of this.
#[derive(Debug, Clone)]
struct MemberSpec {
    name: String,
    client_port: u16,
    peer_port: u16,
    data_dir: PathBuf,
}

impl MemberSpec {
    fn client_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    fn peer_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.peer_port)
    }
}

/// A running (or stopped) etcd member, killed when dropped.
#[derive(Debug)]
struct Member {
    spec: MemberSpec,
    initial_cluster: String,
    child: Option<Child>,
}

impl Member {
    fn spawn(&mut self, state: &str) -> io::Result<()> {
        let log = std::fs::File::create(self.spec.data_dir.with_extension("log"))?;
        let child = Command::new(etcd_binary())
            .arg("--name")
            .arg(&self.spec.name)
            .arg("--data-dir")
            .arg(&self.spec.data_dir)
            .arg("--listen-client-urls")
            .arg(self.spec.client_url())
            .arg("--advertise-client-urls")
            .arg(self.spec.client_url())
            .arg("--listen-peer-urls")
            .arg(self.spec.peer_url())
            .arg("--initial-advertise-peer-urls")
            .arg(self.spec.peer_url())
            .arg("--initial-cluster")
            .arg(&self.initial_cluster)
            .arg("--initial-cluster-state")
            .arg(state)
            .arg("--initial-cluster-token")
            .arg("ferric-test")
            .args(["--logger", "zap", "--log-level", "warn"])
            // Short election timing: tests that kill a member want a new leader fast.
            .args(["--heartbeat-interval", "50", "--election-timeout", "500"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot start {}: {e}", etcd_binary().display()))
            })?;
        self.child = Some(child);
        Ok(())
    }

    async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.spec.data_dir.with_extension("log")).unwrap_or_default()
    }
}

/// The etcd binary: `$FERRIC_ETCD` if set, else `etcd` on the `PATH`.
fn etcd_binary() -> PathBuf {
    std::env::var_os("FERRIC_ETCD").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("etcd"))
}

/// Polls `/health` on `client_url` until etcd reports itself healthy.
async fn wait_healthy(client_url: &str, what: &str) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().expect("http client");
    let url = format!("{client_url}/health");
    wait_until(READY_TIMEOUT, what, || {
        let request = client.get(&url).send();
        async move {
            match request.await {
                Ok(response) => response.text().await.is_ok_and(|body| body.contains("\"true\"")),
                Err(_) => false,
            }
        }
    })
    .await;
}

/// A cluster of etcd members on loopback; a single member is an [`EtcdProcess`].
#[derive(Debug)]
pub struct EtcdCluster {
    members: Vec<Member>,
    _dir: TempDir,
}

impl EtcdCluster {
    /// Starts `size` members and waits until all of them are healthy.
    pub async fn start(size: usize) -> io::Result<Self> {
        let dir = tempfile::Builder::new().prefix("ferric-etcd-").tempdir()?;
        let specs: Vec<MemberSpec> = (0..size)
            .map(|i| MemberSpec {
                name: format!("etcd{i}"),
                client_port: free_port(),
                peer_port: free_port(),
                data_dir: dir.path().join(format!("etcd{i}")),
            })
            .collect();
        let initial_cluster =
            specs.iter().map(|s| format!("{}={}", s.name, s.peer_url())).collect::<Vec<_>>().join(",");
        let mut members: Vec<Member> = specs
            .into_iter()
            .map(|spec| Member { spec, initial_cluster: initial_cluster.clone(), child: None })
            .collect();
        for member in &mut members {
            member.spawn("new")?;
        }
        let cluster = Self { members, _dir: dir };
        for member in &cluster.members {
            let what =
                format!("etcd member {} to become healthy; its log:\n{}", member.spec.name, member.log());
            wait_healthy(&member.spec.client_url(), &what).await;
        }
        Ok(cluster)
    }

    /// Client URLs of every member, the list a Ferric process is configured with.
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(|m| m.spec.client_url()).collect()
    }

    /// How many members the cluster was started with.
    pub fn size(&self) -> usize {
        self.members.len()
    }

    /// Kills member `index` (as a crash would); its data stays for a restart.
    pub async fn stop_member(&mut self, index: usize) {
        self.members[index].stop().await;
    }

    /// Restarts member `index` on its old ports and data and waits until the whole
    /// cluster answers healthy again (which needs a quorum).
    pub async fn restart_member(&mut self, index: usize) -> io::Result<()> {
        let member = &mut self.members[index];
        member.stop().await;
        member.spawn("existing")?;
        let what = format!("etcd member {} to recover", member.spec.name);
        wait_healthy(&member.spec.client_url(), &what).await;
        Ok(())
    }

    /// Where member `index` keeps its data.
    pub fn data_dir(&self, index: usize) -> &Path {
        &self.members[index].spec.data_dir
    }

    /// Everything member `index` has logged, for failure messages.
    pub fn log(&self, index: usize) -> String {
        self.members[index].log()
    }
}

/// A single real etcd on a free loopback port with its own data directory.
#[derive(Debug)]
pub struct EtcdProcess {
    cluster: EtcdCluster,
}

impl EtcdProcess {
    /// Starts etcd and waits until it answers healthy.
    pub async fn start() -> io::Result<Self> {
        Ok(Self { cluster: EtcdCluster::start(1).await? })
    }

    /// The client URL, e.g. `http://127.0.0.1:40123`.
    pub fn endpoint(&self) -> String {
        self.cluster.members[0].spec.client_url()
    }

    /// [`Self::endpoint`] as the list store configuration takes.
    pub fn endpoints(&self) -> Vec<String> {
        self.cluster.endpoints()
    }

    /// Kills etcd at once; the data directory is kept for [`Self::restart`].
    pub async fn stop(&mut self) {
        self.cluster.stop_member(0).await;
    }

    /// Starts etcd again on the same port and data, and waits until it is healthy.
    pub async fn restart(&mut self) -> io::Result<()> {
        self.cluster.restart_member(0).await
    }

    /// Everything etcd has logged, for failure messages.
    pub fn log(&self) -> String {
        self.cluster.log(0)
    }
}
