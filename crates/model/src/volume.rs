//! Volume connectors and targets: how a node boots from remote storage (1.32).
//!
//! A connector is the node's initiator identity (an iSCSI IQN, a WWPN...); a target
//! is a volume it attaches, `boot_index` 0 being the boot volume. Both serialize to
//! Ironic's keys in Ironic's order, minus `links`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::json::{Object, null_as_default, opt_timestamp, timestamp};

string_enum! {
    /// The kind of a connector's `connector_id` (`VALID_CONNECTOR_TYPES`).
    pub enum ConnectorType, "volume connector type" {
        /// iSCSI initiator name.
        Iqn => "iqn",
        /// IP address.
        Ip => "ip",
        /// MAC address.
        Mac => "mac",
        /// Fibre Channel world wide node name.
        Wwnn => "wwnn",
        /// Fibre Channel world wide port name.
        Wwpn => "wwpn",
        /// A port's UUID.
        Port => "port",
        /// A portgroup's UUID.
        Portgroup => "portgroup",
    }
}

/// A node's volume connector, as Ironic's API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeConnector {
    /// Identity; never changes.
    pub uuid: Uuid,
    /// When it was created.
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "opt_timestamp", default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// The initiator identity; unique per type.
    pub connector_id: String,
    /// Operator metadata.
    #[serde(default, deserialize_with = "null_as_default")]
    pub extra: Object,
    /// What kind of identity `connector_id` is.
    #[serde(rename = "type")]
    pub connector_type: ConnectorType,
    /// The node it belongs to.
    pub node_uuid: Uuid,
}

/// A node's volume target, as Ironic's API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeTarget {
    /// Identity; never changes.
    pub uuid: Uuid,
    /// When it was created.
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "opt_timestamp", default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Boot order among the node's targets; 0 is the boot volume. Unique per node.
    pub boot_index: u32,
    /// Operator metadata.
    #[serde(default, deserialize_with = "null_as_default")]
    pub extra: Object,
    /// Storage-driver data (target IQN, portal, LUN, auth...).
    #[serde(default, deserialize_with = "null_as_default")]
    pub properties: Object,
    /// The volume's ID in the storage service.
    pub volume_id: String,
    /// The storage protocol, e.g. `iscsi`, `fibre_channel`.
    pub volume_type: String,
    /// The node it belongs to.
    pub node_uuid: Uuid,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microversion::{Resource, known};
    use crate::testing::{data_keys, keys_of, parse};

    #[test]
    fn connector_sample_renders_type_in_table_order() {
        let connector: VolumeConnector = parse(
            r#"{"connector_id": "iqn.2017-07.org.openstack:01:d9a51732c3f", "created_at": "2016-08-18T22:28:48.643434+11:11",
                "extra": {}, "node_uuid": "6d85703a-565d-469a-96ce-30b6de53079d", "type": "iqn",
                "updated_at": null, "uuid": "9bf93e01-d728-47a3-ad4b-5e66a835037c"}"#,
        );
        assert_eq!(connector.connector_type, ConnectorType::Iqn);
        assert_eq!(keys_of(&connector), data_keys(Resource::VolumeConnector, known::MAX));
        assert!(serde_json::from_str::<ConnectorType>("\"nvme\"").is_err());
    }

    #[test]
    fn target_sample_renders_in_table_order() {
        let target: VolumeTarget = parse(
            r#"{"boot_index": 0, "created_at": "2016-08-18T22:28:48.643434+11:11", "extra": {},
                "node_uuid": "6d85703a-565d-469a-96ce-30b6de53079d", "properties": {}, "updated_at": null,
                "uuid": "bd4d008c-7d31-463d-abf9-6c23d9d55f7f", "volume_id": "04452bed-5367-4202-8bf5-de4335ac56d2",
                "volume_type": "iscsi"}"#,
        );
        assert_eq!(target.boot_index, 0);
        assert_eq!(keys_of(&target), data_keys(Resource::VolumeTarget, known::MAX));
    }
}
