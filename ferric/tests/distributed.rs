//! Distributed Ferric under fire: a 3-member etcd and gateway ×2, deploy ×3,
//! power ×2, bootnet ×2 (active/standby DHCP), imagecache ×2 as separate processes. During 100
//! `fake-hardware` deploys (create, manage, provide, deploy through REST) and a
//! power-sync cycle, one instance of each kind and one etcd member are killed
//! with SIGKILL in turn. Asserted: every node reaches `active`; no node is driven
//! by two conductors at once (its history, which records the conductor of every
//! step, never interleaves two); every acknowledged create survives; the only
//! failed API calls are those to the killed gateway (retried on the other);
//! each kind fails over in under 5 s. Then: calls are spread over instances, new
//! instances get calls without restarting anyone, both gateways share one view,
//! and losing etcd's quorum gives a prompt 503 and recovers by itself.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferric_integration::dhcp_probe::DhcpProbe;
use ferric_integration::mesh::Callers;
use ferric_integration::{Mesh, MeshSpec, Role, wait_for};
use reqwest::Method;
use serde_json::{Value, json};

const NODES: usize = 100;
/// Clients deploying at once; each takes the next node when done with one, so
/// work stays in flight while the instances are killed.
const WORKERS: usize = 25;
const PATIENCE: Duration = Duration::from_secs(120);
/// The failover target of the distributed-mode issue.
const FAILOVER_LIMIT: Duration = Duration::from_secs(5);
const LEASE_TTL_SECS: u64 = 3;
/// How long any API call may take while etcd has no quorum before it must answer.
const QUORUM_LOSS_DEADLINE: Duration = Duration::from_secs(10);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ferric"))
}

/// An API call that did not get an HTTP answer.
struct Failure {
    gateway: usize,
    request: String,
    error: String,
}

/// An answer Ironic clients retry (`baremetal`/ironicclient retry 409 "locked"
/// and 503), and when it came.
struct Retried {
    at: Instant,
    what: String,
}

/// How long the client keeps retrying 409 "locked" and 503 answers, as
/// ironicclient's `max_retries` × `retry_interval` would.
const CLIENT_RETRY_WINDOW: Duration = Duration::from_secs(20);

/// One answer, and whether it needed a retry (another gateway, or a retryable answer).
struct Reply {
    status: u16,
    body: Value,
    retried: bool,
}

/// A client over both gateways, as a load balancer or the `baremetal` CLI with
/// two endpoints would be: round robin; a call whose gateway does not answer is
/// recorded and retried on another, and that gateway is not used again; a
/// 409 "locked" or 503 answer is retried as ironicclient does, and recorded.
#[derive(Clone)]
struct Api(Arc<ApiInner>);

struct ApiInner {
    urls: Vec<String>,
    down: Mutex<HashSet<usize>>,
    next: AtomicUsize,
    failures: Mutex<Vec<Failure>>,
    retried: Mutex<Vec<Retried>>,
    http: reqwest::Client,
}

impl Api {
    fn new(urls: Vec<String>) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("client");
        Self(Arc::new(ApiInner {
            urls,
            down: Mutex::default(),
            next: AtomicUsize::new(0),
            failures: Mutex::default(),
            retried: Mutex::default(),
            http,
        }))
    }

    fn pick(&self) -> usize {
        let down = self.0.down.lock().expect("lock").clone();
        assert!(down.len() < self.0.urls.len(), "every gateway is down");
        loop {
            let i = self.0.next.fetch_add(1, Ordering::Relaxed) % self.0.urls.len();
            if !down.contains(&i) {
                return i;
            }
        }
    }

    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let mut retried = false;
        let started = Instant::now();
        loop {
            let gateway = self.pick();
            match self.send_to(gateway, method.clone(), path, body).await {
                Ok((status, reply))
                    if (status == 503 || (status == 409 && reply.to_string().contains("is locked by")))
                        && started.elapsed() < CLIENT_RETRY_WINDOW =>
                {
                    let what = format!("{status} on {method} {path}: {}", reply["error_message"]);
                    self.0.retried.lock().expect("lock").push(Retried { at: Instant::now(), what });
                    retried = true;
                    // ironicclient's retry interval, shortened.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Ok((status, body)) => return Reply { status, body, retried },
                Err(error) => {
                    self.0.failures.lock().expect("lock").push(Failure {
                        gateway,
                        request: format!("{method} {path}"),
                        error,
                    });
                    self.0.down.lock().expect("lock").insert(gateway);
                    retried = true;
                }
            }
        }
    }

    /// One call to one gateway; `Err` when it gave no complete HTTP answer.
    async fn send_to(
        &self,
        gateway: usize,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), String> {
        let mut request = self
            .0
            .http
            .request(method, format!("{}{path}", self.0.urls[gateway]))
            .header("X-OpenStack-Ironic-API-Version", "latest");
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| e.to_string())?;
        Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
    }

    async fn node(&self, ident: &str) -> Value {
        let reply = self.send(Method::GET, &format!("/v1/nodes/{ident}"), None).await;
        assert_eq!(reply.status, 200, "GET node {ident}: {}", reply.body);
        reply.body
    }

    fn failures(&self) -> Vec<String> {
        let failures = self.0.failures.lock().expect("lock");
        failures.iter().map(|f| format!("gateway-{}: {}: {}", f.gateway, f.request, f.error)).collect()
    }
}

/// Creates node `name`; a create retried after the killed gateway may find it
/// already stored there (acknowledged to nobody), which is fine.
async fn create(api: &Api, name: &str) -> String {
    let body = json!({"driver": "fake-hardware", "name": name});
    let reply = api.send(Method::POST, "/v1/nodes", Some(&body)).await;
    match reply.status {
        201 => reply.body["uuid"].as_str().expect("uuid").to_owned(),
        409 if reply.retried => api.node(name).await["uuid"].as_str().expect("uuid").to_owned(),
        status => panic!("creating {name}: {status} {}", reply.body),
    }
}

/// Asks for `target` on a node resting in `from`, then waits until it rests in
/// `end` with no reservation.
async fn provision(api: &Api, uuid: &str, target: &str, from: &str, end: &str) {
    let reply = api
        .send(Method::PUT, &format!("/v1/nodes/{uuid}/states/provision"), Some(&json!({"target": target})))
        .await;
    if reply.status != 202 {
        // Only a retry may be refused, and only because the killed gateway's
        // attempt had already been accepted.
        let node = api.node(uuid).await;
        assert!(
            reply.retried && node["provision_state"] != from,
            "{target} on {uuid} refused: {} {}",
            reply.status,
            reply.body
        );
    }
    rest(api, uuid, end).await;
}

/// Waits until the node rests in `end` with no reservation; fails on a `failed` state.
async fn rest(api: &Api, uuid: &str, end: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let node = api.node(uuid).await;
        let state = node["provision_state"].as_str().unwrap_or_default();
        if state == end && node["reservation"].is_null() {
            return;
        }
        assert!(!state.ends_with("failed"), "node {uuid} failed: {}", node["last_error"]);
        assert!(Instant::now() < deadline, "node {uuid} never rested in {end}: {node}");
        // Polling interval of a client watching its deploy.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The node list with the fields the kill sequence looks at.
async fn nodes(api: &Api) -> Vec<Value> {
    let reply = api.send(Method::GET, "/v1/nodes?fields=uuid,name,provision_state,reservation", None).await;
    assert_eq!(reply.status, 200, "node list: {}", reply.body);
    reply.body["nodes"].as_array().cloned().unwrap_or_default()
}

/// Polls `probe` until it succeeds and returns how long that took from `since`.
async fn first_success<F, Fut>(since: Instant, what: &str, mut probe: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    wait_for(PATIENCE, what, || {
        let done = probe();
        async move { done.await.then(|| since.elapsed()) }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn survives_killing_one_of_each_kind_during_100_deploys() {
    let spec = MeshSpec {
        lease_ttl_secs: LEASE_TTL_SECS,
        env: [
            ("FERRIC_DEPLOY__FAKE_DELAY_MS", "1000"),
            ("FERRIC_DEPLOY__PERIODIC_INTERVAL_SECS", "1"),
            ("FERRIC_DEPLOY__SYNC_POWER_STATE_INTERVAL_SECS", "2"),
            ("FERRIC_TELEMETRY__LOG_FILTER", "info"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        ..MeshSpec::default()
    };
    let started = Instant::now();
    let mut mesh = Mesh::start(bin(), spec).await;
    eprintln!("mesh up in {:?}", started.elapsed());
    let urls = mesh.gateway_urls();
    let api = Api::new(urls.clone());
    let callers = mesh.callers().await;
    let probe = |role: Role| {
        let callers: Callers = callers.clone();
        async move { callers.call(role, "probe").await }
    };

    // Both gateways serve one view: created through one, at once visible,
    // changeable and lockable through the other.
    let direct = Api::new(vec![urls[0].clone()]);
    let other = Api::new(vec![urls[1].clone()]);
    let shared = wait_for(PATIENCE, "a conductor to serve fake-hardware", || async {
        let body = json!({"driver": "fake-hardware", "name": "shared-view"});
        let reply = direct.send(Method::POST, "/v1/nodes", Some(&body)).await;
        (reply.status == 201).then(|| reply.body["uuid"].as_str().expect("uuid").to_owned())
    })
    .await;
    let seen = other.send(Method::GET, &format!("/v1/nodes/{shared}"), None).await;
    assert_eq!(seen.status, 200, "the other gateway does not see the new node: {}", seen.body);
    let patch = json!([{"op": "add", "path": "/extra/seen_by", "value": "gateway-1"}]);
    let patched = other.send(Method::PATCH, &format!("/v1/nodes/{shared}"), Some(&patch)).await;
    assert_eq!(patched.status, 200, "the other gateway cannot change it: {}", patched.body);
    let managed = other
        .send(
            Method::PUT,
            &format!("/v1/nodes/{shared}/states/provision"),
            Some(&json!({"target": "manage"})),
        )
        .await;
    assert_eq!(managed.status, 202, "the other gateway cannot lock it for work: {}", managed.body);
    let locked = direct.node(&shared).await;
    assert_eq!(locked["extra"]["seen_by"], "gateway-1");
    assert!(
        !locked["reservation"].is_null() || locked["provision_state"] == "manageable",
        "the first gateway does not see the lock taken through the second: {locked}"
    );
    rest(&other, &shared, "manageable").await;

    // Calls spread over live instances: every instance counts some.
    for _ in 0..40 {
        for role in [Role::Power, Role::Bootnet, Role::Imagecache] {
            probe(role).await.unwrap_or_else(|e| panic!("{} probe: {e}", role.name()));
        }
    }
    let service_label = [
        (Role::Power, "PowerService"),
        (Role::Bootnet, "BootNetworkService"),
        (Role::Imagecache, "ImageCacheService"),
    ];
    for (role, label) in service_label {
        for instance in mesh.live(role) {
            let served = mesh.requests_served(&instance.name, label).await.unwrap_or_default();
            eprintln!("{} served {served} calls", instance.name);
            assert!(served > 0.0, "{} got none of 40 calls: the balancer does not spread", instance.name);
        }
    }

    // The workload: 100 nodes, each created, managed, provided and deployed.
    let acknowledged: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let (api, acknowledged, next) = (api.clone(), acknowledged.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= NODES {
                    return;
                }
                let name = format!("mesh-{i:03}");
                let uuid = create(&api, &name).await;
                acknowledged.lock().expect("lock").push((name, uuid.clone()));
                provision(&api, &uuid, "manage", "enroll", "manageable").await;
                provision(&api, &uuid, "provide", "manageable", "available").await;
                provision(&api, &uuid, "active", "available", "active").await;
            }
        }));
    }
    let mut failover: BTreeMap<&str, Duration> = BTreeMap::new();
    let mut dropped: BTreeMap<&str, Duration> = BTreeMap::new();

    // Deploy: kill the conductor holding the most nodes mid-work; failover is
    // the first of its nodes moved on by a survivor.
    let (victim, held) = wait_for(PATIENCE, "a conductor to hold several nodes", || async {
        let nodes = nodes(&api).await;
        let mut counts: BTreeMap<String, Vec<(String, Value)>> = BTreeMap::new();
        for node in &nodes {
            if let Some(holder) = node["reservation"].as_str() {
                let entry =
                    (node["uuid"].as_str().unwrap_or_default().to_owned(), node["provision_state"].clone());
                counts.entry(holder.to_owned()).or_default().push(entry);
            }
        }
        counts
            .into_iter()
            .filter(|(h, _)| h.starts_with("deploy-"))
            .max_by_key(|(_, n)| n.len())
            .filter(|(_, n)| n.len() >= 3)
    })
    .await;
    let killed_at = Instant::now();
    mesh.kill(&victim);
    let mut kills: Vec<(String, Instant)> = vec![(victim.clone(), killed_at)];
    eprintln!("killed {victim} holding {} nodes", held.len());
    failover.insert(
        "deploy",
        first_success(killed_at, "a survivor to take over the dead conductor's nodes", || {
            let (api, held, victim) = (api.clone(), held.clone(), victim.clone());
            async move {
                for (uuid, state) in &held {
                    let node = api.node(uuid).await;
                    let holder = node["reservation"].as_str().unwrap_or_default();
                    let moved = node["provision_state"] != *state && holder != victim;
                    if moved || (!holder.is_empty() && holder != victim) {
                        return true;
                    }
                }
                false
            }
        })
        .await,
    );

    // Gateway: requests in flight to it fail; the first call after is served by the other.
    let killed_at = Instant::now();
    mesh.kill("gateway-0");
    kills.push(("gateway-0".into(), killed_at));
    failover.insert(
        "gateway",
        first_success(killed_at, "the surviving gateway to answer", || {
            let api = api.clone();
            async move { api.send(Method::GET, "/v1/nodes?limit=1", None).await.status == 200 }
        })
        .await,
    );

    // Power (with a power-sync cycle over every node right after the kill),
    // image cache and boot network: kill instance 0, measure the first call
    // served by a survivor and when callers stop seeing the dead one.
    // The boot network's victim is the instance serving DHCP (active/standby);
    // its failover is the standby answering DHCP on the same socket.
    let relay = DhcpProbe::bind(DhcpProbe::loopback_giaddr(), mesh.dhcp_addr()).await.expect("relay socket");
    let mac = [0x52, 0x54, 0x00, 0x77, 0x00, 0x01];
    let dhcp_ok = || async { relay.offer(mac, Duration::from_millis(300)).await.is_ok() };
    for role in [Role::Power, Role::Imagecache, Role::Bootnet] {
        let name = if role == Role::Bootnet {
            let active = mesh.dhcp_active().await.expect("one bootnet serves DHCP");
            relay.offer(mac, Duration::from_secs(2)).await.expect("the active bootnet answers DHCP");
            active
        } else {
            format!("{}-0", role.name())
        };
        let killed_at = Instant::now();
        mesh.kill(&name);
        kills.push((name.clone(), killed_at));
        let took = first_success(killed_at, &format!("a surviving {} to serve", role.name()), || async {
            probe(role).await.is_ok() && (role != Role::Bootnet || dhcp_ok().await)
        })
        .await;
        failover.insert(role.name(), took);
        if role == Role::Bootnet {
            let active = mesh.dhcp_active().await.expect("the standby took DHCP over");
            assert_ne!(active, name, "the killed bootnet still holds DHCP");
        }
        if role == Role::Power {
            let uuids: Vec<String> =
                acknowledged.lock().expect("lock").iter().map(|(_, u)| u.clone()).collect();
            let mut slowest = Duration::ZERO;
            for uuid in uuids {
                let asked = Instant::now();
                wait_for(FAILOVER_LIMIT, "a power sync of one node", || {
                    let callers = callers.clone();
                    let uuid = uuid.clone();
                    async move { callers.call(Role::Power, &uuid).await.ok() }
                })
                .await;
                slowest = slowest.max(asked.elapsed());
            }
            eprintln!("power-sync cycle during the power failover: slowest node {slowest:?}");
        }
        let gone = first_success(killed_at, &format!("{name} to leave the registry"), || async {
            mesh.is_registered(&name).await == Ok(false)
        })
        .await;
        dropped.insert(role.name(), gone);
        for _ in 0..10 {
            probe(role)
                .await
                .unwrap_or_else(|e| panic!("{} after {name} left the registry: {e}", role.name()));
        }
    }

    // etcd: one member dies; the first write after it is acknowledged.
    let killed_at = Instant::now();
    mesh.etcd().stop_member(0).await;
    kills.push(("etcd member 0".into(), killed_at));
    let probe_node = Arc::new(Mutex::new(None::<String>));
    failover.insert(
        "etcd member",
        first_success(killed_at, "a write with one etcd member down", || {
            let (api, probe_node) = (api.clone(), probe_node.clone());
            async move {
                let body = json!({"driver": "fake-hardware", "name": "etcd-probe"});
                let reply = api.send(Method::POST, "/v1/nodes", Some(&body)).await;
                let uuid = reply.body["uuid"].as_str().map(str::to_owned);
                *probe_node.lock().expect("lock") = uuid.clone();
                reply.status == 201
            }
        })
        .await,
    );
    let etcd_probe = probe_node.lock().expect("lock").clone().expect("probe node");
    acknowledged.lock().expect("lock").push(("etcd-probe".into(), etcd_probe));

    for worker in workers {
        worker.await.expect("a deploy client failed");
    }
    eprintln!("100 deploys done {:?} after start", started.elapsed());

    // Every acknowledged node exists and is active (the probe stays enrolled).
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert_eq!(acknowledged.len(), NODES + 1);
    for (name, uuid) in &acknowledged {
        let node = api.node(uuid).await;
        assert_eq!(node["name"], name.as_str(), "acknowledged node {name} lost");
        if name.starts_with("mesh-") {
            assert_eq!(node["provision_state"], "active", "{name} did not reach active: {node}");
            assert!(node["last_error"].is_null(), "{name}: {}", node["last_error"]);
        }
    }

    // No node driven by two conductors at once. Any conductor may take a request
    // (the gateway balances over all), so one node may see several over its
    // life, but each operation — from the request's transition to the next
    // resting state (no target) — is driven under one lock by one conductor; only
    // an operation the killed conductor was driving may pass to a survivor.
    let mut taken_over = 0;
    for (name, uuid) in acknowledged.iter().filter(|(n, _)| n.starts_with("mesh-")) {
        let history = mesh.node_history(uuid).await.expect("history");
        let mut operation: Vec<String> = Vec::new();
        for event in &history {
            if let Some(conductor) = event["conductor"].as_str()
                && operation.last().map(String::as_str) != Some(conductor)
            {
                operation.push(conductor.to_owned());
            }
            if event["target_provision_state"].is_null() {
                let distinct: HashSet<&String> = operation.iter().collect();
                assert_eq!(distinct.len(), operation.len(), "{name}: conductors interleaved: {operation:?}");
                for handed_over in operation.iter().take(operation.len().saturating_sub(1)) {
                    assert_eq!(
                        handed_over, &victim,
                        "{name}: live {handed_over} shared an operation: {operation:?}\n{history:#?}"
                    );
                }
                taken_over += usize::from(operation.len() > 1);
                operation.clear();
            }
        }
    }
    eprintln!("{taken_over} operations taken over from {victim}");
    // (How many handovers history shows varies: the dead conductor's last
    // events may never have been written, and clients re-send what it dropped.
    // That a survivor moved on one of its nodes is the deploy failover above.)

    // The only failed API calls went to the killed gateway.
    let failures = api.failures();
    eprintln!("failed API calls (all to gateway-0, retried on gateway-1): {}", failures.len());
    assert!(
        api.0.failures.lock().expect("lock").iter().all(|f| f.gateway == 0),
        "calls failed on a live gateway: {failures:#?}"
    );

    // Answers clients retry (409 "locked", 503) came only while a killed
    // instance's leases were lapsing: right after a kill, never otherwise.
    let window = Duration::from_secs(LEASE_TTL_SECS + 3);
    let retried_all: Vec<Retried> = std::mem::take(&mut *api.0.retried.lock().expect("lock"));
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for retried in retried_all.iter() {
        let after = kills
            .iter()
            .filter(|(_, at)| *at <= retried.at)
            .map(|(name, at)| (name, retried.at - *at))
            .min_by_key(|(_, d)| *d);
        let key = match after {
            Some((name, _)) => format!("{} after killing {name}", &retried.what[..3]),
            None => format!("{} before any kill", &retried.what[..3]),
        };
        *kinds.entry(key).or_default() += 1;
        assert!(
            after.is_some_and(|(_, d)| d < window),
            "a retryable error outside any failover window: {} ({after:?})",
            retried.what
        );
    }
    eprintln!("answers retried as ironicclient does (status after which kill: count): {kinds:?}");

    // Calls spread over the surviving conductors (the gateways' balancer).
    for instance in mesh.live(Role::Deploy) {
        let served = mesh.requests_served(&instance.name, "DeployService").await.unwrap_or_default();
        eprintln!("{} served {served} deploy calls", instance.name);
        assert!(served > 0.0, "{} got no deploy calls", instance.name);
    }

    // New instances get calls without a restart of their callers.
    let fresh_deploy = mesh.add(Role::Deploy).await;
    let fresh_power = mesh.add(Role::Power).await;
    let some_nodes: Vec<String> = acknowledged.iter().take(20).map(|(_, u)| u.clone()).collect();
    wait_for(PATIENCE, "the new conductor to get calls from the running gateway", || {
        let (api, mesh, some_nodes, fresh) = (api.clone(), &mesh, some_nodes.clone(), fresh_deploy.clone());
        async move {
            for uuid in &some_nodes {
                let reply = api.send(Method::GET, &format!("/v1/nodes/{uuid}/validate"), None).await;
                assert_eq!(reply.status, 200, "validate: {}", reply.body);
            }
            mesh.requests_served(&fresh, "DeployService").await.filter(|n| *n > 0.0)
        }
    })
    .await;
    wait_for(PATIENCE, "the new power instance to get calls from a running caller", || {
        let (mesh, fresh) = (&mesh, fresh_power.clone());
        async move {
            for _ in 0..10 {
                probe(Role::Power).await.expect("power call");
            }
            mesh.requests_served(&fresh, "PowerService").await.filter(|n| *n > 0.0)
        }
    })
    .await;

    // etcd quorum lost: a prompt, clear 503, never a hang; back by itself.
    mesh.etcd().restart_member(0).await.expect("restart etcd member 0");
    mesh.etcd().stop_member(1).await;
    mesh.etcd().stop_member(2).await;
    let lost_at = Instant::now();
    let gateway = Api::new(vec![urls[1].clone()]);
    let body = json!({"driver": "fake-hardware", "name": "quorum-probe"});
    let (status, refused) = tokio::time::timeout(
        QUORUM_LOSS_DEADLINE,
        gateway.send_to(0, Method::POST, "/v1/nodes", Some(&body)),
    )
    .await
    .expect("a create hung while etcd had no quorum")
    .expect("the gateway answers");
    let answered_in = lost_at.elapsed();
    assert_eq!(status, 503, "create without quorum: {refused}");
    let message = refused["error_message"].to_string();
    assert!(message.contains("faultstring"), "not Ironic's error body: {refused}");
    eprintln!("without quorum: 503 in {answered_in:?}: {message}");
    let (status, read) = tokio::time::timeout(
        QUORUM_LOSS_DEADLINE,
        gateway.send_to(0, Method::GET, "/v1/nodes?limit=5", None),
    )
    .await
    .expect("a list hung while etcd had no quorum")
    .expect("the gateway answers");
    assert!([200, 503].contains(&status), "list without quorum: {status} {read}");
    mesh.etcd().restart_member(1).await.expect("restart etcd member 1");
    mesh.etcd().restart_member(2).await.expect("restart etcd member 2");
    let back_at = Instant::now();
    let recovered = wait_for(PATIENCE, "the API to accept writes once quorum is back", || async {
        let reply = gateway.send(Method::POST, "/v1/nodes", Some(&body)).await;
        (reply.status == 201).then(|| reply.body["uuid"].as_str().expect("uuid").to_owned())
    })
    .await;
    let recovery = back_at.elapsed();
    provision(&gateway, &recovered, "manage", "enroll", "manageable").await;
    eprintln!("quorum back: writes accepted after {recovery:?}, conductors working again");

    eprintln!("failover (kill -> first operation served by a survivor):");
    for (kind, took) in &failover {
        eprintln!("  {kind:<12} {took:?}");
    }
    eprintln!("dead instance left the callers' registry after:");
    for (kind, took) in &dropped {
        eprintln!("  {kind:<12} {took:?}");
    }
    eprintln!("total {:?}", started.elapsed());
    for (kind, took) in &failover {
        assert!(*took < FAILOVER_LIMIT, "{kind} failover took {took:?}");
    }
    for (kind, took) in &dropped {
        assert!(*took < Duration::from_secs(LEASE_TTL_SECS + 3), "{kind} lingered {took:?} after death");
    }
}
