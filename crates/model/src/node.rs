//! The node: one bare-metal machine and everything Ironic records about it.
//!
//! [`Node`] serializes to exactly the keys Ironic returns for `GET /v1/nodes/{id}`
//! at its newest microversion, in Ironic's order (transcript `13-node-create`), minus
//! the link keys the gateway renders. Older microversions see a subset; which one is
//! [`crate::microversion::fields`]'s business, not this struct's.
//!
//! Secrets live in `driver_info`, `instance_info` and `driver_internal_info`; use
//! [`Node::masked`] before a node leaves through the API or a log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::json::{Object, null_as_default, opt_timestamp, timestamp};
use crate::secrets::{self, SecretPolicy};
use crate::state::{BootMode, Health, PowerState, ProvisionState};

/// A bare-metal node, as Ironic's API shows it.
///
/// Fields are in Ironic's key order so serialization reproduces Ironic's bodies.
/// Dictionary fields are plain JSON objects: their contents are driver-defined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Identity; never changes.
    pub uuid: Uuid,
    /// When the node was enrolled.
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last change to the record, `null` until the first one.
    #[serde(with = "opt_timestamp", default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Whether automated cleaning runs; `null` defers to configuration (1.47).
    #[serde(default)]
    pub automated_clean: Option<bool>,
    /// BIOS settings interface (1.40).
    #[serde(default)]
    pub bios_interface: Option<String>,
    /// Boot interface, e.g. `ipxe` (1.31).
    #[serde(default)]
    pub boot_interface: Option<String>,
    /// The firmware boot mode last seen (1.75).
    #[serde(default)]
    pub boot_mode: Option<BootMode>,
    /// The clean step running now, `{}` when none (1.7).
    #[serde(default, deserialize_with = "null_as_default")]
    pub clean_step: Object,
    /// Conductor group: hard partition of conductors, `""` for the default (1.46).
    #[serde(default, deserialize_with = "null_as_default")]
    pub conductor_group: String,
    /// Whether the serial console is enabled.
    #[serde(default, deserialize_with = "null_as_default")]
    pub console_enabled: bool,
    /// Console interface (1.31).
    #[serde(default)]
    pub console_interface: Option<String>,
    /// Forbid powering off: reboots replace power cycles (1.95).
    #[serde(default, deserialize_with = "null_as_default")]
    pub disable_power_off: bool,
    /// Deploy interface, e.g. `direct` (1.31).
    #[serde(default)]
    pub deploy_interface: Option<String>,
    /// The deploy step running now, `{}` when none (1.44).
    #[serde(default, deserialize_with = "null_as_default")]
    pub deploy_step: Object,
    /// Free text (1.51).
    #[serde(default)]
    pub description: Option<String>,
    /// Hardware type, e.g. `redfish`.
    pub driver: String,
    /// How to reach the BMC; holds credentials, see [`Node::masked`].
    #[serde(default, deserialize_with = "null_as_default")]
    pub driver_info: Object,
    /// Conductor-private state (agent URL, token, step lists) (1.3).
    #[serde(default, deserialize_with = "null_as_default")]
    pub driver_internal_info: Object,
    /// Operator metadata.
    #[serde(default, deserialize_with = "null_as_default")]
    pub extra: Object,
    /// Why Ironic put the node into maintenance itself, e.g. `power failure` (1.42);
    /// a string so unknown kinds still load (see [`crate::state::Fault`]).
    #[serde(default)]
    pub fault: Option<String>,
    /// Firmware interface (1.86).
    #[serde(default)]
    pub firmware_interface: Option<String>,
    /// Hardware health from the BMC (1.109).
    #[serde(default)]
    pub health: Option<Health>,
    /// When the last inspection finished (1.6).
    #[serde(with = "opt_timestamp", default)]
    pub inspection_finished_at: Option<DateTime<Utc>>,
    /// When the last inspection started (1.6).
    #[serde(with = "opt_timestamp", default)]
    pub inspection_started_at: Option<DateTime<Utc>>,
    /// Inspect interface (1.31).
    #[serde(default)]
    pub inspect_interface: Option<String>,
    /// What to deploy (image, root size, config drive); may hold secrets.
    #[serde(default, deserialize_with = "null_as_default")]
    pub instance_info: Object,
    /// Display name of the deployed instance (1.104).
    #[serde(default)]
    pub instance_name: Option<String>,
    /// The instance (e.g. Nova server) deployed on the node.
    #[serde(default)]
    pub instance_uuid: Option<Uuid>,
    /// The error of the last operation that failed.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Project leasing the node (1.65).
    #[serde(default)]
    pub lessee: Option<String>,
    /// Whether the node is in maintenance: conductors leave it alone.
    #[serde(default, deserialize_with = "null_as_default")]
    pub maintenance: bool,
    /// Why it is in maintenance.
    #[serde(default)]
    pub maintenance_reason: Option<String>,
    /// Management interface (1.31).
    #[serde(default)]
    pub management_interface: Option<String>,
    /// Unique logical name, usable in URLs (1.5).
    #[serde(default)]
    pub name: Option<String>,
    /// Static network configuration for config drives (1.66).
    #[serde(default, deserialize_with = "null_as_default")]
    pub network_data: Object,
    /// Network interface, e.g. `flat` (1.20).
    #[serde(default)]
    pub network_interface: Option<String>,
    /// Owning project (1.50).
    #[serde(default)]
    pub owner: Option<String>,
    /// The node this one is a child of, e.g. a DPU's host (1.83).
    #[serde(default)]
    pub parent_node: Option<Uuid>,
    /// Power interface (1.31).
    #[serde(default)]
    pub power_interface: Option<String>,
    /// Last known power state; `null` when unknown.
    #[serde(default)]
    pub power_state: Option<PowerState>,
    /// Hardware properties used for scheduling (cpus, memory_mb, capabilities...).
    #[serde(default, deserialize_with = "null_as_default")]
    pub properties: Object,
    /// Protected from tear-down and rebuild (1.48).
    #[serde(default, deserialize_with = "null_as_default")]
    pub protected: bool,
    /// Why it is protected (1.48).
    #[serde(default)]
    pub protected_reason: Option<String>,
    /// Where the node is in its lifecycle.
    pub provision_state: ProvisionState,
    /// When `provision_state` last changed.
    #[serde(with = "opt_timestamp", default)]
    pub provision_updated_at: Option<DateTime<Utc>>,
    /// The RAID configuration applied (1.12).
    #[serde(default, deserialize_with = "null_as_default")]
    pub raid_config: Object,
    /// RAID interface (1.31).
    #[serde(default)]
    pub raid_interface: Option<String>,
    /// Rescue interface (1.38).
    #[serde(default)]
    pub rescue_interface: Option<String>,
    /// The conductor holding the node's lock.
    #[serde(default)]
    pub reservation: Option<String>,
    /// Scheduling class, e.g. `bm-large` (1.21).
    #[serde(default)]
    pub resource_class: Option<String>,
    /// Retired: cleaning ends in `manageable`, never `available` (1.61).
    #[serde(default, deserialize_with = "null_as_default")]
    pub retired: bool,
    /// Why it is retired (1.61).
    #[serde(default)]
    pub retired_reason: Option<String>,
    /// Whether secure boot was last seen on (1.75).
    #[serde(default)]
    pub secure_boot: Option<bool>,
    /// The service step running now, `{}` when none (1.87).
    #[serde(default, deserialize_with = "null_as_default")]
    pub service_step: Object,
    /// Shard label for splitting API clients' work (1.82).
    #[serde(default)]
    pub shard: Option<String>,
    /// Storage interface, e.g. `noop`, `cinder` (1.33).
    #[serde(default)]
    pub storage_interface: Option<String>,
    /// Power state being moved to.
    #[serde(default)]
    pub target_power_state: Option<PowerState>,
    /// Stable state being moved to; `null` when none.
    #[serde(default)]
    pub target_provision_state: Option<ProvisionState>,
    /// The RAID configuration requested for the next cleaning (1.12).
    #[serde(default, deserialize_with = "null_as_default")]
    pub target_raid_config: Object,
    /// Trait names for scheduling (1.37).
    #[serde(default, deserialize_with = "null_as_default")]
    pub traits: Vec<String>,
    /// Vendor interface (1.31).
    #[serde(default)]
    pub vendor_interface: Option<String>,
    /// The conductor managing the node, computed from the hash ring (1.49).
    #[serde(default)]
    pub conductor: Option<String>,
    /// The allocation that claimed the node (1.52).
    #[serde(default)]
    pub allocation_uuid: Option<Uuid>,
    /// The chassis the node sits in.
    #[serde(default)]
    pub chassis_uuid: Option<Uuid>,
}

impl Node {
    /// A freshly enrolled node as Ironic creates it for a client at `version`:
    /// `enroll` from 1.11 (`available` before), everything else empty.
    ///
    /// Interfaces are left `None`; the driver's defaults are the caller's to fill.
    pub fn new(
        uuid: Uuid,
        driver: impl Into<String>,
        created_at: DateTime<Utc>,
        initial: ProvisionState,
    ) -> Self {
        Self {
            uuid,
            created_at,
            updated_at: None,
            automated_clean: None,
            bios_interface: None,
            boot_interface: None,
            boot_mode: None,
            clean_step: Object::new(),
            conductor_group: String::new(),
            console_enabled: false,
            console_interface: None,
            disable_power_off: false,
            deploy_interface: None,
            deploy_step: Object::new(),
            description: None,
            driver: driver.into(),
            driver_info: Object::new(),
            driver_internal_info: Object::new(),
            extra: Object::new(),
            fault: None,
            firmware_interface: None,
            health: None,
            inspection_finished_at: None,
            inspection_started_at: None,
            inspect_interface: None,
            instance_info: Object::new(),
            instance_name: None,
            instance_uuid: None,
            last_error: None,
            lessee: None,
            maintenance: false,
            maintenance_reason: None,
            management_interface: None,
            name: None,
            network_data: Object::new(),
            network_interface: None,
            owner: None,
            parent_node: None,
            power_interface: None,
            power_state: None,
            properties: Object::new(),
            protected: false,
            protected_reason: None,
            provision_state: initial,
            provision_updated_at: None,
            raid_config: Object::new(),
            raid_interface: None,
            rescue_interface: None,
            reservation: None,
            resource_class: None,
            retired: false,
            retired_reason: None,
            secure_boot: None,
            service_step: Object::new(),
            shard: None,
            storage_interface: None,
            target_power_state: None,
            target_provision_state: None,
            target_raid_config: Object::new(),
            traits: Vec::new(),
            vendor_interface: None,
            conductor: None,
            allocation_uuid: None,
            chassis_uuid: None,
        }
    }

    /// A copy safe to show: secrets replaced by `******` as Ironic's
    /// `node_sanitize` does under `policy`.
    pub fn masked(&self, policy: SecretPolicy) -> Self {
        let mut node = self.clone();
        node.mask_secrets(policy);
        node
    }

    /// Masks secrets in place (see [`secrets::mask_node_fields`]).
    pub fn mask_secrets(&mut self, policy: SecretPolicy) {
        secrets::mask_node_fields(
            &mut self.driver_info,
            &mut self.instance_info,
            &mut self.driver_internal_info,
            policy,
        );
    }

    /// The node's identifier as Ironic prefers it in messages: the name if set,
    /// else the UUID.
    pub fn display_ident(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.uuid.to_string())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::microversion::{Resource, known};
    use crate::testing::{data_keys, keys_of, parse};

    /// Transcript `17-node-get-by-uuid` (1.115, enroll) and `34-node-after-deploy`
    /// (1.115, active), raw bodies.
    const GET_ENROLL: &str = include_str!("../tests/fixtures/node-get-1.115.json");
    const GET_ACTIVE: &str = include_str!("../tests/fixtures/node-active-1.115.json");

    /// The body without the link keys the gateway renders.
    fn data_only(raw: &str) -> Value {
        let mut value: Value = parse(raw);
        if let Value::Object(map) = &mut value {
            for link in Resource::Node.link_fields() {
                map.shift_remove(link.name);
            }
        }
        value
    }

    #[test]
    fn transcripts_round_trip_exactly() {
        for raw in [GET_ENROLL, GET_ACTIVE] {
            let expected = data_only(raw);
            let node: Node = parse(raw);
            let rendered = serde_json::to_value(&node).unwrap_or_default();
            assert_eq!(rendered, expected);
            assert_eq!(keys_of(&node), keys_of(&expected), "key order");
            assert_eq!(keys_of(&node), data_keys(Resource::Node, known::MAX));
        }
        let active: Node = parse(GET_ACTIVE);
        assert_eq!(active.provision_state, ProvisionState::Active);
        assert_eq!(active.target_provision_state, None);
    }

    #[test]
    fn new_node_renders_like_a_fresh_create() {
        let created: Node = parse(GET_ENROLL);
        let mut fresh = Node::new(created.uuid, "fake-hardware", created.created_at, ProvisionState::Enroll);
        fresh.name = Some("curl-node-0".into());
        assert_eq!(fresh.provision_state, ProvisionState::Enroll);
        assert_eq!(fresh.traits, Vec::<String>::new());
        assert_eq!(keys_of(&fresh), keys_of(&created));
        let json = serde_json::to_value(&fresh).unwrap_or_default();
        for key in ["clean_step", "deploy_step", "service_step", "network_data", "raid_config", "extra"] {
            assert_eq!(json[key], json!({}), "{key}");
        }
        assert_eq!(json["conductor_group"], "");
        assert_eq!(json["updated_at"], Value::Null);
        assert_eq!(json["created_at"], "2026-11-24T22:55:58.535818+00:00");
    }

    #[test]
    fn stored_nulls_read_as_empty_values() {
        let stored = r#"{"uuid": "fe94775f-8ff5-4ccb-9929-ff381a8f597b", "created_at": "2026-11-24T22:55:58+00:00",
            "driver": "ipmi", "provision_state": "available", "driver_info": null, "extra": null,
            "traits": null, "conductor_group": null, "maintenance": null}"#;
        let node: Node = parse(stored);
        assert!(node.driver_info.is_empty() && node.extra.is_empty() && node.traits.is_empty());
        assert!(!node.maintenance);
        assert!(serde_json::from_str::<Node>(r#"{"uuid": "x"}"#).is_err());
    }

    #[test]
    fn masked_hides_secrets_and_keeps_the_original() {
        let mut node: Node = parse(GET_ENROLL);
        node.driver_info = match json!({"ipmi_address": "10.0.0.1", "ipmi_password": "p"}) {
            Value::Object(map) => map,
            _ => Object::new(),
        };
        node.driver_internal_info.insert("agent_secret_token".into(), json!("tok"));
        let shown = node.masked(SecretPolicy::default());
        assert_eq!(shown.driver_info["ipmi_password"], "******");
        assert_eq!(shown.driver_info["ipmi_address"], "10.0.0.1");
        assert_eq!(shown.driver_internal_info["agent_secret_token"], "******");
        assert_eq!(node.driver_info["ipmi_password"], "p");
        assert_eq!(node.display_ident(), "curl-node-0");
    }
}
