//! The distributed harness: a real etcd cluster on loopback and every Ferric role
//! as its own `ferric <role>` process, each finding the others only through the
//! store — what an operator runs on many machines, squeezed onto one so tests can
//! `kill -9` any piece and watch the rest carry on.
//!
//! Every instance gets fixed loopback ports (its gRPC or REST listener and a
//! Prometheus `/metrics` listener) and a state directory of its own, so a test
//! can name it, read its per-instance request counters, and kill it. Instances
//! can be added while the mesh runs, which is how "a new instance starts
//! receiving calls without a restart of the others" is checked.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferric_mesh::{ClientOptions, ServiceClient, ServiceKind};
use ferric_proto::v1::boot_network_service_client::BootNetworkServiceClient;
use ferric_proto::v1::image_cache_service_client::ImageCacheServiceClient;
use ferric_proto::v1::power_service_client::PowerServiceClient;
use ferric_proto::v1::{self, NodeRef};
use ferric_store::etcd::{EtcdOptions, EtcdStore};
use ferric_store::{DynStore, RangeRequest};
use ferric_testkit::{EtcdCluster, free_port};

use crate::process::FerricProcess;

/// How long one instance may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A Ferric role, as `ferric <role>` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// The Ironic REST API.
    Gateway,
    /// The conductor.
    Deploy,
    /// BMC control.
    Power,
    /// DHCP/TFTP/iPXE.
    Bootnet,
    /// Image fetch and serve.
    Imagecache,
}

impl Role {
    /// Every role, in the order the harness starts and reports them.
    pub const ALL: [Role; 5] = [Role::Gateway, Role::Deploy, Role::Power, Role::Bootnet, Role::Imagecache];

    /// The `ferric` subcommand, also the prefix of instance names (`deploy-2`).
    pub fn name(self) -> &'static str {
        match self {
            Role::Gateway => "gateway",
            Role::Deploy => "deploy",
            Role::Power => "power",
            Role::Bootnet => "bootnet",
            Role::Imagecache => "imagecache",
        }
    }

    /// The kind it registers in the store under, for internal (gRPC) roles.
    pub fn service_kind(self) -> Option<ServiceKind> {
        match self {
            Role::Gateway => None,
            Role::Deploy => Some(ServiceKind::Deploy),
            Role::Power => Some(ServiceKind::Power),
            Role::Bootnet => Some(ServiceKind::Bootnet),
            Role::Imagecache => Some(ServiceKind::ImageCache),
        }
    }

    /// The configuration section of its listener (`FERRIC_<SECTION>__LISTEN`).
    fn env_section(self) -> &'static str {
        match self {
            Role::Gateway => "GATEWAY",
            Role::Deploy => "DEPLOY",
            Role::Power => "POWER",
            Role::Bootnet => "BOOTNET",
            Role::Imagecache => "IMAGECACHE",
        }
    }
}

/// What to start: how many instances of each role, how many etcd members, and
/// settings every instance shares.
#[derive(Debug, Clone)]
pub struct MeshSpec {
    /// Instances per role.
    pub replicas: BTreeMap<Role, usize>,
    /// etcd members (3 tolerates one failure).
    pub etcd_members: usize,
    /// `store.lease_ttl_secs`: how fast a dead instance's registrations, membership
    /// and locks lapse. Short in tests so failover is quick.
    pub lease_ttl_secs: u64,
    /// `store.request_timeout_ms`: how long a store call may hang on a broken etcd.
    pub request_timeout_ms: u64,
    /// Extra `FERRIC_*` variables for every instance.
    pub env: Vec<(String, String)>,
}

impl Default for MeshSpec {
    /// The shape the distributed-mode issue asks for: gateway ×2, deploy ×3,
    /// power ×2, bootnet ×2, imagecache ×2 on a 3-member etcd.
    fn default() -> Self {
        let replicas = [
            (Role::Gateway, 2),
            (Role::Deploy, 3),
            (Role::Power, 2),
            (Role::Bootnet, 2),
            (Role::Imagecache, 2),
        ]
        .into_iter()
        .collect();
        Self { replicas, etcd_members: 3, lease_ttl_secs: 2, request_timeout_ms: 2000, env: Vec::new() }
    }
}

/// One `ferric <role>` process of the mesh.
pub struct Instance {
    /// Its role.
    pub role: Role,
    /// `<role>-<n>`, unique in the mesh; also the conductor hostname of deploys.
    pub name: String,
    /// Its gRPC address as registered (internal roles), `http://127.0.0.1:<port>`.
    pub grpc: Option<String>,
    /// Its REST base URL (gateways).
    pub api: Option<String>,
    /// Its Prometheus endpoint, where its per-instance request counters are.
    pub metrics: String,
    process: FerricProcess,
    alive: bool,
}

impl Instance {
    /// Whether the harness has not killed it.
    pub fn is_alive(&self) -> bool {
        self.alive
    }

    /// Its log so far, for failure messages.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// Its process id while it runs, for the report of a hand-started mesh.
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }
}

/// A running etcd cluster plus Ferric processes on it; everything is killed on drop.
pub struct Mesh {
    bin: PathBuf,
    spec: MeshSpec,
    etcd: EtcdCluster,
    store: DynStore,
    instances: Vec<Instance>,
    started: BTreeMap<Role, usize>,
    http: reqwest::Client,
    /// The DHCP socket every bootnet is configured with; the active one binds it.
    dhcp: SocketAddr,
    /// `None` once kept for a post-mortem (a failed test).
    dir: Option<tempfile::TempDir>,
}

impl Mesh {
    /// Starts the etcd cluster, then every instance of `spec` at once, and waits
    /// until each is ready: gateways answer `GET /`, internal services are
    /// registered in the store (which is how their callers find them).
    pub async fn start(bin: &Path, spec: MeshSpec) -> Self {
        let etcd = EtcdCluster::start(spec.etcd_members).await.expect("etcd cluster");
        let options = EtcdOptions { request_timeout: Duration::from_secs(3), ..EtcdOptions::default() };
        let store: DynStore =
            Arc::new(EtcdStore::connect(&etcd.endpoints(), options).await.expect("harness store client"));
        let dir = tempfile::Builder::new().prefix("ferric-mesh-").tempdir().expect("tempdir");
        let mut mesh = Self {
            bin: bin.to_owned(),
            spec,
            etcd,
            store,
            instances: Vec::new(),
            started: BTreeMap::new(),
            http: reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("http client"),
            dhcp: SocketAddr::from(([127, 0, 0, 1], free_port())),
            dir: Some(dir),
        };
        let mut pending = Vec::new();
        for role in Role::ALL {
            for _ in 0..mesh.spec.replicas.get(&role).copied().unwrap_or(0) {
                pending.push(mesh.spawn(role));
            }
        }
        for index in pending {
            mesh.wait_ready(index).await;
        }
        mesh
    }

    /// Starts one more instance of `role` while the others keep running, waits
    /// until it is ready, and returns its name.
    pub async fn add(&mut self, role: Role) -> String {
        let index = self.spawn(role);
        self.wait_ready(index).await;
        self.instances[index].name.clone()
    }

    fn spawn(&mut self, role: Role) -> usize {
        let n = self.started.entry(role).or_default();
        let name = format!("{}-{n}", role.name());
        *n += 1;
        let instance = self.launch(role, name);
        self.instances.push(instance);
        self.instances.len() - 1
    }

    /// Starts the process of instance `name` on fresh free ports.
    fn launch(&self, role: Role, name: String) -> Instance {
        let port = free_port();
        let metrics_port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let endpoints = format!(
            "[{}]",
            self.etcd.endpoints().iter().map(|e| format!("\"{e}\"")).collect::<Vec<_>>().join(",")
        );
        let mut env: Vec<(String, String)> = vec![
            ("FERRIC_STORE__BACKEND".into(), "etcd".into()),
            ("FERRIC_STORE__ETCD_ENDPOINTS".into(), endpoints),
            ("FERRIC_STORE__LEASE_TTL_SECS".into(), self.spec.lease_ttl_secs.to_string()),
            ("FERRIC_STORE__REQUEST_TIMEOUT_MS".into(), self.spec.request_timeout_ms.to_string()),
            ("FERRIC_TELEMETRY__METRICS_LISTEN".into(), format!("127.0.0.1:{metrics_port}")),
            (format!("FERRIC_{}__LISTEN", role.env_section()), listen),
        ];
        if role == Role::Deploy {
            env.push(("FERRIC_DEPLOY__HOSTNAME".into(), name.clone()));
        }
        if role == Role::Bootnet {
            // Every bootnet is configured to serve DHCP on the same socket; the
            // election lets one bind it at a time.
            env.extend([
                ("FERRIC_BOOTNET__DHCP_MODE".into(), "authoritative".into()),
                ("FERRIC_BOOTNET__SERVER_ADDRESS".into(), "127.0.0.1".into()),
                ("FERRIC_BOOTNET__DHCP_LISTEN".into(), self.dhcp.to_string()),
                ("FERRIC_BOOTNET__ROUTER_ADVERTISEMENTS".into(), "false".into()),
                (
                    "FERRIC_BOOTNET__SUBNETS".into(),
                    r#"[{network = "127.0.0.0/8", pool_start = "127.200.0.10", pool_end = "127.200.3.250", lease_secs = 600}]"#
                        .into(),
                ),
            ]);
        }
        env.extend(self.spec.env.iter().cloned());
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut process = FerricProcess::spawn_role(&self.bin, role.name(), &self.dir().join(&name), &env);
        let url = format!("http://127.0.0.1:{port}");
        let (grpc, api) = if role == Role::Gateway { (None, Some(url)) } else { (Some(url), None) };
        process.api = api.clone().unwrap_or_default();
        Instance {
            role,
            name,
            grpc,
            api,
            metrics: format!("http://127.0.0.1:{metrics_port}/metrics"),
            process,
            alive: true,
        }
    }

    async fn wait_ready(&mut self, index: usize) {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut pause = Duration::from_millis(20);
        let mut port_clashes = 0;
        loop {
            if let Some(status) = self.instances[index].process.exited() {
                // A free port is free only until someone binds it; another
                // process (or this instance's own port-0 listeners) may win
                // the race. Start again on fresh ports.
                if self.instances[index].log().contains("Address already in use") && port_clashes < 3 {
                    port_clashes += 1;
                    let (role, name) = (self.instances[index].role, self.instances[index].name.clone());
                    self.instances[index] = self.launch(role, name);
                    continue;
                }
                panic!(
                    "{} exited with {status} before it was ready:\n{}",
                    self.instances[index].name,
                    self.instances[index].log()
                );
            }
            if self.is_ready(&self.instances[index]).await {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} not ready after {READY_TIMEOUT:?}:\n{}",
                self.instances[index].name,
                self.instances[index].log()
            );
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    async fn is_ready(&self, instance: &Instance) -> bool {
        let metrics_up = self.http.get(&instance.metrics).send().await.is_ok_and(|r| r.status().is_success());
        if !metrics_up {
            return false;
        }
        match (instance.role.service_kind(), &instance.grpc, &instance.api) {
            (Some(kind), Some(grpc), _) => ferric_mesh::list_instances(&self.store, kind)
                .await
                .is_ok_and(|list| list.iter().any(|i| same_address(&i.address, grpc))),
            (None, _, Some(api)) => {
                self.http.get(format!("{api}/")).send().await.is_ok_and(|r| r.status().is_success())
            }
            _ => false,
        }
    }

    /// Kills instance `name` with SIGKILL: no deregistration, no lock release —
    /// its leases must lapse, as after a crash.
    pub fn kill(&mut self, name: &str) {
        let instance = self.instances.iter_mut().find(|i| i.name == name).expect("no such instance");
        instance.process.kill();
        instance.alive = false;
    }

    /// Every instance ever started, live or killed.
    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    /// The live instances of `role`.
    pub fn live(&self, role: Role) -> Vec<&Instance> {
        self.instances.iter().filter(|i| i.role == role && i.alive).collect()
    }

    /// The instance called `name`.
    pub fn instance(&self, name: &str) -> &Instance {
        self.instances.iter().find(|i| i.name == name).expect("no such instance")
    }

    /// REST base URLs of every gateway ever started (killed ones included, so
    /// indexes stay stable).
    pub fn gateway_urls(&self) -> Vec<String> {
        self.instances.iter().filter_map(|i| i.api.clone()).collect()
    }

    /// A store client on the mesh's etcd, for checks that read state directly.
    pub fn store(&self) -> DynStore {
        self.store.clone()
    }

    /// Where the active bootnet answers DHCP.
    pub fn dhcp_addr(&self) -> SocketAddr {
        self.dhcp
    }

    /// The bootnet instance that holds the DHCP election right now, if any: its
    /// holder name carries the process id.
    pub async fn dhcp_active(&self) -> Option<String> {
        let locks = ferric_store::lock::Locks::new(self.store.clone());
        let holder = locks.reservation("bootnet-dhcp").await.ok().flatten()?;
        let pid = holder.rsplit('-').nth(1)?.parse::<u32>().ok()?;
        self.live(Role::Bootnet).into_iter().find(|i| i.pid() == Some(pid)).map(|i| i.name.clone())
    }

    /// The etcd cluster, to stop and restart members.
    pub fn etcd(&mut self) -> &mut EtcdCluster {
        &mut self.etcd
    }

    /// The etcd client URLs every instance is configured with.
    pub fn etcd_endpoints(&self) -> Vec<String> {
        self.etcd.endpoints()
    }

    /// Where instance state and logs live.
    pub fn dir(&self) -> &Path {
        self.dir.as_ref().map_or(Path::new("/"), |d| d.path())
    }

    /// Requests instance `name` has served so far, from its own `/metrics`: gRPC
    /// requests (`ferric_grpc_requests_total`) for internal roles, HTTP requests
    /// (`ferric_http_requests_total`) for gateways, counting only samples whose
    /// label set contains `labels` (e.g. `PowerService`, so health checks do not
    /// count; `""` counts all). `None` when it does not answer.
    pub async fn requests_served(&self, name: &str, labels: &str) -> Option<f64> {
        let instance = self.instance(name);
        let metric = if instance.role == Role::Gateway {
            "ferric_http_requests_total"
        } else {
            "ferric_grpc_requests_total"
        };
        let text = self.http.get(&instance.metrics).send().await.ok()?.text().await.ok()?;
        Some(sum_counter(&text, metric, |set| set.contains(labels)))
    }

    /// Callers of the power, bootnet and image cache services that discover their
    /// instances from the store and balance over them, exactly as the deploy
    /// service does: what a test uses to measure failover of those kinds.
    pub async fn callers(&self) -> Callers {
        let options = ClientOptions {
            call_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_millis(500),
            ..ClientOptions::default()
        };
        let discover = |kind| {
            let store = self.store.clone();
            let options = options.clone();
            async move { ServiceClient::discover(store, kind, options).await.expect("discover") }
        };
        Callers {
            power: PowerServiceClient::new(discover(ServiceKind::Power).await),
            bootnet: BootNetworkServiceClient::new(discover(ServiceKind::Bootnet).await),
            imagecache: ImageCacheServiceClient::new(discover(ServiceKind::ImageCache).await),
        }
    }

    /// Whether `name` (an internal instance) is still registered in the store, i.e.
    /// whether callers may still pick it.
    pub async fn is_registered(&self, name: &str) -> Result<bool, String> {
        let instance = self.instance(name);
        let (Some(kind), Some(grpc)) = (instance.role.service_kind(), &instance.grpc) else {
            return Ok(false);
        };
        let list = ferric_mesh::list_instances(&self.store, kind).await.map_err(|e| e.to_string())?;
        Ok(list.iter().any(|i| same_address(&i.address, grpc)))
    }

    /// A node's history as the conductors stored it, oldest first: the record of
    /// which conductor drove each step, read straight from the store (the REST
    /// list leaves the conductor out).
    pub async fn node_history(&self, node: &str) -> Result<Vec<serde_json::Value>, String> {
        let page = self
            .store
            .range(RangeRequest::prefix(&format!("/ferric/history/{node}/")))
            .await
            .map_err(|e| e.to_string())?;
        // Keys sort by creation time (microseconds, zero-padded).
        Ok(page.kvs.iter().filter_map(|kv| serde_json::from_slice(&kv.value).ok()).collect())
    }

    /// The last lines of every instance's log, for a failure message without
    /// megabytes of output.
    pub fn log_tails(&self, lines: usize) -> String {
        let mut out = String::new();
        for instance in &self.instances {
            let log = instance.log();
            let tail: Vec<&str> = log.lines().rev().take(lines).collect();
            out.push_str(&format!("--- {} (alive: {}) ---\n", instance.name, instance.alive));
            for line in tail.into_iter().rev() {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

fn same_address(registered: &str, grpc: &str) -> bool {
    ferric_mesh::registry::normalize_address(registered) == ferric_mesh::registry::normalize_address(grpc)
}

/// Discovering clients of the services no fake-hardware deploy calls, so a test
/// can drive them (and see them fail over) the way the conductor would.
#[derive(Clone)]
pub struct Callers {
    power: PowerServiceClient<ServiceClient>,
    bootnet: BootNetworkServiceClient<ServiceClient>,
    imagecache: ImageCacheServiceClient<ServiceClient>,
}

impl Callers {
    /// One cheap real operation on `role`: the power state of the fake BMC
    /// `node` (the power service's `fake` driver), the boot network's leases, or
    /// the image cache's first page. Errors as text; gateways and deploys have
    /// callers of their own (REST, the gateway) and answer `Err` here.
    pub async fn call(&self, role: Role, node: &str) -> Result<(), String> {
        match role {
            Role::Power => {
                let info = serde_json::json!({"fake_address": node});
                let driver_info = ferric_proto::json::struct_from_json(info).map_err(|e| e.to_string())?;
                let request = v1::GetPowerStateRequest {
                    node: Some(NodeRef::new(node)),
                    bmc: Some(v1::BmcTarget { driver: "fake".into(), driver_info: Some(driver_info) }),
                };
                self.power.clone().get_power_state(request).await.map(|_| ()).map_err(|s| s.to_string())
            }
            Role::Bootnet => {
                let request = v1::ListLeasesRequest { node: None };
                self.bootnet.clone().list_leases(request).await.map(|_| ()).map_err(|s| s.to_string())
            }
            Role::Imagecache => {
                let request = v1::ListRequest { page_size: 1, page_token: String::new() };
                self.imagecache.clone().list(request).await.map(|_| ()).map_err(|s| s.to_string())
            }
            Role::Gateway | Role::Deploy => Err(format!("no probe for {}", role.name())),
        }
    }
}

/// Sums every sample of the Prometheus counter `metric` whose label set passes
/// `labels`, so callers can count requests without a Prometheus parser.
pub fn sum_counter(text: &str, metric: &str, labels: impl Fn(&str) -> bool) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let rest = line.strip_prefix(metric)?;
            let (label_set, value) = match rest.strip_prefix('{') {
                Some(rest) => {
                    let (label_set, value) = rest.split_once('}')?;
                    (label_set, value)
                }
                None if rest.starts_with(' ') => ("", rest),
                None => return None,
            };
            labels(label_set).then(|| value.trim().parse::<f64>().ok()).flatten()
        })
        .sum()
}

impl Drop for Mesh {
    fn drop(&mut self) {
        for instance in &mut self.instances {
            instance.process.kill();
        }
        if std::thread::panicking() {
            // Keep the full logs of a failed run for a post-mortem.
            let kept = self.dir.take().map(|d| d.keep());
            eprintln!("--- ferric mesh logs (last 40 lines each; full logs kept in {kept:?}) ---");
            eprintln!("{}", self.log_tails(40));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sum_counter;

    #[test]
    fn counters_are_summed_over_matching_label_sets() {
        let text = "# TYPE ferric_grpc_requests_total counter\n\
            ferric_grpc_requests_total{service=\"a\",code=\"OK\"} 3\n\
            ferric_grpc_requests_total{service=\"b\",code=\"UNAVAILABLE\"} 2\n\
            ferric_grpc_request_duration_seconds_count{service=\"a\"} 9\n";
        assert_eq!(sum_counter(text, "ferric_grpc_requests_total", |_| true), 5.0);
        assert_eq!(sum_counter(text, "ferric_grpc_requests_total", |l| l.contains("\"OK\"")), 3.0);
    }
}
