//! What the conductor cached about a node's firmware, read straight from the
//! store as Ironic reads its tables: BIOS settings (1.40; registry fields with
//! `detail` from 1.74) and firmware components (1.86; vendor, model and serial
//! number from 1.114). A node nothing was cached for has empty lists, as a
//! `fake-hardware` node in Ironic does.

use axum::Json;
use axum::extract::State;
use ferric_catalog::{NodeBiosRecord, NodeFirmwareRecord};
use ferric_model::microversion::known::{
    BIOS_INTERFACE, BIOS_REGISTRY, FIRMWARE_IDENTITY, FIRMWARE_INTERFACE,
};
use ferric_model::node_settings::{BIOS_REGISTRY_FIELDS, BiosSetting, without};
use ferric_store::records::Collection;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::lookup;
use crate::ctx::Ctx;
use crate::extract::{Path, Query};
use crate::links::self_and_bookmark;
use crate::{ApiError, AppState};

/// The arguments of a BIOS list.
#[derive(Debug, Default, Deserialize)]
pub struct BiosQuery {
    detail: Option<String>,
}

async fn settings(state: &AppState, node: uuid::Uuid) -> Result<Vec<BiosSetting>, ApiError> {
    let stored = Collection::<NodeBiosRecord>::new(state.store().clone()).get(&node.to_string()).await?;
    Ok(stored.map(|s| s.record.0.settings).unwrap_or_default())
}

/// One setting as Ironic shows it: links after the timestamps, the registry
/// only when `registry` is asked for.
fn render_setting(
    ctx: &Ctx,
    node: uuid::Uuid,
    setting: &BiosSetting,
    registry: bool,
) -> Result<Value, ApiError> {
    let full = serde_json::to_value(setting).map_err(|e| ApiError::internal(e.to_string()))?;
    let full = if registry { full } else { without(full, BIOS_REGISTRY_FIELDS) };
    let mut out = Map::new();
    for (key, value) in full.as_object().into_iter().flatten() {
        out.insert(key.clone(), value.clone());
        if key == "updated_at" {
            out.insert(
                "links".into(),
                self_and_bookmark(&ctx.base, &format!("nodes/{node}/bios/{}", setting.name)),
            );
        }
    }
    Ok(Value::Object(out))
}

/// `GET /v1/nodes/{node}/bios`
pub async fn list_bios(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    Query(query): Query<BiosQuery>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(BIOS_INTERFACE)?;
    let detail = query.detail.as_deref().and_then(super::input::parse_bool).unwrap_or(false);
    if detail {
        ctx.require_arg("detail", BIOS_REGISTRY)?;
    }
    let node = lookup::find(&state, &ident, ctx.version).await?.record.uuid;
    let items = settings(&state, node)
        .await?
        .iter()
        .map(|s| render_setting(&ctx, node, s, detail))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(serde_json::json!({"bios": items})))
}

/// `GET /v1/nodes/{node}/bios/{name}`: `{"<name>": {...}}` with the registry
/// from 1.74.
pub async fn show_bios(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((ident, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(BIOS_INTERFACE)?;
    let node = lookup::find(&state, &ident, ctx.version).await?.record.uuid;
    let all = settings(&state, node).await?;
    let setting = all.iter().find(|s| s.name == name).ok_or_else(|| {
        ApiError::not_found_message(format!("Node {node} doesn't have a BIOS setting '{name}'"))
    })?;
    let mut out = Map::new();
    out.insert(name.clone(), render_setting(&ctx, node, setting, ctx.allows(BIOS_REGISTRY))?);
    Ok(Json(Value::Object(out)))
}

/// `GET /v1/nodes/{node}/firmware`
pub async fn list_firmware(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(FIRMWARE_INTERFACE)?;
    let node = lookup::find(&state, &ident, ctx.version).await?.record.uuid;
    let stored = Collection::<NodeFirmwareRecord>::new(state.store().clone()).get(&node.to_string()).await?;
    let identity: &[&str] =
        if ctx.allows(FIRMWARE_IDENTITY) { &[] } else { &["vendor", "model", "serial_number"] };
    let items = stored
        .map(|s| s.record.0.components)
        .unwrap_or_default()
        .iter()
        .map(|c| serde_json::to_value(c).map(|v| without(v, identity)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(serde_json::json!({"firmware": items})))
}
