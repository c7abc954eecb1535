//! Node sub-resources beyond states: VIFs (1.28) recorded on the node's ports,
//! history (1.78) and inventory (1.81) kept by the conductor, and the shard
//! summary (1.82) computed from the node view.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use ferric_catalog::PortRecord;
use ferric_model::Version;
use ferric_proto::v1;
use ferric_store::StoreError;
use ferric_store::records::Collection;
use serde_json::{Map, Value, json};

use super::crud::ensure_unlocked;
use super::lookup;
use crate::body::JsonObject;
use crate::ctx::Ctx;
use crate::extract::Path;
use crate::links::self_and_bookmark;
use crate::{ApiError, AppState};

/// VIFs appear at 1.28.
const VIFS: Version = Version::new(1, 28);
/// Node history appears at 1.78.
const HISTORY: Version = Version::new(1, 78);
/// Node inventory appears at 1.81.
const INVENTORY: Version = Version::new(1, 81);
/// Shards appear at 1.82.
const SHARDS: Version = Version::new(1, 82);
/// Where a port records the VIF attached to it, as Ironic's network interfaces do.
const VIF_KEY: &str = "tenant_vif_port_id";

/// `GET /v1/nodes/{node}/vifs`
pub async fn list_vifs(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(VIFS)?;
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    let vifs: Vec<Value> = crate::collection::all::<PortRecord>(state.store())
        .await?
        .into_iter()
        .filter(|port| port.record.node_uuid == node.uuid)
        .filter_map(|port| port.record.internal_info.get(VIF_KEY).cloned())
        .map(|id| json!({"id": id}))
        .collect();
    Ok(Json(json!({"vifs": vifs})))
}

/// `POST /v1/nodes/{node}/vifs` with `{"id": ...}`: records the VIF on a free
/// port of the node (PXE-enabled ports first, as Ironic picks them).
pub async fn attach_vif(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<StatusCode, ApiError> {
    ctx.require(VIFS)?;
    let Some(Value::String(vif)) = body.get("id") else {
        return Err(ApiError::bad_request(
            "Invalid input for field/attribute id. Value: None. Mandatory field missing.",
        ));
    };
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    ensure_unlocked(&state, &node).await?;
    let mut ports: Vec<_> = crate::collection::all::<PortRecord>(state.store())
        .await?
        .into_iter()
        .filter(|port| port.record.node_uuid == node.uuid)
        .collect();
    if ports.iter().any(|port| port.record.internal_info.get(VIF_KEY).and_then(Value::as_str) == Some(vif)) {
        return Err(ApiError::conflict(format!(
            "Unable to attach VIF {vif} because it is already attached to node {}",
            node.uuid
        )));
    }
    ports.sort_by_key(|port| !port.record.pxe_enabled);
    let Some(free) = ports.into_iter().find(|port| !port.record.internal_info.contains_key(VIF_KEY)) else {
        return Err(ApiError::bad_request(format!(
            "Unable to attach VIF {vif}, not enough free physical ports."
        )));
    };
    let mut port = free.record;
    port.internal_info.insert(VIF_KEY.to_owned(), Value::String(vif.clone()));
    port.updated_at = Some(Utc::now());
    Collection::<PortRecord>::new(state.store().clone()).update(&port, free.mod_revision).await.map_err(
        |error| match error {
            StoreError::Conflict(_) => ApiError::conflict(format!(
                "Port {} changed while attaching VIF {vif}, please retry.",
                port.uuid
            )),
            other => other.into(),
        },
    )?;
    tracing::info!(node = %node.uuid, port = %port.uuid, %vif, "VIF attached");
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v1/nodes/{node}/vifs/{vif}`
pub async fn detach_vif(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((ident, vif)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    ctx.require(VIFS)?;
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    ensure_unlocked(&state, &node).await?;
    let holder = crate::collection::all::<PortRecord>(state.store())
        .await?
        .into_iter()
        .find(|port| {
            port.record.node_uuid == node.uuid
                && port.record.internal_info.get(VIF_KEY).and_then(Value::as_str) == Some(vif.as_str())
        })
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "Unable to detach VIF {vif} from node {} because it is not attached to it.",
                node.uuid
            ))
        })?;
    let mut port = holder.record;
    port.internal_info.remove(VIF_KEY);
    port.updated_at = Some(Utc::now());
    Collection::<PortRecord>::new(state.store().clone()).update(&port, holder.mod_revision).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn timestamp(ts: Option<prost_types::Timestamp>) -> Value {
    ts.and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .map_or(Value::Null, |t| Value::String(ferric_model::json::isoformat(&t)))
}

fn text_or_null(text: String) -> Value {
    if text.is_empty() { Value::Null } else { Value::String(text) }
}

fn render_event(ctx: &Ctx, node: &str, event: v1::NodeHistoryEvent, detail: bool) -> Value {
    let mut out = Map::new();
    out.insert("uuid".into(), json!(event.uuid));
    out.insert("created_at".into(), timestamp(event.created_at));
    out.insert("severity".into(), json!(event.severity.to_uppercase()));
    out.insert("event".into(), json!(event.event));
    if detail {
        out.insert("event_type".into(), json!(event.event_type));
        out.insert("conductor".into(), text_or_null(event.conductor));
        out.insert("user".into(), text_or_null(event.user));
    }
    out.insert("links".into(), self_and_bookmark(&ctx.base, &format!("nodes/{node}/history/{}", event.uuid)));
    Value::Object(out)
}

/// `GET /v1/nodes/{node}/history`
pub async fn history(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(HISTORY)?;
    let node = lookup::find(&state, &ident, ctx.version).await?.record.uuid.to_string();
    let request =
        v1::GetNodeHistoryRequest { node: Some(v1::NodeRef::new(&node)), limit: 0, marker: String::new() };
    let events = state.deploy()?.get_node_history(request).await?.into_inner().events;
    let rendered: Vec<Value> =
        events.into_iter().map(|event| render_event(&ctx, &node, event, false)).collect();
    Ok(Json(json!({"history": rendered})))
}

/// `GET /v1/nodes/{node}/history/{event}`
pub async fn history_event(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((ident, event)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(HISTORY)?;
    let node = lookup::find(&state, &ident, ctx.version).await?.record.uuid.to_string();
    let request =
        v1::GetNodeHistoryRequest { node: Some(v1::NodeRef::new(&node)), limit: 0, marker: String::new() };
    let events = state.deploy()?.get_node_history(request).await?.into_inner().events;
    let found = events.into_iter().find(|e| e.uuid == event).ok_or_else(|| {
        ApiError::not_found_message(format!("Node history record {event} could not be found."))
    })?;
    Ok(Json(render_event(&ctx, &node, found, true)))
}

/// `GET /v1/nodes/{node}/inventory`
pub async fn inventory(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(INVENTORY)?;
    let node = lookup::find(&state, &ident, ctx.version).await?.record.uuid.to_string();
    let response = state
        .deploy()?
        .get_inventory(v1::GetInventoryRequest { node: Some(v1::NodeRef::new(&node)) })
        .await?
        .into_inner();
    let to_json = |s: Option<prost_types::Struct>| -> Result<Value, ApiError> {
        match s {
            Some(s) => ferric_proto::json::json_from_struct(s)
                .map(Value::Object)
                .map_err(|e| ApiError::internal(e.to_string())),
            None => Ok(json!({})),
        }
    };
    Ok(Json(
        json!({"inventory": to_json(response.inventory)?, "plugin_data": to_json(response.plugin_data)?}),
    ))
}

/// `GET /v1/shards`: how many nodes each shard holds.
pub async fn shards(State(state): State<AppState>, ctx: Ctx) -> Result<Json<Value>, ApiError> {
    ctx.require(SHARDS)?;
    let (nodes, _) = state.node_snapshot().await?;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for node in &nodes {
        if let Some(shard) = &node.stored.record.shard {
            *counts.entry(shard.clone()).or_default() += 1;
        }
    }
    let shards: Vec<Value> =
        counts.into_iter().map(|(name, count)| json!({"name": name, "count": count})).collect();
    Ok(Json(json!({"shards": shards})))
}
