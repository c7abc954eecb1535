//! The portgroup: a bond of a node's ports (1.23).
//!
//! Ironic models link aggregation as a portgroup with its own MAC and bonding
//! `mode`; ports join it through `portgroup_uuid`. [`Portgroup`] serializes to
//! Ironic's keys in Ironic's order, minus the `links` and `ports` link keys the
//! gateway renders.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::json::{Object, null_as_default, opt_timestamp, timestamp};

/// A node's portgroup, as Ironic's API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Portgroup {
    /// Identity; never changes.
    pub uuid: Uuid,
    /// When the portgroup was created.
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last change, `null` until the first one.
    #[serde(with = "opt_timestamp", default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// The bond's MAC address, lowercase colon form; unique when set.
    #[serde(default)]
    pub address: Option<String>,
    /// Operator metadata.
    #[serde(default, deserialize_with = "null_as_default")]
    pub extra: Object,
    /// Conductor-private data.
    #[serde(default, deserialize_with = "null_as_default")]
    pub internal_info: Object,
    /// Linux bonding mode, e.g. `active-backup`, `802.3ad` (1.26).
    #[serde(default)]
    pub mode: Option<String>,
    /// Optional unique name.
    #[serde(default)]
    pub name: Option<String>,
    /// Bonding options such as `miimon` (1.26).
    #[serde(default, deserialize_with = "null_as_default")]
    pub properties: Object,
    /// Whether member ports may also be used on their own.
    #[serde(default = "default_true")]
    pub standalone_ports_supported: bool,
    /// The node it belongs to.
    pub node_uuid: Uuid,
    /// The physical network of its ports (1.102).
    #[serde(default)]
    pub physical_network: Option<String>,
    /// Operator-defined category (1.103).
    #[serde(default)]
    pub category: Option<String>,
    /// Whether ports are added to it dynamically (1.111).
    #[serde(default, deserialize_with = "null_as_default")]
    pub dynamic_portgroup: bool,
}

fn default_true() -> bool {
    true
}

impl Portgroup {
    /// A new portgroup with Ironic's defaults: standalone ports supported, no MAC,
    /// mode left to the conductor's configured default.
    pub fn new(uuid: Uuid, node_uuid: Uuid, created_at: DateTime<Utc>) -> Self {
        Self {
            uuid,
            created_at,
            updated_at: None,
            address: None,
            extra: Object::new(),
            internal_info: Object::new(),
            mode: None,
            name: None,
            properties: Object::new(),
            standalone_ports_supported: true,
            node_uuid,
            physical_network: None,
            category: None,
            dynamic_portgroup: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microversion::{Resource, known};
    use crate::testing::{data_keys, keys_of, parse};

    /// Upstream `portgroup-create-response.json` (links removed, 1.111 fields
    /// added).
    const SAMPLE: &str = r#"{"address": "11:11:11:11:11:11", "category": "hypernet",
        "created_at": "2016-08-18T22:28:48.643434+11:11", "extra": {}, "internal_info": {},
        "mode": "active-backup", "name": "test_portgroup", "node_uuid": "6d85703a-565d-469a-96ce-30b6de53079d",
        "physical_network": "physnet1", "properties": {}, "standalone_ports_supported": true,
        "updated_at": null, "uuid": "e43c722c-248e-4c6e-8ce8-0d8ff129387a", "dynamic_portgroup": false}"#;

    #[test]
    fn sample_parses_and_renders_in_table_order() {
        let portgroup: Portgroup = parse(SAMPLE);
        assert_eq!(portgroup.mode.as_deref(), Some("active-backup"));
        assert_eq!(portgroup.created_at.to_rfc3339(), "2016-08-18T11:17:48.643434+00:00");
        assert_eq!(keys_of(&portgroup), data_keys(Resource::Portgroup, known::MAX));
        let fresh = Portgroup::new(Uuid::nil(), Uuid::nil(), DateTime::<Utc>::UNIX_EPOCH);
        assert!(fresh.standalone_ports_supported && !fresh.dynamic_portgroup);
    }
}
