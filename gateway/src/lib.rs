//! The Ironic-compatible REST API: the one door clients use.
//!
//! Architecture invariant: only this crate knows Ironic's JSON shapes, its error
//! bodies and API microversions. Everything behind it speaks Ferric's gRPC contracts
//! (`ferric-proto`) and the domain types of `ferric-model`.
//!
//! Layout:
//! - [`version`]: microversion negotiation and the headers on every response.
//! - [`error`]: [`ApiError`], the single mapping to Ironic's error bodies.
//! - [`root`]: the version documents at `/` and `/v1`.

pub mod error;
pub mod root;
pub mod version;

pub use error::ApiError;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use ferric_store::DynStore;
use tokio::net::TcpListener;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    /// Base URL for `links`; `None` derives it from the request's `Host`.
    public_url: Option<String>,
    #[allow(dead_code)] // Read by the node and port handlers of the gateway issue.
    store: DynStore,
}

impl AppState {
    /// Builds the state shared by every request.
    pub fn new(store: DynStore, public_url: Option<String>) -> Self {
        Self { inner: Arc::new(Inner { public_url, store }) }
    }

    /// The configured public base URL, without a trailing slash.
    pub fn public_url(&self) -> Option<&str> {
        self.inner.public_url.as_deref().map(|u| u.trim_end_matches('/'))
    }
}

/// The whole REST router with its layers, outermost last.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(root::root))
        .route("/v1", get(root::v1))
        .route("/v1/", get(root::v1))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        // Prometheus scrapes the API port too, so one process needs one port.
        .merge(ferric_telemetry::metrics_router())
        // Version negotiation wraps routing so every response, errors included,
        // carries the version headers and a request id.
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
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}
