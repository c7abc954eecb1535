//! The port: one physical NIC of a node, known by its MAC address.
//!
//! Ports are how Ironic recognises a machine on the network (the agent's lookup
//! matches MACs) and where it plugs VIFs. [`Port`] serializes to Ironic's keys in
//! Ironic's order (transcript `49-port-create`), minus `links`, which the gateway
//! renders (it sits between `available_for_dynamic_portgroup` and
//! `portgroup_uuid`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::json::{Object, null_as_default, opt_timestamp, timestamp};

/// A node's network port, as Ironic's API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Port {
    /// Identity; never changes.
    pub uuid: Uuid,
    /// When the port was created.
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last change, `null` until the first one.
    #[serde(with = "opt_timestamp", default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// MAC address, lowercase colon form (see [`crate::validate::normalize_mac`]);
    /// unique across ports.
    pub address: String,
    /// Operator metadata.
    #[serde(default, deserialize_with = "null_as_default")]
    pub extra: Object,
    /// Conductor-private data, e.g. the tenant VIF (1.18).
    #[serde(default, deserialize_with = "null_as_default")]
    pub internal_info: Object,
    /// Whether the port belongs to a Smart NIC (1.53).
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_smartnic: bool,
    /// The switch port it is cabled to: `switch_id`, `port_id`, `switch_info`
    /// (1.19).
    #[serde(default, deserialize_with = "null_as_default")]
    pub local_link_connection: Object,
    /// The physical network it is attached to (1.34).
    #[serde(default)]
    pub physical_network: Option<String>,
    /// Whether the node may network-boot from it (1.19).
    #[serde(default = "default_true", deserialize_with = "true_if_null")]
    pub pxe_enabled: bool,
    /// The node it belongs to.
    pub node_uuid: Uuid,
    /// Optional unique name (1.88).
    #[serde(default)]
    pub name: Option<String>,
    /// Free text (1.97).
    #[serde(default)]
    pub description: Option<String>,
    /// NIC vendor (1.100).
    #[serde(default)]
    pub vendor: Option<String>,
    /// Operator-defined category (1.101).
    #[serde(default)]
    pub category: Option<String>,
    /// Whether a dynamic portgroup may take it (1.111).
    #[serde(default = "default_true", deserialize_with = "true_if_null")]
    pub available_for_dynamic_portgroup: bool,
    /// The portgroup it is bonded into (1.24).
    #[serde(default)]
    pub portgroup_uuid: Option<Uuid>,
}

fn default_true() -> bool {
    true
}

/// Reads `null` as `true`, Ironic's default for the port's boolean flags.
fn true_if_null<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(deserializer)?.unwrap_or(true))
}

impl Port {
    /// A new port with Ironic's defaults: PXE enabled, no portgroup, empty
    /// dictionaries. `address` should already be normalised.
    pub fn new(uuid: Uuid, node_uuid: Uuid, address: impl Into<String>, created_at: DateTime<Utc>) -> Self {
        Self {
            uuid,
            created_at,
            updated_at: None,
            address: address.into(),
            extra: Object::new(),
            internal_info: Object::new(),
            is_smartnic: false,
            local_link_connection: Object::new(),
            physical_network: None,
            pxe_enabled: true,
            node_uuid,
            name: None,
            description: None,
            vendor: None,
            category: None,
            available_for_dynamic_portgroup: true,
            portgroup_uuid: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microversion::{Resource, known};
    use crate::testing::{data_keys, keys_of};

    /// Transcript `49-port-create`, `links` removed.
    const CREATED: &str = r#"{"uuid": "12e38839-8cf9-4731-9e50-42f4579a8dc4", "created_at": "2026-11-24T22:56:04.059371+00:00", "updated_at": null, "address": "52:54:00:aa:bb:01", "extra": {}, "internal_info": {}, "is_smartnic": false, "local_link_connection": {}, "physical_network": null, "pxe_enabled": true, "node_uuid": "fe94775f-8ff5-4ccb-9929-ff381a8f597b", "name": null, "description": null, "vendor": null, "category": null, "available_for_dynamic_portgroup": true, "portgroup_uuid": null}"#;

    #[test]
    fn round_trips_the_transcript_byte_for_byte() {
        let port: Port = serde_json::from_str(CREATED).unwrap_or_else(|e| panic!("{e}"));
        let expected: serde_json::Value = serde_json::from_str(CREATED).unwrap_or_default();
        assert_eq!(serde_json::to_value(&port).unwrap_or_default(), expected);
        assert_eq!(keys_of(&port), keys_of(&expected));
        assert_eq!(keys_of(&port), data_keys(Resource::Port, known::MAX));
    }

    #[test]
    fn new_has_ironic_defaults() {
        let port = Port::new(Uuid::nil(), Uuid::nil(), "52:54:00:aa:bb:01", DateTime::<Utc>::UNIX_EPOCH);
        assert!(port.pxe_enabled && port.available_for_dynamic_portgroup && !port.is_smartnic);
        let minimal = r#"{"uuid": "12e38839-8cf9-4731-9e50-42f4579a8dc4", "created_at": "2026-11-24T22:56:04+00:00",
            "address": "52:54:00:aa:bb:01", "node_uuid": "fe94775f-8ff5-4ccb-9929-ff381a8f597b", "pxe_enabled": null}"#;
        let parsed: Result<Port, _> = serde_json::from_str(minimal);
        assert!(parsed.is_ok_and(|p| p.pxe_enabled && p.extra.is_empty()));
    }
}
