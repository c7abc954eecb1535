//! The gRPC server every Ferric service runs: its own services plus the standard
//! health and reflection services, behind the telemetry layer, optionally over
//! (mutual) TLS, with graceful shutdown.
//!
//! Shutdown order matters: health flips to NOT_SERVING first (so load balancers and
//! probes stop sending), then tonic stops accepting and drains in-flight requests.

use std::convert::Infallible;
use std::future::Future;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower::Service;

use crate::deadline::DeadlineLayer;
use crate::{MeshError, ServiceKind, TlsFiles};

/// Who this server is and how it talks.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The kind of service, for logs.
    pub kind: ServiceKind,
    /// This instance's id: the `instance` label on request metrics.
    pub instance_id: String,
    /// Serve TLS (mutual with a CA) when set; plain HTTP/2 otherwise.
    pub tls: Option<TlsFiles>,
}

/// Builder for a service's gRPC server; add services, then [`MeshServer::serve`].
pub struct MeshServer {
    options: ServerOptions,
    routes: RoutesBuilder,
    /// Fully qualified names of the services added, reported in health.
    names: Vec<&'static str>,
    health: HealthReporter,
}

impl std::fmt::Debug for MeshServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeshServer").field("options", &self.options).field("services", &self.names).finish()
    }
}

impl MeshServer {
    /// A server with only health (reporting the empty "whole server" name) so far.
    pub fn new(options: ServerOptions) -> Self {
        let (health, health_service) = tonic_health::server::health_reporter();
        let mut routes = RoutesBuilder::default();
        routes.add_service(health_service);
        Self { options, routes, names: Vec::new(), health }
    }

    /// Adds a generated tonic service (`PowerServiceServer::new(..)`); it is
    /// reported SERVING in health once the server starts.
    pub fn add_service<S>(mut self, service: S) -> Self
    where
        S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.routes.add_service(service);
        self.names.push(S::NAME);
        self
    }

    /// A handle to set health statuses, e.g. NOT_SERVING while a dependency is
    /// down; cloneable and usable after `serve` starts.
    pub fn health_reporter(&self) -> HealthReporter {
        self.health.clone()
    }

    /// Serves on `listener` (bind port 0 in tests) until `shutdown` resolves, then
    /// reports NOT_SERVING and drains in-flight requests.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), MeshError> {
        let MeshServer { options, mut routes, names, health } = self;
        for name in &names {
            health.set_service_status(*name, ServingStatus::Serving).await;
        }
        routes.add_service(
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(ferric_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .build_v1()
                .map_err(MeshError::Reflection)?,
        );
        routes.add_service(
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(ferric_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .build_v1alpha()
                .map_err(MeshError::Reflection)?,
        );

        let mut builder = Server::builder();
        if let Some(tls) = &options.tls {
            builder = builder.tls_config(tls.server_config().await?).map_err(MeshError::Transport)?;
        }
        let addr = listener.local_addr().map_err(MeshError::Listener)?;
        tracing::info!(kind = %options.kind, instance = %options.instance_id, %addr, tls = options.tls.is_some(), services = ?names, "gRPC server listening");

        let drain = async move {
            shutdown.await;
            health.set_service_status("", ServingStatus::NotServing).await;
            for name in &names {
                health.set_service_status(*name, ServingStatus::NotServing).await;
            }
            tracing::info!(%addr, "gRPC server shutting down");
        };
        builder
            // Outermost: traces and counts every request, including rejected ones.
            .layer(ferric_telemetry::grpc_layer(options.instance_id.clone()))
            // Inside the span: handlers see the caller's deadline (see `deadline`).
            .layer(DeadlineLayer)
            .add_routes(routes.routes())
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), drain)
            .await
            .map_err(MeshError::Transport)
    }
}
