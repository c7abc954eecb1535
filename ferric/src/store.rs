//! Opens the configured store backend.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ferric_config::{Config, StoreBackend};
use ferric_store::DynStore;

/// Opens the embedded store file or connects to etcd, as configured.
pub async fn open(config: &Config) -> anyhow::Result<DynStore> {
    match config.store.backend {
        StoreBackend::Embedded => {
            let path = config.embedded_store_path();
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            let store = ferric_store::embedded::EmbeddedStore::open(&path)
                .await
                .with_context(|| format!("opening embedded store {}", path.display()))?;
            tracing::info!(path = %path.display(), "embedded store open");
            Ok(Arc::new(store))
        }
        StoreBackend::Etcd => {
            let options = ferric_store::etcd::EtcdOptions {
                request_timeout: Duration::from_millis(config.store.request_timeout_ms),
                ..Default::default()
            };
            let store = ferric_store::etcd::EtcdStore::connect(&config.store.etcd_endpoints, options)
                .await
                .context("connecting to etcd")?;
            tracing::info!(endpoints = ?config.store.etcd_endpoints, "connected to etcd");
            Ok(Arc::new(store))
        }
    }
}
