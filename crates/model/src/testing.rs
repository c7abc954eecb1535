//! Test helpers shared by the resource modules: key lists to compare a struct's
//! JSON with Ironic's bodies and with the microversion field tables.

use serde::Serialize;

use crate::microversion::{Resource, Version, fields_visible};

/// The top-level keys of `value`'s JSON, in serialization order.
pub fn keys_of<T: Serialize>(value: &T) -> Vec<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// The data keys the field table shows for `resource` at `version`, in order.
pub fn data_keys(resource: Resource, version: Version) -> Vec<String> {
    fields_visible(resource, version).map(str::to_owned).collect()
}

/// Parses a JSON test fixture, failing the test with the parse error.
pub fn parse<T: serde::de::DeserializeOwned>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("fixture does not parse: {e}"))
}
