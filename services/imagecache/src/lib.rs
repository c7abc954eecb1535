//! OS images: fetch, verify, convert, cache and serve them to agents.
//!
//! A rack deploy sends one image to hundreds of machines; this service fetches
//! it once, proves it is the image asked for, and serves it from local disk.
//! The binary binds two listeners (gRPC for the mesh, HTTP for agents), and
//! calls [`run`]; everything else is here.
//!
//! Layout:
//! - [`service`]: `ferric.v1.ImageCacheService` (Ensure, Stat, List, Evict, Pin,
//!   Unpin) over [`cache::ImageCache`].
//! - [`cache`]: Ensure's pipeline: look up, single flight, download, verify,
//!   convert, commit.
//! - [`flight`]: one download per image however many callers wait for it.
//! - [`fetch`]: http(s) with resume and file:// sources into temporary files.
//! - [`verify`]: checksums (md5, sha256, sha512; inline or checksum files).
//! - [`convert`]: qemu-img info and qcow2 → raw.
//! - [`store`]: the content-addressed directory, its crash rules, LRU quota.
//! - [`serve`]: HTTP GET/HEAD with ranges for agents.
//! - [`error`]: the error type and its one mapping to gRPC statuses.

#![warn(missing_docs)]

pub mod cache;
pub mod convert;
pub mod error;
pub mod fetch;
pub mod flight;
pub mod serve;
pub mod service;
pub mod store;
pub mod verify;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use ferric_mesh::{MeshServer, ServerOptions};
use ferric_proto::v1::image_cache_service_server::ImageCacheServiceServer;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use crate::cache::ImageCache;
pub use crate::error::{ImageCacheError, RunError};
pub use crate::fetch::FetchOptions;
pub use crate::service::ImageCacheGrpc;

/// Everything the image cache needs besides its listeners; built by the binary
/// from the `[imagecache]` config section.
#[derive(Debug, Clone)]
pub struct ImageCacheSettings {
    /// Where artifacts, records and temporary downloads live (one filesystem, so
    /// commits are renames). Locked while in use.
    pub cache_dir: PathBuf,
    /// Quota for artifacts in bytes; least recently used unpinned images are
    /// evicted to stay under it. 0: no quota.
    pub max_bytes: u64,
    /// Downloads running at once; more wait in phase QUEUED.
    pub max_concurrent_downloads: usize,
    /// Base URL agents reach the HTTP listener at (e.g. `http://10.0.0.5:8088`);
    /// defaults to `http://<bound address>`, wrong when bound to 0.0.0.0.
    pub http_advertise: Option<String>,
    /// How long shutdown waits for HTTP downloads in progress before cutting
    /// them off.
    pub http_drain_timeout: Duration,
    /// Timeouts, retries, TLS roots and file URL rules for downloads.
    pub fetch: FetchOptions,
}

/// Shorter name inside the crate.
pub(crate) type Settings = ImageCacheSettings;

impl ImageCacheSettings {
    /// Defaults for everything but the directory: a 20 GiB quota (Ironic's
    /// `[pxe]image_cache_size`) and four downloads at once.
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            cache_dir: cache_dir.into(),
            max_bytes: 20 << 30,
            max_concurrent_downloads: 4,
            http_advertise: None,
            http_drain_timeout: Duration::from_secs(30),
            fetch: FetchOptions::default(),
        }
    }
}

/// Opens the cache in `settings.cache_dir` (recovering from any crash), serves
/// `ferric.v1.ImageCacheService` on `grpc_listener` and images on
/// `http_listener` until `shutdown` resolves; then gRPC drains, and HTTP
/// downloads get `http_drain_timeout` to finish.
pub async fn run(
    options: ServerOptions,
    grpc_listener: TcpListener,
    http_listener: TcpListener,
    settings: ImageCacheSettings,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), RunError> {
    let http_addr = http_listener.local_addr().map_err(RunError::Http)?;
    let http_base = settings.http_advertise.clone().unwrap_or_else(|| format!("http://{http_addr}"));
    let opened = {
        let settings = settings.clone();
        let base = http_base.clone();
        tokio::task::spawn_blocking(move || ImageCache::open(&settings, base)).await
    };
    let cache = opened
        .map_err(|e| RunError::Open(ImageCacheError::Internal(format!("open task: {e}"))))?
        .map_err(RunError::Open)?;
    tracing::info!(dir = %settings.cache_dir.display(), %http_addr, %http_base, quota = settings.max_bytes, "image cache open");

    let (stop_tx, mut stop_rx) = watch::channel(false);
    let http = tokio::spawn(serve::serve(http_listener, cache.clone(), stop_rx.clone()));
    let signal = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    let grpc = MeshServer::new(options)
        .add_service(ImageCacheServiceServer::new(ImageCacheGrpc::new(cache)))
        .serve(grpc_listener, signal);
    let result = grpc.await;
    // gRPC stops only on shutdown or failure; either way stop HTTP too.
    let _ = stop_rx.wait_for(|s| *s).await.is_ok();
    let abort = http.abort_handle();
    if tokio::time::timeout(settings.http_drain_timeout, http).await.is_err() {
        tracing::warn!("image downloads still running at shutdown; cutting them off");
        abort.abort();
    }
    result.map_err(RunError::Mesh)
}
