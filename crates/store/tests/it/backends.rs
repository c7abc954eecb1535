//! The two backends under test, each on fresh state: a temp-dir redb file, or a
//! real etcd process on a free loopback port with its own data directory.

use std::time::Duration;

use ferric_store::embedded::EmbeddedStore;
use ferric_store::etcd::{EtcdOptions, EtcdStore};
use ferric_store::{DynStore, Result};
use ferric_testkit::EtcdProcess;
use tempfile::TempDir;

/// One backend, with whatever keeps it alive.
pub struct Backend {
    pub store: DynStore,
    engine: Engine,
}

enum Engine {
    Embedded { store: EmbeddedStore, _dir: TempDir },
    Etcd { store: Box<EtcdStore>, _etcd: Box<EtcdProcess> },
}

impl Backend {
    /// Compacts history before `revision` (not part of the trait: an operator action).
    pub async fn compact(&self, revision: i64) -> Result<()> {
        match &self.engine {
            Engine::Embedded { store, .. } => store.compact(revision).await,
            Engine::Etcd { store, .. } => store.compact(revision).await,
        }
    }
}

/// A fresh embedded store in a temp dir.
pub async fn embedded() -> Backend {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path().join("store.redb")).await.expect("open embedded store");
    Backend { store: std::sync::Arc::new(store.clone()), engine: Engine::Embedded { store, _dir: dir } }
}

/// A fresh etcd process and a client connected to it.
pub async fn etcd() -> Backend {
    let etcd = EtcdProcess::start().await.expect("start etcd (is /usr/bin/etcd installed?)");
    let options = EtcdOptions { request_timeout: Duration::from_secs(5), ..Default::default() };
    let store = EtcdStore::connect(&etcd.endpoints(), options).await.expect("connect to etcd");
    Backend {
        store: std::sync::Arc::new(store.clone()),
        engine: Engine::Etcd { store: Box::new(store), _etcd: Box::new(etcd) },
    }
}
