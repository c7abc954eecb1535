//! What tells volume connectors and volume targets apart: their record kind,
//! their keys and their Ironic messages. Both follow the same rules otherwise
//! (a node that exists, changes only while it is powered off), so the handlers
//! in [`super::handlers`] are generic over [`VolumeKind`].

use chrono::{DateTime, Utc};
use ferric_catalog::{VolumeConnectorRecord, VolumeTargetRecord};
use ferric_model::microversion::fields::Resource;
use ferric_model::volume::ConnectorType;
use ferric_model::{VolumeConnector, VolumeTarget};
use ferric_store::records::Record;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::ApiError;

/// One kind of volume record.
pub trait VolumeKind: Record + Clone + 'static {
    /// The resource as the field tables know it.
    const RESOURCE: Resource;
    /// Collection path under `/v1`, e.g. `volume/connectors`.
    const PATH: &'static str;
    /// The key a list answers under, e.g. `connectors`.
    const KEY: &'static str;
    /// Name in not-found messages, e.g. `Volume connector`.
    const NAME: &'static str;
    /// Name in schema messages, e.g. `volume_connector`.
    const SCHEMA: &'static str;
    /// Name in Ironic's `InvalidStateRequested` actions, e.g. `volume connector`.
    const ACTION: &'static str;
    /// Keys a create may carry.
    const CREATE_KEYS: &'static [&'static str];
    /// Keys a create must carry.
    const REQUIRED: &'static [&'static str];
    /// Keys a patch may change (Ironic's `PATCH_ALLOWED_FIELDS`).
    const PATCH_ALLOWED: &'static [&'static str];
    /// Keys a list cannot sort by.
    const UNSORTABLE: &'static [&'static str];
    /// The model type.
    type Inner: Serialize + DeserializeOwned;
    /// Wraps the model type as a record.
    fn wrap(inner: Self::Inner) -> Self;
    /// The model type inside.
    fn inner(&self) -> &Self::Inner;
    /// Its UUID.
    fn uuid(&self) -> uuid::Uuid;
    /// The node it belongs to.
    fn node_uuid(&self) -> uuid::Uuid;
    /// Stamps a change.
    fn touch(&mut self, now: DateTime<Utc>);
    /// Checks what JSON schema cannot say in the field types (enum values).
    fn check(doc: &Map<String, Value>) -> Result<(), ApiError>;
    /// Ironic's 409 when the kind's unique key is taken.
    fn duplicate(doc: &Self) -> ApiError;
    /// Create defaults beyond identity and timestamps.
    fn defaults() -> Map<String, Value>;
}

/// The message Ironic's schema validation gives for a bad value.
fn schema_error(schema: &str, detail: String) -> ApiError {
    ApiError::bad_request(format!("Schema error for {schema}: {detail}"))
}

impl VolumeKind for VolumeConnectorRecord {
    const RESOURCE: Resource = Resource::VolumeConnector;
    const PATH: &'static str = "volume/connectors";
    const KEY: &'static str = "connectors";
    const NAME: &'static str = "Volume connector";
    const SCHEMA: &'static str = "volume_connector";
    const ACTION: &'static str = "volume connector";
    const CREATE_KEYS: &'static [&'static str] = &["connector_id", "extra", "node_uuid", "type", "uuid"];
    const REQUIRED: &'static [&'static str] = &["connector_id", "node_uuid", "type"];
    const PATCH_ALLOWED: &'static [&'static str] = &["connector_id", "extra", "node_uuid", "type"];
    const UNSORTABLE: &'static [&'static str] = &["extra"];
    type Inner = VolumeConnector;

    fn wrap(inner: VolumeConnector) -> Self {
        VolumeConnectorRecord(inner)
    }
    fn inner(&self) -> &VolumeConnector {
        &self.0
    }
    fn uuid(&self) -> uuid::Uuid {
        self.0.uuid
    }
    fn node_uuid(&self) -> uuid::Uuid {
        self.0.node_uuid
    }
    fn touch(&mut self, now: DateTime<Utc>) {
        self.0.updated_at = Some(now);
    }
    fn check(doc: &Map<String, Value>) -> Result<(), ApiError> {
        let kind = doc.get("type").and_then(Value::as_str).unwrap_or_default();
        if ConnectorType::ALL.iter().all(|t| t.as_str() != kind) {
            let known: Vec<&str> = ConnectorType::ALL.iter().map(|t| t.as_str()).collect();
            let shown = match doc.get("type") {
                Some(Value::String(text)) => ferric_model::validate::python_repr(text),
                Some(other) => other.to_string(),
                None => "None".to_owned(),
            };
            return Err(schema_error(
                Self::SCHEMA,
                format!("{shown} is not one of {}", ferric_model::validate::python_list(&known)),
            ));
        }
        match doc.get("connector_id") {
            Some(Value::String(id)) if !id.is_empty() => Ok(()),
            _ => Err(schema_error(Self::SCHEMA, "'connector_id' must be a non-empty string".into())),
        }
    }
    fn duplicate(doc: &Self) -> ApiError {
        ApiError::conflict(format!(
            "A volume connector with type {} and connector ID {} already exists.",
            doc.0.connector_type, doc.0.connector_id
        ))
    }
    fn defaults() -> Map<String, Value> {
        Map::new()
    }
}

impl VolumeKind for VolumeTargetRecord {
    const RESOURCE: Resource = Resource::VolumeTarget;
    const PATH: &'static str = "volume/targets";
    const KEY: &'static str = "targets";
    const NAME: &'static str = "Volume target";
    const SCHEMA: &'static str = "volume_target";
    const ACTION: &'static str = "volume target";
    const CREATE_KEYS: &'static [&'static str] =
        &["boot_index", "extra", "node_uuid", "properties", "uuid", "volume_id", "volume_type"];
    const REQUIRED: &'static [&'static str] = &["boot_index", "node_uuid", "volume_id", "volume_type"];
    const PATCH_ALLOWED: &'static [&'static str] =
        &["boot_index", "extra", "node_uuid", "properties", "volume_id", "volume_type"];
    const UNSORTABLE: &'static [&'static str] = &["extra", "properties"];
    type Inner = VolumeTarget;

    fn wrap(inner: VolumeTarget) -> Self {
        VolumeTargetRecord(inner)
    }
    fn inner(&self) -> &VolumeTarget {
        &self.0
    }
    fn uuid(&self) -> uuid::Uuid {
        self.0.uuid
    }
    fn node_uuid(&self) -> uuid::Uuid {
        self.0.node_uuid
    }
    fn touch(&mut self, now: DateTime<Utc>) {
        self.0.updated_at = Some(now);
    }
    fn check(doc: &Map<String, Value>) -> Result<(), ApiError> {
        if doc.get("boot_index").is_none_or(|i| i.as_u64().is_none_or(|i| i > u64::from(u32::MAX))) {
            let shown = doc.get("boot_index").map_or("None".to_owned(), Value::to_string);
            return Err(schema_error(Self::SCHEMA, format!("{shown} is not a valid boot_index")));
        }
        for key in ["volume_id", "volume_type"] {
            if !doc.get(key).is_some_and(Value::is_string) {
                return Err(schema_error(Self::SCHEMA, format!("'{key}' must be a string")));
            }
        }
        Ok(())
    }
    fn duplicate(doc: &Self) -> ApiError {
        ApiError::conflict(format!(
            "A volume target with boot index '{}' for the same node already exists.",
            doc.0.boot_index
        ))
    }
    fn defaults() -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("properties".into(), Value::Object(Map::new()));
        map
    }
}
