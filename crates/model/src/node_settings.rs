//! What a node's firmware reports about itself: BIOS settings (1.40, registry
//! fields 1.74) and firmware components (1.86). The conductor caches them per
//! node (Ironic's `bios_settings` and `firmware_information` tables); the API
//! only reads them. Each serializes to Ironic's keys in Ironic's order.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::json::{opt_timestamp, timestamp};

/// One BIOS setting with its registry entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiosSetting {
    /// When it was first cached.
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "opt_timestamp", default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// The setting's name, e.g. `Virtualization`.
    pub name: String,
    /// Its current value, as the BMC spells it.
    #[serde(default)]
    pub value: Option<String>,
    /// Registry: `Enumeration`, `String`, `Integer`, `Boolean`, `Password`.
    #[serde(default)]
    pub attribute_type: Option<String>,
    /// Registry: the values an enumeration takes.
    #[serde(default)]
    pub allowable_values: Option<Vec<String>>,
    /// Registry: an integer's minimum.
    #[serde(default)]
    pub lower_bound: Option<i64>,
    /// Registry: a string's maximum length.
    #[serde(default)]
    pub max_length: Option<i64>,
    /// Registry: a string's minimum length.
    #[serde(default)]
    pub min_length: Option<i64>,
    /// Registry: whether it cannot be changed.
    #[serde(default)]
    pub read_only: Option<bool>,
    /// Registry: whether a change needs a reboot.
    #[serde(default)]
    pub reset_required: Option<bool>,
    /// Registry: whether the value must be unique.
    #[serde(default)]
    pub unique: Option<bool>,
    /// Registry: an integer's maximum.
    #[serde(default)]
    pub upper_bound: Option<i64>,
}

/// The registry keys of a BIOS setting, shown from 1.74 with `detail`.
pub const BIOS_REGISTRY_FIELDS: &[&str] = &[
    "attribute_type",
    "allowable_values",
    "lower_bound",
    "max_length",
    "min_length",
    "read_only",
    "reset_required",
    "unique",
    "upper_bound",
];

/// Every cached BIOS setting of one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeBios {
    /// The node's UUID (the record's identity).
    pub uuid: Uuid,
    /// The settings, in the order the BMC listed them.
    #[serde(default)]
    pub settings: Vec<BiosSetting>,
}

/// What the last in-band inspection of a node found, as its agent reported it
/// (`GET /v1/nodes/{node}/inventory`, 1.81).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeInventory {
    /// The node's UUID (the record's identity).
    pub uuid: Uuid,
    /// Ironic's inventory shape: cpu, memory, disks, interfaces, system_vendor, boot.
    #[serde(default)]
    pub inventory: crate::json::Object,
    /// Everything else the ramdisk sent beside the inventory.
    #[serde(default)]
    pub plugin_data: crate::json::Object,
}

/// One firmware component and its versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirmwareComponent {
    /// When it was first cached.
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "opt_timestamp", default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// `BMC`, `BIOS`, `NIC:<serial>`...
    pub component: String,
    /// The version first seen.
    #[serde(default)]
    pub initial_version: Option<String>,
    /// The version running now.
    #[serde(default)]
    pub current_version: Option<String>,
    /// The version the last update flashed.
    #[serde(default)]
    pub last_version_flashed: Option<String>,
    /// Maker (1.114).
    #[serde(default)]
    pub vendor: Option<String>,
    /// Model (1.114).
    #[serde(default)]
    pub model: Option<String>,
    /// Serial number (1.114).
    #[serde(default)]
    pub serial_number: Option<String>,
}

/// Every cached firmware component of one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeFirmware {
    /// The node's UUID (the record's identity).
    pub uuid: Uuid,
    /// The components.
    #[serde(default)]
    pub components: Vec<FirmwareComponent>,
}

/// A JSON value's copy without the keys a version does not know.
pub fn without(mut value: Value, keys: &[&str]) -> Value {
    if let Value::Object(map) = &mut value {
        for key in keys {
            map.remove(*key);
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_parse_in_ironic_key_order() {
        let setting: BiosSetting = serde_json::from_str(
            r#"{"created_at": "2016-08-18T22:28:49.653974+00:00", "updated_at": null, "name": "Virtualization",
                "value": "Enabled", "attribute_type": "Enumeration", "allowable_values": ["Enabled", "Disabled"]}"#,
        )
        .expect("bios sample");
        assert_eq!(
            setting.allowable_values.as_deref(),
            Some(&["Enabled".to_owned(), "Disabled".to_owned()][..])
        );
        let json = serde_json::to_value(&setting).unwrap_or_default();
        let keys: Vec<&String> = json.as_object().map(|m| m.keys().collect()).unwrap_or_default();
        assert_eq!(keys[..4], ["created_at", "updated_at", "name", "value"]);
        assert_eq!(without(json, BIOS_REGISTRY_FIELDS).as_object().map(|m| m.len()), Some(4));
        let component: FirmwareComponent = serde_json::from_str(
            r#"{"created_at": "2016-08-18T22:28:49.653974+00:00", "updated_at": null, "component": "BMC",
                "initial_version": "v1.0.0", "current_version": "v1.0.0", "last_version_flashed": null,
                "vendor": null, "model": "iDRAC 9", "serial_number": null}"#,
        )
        .expect("firmware sample");
        assert_eq!(component.component, "BMC");
    }
}
