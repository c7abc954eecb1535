//! `PUT /v1/nodes/{node}/states/raid` (1.12): the RAID layout the next
//! cleaning applies, checked against Ironic's RAID configuration schema and
//! stored as the node's `target_raid_config`.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use ferric_model::Version;
use ferric_store::StoreError;
use serde_json::{Map, Value};

use super::crud::ensure_unlocked;
use super::lookup;
use crate::body::JsonObject;
use crate::ctx::Ctx;
use crate::extract::Path;
use crate::{ApiError, AppState};

/// RAID configuration appears at 1.12.
const RAID: Version = Version::new(1, 12);
/// Attempts before a write that keeps losing races answers 409.
const ATTEMPTS: usize = 3;
/// The RAID levels Ironic's schema allows.
const LEVELS: &[&str] = &["0", "1", "2", "5", "6", "1+0", "5+0", "6+0", "JBOD"];

fn invalid(detail: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("Invalid RAID configuration: {detail}"))
}

/// Checks one logical disk against Ironic's schema (`raid_config_schema.json`).
fn check_disk(disk: &Value) -> Result<(), ApiError> {
    let Value::Object(disk) = disk else { return Err(invalid("each logical disk must be an object")) };
    match disk.get("raid_level").and_then(Value::as_str) {
        Some(level) if LEVELS.contains(&level) => {}
        Some(level) => return Err(invalid(format!("'{level}' is not one of {LEVELS:?}"))),
        None => return Err(invalid("'raid_level' is a required property")),
    }
    match disk.get("size_gb") {
        Some(Value::Number(n)) if n.as_u64().is_some() => {}
        Some(Value::String(s)) if s == "MAX" => {}
        Some(other) => {
            return Err(invalid(format!("{other} is not a valid size_gb (an integer or \"MAX\")")));
        }
        None => return Err(invalid("'size_gb' is a required property")),
    }
    let allowed = [
        "raid_level",
        "size_gb",
        "volume_name",
        "is_root_volume",
        "share_physical_disks",
        "disk_type",
        "interface_type",
        "number_of_physical_disks",
        "controller",
        "physical_disks",
    ];
    if let Some(key) = disk.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(invalid(format!("Additional properties are not allowed ('{key}' was unexpected)")));
    }
    for (key, choices) in
        [("disk_type", &["hdd", "ssd"][..]), ("interface_type", &["sata", "scsi", "sas"][..])]
    {
        if let Some(value) = disk.get(key)
            && !value.as_str().is_some_and(|v| choices.contains(&v))
        {
            return Err(invalid(format!("{value} is not one of {choices:?} for {key}")));
        }
    }
    Ok(())
}

/// Checks a whole RAID configuration.
fn check_config(config: &Map<String, Value>) -> Result<(), ApiError> {
    let Some(Value::Array(disks)) = config.get("logical_disks") else {
        return Err(invalid("'logical_disks' is a required property"));
    };
    if disks.is_empty() {
        return Err(invalid("[] is too short"));
    }
    disks.iter().try_for_each(check_disk)
}

/// `PUT /v1/nodes/{node}/states/raid`
pub async fn set_raid(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    JsonObject(config): JsonObject,
) -> Result<StatusCode, ApiError> {
    ctx.require(RAID)?;
    check_config(&config)?;
    for _ in 0..ATTEMPTS {
        let stored = lookup::find(&state, &ident, ctx.version).await?;
        let mut node = stored.record;
        ensure_unlocked(&state, &node).await?;
        if node.raid_interface.as_deref() == Some("no-raid") {
            return Err(ApiError::bad_request(format!(
                "Node {} does not support RAID configuration: its raid_interface is no-raid.",
                node.uuid
            )));
        }
        node.target_raid_config = config.clone();
        node.updated_at = Some(Utc::now());
        match lookup::nodes(&state).update(&node, stored.mod_revision).await {
            Ok(updated) => {
                state.wrote(updated.mod_revision);
                return Ok(StatusCode::NO_CONTENT);
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(ApiError::conflict(format!("Node {ident} is being modified by other requests, please retry.")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn ironic_schema_rules() {
        assert!(
            check_config(&config(json!({"logical_disks": [{"size_gb": 100, "raid_level": "1"}]}))).is_ok()
        );
        assert!(
            check_config(&config(json!({"logical_disks": [{"size_gb": "MAX", "raid_level": "JBOD"}]})))
                .is_ok()
        );
        assert!(check_config(&config(json!({"logical_disks": []}))).is_err());
        assert!(
            check_config(&config(json!({"logical_disks": [{"size_gb": 1, "raid_level": "7"}]}))).is_err()
        );
        assert!(check_config(&config(json!({"logical_disks": [{"raid_level": "1"}]}))).is_err());
        assert!(
            check_config(&config(json!({"logical_disks": [{"size_gb": 1, "raid_level": "1", "x": 1}]})))
                .is_err()
        );
        assert!(
            check_config(&config(
                json!({"logical_disks": [{"size_gb": 1, "raid_level": "1", "disk_type": "tape"}]})
            ))
            .is_err()
        );
    }
}
