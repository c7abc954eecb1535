//! `ferric.v1.BootNetworkService`: registrations in, leases out. Thin: checks
//! and conversion live in [`crate::convert`], state in [`crate::registry`] and
//! [`crate::dhcp::lease`].

use ferric_proto::v1::boot_network_service_server::BootNetworkService;
use ferric_proto::v1::{
    ListLeasesRequest, ListLeasesResponse, RegisterNodeRequest, RegisterNodeResponse, RemoveNodeRequest,
    RemoveNodeResponse, ReplaceNodeRequest, ReplaceNodeResponse,
};
use tonic::{Request, Response, Status};

use crate::convert;
use crate::dhcp::lease::LeaseDb;
use crate::registry::Registry;

/// The gRPC face of the boot network.
#[derive(Clone)]
pub struct BootNetworkGrpc {
    registry: Registry,
    leases: LeaseDb,
}

impl BootNetworkGrpc {
    /// Serves `registry` and `leases`.
    pub fn new(registry: Registry, leases: LeaseDb) -> Self {
        Self { registry, leases }
    }
}

#[tonic::async_trait]
impl BootNetworkService for BootNetworkGrpc {
    #[tracing::instrument(skip_all, fields(node))]
    async fn register_node(
        &self,
        request: Request<RegisterNodeRequest>,
    ) -> Result<Response<RegisterNodeResponse>, Status> {
        let request = request.into_inner();
        let node = convert::node_from_proto(request.node, request.config)?;
        tracing::Span::current().record("node", node.uuid.as_str());
        self.registry.register(node).await?;
        Ok(Response::new(RegisterNodeResponse {}))
    }

    #[tracing::instrument(skip_all, fields(node))]
    async fn replace_node(
        &self,
        request: Request<ReplaceNodeRequest>,
    ) -> Result<Response<ReplaceNodeResponse>, Status> {
        let request = request.into_inner();
        let node = convert::node_from_proto(request.node, request.config)?;
        tracing::Span::current().record("node", node.uuid.as_str());
        self.registry.replace(node).await?;
        Ok(Response::new(ReplaceNodeResponse {}))
    }

    #[tracing::instrument(skip_all, fields(node))]
    async fn remove_node(
        &self,
        request: Request<RemoveNodeRequest>,
    ) -> Result<Response<RemoveNodeResponse>, Status> {
        let uuid = convert::node_uuid(request.into_inner().node)?;
        tracing::Span::current().record("node", uuid.as_str());
        let removed = self.registry.remove(&uuid).await?;
        Ok(Response::new(RemoveNodeResponse { removed }))
    }

    async fn list_leases(
        &self,
        request: Request<ListLeasesRequest>,
    ) -> Result<Response<ListLeasesResponse>, Status> {
        let wanted = match request.into_inner().node {
            Some(node) => Some(convert::node_uuid(Some(node))?),
            None => None,
        };
        let mut leases = Vec::new();
        for lease in self.leases.list() {
            let node = self.registry.lookup(&lease.client);
            let node = node.as_ref().map(|n| &n.record);
            if wanted.as_ref().is_some_and(|uuid| node.is_none_or(|n| &n.uuid != uuid)) {
                continue;
            }
            leases.push(convert::lease_to_proto(&lease, node));
        }
        Ok(Response::new(ListLeasesResponse { leases }))
    }
}
