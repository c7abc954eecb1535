//! A conductor in the test process on the embedded store: the engine with fake
//! power only, one conductor membership, helpers to make nodes and wait for them.

#![allow(dead_code)]

pub mod agent;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ferric_catalog::{NodeRecord, PortRecord};
use ferric_cluster::{ConductorInfo, Membership};
use ferric_deploy::engine::start::ProvisionRequest;
use ferric_deploy::interfaces::Services;
use ferric_deploy::{Engine, Settings};
use ferric_model::{HistoryEvent, Node, Port, ProvisionState, ProvisionVerb};
use ferric_store::DynStore;
use ferric_store::embedded::EmbeddedStore;
use ferric_store::lock::Locks;
use ferric_store::records::Collection;
use ferric_testkit::wait_for;
use uuid::Uuid;

/// How long any state change may take in these tests.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// One conductor and its store.
pub struct Conductor {
    pub engine: Engine,
    pub store: DynStore,
    pub membership: Membership,
    _dir: tempfile::TempDir,
}

impl Conductor {
    /// A conductor named `c1` with `settings`.
    pub async fn start(settings: Settings) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: DynStore =
            Arc::new(EmbeddedStore::open(dir.path().join("store.redb")).await.expect("store"));
        let info = ConductorInfo {
            hostname: "c1".into(),
            hardware_types: vec!["fake-hardware".into(), "ipmi".into()],
            ..Default::default()
        };
        let membership = Membership::join(store.clone(), info, Duration::from_secs(10)).await.expect("join");
        let engine = Engine::new(store.clone(), membership.view(), settings, Services::offline());
        Self { engine, store, membership, _dir: dir }
    }

    /// A fake-hardware node in `state`, adjusted by `edit`.
    pub async fn node(&self, state: ProvisionState, edit: impl FnOnce(&mut Node)) -> Uuid {
        let uuid = Uuid::new_v4();
        let mut node = Node::new(uuid, "fake-hardware", Utc::now(), state);
        edit(&mut node);
        Collection::<NodeRecord>::new(self.store.clone())
            .create(&NodeRecord(node))
            .await
            .expect("create node");
        uuid
    }

    /// A port with `mac` on `node`.
    pub async fn port(&self, node: Uuid, mac: &str) {
        let port = Port::new(Uuid::new_v4(), node, mac, Utc::now());
        Collection::<PortRecord>::new(self.store.clone())
            .create(&PortRecord(port))
            .await
            .expect("create port");
    }

    /// The node as stored.
    pub async fn get(&self, uuid: Uuid) -> Node {
        self.engine.node(&uuid.to_string()).await.expect("node").record.0
    }

    /// Sends `verb` with no arguments.
    pub async fn verb(
        &self,
        uuid: Uuid,
        verb: ProvisionVerb,
    ) -> Result<(ProvisionState, Option<ProvisionState>), ferric_deploy::DeployError> {
        self.engine.change_provision_state(ProvisionRequest::new(uuid, verb)).await
    }

    /// Waits until the node is in `state` with its lock released.
    pub async fn settle(&self, uuid: Uuid, state: ProvisionState) -> Node {
        let locks = Locks::new(self.store.clone());
        wait_for(PATIENCE, &format!("node to rest in {state}"), || {
            let locks = locks.clone();
            async move {
                let node = self.get(uuid).await;
                let free =
                    locks.reservation(&ferric_catalog::node_lock(&uuid.to_string())).await.ok()?.is_none();
                (node.provision_state == state && free).then_some(node)
            }
        })
        .await
    }

    /// The states the node entered, oldest first, from its history.
    pub async fn trail(&self, uuid: Uuid) -> Vec<String> {
        let mut events: Vec<HistoryEvent> =
            self.engine.history.list(&uuid.to_string(), 0, None).await.expect("history");
        events.reverse();
        events
            .into_iter()
            .filter(|e| e.event.starts_with("Node entered state"))
            .filter_map(|e| e.state.map(|s| s.as_str().to_owned()))
            .collect()
    }
}
