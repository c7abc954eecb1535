//! `/v1/drivers`: the hardware types live conductors serve, with their
//! interfaces and the `driver_info` properties they read.

use std::collections::BTreeMap;

use axum::extract::State;

use crate::extract::{Path, Query};
use axum::Json;
use ferric_model::Version;
use ferric_model::hardware::{HardwareType, InterfaceKind, driver_properties};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::ctx::Ctx;
use crate::links::self_and_bookmark;
use crate::openapi::{Doc, Routes, Schema};
use crate::{ApiError, AppState};

/// Driver details (interfaces) appear at 1.30.
const DYNAMIC_DETAILS: Version = Version::new(1, 30);
/// RAID logical disk properties appear at 1.12.
const RAID: Version = Version::new(1, 12);

/// The `/v1/drivers` routes.
pub fn routes() -> Routes {
    Routes::new()
        .get("/v1/drivers", list, Doc::show("List hardware types", Schema::List("drivers", "Driver")))
        .get("/v1/drivers/{name}", show, Doc::show("Show a hardware type", Schema::Ref("Driver")))
        .get(
            "/v1/drivers/{name}/properties",
            properties,
            Doc::show("The driver_info a hardware type reads", Schema::Object),
        )
        .get(
            "/v1/drivers/{name}/raid/logical_disk_properties",
            raid_properties,
            Doc::show("RAID logical disk properties", Schema::Object),
        )
}

/// Hardware type → hostnames of the live conductors serving it, by name.
fn served(state: &AppState) -> BTreeMap<String, Vec<String>> {
    let mut hosts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Some(ring) = state.ring() {
        for conductor in ring.conductors() {
            for driver in &conductor.hardware_types {
                hosts.entry(driver.clone()).or_default().push(conductor.hostname.clone());
            }
        }
    }
    for list in hosts.values_mut() {
        list.sort();
        list.dedup();
    }
    hosts
}

fn render_driver(ctx: &Ctx, name: &str, hosts: &[String], detail: bool) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(name));
    out.insert("hosts".into(), json!(hosts));
    out.insert("links".into(), self_and_bookmark(&ctx.base, &format!("drivers/{name}")));
    out.insert("properties".into(), self_and_bookmark(&ctx.base, &format!("drivers/{name}/properties")));
    if ctx.allows(Version::new(1, 30)) {
        out.insert("type".into(), json!("dynamic"));
    }
    if detail
        && ctx.allows(DYNAMIC_DETAILS)
        && let Some(hardware) = HardwareType::find(name)
    {
        for kind in InterfaceKind::ALL {
            let slot = hardware.slot(kind);
            out.insert(format!("default_{}_interface", kind.name()), json!(slot.default));
            out.insert(format!("enabled_{}_interfaces", kind.name()), json!(slot.enabled));
        }
    }
    Value::Object(out)
}

/// The arguments of a driver list.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(rename = "type")]
    driver_type: Option<String>,
    detail: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let detail = crate::collection::detail_flag(query.detail.as_deref());
    let drivers = match query.driver_type.as_deref() {
        None | Some("dynamic") => served(&state)
            .iter()
            .filter(|(name, _)| HardwareType::find(name).is_some())
            .map(|(name, hosts)| render_driver(&ctx, name, hosts, detail))
            .collect(),
        // Ferric has no classic drivers, as Ironic since Rocky.
        Some("classic") => Vec::new(),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid driver type \"{other}\", valid types are classic, dynamic."
            )));
        }
    };
    Ok(Json(json!({"drivers": drivers})))
}

fn driver_not_found(name: &str) -> ApiError {
    ApiError::not_found_message(format!(
        "Could not find the following driver(s) or hardware type(s): {name}."
    ))
}

async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let hosts = served(&state)
        .remove(&name)
        .filter(|_| HardwareType::find(&name).is_some())
        .ok_or_else(|| driver_not_found(&name))?;
    Ok(Json(render_driver(&ctx, &name, &hosts, true)))
}

async fn properties(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !served(&state).contains_key(&name) {
        return Err(driver_not_found(&name));
    }
    let properties = driver_properties(&name).ok_or_else(|| driver_not_found(&name))?;
    let map: Map<String, Value> = properties.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
    Ok(Json(Value::Object(map)))
}

async fn raid_properties(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(RAID)?;
    if !served(&state).contains_key(&name) {
        return Err(driver_not_found(&name));
    }
    Ok(Json(json!({
        "raid_level": "RAID level for the logical disk. Valid values are 'JBOD', '0', '1', '2', '5', '6', '1+0', '5+0' and '6+0'. Required.",
        "size_gb": "Size in GiB (Integer) for the logical disk. Use 'MAX' as size_gb if this logical disk is supposed to use the rest of the space available. Required.",
        "volume_name": "Name of the volume to be created. If this is not specified, it will be auto-generated. Optional.",
        "is_root_volume": "Specifies whether this disk is a root volume. By default, this is False. Optional.",
        "share_physical_disks": "Specifies whether other logical disks can share physical disks with this logical disk. By default, this is False. Optional.",
        "disk_type": "The type of disk preferred. Valid values are 'hdd' and 'ssd'. If this is not specified, disk type will not be a selection criterion for choosing backing physical disks. Optional.",
        "interface_type": "The interface type of disk. Valid values are 'sata', 'scsi' and 'sas'. If this is not specified, interface type will not be a selection criterion for choosing backing physical disks. Optional.",
        "number_of_physical_disks": "Number of physical disks to use for this logical disk. By default, the driver uses the minimum number of disks required for that RAID level. Optional.",
        "controller": "Controller to use for this logical disk. If not specified, the driver will choose a suitable RAID controller on the bare metal node. Optional.",
        "physical_disks": "The physical disks to use for this logical disk. If not specified, the driver will choose suitable physical disks to use. Optional."
    })))
}
