//! Virtual media (Ironic 1.89): attach an image to a node's BMC as a CD or USB
//! device, or detach it. Only the Redfish management interface can do it, as
//! in Ironic (its `FakeManagement` has no virtual media); what is attached is
//! recorded in the node's `driver_internal_info` so `GET .../vmedia` can show it.

use ferric_model::hardware::InterfaceKind;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::engine::Engine;
use crate::error::{DeployError, Result};
use crate::interfaces::interface;

/// Where attachments are recorded in `driver_internal_info`.
pub const VMEDIA_KEY: &str = "vmedia";
/// The device types Ironic accepts (`boot_devices.VMEDIA_DEVICES`).
pub const DEVICE_TYPES: &[&str] = &["cdrom", "floppy", "disk"];

impl Engine {
    /// Attaches `image_url` as `device_type` (Ironic's `attach_virtual_media`).
    pub async fn attach_virtual_media(
        &self,
        uuid: Uuid,
        device_type: &str,
        image_url: &str,
        source: &str,
    ) -> Result<()> {
        if !DEVICE_TYPES.contains(&device_type) {
            return Err(DeployError::InvalidArgument(format!(
                "Invalid device type {device_type} (valid are {})",
                DEVICE_TYPES.join(", ")
            )));
        }
        let mut task = self.acquire(uuid).await?;
        let result = async {
            self.require_redfish(&task.node, "attach_virtual_media")?;
            self.power.insert_virtual_media(&task.node, device_type, image_url).await?;
            let entry =
                json!({"device_type": device_type, "image_url": image_url, "image_download_source": source});
            update_attachments(&mut task.node.driver_internal_info, |attached| {
                attached.insert(device_type.to_owned(), entry);
            });
            task.save().await
        }
        .await;
        task.release().await;
        result
    }

    /// Detaches `device_types`, or everything attached when empty.
    pub async fn detach_virtual_media(&self, uuid: Uuid, device_types: &[String]) -> Result<()> {
        if let Some(bad) = device_types.iter().find(|d| !DEVICE_TYPES.contains(&d.as_str())) {
            return Err(DeployError::InvalidArgument(format!(
                "Invalid device type(s) {bad} (valid are {})",
                DEVICE_TYPES.join(", ")
            )));
        }
        let mut task = self.acquire(uuid).await?;
        let result = async {
            self.require_redfish(&task.node, "detach_virtual_media")?;
            let wanted: Vec<String> = if device_types.is_empty() {
                DEVICE_TYPES.iter().map(|d| (*d).to_owned()).collect()
            } else {
                device_types.to_vec()
            };
            for device in &wanted {
                self.power.eject_virtual_media(&task.node, device).await?;
                update_attachments(&mut task.node.driver_internal_info, |attached| {
                    attached.remove(device);
                });
            }
            task.save().await
        }
        .await;
        task.release().await;
        result
    }

    fn require_redfish(&self, node: &ferric_model::Node, what: &str) -> Result<()> {
        if interface(node, InterfaceKind::Management) == "redfish" {
            Ok(())
        } else {
            Err(DeployError::Unsupported(format!(
                "Driver {} does not support {what} (disabled or not implemented).",
                node.driver
            )))
        }
    }
}

/// Changes the attachments recorded in `driver_internal_info`.
fn update_attachments(info: &mut Map<String, Value>, change: impl FnOnce(&mut Map<String, Value>)) {
    let mut attached = match info.remove(VMEDIA_KEY) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    change(&mut attached);
    info.insert(VMEDIA_KEY.to_owned(), Value::Object(attached));
}
