//! Ferric's keyspace: every resource the API stores, as a store
//! [`Record`](ferric_store::records::Record) with its kind and unique keys.
//!
//! The gateway and the conductor both read and write node and port records; if
//! each declared its own kinds and unique keys they could disagree, and a name
//! could end up claimed twice. This crate is the one declaration. The model's
//! types stay free of storage concerns, so each is wrapped in a transparent
//! newtype here (same JSON, plus the record identity).
//!
//! Unique keys mirror Ironic's database constraints: node `name` and
//! `instance_uuid`, port `address` and `name`, portgroup `name` and `address`,
//! and the `name` of allocations, deploy templates and runbooks.

use ferric_model::node_settings::{NodeBios, NodeFirmware, NodeInventory};
use ferric_model::{
    Allocation, Chassis, DeployTemplate, InspectionRule, Node, Port, Portgroup, Runbook, VolumeConnector,
    VolumeTarget,
};
use ferric_store::records::Record;
use serde::{Deserialize, Serialize};

/// Declares a transparent record newtype with its kind and unique keys.
macro_rules! record {
    ($(#[$doc:meta])* $name:ident($inner:ty), $kind:literal, |$this:ident| $uniques:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl Record for $name {
            const KIND: &'static str = $kind;

            fn id(&self) -> String {
                self.0.uuid.to_string()
            }

            fn unique_keys(&self) -> Vec<(&'static str, String)> {
                let $this = &self.0;
                $uniques
            }
        }

        impl std::ops::Deref for $name {
            type Target = $inner;

            fn deref(&self) -> &$inner {
                &self.0
            }
        }

        impl std::ops::DerefMut for $name {
            fn deref_mut(&mut self) -> &mut $inner {
                &mut self.0
            }
        }
    };
}

/// Collects the unique keys whose values are set.
fn present<const N: usize>(keys: [(&'static str, Option<String>); N]) -> Vec<(&'static str, String)> {
    keys.into_iter().filter_map(|(index, value)| value.map(|v| (index, v))).collect()
}

record!(
    /// A node; its name and instance UUID are unique, as in Ironic.
    NodeRecord(Node), "nodes",
    |node| present([("name", node.name.clone()), ("instance_uuid", node.instance_uuid.map(|u| u.to_string()))])
);

record!(
    /// A port; its MAC address (lower-cased by validation) and name are unique.
    PortRecord(Port), "ports",
    |port| present([("address", Some(port.address.clone())), ("name", port.name.clone())])
);

record!(
    /// A portgroup; its name and MAC address are unique.
    PortgroupRecord(Portgroup), "portgroups",
    |group| present([("name", group.name.clone()), ("address", group.address.clone())])
);

record!(
    /// A chassis.
    ChassisRecord(Chassis), "chassis",
    |_chassis| Vec::new()
);

record!(
    /// An allocation; its name is unique.
    AllocationRecord(Allocation), "allocations",
    |allocation| present([("name", allocation.name.clone())])
);

record!(
    /// A deploy template; its name is unique.
    DeployTemplateRecord(DeployTemplate), "deploy_templates",
    |template| present([("name", Some(template.name.clone()))])
);

record!(
    /// A runbook; its name is unique.
    RunbookRecord(Runbook), "runbooks",
    |runbook| present([("name", Some(runbook.name.clone()))])
);

record!(
    /// A volume connector; a (type, connector id) pair is unique.
    VolumeConnectorRecord(VolumeConnector), "volume_connectors",
    |connector| present([("type_connector", Some(format!("{:?}:{}", connector.connector_type, connector.connector_id)))])
);

record!(
    /// A volume target; a (node, boot index) pair is unique.
    VolumeTargetRecord(VolumeTarget), "volume_targets",
    |target| present([("node_boot_index", Some(format!("{}:{}", target.node_uuid, target.boot_index)))])
);

record!(
    /// A node's cached BIOS settings, keyed by the node's UUID.
    NodeBiosRecord(NodeBios), "node_bios",
    |_bios| Vec::new()
);

record!(
    /// A node's cached firmware components, keyed by the node's UUID.
    NodeFirmwareRecord(NodeFirmware), "node_firmware",
    |_firmware| Vec::new()
);

record!(
    /// A node's last in-band inventory, keyed by the node's UUID.
    NodeInventoryRecord(NodeInventory), "node_inventory",
    |_inventory| Vec::new()
);

record!(
    /// An inspection rule.
    InspectionRuleRecord(InspectionRule), "inspection_rules",
    |_rule| Vec::new()
);

/// The lock name of a node: its exclusive holder is the node's `reservation`.
pub fn node_lock(uuid: &str) -> String {
    format!("nodes/{uuid}")
}
