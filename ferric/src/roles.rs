//! Assembles the services of one `ferric` process.
//!
//! Every internal service is started the same way: bind its listener, publish the
//! bound (or advertised) address in the store under a lease, serve until shutdown,
//! and withdraw the registration *before* draining so callers stop picking this
//! instance while it finishes in-flight calls. In `all-in-one` the services share
//! one process and one store handle but still talk over loopback gRPC, so the
//! single-machine setup exercises exactly the paths of the distributed one.

use std::time::Duration;

use anyhow::Context;
use ferric_config::{Config, ServiceConfig};
use ferric_mesh::{ServerOptions, ServiceKind, TlsFiles};
use ferric_store::DynStore;
use futures::future::BoxFuture;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::shutdown::Shutdown;

/// What this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    AllInOne,
    Gateway,
    Deploy,
    Power,
    Bootnet,
    Imagecache,
}

impl Role {
    /// The name used in logs and as the telemetry service name.
    pub fn name(self) -> &'static str {
        match self {
            Role::AllInOne => "all-in-one",
            Role::Gateway => "gateway",
            Role::Deploy => "deploy",
            Role::Power => "power",
            Role::Bootnet => "bootnet",
            Role::Imagecache => "imagecache",
        }
    }

    fn services(self) -> Vec<Role> {
        match self {
            // Back-end services first so the gateway finds them when it starts.
            Role::AllInOne => vec![Role::Deploy, Role::Power, Role::Bootnet, Role::Imagecache, Role::Gateway],
            role => vec![role],
        }
    }
}

/// Everything a started service shares with the others of its process.
#[derive(Clone)]
struct Process {
    config: Config,
    store: DynStore,
    /// Unique per process; instances of one process share it.
    instance_id: String,
    shutdown: Shutdown,
}

/// Runs `role` until `shutdown`; returns early with the first service's error.
pub async fn run(role: Role, config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    let store = crate::store::open(&config).await?;
    let process = Process { instance_id: instance_id(), config, store, shutdown };
    tracing::info!(role = role.name(), instance = %process.instance_id, backend = process.store.backend_name(), "ferric starting");

    let mut tasks = JoinSet::new();
    if let Some(addr) = process.config.telemetry.metrics_listen {
        let listener =
            TcpListener::bind(addr).await.with_context(|| format!("binding metrics listener {addr}"))?;
        let shutdown = process.shutdown.clone();
        tasks.spawn(async move {
            ferric_telemetry::serve_metrics(listener, shutdown).await.context("metrics listener")
        });
    }
    for service in role.services() {
        let process = process.clone();
        let started = start(service, process).await?;
        tasks.spawn(started);
    }
    while let Some(joined) = tasks.join_next().await {
        joined.context("service task panicked")??;
    }
    tracing::info!("ferric stopped");
    Ok(())
}

/// Binds and registers `service`, returning the future that serves it. Binding
/// happens here, before any service serves, so a port clash fails start-up at once.
async fn start(service: Role, process: Process) -> anyhow::Result<BoxFuture<'static, anyhow::Result<()>>> {
    let config = &process.config;
    Ok(match service {
        Role::Gateway => {
            let listener = TcpListener::bind(config.gateway.listen)
                .await
                .with_context(|| format!("binding gateway.listen {}", config.gateway.listen))?;
            let auth = match config.gateway.auth_strategy {
                ferric_config::AuthStrategy::Noauth => ferric_gateway::auth::Auth::noauth(),
                ferric_config::AuthStrategy::HttpBasic => {
                    // Validation guarantees the file is configured with http_basic.
                    let file = config.gateway.http_basic_auth_user_file.clone().unwrap_or_default();
                    ferric_gateway::auth::Auth::http_basic(&file, &config.gateway.reader_users)?
                }
            };
            let state = ferric_gateway::AppState::connect(
                process.store.clone(),
                config.gateway.public_url.clone(),
                auth,
            )
            .await
            .map_err(|e| anyhow::anyhow!("gateway: {e}"))?;
            let shutdown = process.shutdown.clone();
            Box::pin(async move { ferric_gateway::run(state, listener, shutdown).await.context("gateway") })
        }
        Role::Deploy => {
            let internal = Internal::bind(ServiceKind::Deploy, &config.deploy.service(), &process).await?;
            let membership = join_conductors(&process, &internal.advertised).await?;
            let context = ferric_deploy::Context {
                store: process.store.clone(),
                membership: membership.view(),
                config: ferric_config::DeployConfig {
                    api_url: config.agent_api_url(),
                    ..config.deploy.clone()
                },
            };
            Box::pin(async move {
                let served = internal
                    .serve(move |options, listener, shutdown| {
                        ferric_deploy::run(options, listener, shutdown, context)
                    })
                    .await;
                membership.leave().await;
                served
            })
        }
        Role::Power => {
            Internal::bind(ServiceKind::Power, &config.power, &process).await?.boxed(ferric_power::run)
        }
        Role::Bootnet => {
            let internal = Internal::bind(ServiceKind::Bootnet, &config.bootnet.service(), &process).await?;
            let settings = ferric_bootnet::BootnetSettings {
                config: config.bootnet.clone(),
                root: config.bootnet_root(),
                lease_ttl: Duration::from_secs(config.store.lease_ttl_secs),
            };
            let store = process.store.clone();
            Box::pin(internal.serve(move |options, listener, shutdown| {
                ferric_bootnet::run(options, listener, store, settings, shutdown)
            }))
        }
        Role::Imagecache => {
            let internal =
                Internal::bind(ServiceKind::ImageCache, &config.imagecache.service(), &process).await?;
            let http = TcpListener::bind(config.imagecache.http_listen).await.with_context(|| {
                format!("binding imagecache.http_listen {}", config.imagecache.http_listen)
            })?;
            let mut settings = ferric_imagecache::ImageCacheSettings::new(config.image_cache_dir());
            settings.max_bytes = config.imagecache.max_bytes;
            settings.max_concurrent_downloads = config.imagecache.max_concurrent_downloads;
            settings.http_advertise = config.imagecache.http_advertise.clone();
            Box::pin(internal.serve(move |options, listener, shutdown| {
                ferric_imagecache::run(options, listener, http, settings, shutdown)
            }))
        }
        Role::AllInOne => anyhow::bail!("all-in-one is a set of services, not one"),
    })
}

/// An internal gRPC service, bound and registered, ready to serve.
struct Internal {
    listener: TcpListener,
    options: ServerOptions,
    registration: ferric_mesh::Registration,
    advertised: String,
    shutdown: Shutdown,
}

impl Internal {
    async fn bind(kind: ServiceKind, service: &ServiceConfig, process: &Process) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(service.listen)
            .await
            .with_context(|| format!("binding {kind}.listen {}", service.listen))?;
        let tls =
            process.config.tls.cert.clone().zip(process.config.tls.key.clone()).map(|(cert, key)| TlsFiles {
                cert,
                key,
                ca: process.config.tls.ca.clone(),
            });
        let scheme = if tls.is_some() { "https" } else { "http" };
        let advertised = match &service.advertise {
            Some(addr) => addr.clone(),
            None => format!("{scheme}://{}", listener.local_addr()?),
        };
        let ttl = Duration::from_secs(process.config.store.lease_ttl_secs);
        let registration = ferric_mesh::register(
            process.store.clone(),
            kind,
            process.instance_id.clone(),
            advertised.clone(),
            ttl,
        )
        .await
        .with_context(|| format!("registering {kind} in the store"))?;
        let options = ServerOptions { kind, instance_id: process.instance_id.clone(), tls };
        Ok(Self { listener, options, registration, advertised, shutdown: process.shutdown.clone() })
    }

    /// Serves until shutdown; on shutdown the registration is withdrawn first.
    async fn serve<F, Fut, E>(self, run: F) -> anyhow::Result<()>
    where
        F: FnOnce(ServerOptions, TcpListener, Shutdown) -> Fut,
        Fut: std::future::Future<Output = Result<(), E>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let Internal { listener, options, registration, shutdown, .. } = self;
        let kind = options.kind;
        let withdraw = {
            let shutdown = shutdown.clone();
            async move {
                shutdown.await;
                registration.shutdown().await;
            }
        };
        let (served, ()) = tokio::join!(run(options, listener, shutdown), withdraw);
        served.with_context(|| format!("{kind} service"))
    }

    fn boxed<F, Fut>(self, run: F) -> BoxFuture<'static, anyhow::Result<()>>
    where
        F: FnOnce(ServerOptions, TcpListener, Shutdown) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<(), ferric_mesh::MeshError>> + Send + 'static,
    {
        Box::pin(self.serve(run))
    }
}

/// Joins conductor membership so the hash ring counts this deploy instance.
async fn join_conductors(process: &Process, advertised: &str) -> anyhow::Result<ferric_cluster::Membership> {
    let deploy = &process.config.deploy;
    let info = ferric_cluster::ConductorInfo {
        hostname: deploy.hostname.clone().unwrap_or_else(hostname),
        conductor_group: deploy.conductor_group.clone(),
        hardware_types: deploy.hardware_types.clone(),
        address: advertised.to_owned(),
        ..Default::default()
    };
    let ttl = Duration::from_secs(process.config.store.lease_ttl_secs);
    ferric_cluster::Membership::join(process.store.clone(), info, ttl)
        .await
        .context("joining conductor membership")
}

fn instance_id() -> String {
    let uuid = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}", hostname(), &uuid[..8])
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}
