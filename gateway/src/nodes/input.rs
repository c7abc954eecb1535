//! Node request bodies checked as Ironic's JSON schema checks them, before any
//! of their values reach a record.
//!
//! Ironic validates a node create (and the result of a patch) against one
//! schema: known keys only, a type per key, `driver` required. Booleans may also
//! come as strings (`"true"`, `"off"`), which are normalised here so the record
//! always holds real booleans.

use ferric_model::Version;
use ferric_model::microversion::fields::{Resource, field_min_version};
use serde_json::{Map, Value};

use crate::ApiError;
use crate::body::kind;

/// What a key of a node body may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A string or null.
    Text,
    /// A boolean, a boolean-like string, or null.
    Flag,
    /// An object or null.
    Dict,
    /// A UUID string or null.
    Uuid,
    /// `driver`: a string, never null.
    Driver,
}

/// The keys a node create may carry, with their shapes (Ironic's `node_schema`).
const CREATE_KEYS: &[(&str, Shape)] = &[
    ("automated_clean", Shape::Flag),
    ("bios_interface", Shape::Text),
    ("boot_interface", Shape::Text),
    ("boot_mode", Shape::Text),
    ("chassis_uuid", Shape::Uuid),
    ("conductor_group", Shape::Text),
    ("console_enabled", Shape::Flag),
    ("console_interface", Shape::Text),
    ("deploy_interface", Shape::Text),
    ("description", Shape::Text),
    ("disable_power_off", Shape::Flag),
    ("driver", Shape::Driver),
    ("driver_info", Shape::Dict),
    ("extra", Shape::Dict),
    ("firmware_interface", Shape::Text),
    ("inspect_interface", Shape::Text),
    ("instance_info", Shape::Dict),
    ("instance_name", Shape::Text),
    ("instance_uuid", Shape::Uuid),
    ("lessee", Shape::Text),
    ("management_interface", Shape::Text),
    ("maintenance", Shape::Flag),
    ("name", Shape::Text),
    ("network_data", Shape::Dict),
    ("network_interface", Shape::Text),
    ("owner", Shape::Text),
    ("parent_node", Shape::Text),
    ("power_interface", Shape::Text),
    ("properties", Shape::Dict),
    ("raid_interface", Shape::Text),
    ("rescue_interface", Shape::Text),
    ("resource_class", Shape::Text),
    ("retired", Shape::Flag),
    ("retired_reason", Shape::Text),
    ("secure_boot", Shape::Flag),
    ("shard", Shape::Text),
    ("storage_interface", Shape::Text),
    ("uuid", Shape::Uuid),
    ("vendor_interface", Shape::Text),
];

/// The keys of a node create with their JSON types, for the OpenAPI document.
pub fn create_key_types() -> impl Iterator<Item = (&'static str, &'static str)> {
    CREATE_KEYS.iter().map(|(key, shape)| {
        let kind = match shape {
            Shape::Text | Shape::Uuid | Shape::Driver => "string",
            Shape::Flag => "any",
            Shape::Dict => "object",
        };
        (*key, kind)
    })
}

/// Keys a patch may change (Ironic's `PATCH_ALLOWED_FIELDS`, in its order, which
/// is the order its error message lists them in).
pub const PATCH_ALLOWED: &[&str] = &[
    "automated_clean",
    "bios_interface",
    "boot_interface",
    "chassis_uuid",
    "conductor_group",
    "console_interface",
    "deploy_interface",
    "description",
    "disable_power_off",
    "driver",
    "driver_info",
    "extra",
    "inspect_interface",
    "instance_info",
    "instance_name",
    "instance_uuid",
    "lessee",
    "maintenance",
    "management_interface",
    "name",
    "network_data",
    "network_interface",
    "owner",
    "power_interface",
    "properties",
    "protected",
    "protected_reason",
    "raid_interface",
    "rescue_interface",
    "resource_class",
    "retired",
    "retired_reason",
    "shard",
    "storage_interface",
    "vendor_interface",
    "parent_node",
    "firmware_interface",
];

/// Extra keys a patch result may hold beyond the create schema.
const PATCH_EXTRA_KEYS: &[(&str, Shape)] = &[("protected", Shape::Flag), ("protected_reason", Shape::Text)];

/// Checks a create body: known keys visible at `version`, shapes, `driver`
/// present; normalises boolean strings in place.
pub fn check_create(body: &mut Map<String, Value>, version: Version) -> Result<(), ApiError> {
    if let Some(unknown) = body.keys().find(|key| !CREATE_KEYS.iter().any(|(k, _)| k == key)) {
        return Err(schema_error(format!(
            "Additional properties are not allowed ('{unknown}' was unexpected)"
        )));
    }
    check_versions(body, version)?;
    check_shapes(body, CREATE_KEYS)?;
    if !body.contains_key("driver") {
        return Err(schema_error("'driver' is a required property".to_owned()));
    }
    Ok(())
}

/// Checks the shapes of the patchable keys of a patched node's JSON.
pub fn check_patched(doc: &mut Map<String, Value>) -> Result<(), ApiError> {
    let shapes: Vec<(&str, Shape)> = CREATE_KEYS
        .iter()
        .chain(PATCH_EXTRA_KEYS)
        .copied()
        .filter(|(key, _)| PATCH_ALLOWED.contains(key))
        .collect();
    check_shapes(doc, &shapes)
}

/// A field newer than the request's version is Ironic's 406.
fn check_versions(body: &Map<String, Value>, version: Version) -> Result<(), ApiError> {
    for key in body.keys() {
        if let Some(since) = field_min_version(Resource::Node, key)
            && version < since
        {
            tracing::debug!(field = %key, %since, "field newer than the request's version");
            return Err(ApiError::fault(axum::http::StatusCode::NOT_ACCEPTABLE, "Request not acceptable."));
        }
    }
    Ok(())
}

fn check_shapes(body: &mut Map<String, Value>, shapes: &[(&str, Shape)]) -> Result<(), ApiError> {
    for (key, shape) in shapes {
        let Some(value) = body.get_mut(*key) else { continue };
        let ok = match (shape, &*value) {
            (Shape::Driver, Value::String(_)) => true,
            (Shape::Driver, _) => false,
            (_, Value::Null) => true,
            (Shape::Text, Value::String(_)) | (Shape::Dict, Value::Object(_)) => true,
            (Shape::Uuid, Value::String(text)) => {
                if uuid::Uuid::parse_str(text).is_err() {
                    return Err(ApiError::bad_request(format!("Expected a UUID for {key}: {text}")));
                }
                true
            }
            (Shape::Flag, Value::Bool(_)) => true,
            (Shape::Flag, Value::String(text)) => {
                let parsed = parse_bool(text)
                    .ok_or_else(|| ApiError::bad_request(format!("Invalid {key}: Unrecognized value '{text}', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'")))?;
                *value = Value::Bool(parsed);
                true
            }
            _ => false,
        };
        if !ok {
            let expected = match shape {
                Shape::Text | Shape::Uuid => "'string', 'null'",
                Shape::Flag => "'string', 'boolean', 'null'",
                Shape::Dict => "'object', 'null'",
                Shape::Driver => "'string'",
            };
            return Err(schema_error(format!(
                "{} is not of type {expected} ({key} is {})",
                value,
                kind(value)
            )));
        }
    }
    if let Some(Value::String(description)) = body.get("description")
        && description.chars().count() > 4096
    {
        return Err(schema_error(format!("'{description}' is too long")));
    }
    Ok(())
}

/// oslo's `bool_from_string(strict=True)`.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "t" | "true" | "on" | "y" | "yes" => Some(true),
        "0" | "f" | "false" | "off" | "n" | "no" => Some(false),
        _ => None,
    }
}

fn schema_error(detail: String) -> ApiError {
    ApiError::bad_request(format!("Schema error for node: {detail}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn unknown_key_matches_ironic() {
        let mut b = body(json!({"driver": "fake-hardware", "flavor": "x"}));
        let error = check_create(&mut b, Version::new(1, 115)).unwrap_err();
        assert_eq!(
            error.message(),
            "Schema error for node: Additional properties are not allowed ('flavor' was unexpected)"
        );
    }

    #[test]
    fn driver_is_required_and_typed() {
        let mut b = body(json!({"name": "x"}));
        assert!(
            check_create(&mut b, Version::new(1, 115))
                .unwrap_err()
                .message()
                .contains("'driver' is a required")
        );
        let mut b = body(json!({"driver": 3}));
        assert_eq!(check_create(&mut b, Version::new(1, 115)).unwrap_err().status(), 400);
    }

    #[test]
    fn boolean_strings_are_normalised_and_garbage_refused() {
        let mut b = body(json!({"driver": "fake-hardware", "maintenance": "yes"}));
        check_create(&mut b, Version::new(1, 115)).unwrap();
        assert_eq!(b["maintenance"], true);
        let mut b = body(json!({"driver": "fake-hardware", "maintenance": "maybe"}));
        assert_eq!(check_create(&mut b, Version::new(1, 115)).unwrap_err().status(), 400);
    }

    #[test]
    fn newer_fields_are_not_acceptable_for_older_clients() {
        let mut b = body(json!({"driver": "fake-hardware", "owner": "me"}));
        assert_eq!(check_create(&mut b, Version::new(1, 49)).unwrap_err().status(), 406);
        assert!(check_create(&mut b, Version::new(1, 50)).is_ok());
    }
}
