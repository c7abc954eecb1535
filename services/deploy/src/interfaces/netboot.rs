//! The `pxe` and `ipxe` boot interfaces: what a node netboots into is a
//! registration in the boot-network service (bootnet), made over its gRPC
//! contract — the conductor never writes DHCP or TFTP state itself.
//!
//! Booting the ramdisk registers every PXE-enabled port's MAC with the deploy
//! kernel and ramdisk of `driver_info` and the kernel command line the agent
//! needs (`ipa-api-url`, plus `kernel_append_params`); preparing the instance
//! switches the registration to local-disk boot, and tearing down removes it, as
//! Ironic's PXE interface writes and cleans its per-MAC configs.

use std::sync::Arc;

use ferric_catalog::PortRecord;
use ferric_mesh::ServiceClient;
use ferric_model::hardware::InterfaceKind;
use ferric_model::state::BootMode;
use ferric_model::{Node, ProvisionState};
use ferric_proto::v1::boot_network_service_client::BootNetworkServiceClient;
use ferric_proto::v1::{self, NetbootConfig, NetbootMode, NodeRef};
use ferric_store::DynStore;
use ferric_store::records::{Collection, Versioned};
use ferric_store::view::{self, PrefixView};
use serde_json::Value;
use tokio::sync::OnceCell;
use tonic::Code;

use super::{interface, power::status_error};
use crate::error::{DeployError, Result};

/// What the conductor tells every ramdisk, besides the node's own parameters.
#[derive(Debug, Clone, Default)]
pub struct RamdiskParams {
    /// The API the agent looks itself up at (`ipa-api-url`); without it an
    /// agent could never call back, so netboot refuses to boot the ramdisk.
    pub api_url: Option<String>,
    /// Appended to every ramdisk's kernel command line unless the node's
    /// `driver_info.kernel_append_params` replaces it (Ironic's
    /// `[pxe]kernel_append_params`).
    pub kernel_append_params: String,
}

/// Netboot registrations through the discovered bootnet service.
#[derive(Clone)]
pub struct Netboot {
    client: Option<ServiceClient>,
    params: RamdiskParams,
    /// Every port, kept current by a watch once the first node boots: a boot
    /// reads its node's MACs from memory instead of decoding every port in the
    /// store (which made a fleet's boots quadratic in its size: 14% of the
    /// conductor's CPU at 1000 machines).
    ports: Arc<OnceCell<PrefixView<Versioned<PortRecord>>>>,
}

impl Netboot {
    /// Netboot through `client`; `None` (unit tests without a mesh) refuses every
    /// node whose boot interface needs the boot network.
    pub fn new(client: Option<ServiceClient>, params: RamdiskParams) -> Self {
        Self { client, params, ports: Arc::new(OnceCell::new()) }
    }

    /// Whether the node boots through the boot network at all (not `fake`, not
    /// virtual media).
    pub fn applies(node: &Node) -> bool {
        matches!(interface(node, InterfaceKind::Boot).as_str(), "pxe" | "ipxe")
    }

    /// Registers the node to boot the ramdisk its provision state calls for.
    pub async fn boot_ramdisk(&self, node: &Node, store: &DynStore) -> Result<()> {
        if !Self::applies(node) {
            return Ok(());
        }
        let mode = match node.provision_state {
            ProvisionState::Rescuing | ProvisionState::RescueWait => NetbootMode::Rescue,
            ProvisionState::Inspecting | ProvisionState::InspectWait => NetbootMode::Inspect,
            _ => NetbootMode::Deploy,
        };
        let (kernel_key, ramdisk_key) = match mode {
            NetbootMode::Rescue => ("rescue_kernel", "rescue_ramdisk"),
            _ => ("deploy_kernel", "deploy_ramdisk"),
        };
        let kernel_url = self.required(node, kernel_key)?;
        let ramdisk_url = self.required(node, ramdisk_key)?;
        let api_url = self.params.api_url.as_deref().ok_or_else(|| {
            DeployError::Driver(
                "No API URL for the agent: set deploy.api_url (or gateway.public_url) so the ramdisk can call back"
                    .into(),
            )
        })?;
        let config = NetbootConfig {
            macs: self.pxe_macs(node, store).await?,
            mode: mode as i32,
            kernel_url,
            ramdisk_url,
            kernel_args: self.kernel_args(node, api_url, mode),
            boot_mode: boot_mode(node) as i32,
        };
        self.replace(node, config).await
    }

    /// Registers the node to boot from its local disk from now on.
    pub async fn boot_local(&self, node: &Node, store: &DynStore) -> Result<()> {
        if !Self::applies(node) {
            return Ok(());
        }
        let config = NetbootConfig {
            macs: self.pxe_macs(node, store).await?,
            mode: NetbootMode::Local as i32,
            boot_mode: boot_mode(node) as i32,
            ..NetbootConfig::default()
        };
        self.replace(node, config).await
    }

    /// Forgets the node's registration: its MACs get an address at most. Best
    /// effort: a registration left behind only netboots a ramdisk that finds no
    /// work, and the next boot of the node replaces it.
    pub async fn remove(&self, node: &Node) {
        if !Self::applies(node) {
            return;
        }
        let request = v1::RemoveNodeRequest { node: Some(NodeRef::new(node.uuid.to_string())) };
        let removed = match self.client() {
            Ok(mut client) => client.remove_node(request).await.map(drop).map_err(status_error),
            Err(error) => Err(error),
        };
        if let Err(error) = removed {
            tracing::warn!(node = %node.uuid, %error, "could not remove the node's netboot registration");
        }
    }

    async fn replace(&self, node: &Node, config: NetbootConfig) -> Result<()> {
        if config.macs.is_empty() {
            return Err(DeployError::Driver(format!(
                "Node {} has no PXE-enabled port: nothing could netboot it",
                node.uuid
            )));
        }
        let mut client = self.client()?;
        let node_ref = Some(NodeRef::new(node.uuid.to_string()));
        // Replace what is registered; register when nothing is. A registration
        // racing ours makes RegisterNode answer ALREADY_EXISTS: replace again.
        for _ in 0..2 {
            let replace = v1::ReplaceNodeRequest { node: node_ref.clone(), config: Some(config.clone()) };
            match client.replace_node(replace).await {
                Ok(_) => return Ok(()),
                Err(status) if status.code() == Code::NotFound => {}
                Err(status) => return Err(status_error(status)),
            }
            let register = v1::RegisterNodeRequest { node: node_ref.clone(), config: Some(config.clone()) };
            match client.register_node(register).await {
                Ok(_) => return Ok(()),
                Err(status) if status.code() == Code::AlreadyExists => continue,
                Err(status) => return Err(status_error(status)),
            }
        }
        Err(DeployError::Conflict(format!("the netboot registration of node {} keeps changing", node.uuid)))
    }

    /// The MACs of the node's PXE-enabled ports, from the watched view. A node
    /// the view shows no port for is read from the store itself: its port may
    /// have been created a moment ago, faster than the watch delivers.
    async fn pxe_macs(&self, node: &Node, store: &DynStore) -> Result<Vec<String>> {
        let view = self.ports.get_or_try_init(|| view::records::<PortRecord>(store.clone())).await?;
        let pxe =
            |port: &Versioned<PortRecord>| port.record.node_uuid == node.uuid && port.record.pxe_enabled;
        let macs: Vec<String> =
            view.snapshot().iter().filter(|p| pxe(p)).map(|p| p.record.address.clone()).collect();
        if !macs.is_empty() {
            return Ok(macs);
        }
        let ports = Collection::<PortRecord>::new(store.clone()).list(None, 0).await?;
        Ok(ports.items.iter().filter(|p| pxe(p)).map(|p| p.record.address.clone()).collect())
    }

    fn client(&self) -> Result<BootNetworkServiceClient<ServiceClient>> {
        self.client
            .clone()
            .map(BootNetworkServiceClient::new)
            .ok_or_else(|| DeployError::Unavailable("no boot network service instance is registered".into()))
    }

    fn required(&self, node: &Node, key: &str) -> Result<String> {
        match node.driver_info.get(key).and_then(Value::as_str).map(str::trim) {
            Some(url) if !url.is_empty() => Ok(url.to_owned()),
            _ => Err(DeployError::Driver(format!(
                "Cannot boot node {} over the network: driver_info/{key} is not set",
                node.uuid
            ))),
        }
    }

    /// `ipa-api-url=…` (plus the inspection callback when inspecting) and the
    /// append parameters: the node's own, else the conductor's.
    fn kernel_args(&self, node: &Node, api_url: &str, mode: NetbootMode) -> String {
        let append = node
            .driver_info
            .get("kernel_append_params")
            .and_then(Value::as_str)
            .unwrap_or(&self.params.kernel_append_params);
        let mut args = format!("ipa-api-url={api_url}");
        if mode == NetbootMode::Inspect {
            args.push_str(&format!(" ipa-inspection-callback-url={api_url}/v1/continue_inspection"));
        }
        for word in append.split_whitespace() {
            args.push(' ');
            args.push_str(word);
        }
        args
    }
}

/// The firmware the node boots with: `boot_mode`, else the `boot_mode`
/// capability, else either.
fn boot_mode(node: &Node) -> v1::BootMode {
    let capability = node
        .properties
        .get("capabilities")
        .and_then(Value::as_str)
        .and_then(|caps| caps.split(',').find_map(|kv| kv.trim().strip_prefix("boot_mode:")));
    match (node.boot_mode, capability) {
        (Some(BootMode::Uefi), _) | (None, Some("uefi")) => v1::BootMode::Uefi,
        (Some(BootMode::Bios), _) | (None, Some("bios")) => v1::BootMode::Bios,
        _ => v1::BootMode::Unspecified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(driver_info: Value) -> Node {
        let mut node = Node::new(uuid::Uuid::new_v4(), "ipmi", chrono::Utc::now(), ProvisionState::Enroll);
        node.driver_info = serde_json::from_value(driver_info).unwrap();
        node
    }

    #[test]
    fn kernel_args_carry_the_api_url_and_the_node_s_own_append_params() {
        let netboot = Netboot::new(
            None,
            RamdiskParams { api_url: None, kernel_append_params: "console=tty0  nofb".into() },
        );
        let plain = node(serde_json::json!({}));
        assert_eq!(
            netboot.kernel_args(&plain, "http://10.0.0.1:6385", NetbootMode::Deploy),
            "ipa-api-url=http://10.0.0.1:6385 console=tty0 nofb"
        );
        let own = node(serde_json::json!({"kernel_append_params": "console=ttyS0"}));
        assert_eq!(
            netboot.kernel_args(&own, "http://a", NetbootMode::Inspect),
            "ipa-api-url=http://a ipa-inspection-callback-url=http://a/v1/continue_inspection console=ttyS0"
        );
    }

    #[test]
    fn boot_mode_follows_the_field_then_the_capability() {
        let mut n = node(serde_json::json!({}));
        assert_eq!(boot_mode(&n), v1::BootMode::Unspecified);
        n.properties.insert("capabilities".into(), "foo:bar,boot_mode:uefi".into());
        assert_eq!(boot_mode(&n), v1::BootMode::Uefi);
        n.boot_mode = Some(BootMode::Bios);
        assert_eq!(boot_mode(&n), v1::BootMode::Bios);
    }

    #[tokio::test]
    async fn a_pxe_node_without_deploy_kernel_is_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let store: ferric_store::DynStore = std::sync::Arc::new(
            ferric_store::embedded::EmbeddedStore::open(dir.path().join("s.redb")).await.unwrap(),
        );
        let netboot =
            Netboot::new(None, RamdiskParams { api_url: Some("http://a".into()), ..Default::default() });
        let mut n = node(serde_json::json!({}));
        n.boot_interface = Some("ipxe".into());
        let error = netboot.boot_ramdisk(&n, &store).await.unwrap_err();
        assert!(error.to_string().contains("driver_info/deploy_kernel is not set"), "{error}");
        n.boot_interface = Some("fake".into());
        assert!(!Netboot::applies(&n));
    }
}
