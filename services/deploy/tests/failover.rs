//! Two conductors on a real etcd, 50 direct deploys with scripted agents that take
//! a couple of seconds per step, and one conductor killed with SIGKILL half-way:
//! every node still reaches `active` — taken over and resumed, not failed — and
//! no node is ever driven by two conductors at once (no agent ever got a step
//! twice or a command while another ran).

mod common;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::agent::ScriptedAgent;
use ferric_catalog::{NodeRecord, PortRecord};
use ferric_mesh::{ClientOptions, ServiceClient, ServiceKind};
use ferric_model::{Node, Port, ProvisionState};
use ferric_proto::v1::deploy_service_client::DeployServiceClient;
use ferric_proto::v1::{self, NodeRef};
use ferric_store::DynStore;
use ferric_store::etcd::{EtcdOptions, EtcdStore};
use ferric_store::records::Collection;
use ferric_testkit::{EtcdProcess, wait_for, wait_until};
use serde_json::{Value, json};
use uuid::Uuid;

const NODES: usize = 50;
const PATIENCE: Duration = Duration::from_secs(180);

struct Member(Child);

impl Member {
    fn start(etcd: &EtcdProcess, hostname: &str, log: &std::path::Path) -> Self {
        let file = std::fs::File::create(log).expect("member log");
        let child = Command::new(env!("CARGO_BIN_EXE_deploy-member"))
            .args(["--etcd", &etcd.endpoints().join(","), "--hostname", hostname, "--ttl-secs", "3"])
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("spawn deploy-member");
        Self(child)
    }

    fn kill(&mut self) {
        // SIGKILL: no lease revocation, no lock release; the lease must lapse.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.kill();
    }
}

fn mac(i: usize) -> String {
    format!("52:54:00:00:{:02x}:{:02x}", i / 256, i % 256)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_conductor_mid_deploy_loses_no_node() {
    let etcd = EtcdProcess::start().await.expect("etcd");
    let store: DynStore =
        Arc::new(EtcdStore::connect(&etcd.endpoints(), EtcdOptions::default()).await.expect("etcd store"));
    let logs = tempfile::tempdir().expect("tempdir");
    let mut a = Member::start(&etcd, "conductor-a", &logs.path().join("a.log"));
    let _b = Member::start(&etcd, "conductor-b", &logs.path().join("b.log"));
    wait_until(PATIENCE, "both conductors to register", || async {
        ferric_mesh::list_instances(&store, ServiceKind::Deploy).await.map(|i| i.len() == 2).unwrap_or(false)
    })
    .await;
    let client = ServiceClient::discover(store.clone(), ServiceKind::Deploy, ClientOptions::default())
        .await
        .expect("discover");
    let deploy = DeployServiceClient::new(client);

    let nodes = Collection::<NodeRecord>::new(store.clone());
    let ports = Collection::<PortRecord>::new(store.clone());
    let mut agents = Vec::new();
    let mut uuids = Vec::new();
    for i in 0..NODES {
        let (agent, url) = ScriptedAgent::start(15).await;
        let uuid = Uuid::new_v4();
        let mut node = Node::new(uuid, "fake-hardware", Utc::now(), ProvisionState::Available);
        node.deploy_interface = Some("direct".into());
        node.instance_info.insert("image_source".into(), json!("http://images/disk.img"));
        nodes.create(&NodeRecord(node)).await.expect("node");
        ports.create(&PortRecord(Port::new(Uuid::new_v4(), uuid, mac(i), Utc::now()))).await.expect("port");
        agents.push((agent, url));
        uuids.push(uuid);
    }
    for uuid in &uuids {
        let request = v1::ChangeProvisionStateRequest {
            node: Some(NodeRef::new(uuid.to_string())),
            verb: v1::ProvisionVerb::Deploy as i32,
            ..Default::default()
        };
        wait_for(PATIENCE, "the deploy to be accepted", || {
            let mut deploy = deploy.clone();
            let request = request.clone();
            async move { deploy.change_provision_state(request).await.ok() }
        })
        .await;
    }

    // The agents: each boots when its node waits for it, looks itself up once and heartbeats.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ramdisks = {
        let (deploy, nodes, stop) = (deploy.clone(), nodes.clone(), stop.clone());
        let agents: Vec<(ScriptedAgent, String)> = agents.clone();
        let uuids = uuids.clone();
        tokio::spawn(async move {
            let mut tokens: HashMap<usize, String> = HashMap::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for (i, uuid) in uuids.iter().enumerate() {
                    let Ok(Some(node)) = nodes.get(&uuid.to_string()).await else { continue };
                    let booted = node.record.provision_state == ProvisionState::DeployWait
                        && !node.record.driver_internal_info.contains_key("agent_url");
                    if !booted {
                        continue;
                    }
                    let mut deploy = deploy.clone();
                    if !node.record.driver_internal_info.contains_key("agent_secret_token") {
                        let lookup = v1::LookupRequest { addresses: vec![mac(i)], node: None };
                        if let Ok(reply) = deploy.lookup(lookup).await {
                            let config = reply.into_inner().config.unwrap_or_default();
                            let config = ferric_proto::json::json_from_struct(config).unwrap_or_default();
                            if let Some(token) = config.get("agent_token").and_then(Value::as_str)
                                && token != "******"
                            {
                                tokens.insert(i, token.to_owned());
                                agents[i].0.set_token(token);
                            }
                        }
                    }
                    let Some(token) = tokens.get(&i) else { continue };
                    let heartbeat = v1::HeartbeatRequest {
                        node: Some(NodeRef::new(uuid.to_string())),
                        callback_url: agents[i].1.clone(),
                        agent_version: "10.0.0".into(),
                        agent_token: token.clone(),
                        ..Default::default()
                    };
                    let _ = deploy.heartbeat(heartbeat).await;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };

    // Half-way: enough agents are writing their image.
    wait_until(PATIENCE, "write_image to run on a dozen nodes", || async {
        agents
            .iter()
            .filter(|(agent, _)| agent.names().iter().any(|n| n == "deploy.execute_deploy_step"))
            .count()
            >= 12
    })
    .await;
    let active_before = count_active(&nodes, &uuids).await;
    assert!(active_before < NODES, "the kill must come mid-way");
    a.kill();

    wait_until(PATIENCE, "every node to be active", || async { count_active(&nodes, &uuids).await == NODES })
        .await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = ramdisks.await;
    for (i, uuid) in uuids.iter().enumerate() {
        let node = nodes.get(&uuid.to_string()).await.expect("read").expect("node").record;
        assert_eq!(node.last_error, None, "node {i} failed on the way");
        let (agent, _) = &agents[i];
        let writes = agent.names().iter().filter(|n| *n == "deploy.execute_deploy_step").count();
        assert_eq!(writes, 1, "node {i}: write_image sent {writes} times: {:?}", agent.names());
        // Two conductors driving one node would send it commands while another
        // runs. The one legitimate busy send is a survivor re-sending a command the
        // dead conductor started but had not yet recorded: it adopts that command.
        assert!(agent.busy() <= 1, "node {i}: {} commands arrived while another ran", agent.busy());
        let fetched = agent.names().iter().filter(|n| *n == "deploy.get_deploy_steps").count();
        assert!((1..=2).contains(&fetched), "node {i}: deploy steps fetched {fetched} times");
    }
}

async fn count_active(nodes: &Collection<NodeRecord>, uuids: &[Uuid]) -> usize {
    let mut active = 0;
    for uuid in uuids {
        if let Ok(Some(node)) = nodes.get(&uuid.to_string()).await
            && node.record.provision_state == ProvisionState::Active
        {
            active += 1;
        }
    }
    active
}
