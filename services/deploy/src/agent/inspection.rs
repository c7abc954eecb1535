//! In-band inspection: the ramdisk's inventory arrives through Ironic's
//! `POST /v1/continue_inspection` (1.84), booted with
//! `ipa-inspection-callback-url` by the `agent` inspect interface.
//!
//! The node is found by the MACs of the inventory's interfaces (its ports) or by
//! the BMC address the agent read, and must be in `inspect wait`; anything else
//! is the same NOT_FOUND, as lookup answers. The inventory is kept whole for
//! `GET /v1/nodes/{node}/inventory`, the scheduling properties Ironic's standard
//! hooks derive from it are set (`cpus`, `cpu_arch`, `memory_mb`, `local_gb`),
//! and the node is powered off and becomes `manageable`.

use chrono::Utc;
use ferric_catalog::NodeInventoryRecord;
use ferric_model::json::Object;
use ferric_model::node_settings::NodeInventory;
use ferric_model::state::PowerTarget;
use ferric_model::{Node, ProvisionEvent, ProvisionState};
use ferric_store::records::Collection;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::engine::Engine;
use crate::error::{DeployError, Result};
use crate::flows::power_action;

/// Ironic reports `local_gb` as the root disk's size in GiB less one, leaving room
/// for a partition table.
const GIB: u64 = 1 << 30;

impl Engine {
    /// Processes an inspection callback; returns the inspected node.
    pub async fn continue_inspection(
        &self,
        inventory: Object,
        plugin_data: Object,
        uuid: Option<Uuid>,
    ) -> Result<Node> {
        let macs = inventory_macs(&inventory);
        if macs.is_empty() {
            return Err(DeployError::InvalidArgument(
                "The inventory has no interfaces with a MAC address".into(),
            ));
        }
        let not_found = || DeployError::NodeNotFound(format!("with addresses {}", macs.join(",")));
        let uuid = match uuid {
            Some(uuid) => uuid,
            None => match self.node_with_port(&macs).await? {
                Some(uuid) => uuid,
                None => self.node_with_bmc(&inventory).await?.ok_or_else(not_found)?,
            },
        };
        if self.node(&uuid.to_string()).await?.record.provision_state != ProvisionState::InspectWait {
            return Err(not_found());
        }
        let mut task = self.acquire(uuid).await?;
        if task.state() != ProvisionState::InspectWait {
            task.release().await;
            return Err(not_found());
        }
        let record = NodeInventoryRecord(NodeInventory { uuid, inventory, plugin_data });
        let inventories = Collection::<NodeInventoryRecord>::new(self.store.clone());
        let kept = match inventories.get(&uuid.to_string()).await? {
            Some(old) => inventories.update(&record, old.mod_revision).await.map(drop),
            None => inventories.create(&record).await.map(drop),
        };
        if let Err(error) = kept {
            task.release().await;
            return Err(error.into());
        }
        for (key, value) in properties_from_inventory(&record.inventory) {
            task.node.properties.insert(key, value);
        }
        let finished = async {
            power_action(&mut task, PowerTarget::Off).await?;
            task.engine.netboot.remove(&task.node).await;
            crate::agent::steps::forget_agent(&mut task.node);
            task.node.driver_internal_info.remove("inspect_ramdisk_booted");
            task.node.inspection_finished_at = Some(Utc::now());
            task.process_event(ProvisionEvent::Done).await
        }
        .await;
        if let Err(error) = finished {
            let failed = task.fail(format!("Inspection of node {uuid} failed: {error}")).await;
            task.release().await;
            failed?;
            return Err(error);
        }
        let node = task.node.0.clone();
        task.release().await;
        tracing::info!(node = %uuid, "in-band inspection finished");
        Ok(node)
    }

    /// The node whose BMC address is the one the agent read from its BMC.
    async fn node_with_bmc(&self, inventory: &Object) -> Result<Option<Uuid>> {
        let Some(bmc) = inventory.get("bmc_address").and_then(Value::as_str).filter(|a| !a.is_empty()) else {
            return Ok(None);
        };
        let nodes = self.nodes.list(None, 0).await?;
        let found = nodes.items.iter().find(|stored| {
            let info = &stored.record.driver_info;
            ["ipmi_address", "redfish_address"]
                .iter()
                .filter_map(|k| info.get(*k).and_then(Value::as_str))
                .any(|address| address_host(address) == bmc)
        });
        Ok(found.map(|stored| stored.record.uuid))
    }
}

/// The host part of a BMC address (`https://10.0.0.5:8000/...` → `10.0.0.5`).
fn address_host(address: &str) -> &str {
    let rest = address.split_once("://").map_or(address, |(_, rest)| rest);
    let host = rest.split('/').next().unwrap_or(rest);
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) && !name.contains(':') => name,
        _ => host,
    }
}

/// Every MAC address the inventory's interfaces report.
pub fn inventory_macs(inventory: &Object) -> Vec<String> {
    inventory
        .get("interfaces")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| i.get("mac_address").and_then(Value::as_str))
        .filter(|mac| !mac.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The scheduling properties Ironic's standard inspection hooks set.
pub fn properties_from_inventory(inventory: &Object) -> Object {
    let mut properties = Object::new();
    let cpu = inventory.get("cpu");
    if let Some(count) = cpu.and_then(|c| c.get("count")).and_then(Value::as_u64) {
        properties.insert("cpus".into(), json!(count));
    }
    if let Some(arch) = cpu.and_then(|c| c.get("architecture")).and_then(Value::as_str) {
        properties.insert("cpu_arch".into(), json!(arch));
    }
    let memory = inventory.get("memory");
    if let Some(mb) = memory.and_then(|m| m.get("physical_mb")).and_then(Value::as_u64) {
        properties.insert("memory_mb".into(), json!(mb));
    }
    let disks = inventory.get("disks").and_then(Value::as_array);
    let root = disks
        .into_iter()
        .flatten()
        .filter_map(|d| d.get("size").and_then(Value::as_u64))
        .filter(|s| *s >= 4 * GIB)
        .min();
    if let Some(size) = root {
        properties.insert("local_gb".into(), json!(size / GIB - 1));
    }
    properties
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_come_from_cpu_memory_and_the_smallest_usable_disk() {
        let inventory: Object = serde_json::from_value(json!({
            "cpu": {"count": 8, "architecture": "x86_64", "model_name": "Xeon"},
            "memory": {"total": 17179869184u64, "physical_mb": 16384},
            "disks": [
                {"name": "/dev/sda", "size": 1u64 << 30},
                {"name": "/dev/sdb", "size": 500107862016u64},
                {"name": "/dev/sdc", "size": 64424509440u64}
            ],
            "interfaces": [{"name": "eth0", "mac_address": "52:54:00:12:34:56"}]
        }))
        .unwrap();
        let properties = properties_from_inventory(&inventory);
        assert_eq!(properties["cpus"], 8);
        assert_eq!(properties["cpu_arch"], "x86_64");
        assert_eq!(properties["memory_mb"], 16384);
        assert_eq!(properties["local_gb"], 59, "60 GiB disk, one GiB left for partitioning");
        assert_eq!(inventory_macs(&inventory), ["52:54:00:12:34:56"]);
    }

    #[test]
    fn bmc_hosts_are_read_from_urls_and_plain_addresses() {
        assert_eq!(address_host("10.0.0.5"), "10.0.0.5");
        assert_eq!(address_host("https://10.0.0.5:8000/redfish/v1"), "10.0.0.5");
        assert_eq!(address_host("bmc.example.com:623"), "bmc.example.com");
        assert_eq!(address_host("fd00::5"), "fd00::5");
    }
}
