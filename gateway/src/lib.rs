//! The Ironic-compatible REST API: the one door clients use.
//!
//! Architecture invariant: only this crate knows Ironic's JSON shapes, its error
//! bodies and API microversions. Records are read and written in the store
//! through `ferric-catalog`'s record kinds; anything that touches hardware goes
//! to the conductor through the deploy service's gRPC contract (`ferric-proto`).
//!
//! Layout:
//! - [`version`]: microversion negotiation and the headers on every response.
//! - [`auth`]: `noauth` / `http_basic`, and the reader role.
//! - [`error`]: [`ApiError`], the single mapping to Ironic's error bodies.
//! - [`ctx`], [`body`], [`extract`], [`render`], [`list`], [`links`]: request context, JSON
//!   bodies, response shaping, paging and links shared by every resource.
//! - [`root`]: the version documents at `/` and `/v1`.
//! - [`openapi`]: the route registry and `/v1/openapi.json` built from it.
//! - [`collection`]: paging, patching and creating, shared by record resources.
//! - Resources: [`nodes`], [`ports`], [`portgroups`], [`chassis`], [`drivers`],
//!   [`conductors`], [`step_sets`] (deploy templates, runbooks), [`volume`], [`allocations`],
//!   [`inspection_rules`], [`vendor`] passthru; the agent's [`ramdisk`] endpoints
//!   (lookup, heartbeat).

pub mod allocations;
pub mod auth;
pub mod body;
pub mod chassis;
pub mod collection;
pub mod conductors;
pub mod ctx;
pub mod drivers;
pub mod error;
pub mod extract;
pub mod inspection_rules;
pub mod links;
pub mod list;
pub mod nodes;
pub mod openapi;
pub mod portgroups;
pub mod ports;
pub mod ramdisk;
pub mod render;
pub mod root;
pub mod step_sets;
pub mod vendor;
pub mod version;
pub mod volume;

pub use error::ApiError;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::Router;
use ferric_cluster::RingObserver;
use ferric_mesh::ServiceClient;
use ferric_model::Node;
use ferric_model::hardware::HardwareType;
use ferric_proto::v1::deploy_service_client::DeployServiceClient;
use ferric_store::DynStore;
use ferric_store::view::PrefixView;
use tokio::net::TcpListener;

use crate::nodes::view::CachedNode;

use crate::auth::Auth;
use crate::openapi::Routes;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    /// Base URL for `links`; `None` derives it from the request's `Host`.
    public_url: Option<String>,
    store: DynStore,
    auth: Auth,
    /// The conductors' ring, for `conductor` and driver availability.
    ring: Option<RingObserver>,
    /// The deploy service (the conductor), for everything touching hardware.
    deploy: Option<ServiceClient>,
    /// Every node, kept current by a watch, for lists.
    nodes: Option<PrefixView<CachedNode>>,
    /// Every node lock's holder (`reservation`), kept current by a watch.
    reservations: Option<PrefixView<(String, String)>>,
    /// The newest revision this gateway wrote to a node: lists wait for the
    /// views to reach it, so a client always sees its own writes.
    last_write: Arc<AtomicI64>,
}

/// How long a list waits for the node view to catch up with this gateway's own
/// writes before reading the store directly instead.
const VIEW_FENCE: Duration = Duration::from_secs(2);

impl AppState {
    /// State over `store` with no auth, no conductor and no ring: enough for
    /// version documents and record reads. Add the rest with the `with_*`
    /// methods.
    pub fn new(store: DynStore, public_url: Option<String>) -> Self {
        let inner = Inner {
            public_url,
            store,
            auth: Auth::noauth(),
            ring: None,
            deploy: None,
            nodes: None,
            reservations: None,
            last_write: Arc::new(AtomicI64::new(0)),
        };
        Self { inner: Arc::new(inner) }
    }

    /// Everything a serving gateway needs: follows the conductors' ring and
    /// discovers the deploy service through the store.
    pub async fn connect(store: DynStore, public_url: Option<String>, auth: Auth) -> Result<Self, String> {
        let ring = RingObserver::follow(store.clone()).await.map_err(|e| e.to_string())?;
        let deploy =
            ServiceClient::discover(store.clone(), ferric_mesh::ServiceKind::Deploy, Default::default())
                .await
                .map_err(|e| e.to_string())?;
        let nodes = PrefixView::follow(
            store.clone(),
            &ferric_store::records::Collection::<ferric_catalog::NodeRecord>::prefix(),
            nodes::view::decode,
        )
        .await
        .map_err(|e| e.to_string())?;
        let reservations = PrefixView::follow(
            store.clone(),
            ferric_store::lock::LOCK_PREFIX,
            nodes::view::decode_reservation,
        )
        .await
        .map_err(|e| e.to_string())?;
        let inner = Inner {
            public_url,
            store,
            auth,
            ring: Some(ring),
            deploy: Some(deploy),
            nodes: Some(nodes),
            reservations: Some(reservations),
            last_write: Arc::new(AtomicI64::new(0)),
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    fn with(&self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = (*self.inner).clone();
        change(&mut inner);
        Self { inner: Arc::new(inner) }
    }

    /// The same state with `auth` enforced.
    pub fn with_auth(&self, auth: Auth) -> Self {
        self.with(|inner| inner.auth = auth)
    }

    /// The configured public base URL, without a trailing slash.
    pub fn public_url(&self) -> Option<&str> {
        self.inner.public_url.as_deref().map(|u| u.trim_end_matches('/'))
    }

    /// The store every record lives in.
    pub fn store(&self) -> &DynStore {
        &self.inner.store
    }

    /// A client of the deploy service, or Ironic's 503 when none is known.
    pub fn deploy(&self) -> Result<DeployServiceClient<ServiceClient>, ApiError> {
        self.inner
            .deploy
            .clone()
            .map(DeployServiceClient::new)
            .ok_or_else(|| ApiError::unavailable("No conductor service is available."))
    }

    /// The conductor that owns `node` on the ring, as Ironic's `conductor` field.
    pub async fn conductor_of(&self, node: &Node) -> Option<String> {
        let ring = self.inner.ring.as_ref()?.ring();
        ring.owner_of(&node.uuid.to_string(), &node.conductor_group, &node.driver).map(str::to_owned)
    }

    /// The hardware type `driver` if some live conductor of `group` serves it,
    /// else Ironic's "No valid host" refusal.
    pub async fn enabled_hardware_type(
        &self,
        driver: &str,
        group: &str,
    ) -> Result<&'static HardwareType, ApiError> {
        let served = self.inner.ring.as_ref().is_some_and(|observer| {
            observer
                .ring()
                .conductors()
                .any(|c| c.conductor_group == group && c.hardware_types.iter().any(|h| h == driver))
        });
        match HardwareType::find(driver) {
            Some(hardware) if served => Ok(hardware),
            _ => Err(ApiError::bad_request(format!(
                "No valid host was found. Reason: No conductor service registered which supports driver {driver} for conductor group \"{group}\". Ensure the driver is valid and enabled."
            ))),
        }
    }

    /// Records that this gateway wrote a node at `revision`.
    pub fn wrote(&self, revision: i64) {
        self.inner.last_write.fetch_max(revision, Ordering::AcqRel);
    }

    /// Records a node write whose revision the store did not return (a delete).
    pub async fn wrote_now(&self) {
        if let Ok(revision) = self.inner.store.current_revision().await {
            self.wrote(revision);
        }
    }

    /// Every node and every reservation, at least as new as this gateway's
    /// last node write: from the views when they keep up, else from the store.
    pub async fn node_snapshot(&self) -> Result<(Vec<Arc<CachedNode>>, HashMap<String, String>), ApiError> {
        let fence = self.inner.last_write.load(Ordering::Acquire);
        if let (Some(nodes), Some(reservations)) = (&self.inner.nodes, &self.inner.reservations) {
            match nodes.wait_for(fence, VIEW_FENCE).await {
                Ok(()) => {
                    return Ok((nodes.snapshot(), nodes::view::reservations(&reservations.snapshot())));
                }
                Err(error) => tracing::warn!(%error, fence, "node view lags; reading the store"),
            }
        }
        let reservations = nodes::lookup::reservations(self).await?;
        let mut out = Vec::new();
        for stored in collection::all::<ferric_catalog::NodeRecord>(&self.inner.store).await? {
            out.push(Arc::new(CachedNode::new(stored)?));
        }
        Ok((out, reservations))
    }

    /// The ring of live conductors, when followed.
    pub fn ring(&self) -> Option<Arc<ferric_cluster::Ring>> {
        self.inner.ring.as_ref().map(RingObserver::ring)
    }
}

/// The REST service clients talk to: [`routes`] behind trailing-slash
/// normalisation, since Ironic (and so its clients) treats `/v1/nodes/` as
/// `/v1/nodes`. Normalising has to happen before routing, so it wraps the
/// router rather than being one of its layers.
pub type Api = tower_http::normalize_path::NormalizePath<Router>;

/// The whole REST API, ready to serve.
pub fn router(state: AppState) -> Api {
    tower::Layer::layer(&tower_http::normalize_path::NormalizePathLayer::trim_trailing_slash(), routes(state))
}

/// Every documented operation: the version documents, the resources, and
/// `/v1/openapi.json` itself.
pub fn operations() -> Routes {
    use openapi::{Doc, Schema};
    Routes::new()
        .get("/", root::root, Doc::show("Version discovery", Schema::Object))
        .get("/v1", root::v1, Doc::show("The v1 API document", Schema::Object))
        .merge(nodes::routes())
        .merge(ports::routes())
        .merge(portgroups::routes())
        .merge(chassis::routes())
        .merge(drivers::routes())
        .merge(conductors::routes())
        .merge(ramdisk::routes())
        .merge(vendor::routes())
        .merge(volume::routes())
        .merge(allocations::routes())
        .merge(inspection_rules::routes())
        .merge(step_sets::routes::<ferric_catalog::DeployTemplateRecord>(
            "/v1/deploy_templates",
            "/v1/deploy_templates/{template}",
            "DeployTemplate",
        ))
        .merge(step_sets::routes::<ferric_catalog::RunbookRecord>(
            "/v1/runbooks",
            "/v1/runbooks/{runbook}",
            "Runbook",
        ))
}

/// The REST routes with their layers, outermost last.
pub fn routes(state: AppState) -> Router {
    let auth = state.inner.auth.clone();
    let (router, operations) = operations().into_parts();
    let spec = Arc::new(openapi::document(&operations, version::MAX_VERSION));
    let spec_route = axum::routing::get(move || {
        let spec = spec.clone();
        async move { axum::Json((*spec).clone()) }
    });
    router
        .route("/v1/openapi.json", spec_route)
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        // Prometheus scrapes the API port too, so one process needs one port.
        .merge(ferric_telemetry::metrics_router())
        .layer(axum::middleware::from_fn_with_state(auth, auth::enforce))
        // Version negotiation wraps routing and auth so every response, errors
        // included, carries the version headers and a request id.
        .layer(axum::middleware::from_fn(version::negotiate))
        // Outermost: a span and metrics for every request, parented on the
        // caller's trace context.
        .layer(ferric_telemetry::http_layer())
}

/// Serves the REST API on `listener` until `shutdown` resolves, then drains
/// in-flight requests.
pub async fn run(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "gateway listening");
    let service = axum::ServiceExt::<axum::extract::Request>::into_make_service(router(state));
    axum::serve(listener, service).with_graceful_shutdown(shutdown).await
}
