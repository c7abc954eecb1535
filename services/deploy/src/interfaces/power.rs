//! Power and management interfaces: `fake` keeps the power state in the node
//! record and answers instantly (Ironic's `FakePower` / `FakeManagement`); `ipmitool`
//! and `redfish` call the power service over gRPC with the node's `driver_info`.
//!
//! The power service is found through the store; when no instance is registered
//! the mesh answers UNAVAILABLE at once, which becomes [`DeployError::Unavailable`].

use std::time::Duration;

use ferric_mesh::ServiceClient;
use ferric_model::hardware::InterfaceKind;
use ferric_model::state::{BootDevice, PowerTarget};
use ferric_model::{Node, PowerState};
use ferric_proto::convert;
use ferric_proto::v1::power_service_client::PowerServiceClient;
use ferric_proto::v1::{self, BmcTarget, NodeRef};
use tonic::Code;

use super::interface;
use crate::error::{DeployError, Result};

/// Which implementation drives a node's power and management.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Driver {
    /// State in the record, no BMC.
    Fake,
    /// The power service with this `BmcTarget.driver`.
    Bmc(&'static str),
}

fn driver(node: &Node) -> Result<Driver> {
    match interface(node, InterfaceKind::Power).as_str() {
        "fake" => Ok(Driver::Fake),
        "ipmitool" => Ok(Driver::Bmc("ipmi")),
        "redfish" => Ok(Driver::Bmc("redfish")),
        other => Err(DeployError::Unsupported(format!("power interface {other:?} is not supported"))),
    }
}

/// What a validation of power and management found.
#[derive(Debug, Clone)]
pub struct Validation {
    /// Power interface: `Ok` or why not.
    pub power: std::result::Result<(), String>,
    /// Management interface: `Ok` or why not.
    pub management: std::result::Result<(), String>,
}

/// Power and management for every node.
#[derive(Clone)]
pub struct Power {
    client: Option<ServiceClient>,
}

impl Power {
    /// Power through `client` (the discovered power service), or fake only when
    /// `None` (unit tests without a mesh).
    pub fn new(client: Option<ServiceClient>) -> Self {
        Self { client }
    }

    fn bmc(
        &self,
        node: &Node,
        name: &'static str,
    ) -> Result<(PowerServiceClient<ServiceClient>, Option<NodeRef>, Option<BmcTarget>)> {
        let client = self
            .client
            .clone()
            .ok_or_else(|| DeployError::Unavailable("no power service instance is registered".into()))?;
        let target = BmcTarget {
            driver: name.to_owned(),
            driver_info: Some(ferric_proto::json::struct_from_map(node.driver_info.clone())),
        };
        Ok((PowerServiceClient::new(client), Some(NodeRef::new(node.uuid.to_string())), Some(target)))
    }

    /// Performs `target` and returns the power state reached.
    pub async fn set_power(&self, node: &Node, target: PowerTarget, timeout: Duration) -> Result<PowerState> {
        match driver(node)? {
            Driver::Fake => Ok(target.target_state()),
            Driver::Bmc(name) => {
                let (mut client, node_ref, bmc) = self.bmc(node, name)?;
                let request = v1::SetPowerStateRequest {
                    node: node_ref,
                    bmc,
                    action: convert::power_target_to_proto(target) as i32,
                    timeout: Some(prost_types::Duration {
                        seconds: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
                        nanos: 0,
                    }),
                };
                let mut request = tonic::Request::new(request);
                request.set_timeout(timeout + Duration::from_secs(5));
                let reply = client.set_power_state(request).await.map_err(status_error)?.into_inner();
                Ok(convert::power_state_from_proto(reply.power_state).unwrap_or(target.target_state()))
            }
        }
    }

    /// Reads the power state: the record's for fake, the BMC's otherwise.
    pub async fn get_power(&self, node: &Node) -> Result<Option<PowerState>> {
        match driver(node)? {
            Driver::Fake => Ok(node.power_state),
            Driver::Bmc(name) => {
                let (mut client, node, bmc) = self.bmc(node, name)?;
                let reply = client
                    .get_power_state(v1::GetPowerStateRequest { node, bmc })
                    .await
                    .map_err(status_error)?
                    .into_inner();
                Ok(convert::power_state_from_proto(reply.power_state))
            }
        }
    }

    /// Sets the next boot device.
    pub async fn set_boot_device(&self, node: &Node, device: BootDevice, persistent: bool) -> Result<()> {
        match driver(node)? {
            Driver::Fake => {
                if device == BootDevice::Pxe || device == BootDevice::Disk {
                    Ok(())
                } else {
                    Err(DeployError::Unsupported(format!("Invalid boot device {device} specified.")))
                }
            }
            Driver::Bmc(name) => {
                let (mut client, node, bmc) = self.bmc(node, name)?;
                let request = v1::SetBootDeviceRequest {
                    node,
                    bmc,
                    boot_device: convert::boot_device_to_proto(device) as i32,
                    persistent,
                    boot_mode: v1::BootMode::Unspecified as i32,
                };
                client.set_boot_device(request).await.map_err(status_error)?;
                Ok(())
            }
        }
    }

    /// Sends a non-maskable interrupt: Ironic's fake does nothing.
    pub async fn inject_nmi(&self, node: &Node) -> Result<()> {
        match driver(node)? {
            Driver::Fake => Ok(()),
            Driver::Bmc(name) => {
                let (mut client, node, bmc) = self.bmc(node, name)?;
                client.inject_nmi(v1::InjectNmiRequest { node, bmc }).await.map_err(status_error)?;
                Ok(())
            }
        }
    }

    /// Inserts `image_url` into the BMC's virtual `device` (`cdrom` is a CD,
    /// `floppy` and `disk` a USB stick, as Redfish names them).
    pub async fn insert_virtual_media(&self, node: &Node, device: &str, image_url: &str) -> Result<()> {
        match driver(node)? {
            Driver::Fake => {
                Err(DeployError::Unsupported(format!("Driver {} has no virtual media.", node.driver)))
            }
            Driver::Bmc(name) => {
                let (mut client, node, bmc) = self.bmc(node, name)?;
                let request = v1::InsertVirtualMediaRequest {
                    node,
                    bmc,
                    kind: media_kind(device) as i32,
                    image_url: image_url.to_owned(),
                };
                client.insert_virtual_media(request).await.map_err(status_error)?;
                Ok(())
            }
        }
    }

    /// Ejects whatever is in the BMC's virtual `device`.
    pub async fn eject_virtual_media(&self, node: &Node, device: &str) -> Result<()> {
        match driver(node)? {
            Driver::Fake => {
                Err(DeployError::Unsupported(format!("Driver {} has no virtual media.", node.driver)))
            }
            Driver::Bmc(name) => {
                let (mut client, node, bmc) = self.bmc(node, name)?;
                let request = v1::EjectVirtualMediaRequest { node, bmc, kind: media_kind(device) as i32 };
                client.eject_virtual_media(request).await.map_err(status_error)?;
                Ok(())
            }
        }
    }

    /// Reads the next boot device: Ironic's fake always answers PXE, not persistent.
    pub async fn get_boot_device(&self, node: &Node) -> Result<(Option<BootDevice>, Option<bool>)> {
        match driver(node)? {
            Driver::Fake => Ok((Some(BootDevice::Pxe), Some(false))),
            Driver::Bmc(name) => {
                let (mut client, node, bmc) = self.bmc(node, name)?;
                let reply = client
                    .get_boot_device(v1::GetBootDeviceRequest { node, bmc })
                    .await
                    .map_err(status_error)?
                    .into_inner();
                Ok((convert::boot_device_from_proto(reply.boot_device), reply.persistent))
            }
        }
    }

    /// The boot devices the management interface can set: `[pxe]` for fake, as
    /// Ironic's `FakeManagement` reports.
    pub async fn supported_boot_devices(&self, node: &Node) -> Result<Vec<BootDevice>> {
        match driver(node)? {
            Driver::Fake => Ok(vec![BootDevice::Pxe]),
            Driver::Bmc(name) => {
                let (mut client, node, bmc) = self.bmc(node, name)?;
                let reply = client
                    .get_supported_boot_devices(v1::GetSupportedBootDevicesRequest { node, bmc })
                    .await
                    .map_err(status_error)?
                    .into_inner();
                Ok(reply.boot_devices.into_iter().filter_map(convert::boot_device_from_proto).collect())
            }
        }
    }

    /// Validates power and management without touching the BMC.
    pub async fn validate(&self, node: &Node) -> Result<Validation> {
        match driver(node) {
            Err(error) => {
                Ok(Validation { power: Err(error.to_string()), management: Err(error.to_string()) })
            }
            Ok(Driver::Fake) => Ok(Validation { power: Ok(()), management: Ok(()) }),
            Ok(Driver::Bmc(name)) => {
                let (mut client, node, bmc) = self.bmc(node, name)?;
                let reply = client
                    .validate(v1::ValidateRequest { node, bmc })
                    .await
                    .map_err(status_error)?
                    .into_inner();
                let verdict = |v: Option<v1::InterfaceValidation>| match v {
                    Some(v1::InterfaceValidation { result: Some(false), reason }) => Err(reason),
                    _ => Ok(()),
                };
                Ok(Validation { power: verdict(reply.power), management: verdict(reply.management) })
            }
        }
    }
}

/// A service's refusal as this service's error: UNAVAILABLE stays
/// retryable, everything else is a driver failure with its message.
pub(super) fn status_error(status: tonic::Status) -> DeployError {
    match status.code() {
        Code::Unavailable => DeployError::Unavailable(status.message().to_owned()),
        Code::InvalidArgument | Code::Unimplemented => DeployError::Unsupported(status.message().to_owned()),
        _ => DeployError::Driver(status.message().to_owned()),
    }
}

/// The Redfish media kind for an Ironic virtual media device type.
fn media_kind(device: &str) -> v1::VirtualMediaKind {
    if device == "cdrom" { v1::VirtualMediaKind::Cd } else { v1::VirtualMediaKind::Usb }
}
