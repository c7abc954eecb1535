//! The ramdisk endpoints (1.22): how a deploy agent finds its node
//! (`GET /v1/lookup`) and reports in (`POST /v1/heartbeat/{node}`). They are
//! public (the agent token authenticates heartbeats); the conductor decides
//! everything through the deploy service's Lookup and Heartbeat.

use axum::extract::State;

use crate::extract::{Path, Query};
use axum::Json;
use axum::http::StatusCode;
use ferric_model::Version;
use ferric_proto::v1;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::body::JsonObject;
use crate::ctx::Ctx;
use crate::links::self_and_bookmark;
use crate::openapi::{Body, Doc, Routes, Schema};
use crate::{ApiError, AppState};

/// Lookup and heartbeat appear at 1.22.
const RAMDISK: Version = Version::new(1, 22);

/// The ramdisk routes.
pub fn routes() -> Routes {
    Routes::new()
        .get("/v1/lookup", lookup, Doc::show("An agent looks up its node", Schema::Object))
        .post(
            "/v1/heartbeat/{node}",
            heartbeat,
            Doc::action("An agent reports in", Body::Json(Schema::Ref("Heartbeat")), 202),
        )
        .post(
            "/v1/continue_inspection",
            continue_inspection,
            Doc::action("A ramdisk sends its inventory", Body::Json(Schema::Object), 202),
        )
}

/// The built-in inspection callback appears at 1.84.
const INSPECTION: Version = Version::new(1, 84);

/// The arguments of an inspection callback.
#[derive(Debug, Default, Deserialize)]
pub struct InspectionQuery {
    /// The node, when the ramdisk knows it.
    node_uuid: Option<String>,
}

/// `POST /v1/continue_inspection`: the inventory of a node in `inspect wait`;
/// every other key of the body is plugin data, as Ironic keeps it.
async fn continue_inspection(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<InspectionQuery>,
    JsonObject(mut body): JsonObject,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    // IPA's inspection client sends no version header (1.1); Ironic serves it then too.
    if ctx.version != Version::new(1, 1) {
        ctx.require(INSPECTION)?;
    }
    let inventory = match body.remove("inventory") {
        Some(Value::Object(inventory)) => inventory,
        _ => return Err(ApiError::bad_request("Invalid inventory: the body needs an \"inventory\" object.")),
    };
    let has_mac = inventory
        .get("interfaces")
        .and_then(Value::as_array)
        .is_some_and(|list| list.iter().any(|i| i.get("mac_address").and_then(Value::as_str).is_some()));
    if !has_mac {
        return Err(ApiError::bad_request("Invalid inventory: interfaces with a mac_address are required."));
    }
    let node = match query.node_uuid.as_deref() {
        Some(text) => match uuid::Uuid::parse_str(text) {
            Ok(uuid) => Some(v1::NodeRef::new(uuid.to_string())),
            Err(_) => return Err(ApiError::bad_request(format!("Invalid UUID for node_uuid: {text}"))),
        },
        None => None,
    };
    let request = v1::ContinueInspectionRequest {
        inventory: Some(ferric_proto::json::struct_from_map(inventory)),
        plugin_data: Some(ferric_proto::json::struct_from_map(body)),
        node,
    };
    let response = state.deploy()?.continue_inspection(request).await?.into_inner();
    let uuid = response.node.map(|n| n.uuid).unwrap_or_default();
    let links = self_and_bookmark(&ctx.base, &format!("nodes/{uuid}"));
    let body = serde_json::json!({"uuid": uuid, "node": {"uuid": uuid, "links": links}, "config": {}});
    Ok((StatusCode::ACCEPTED, Json(body)))
}

/// The arguments of a lookup.
#[derive(Debug, Default, Deserialize)]
pub struct LookupQuery {
    /// Comma-separated MAC addresses the agent sees.
    addresses: Option<String>,
    /// The node, when the agent knows it (virtual media, kernel parameters).
    node_uuid: Option<String>,
}

async fn lookup(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<LookupQuery>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(RAMDISK)?;
    let addresses: Vec<String> = query
        .addresses
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter_map(|mac| ferric_model::validate::normalize_mac(mac.trim()).ok())
        .collect();
    let node_uuid = query.node_uuid.as_deref().filter(|u| uuid::Uuid::parse_str(u).is_ok());
    if addresses.is_empty() && node_uuid.is_none() {
        return Err(ApiError::bad_request("Either a valid MAC address or a node UUID must be given."));
    }
    let request = v1::LookupRequest { addresses, node: node_uuid.map(v1::NodeRef::new) };
    let response = state.deploy()?.lookup(request).await?.into_inner();
    let uuid = response.node.map(|n| n.uuid).unwrap_or_default();
    let mut node = match response.node_fields {
        Some(fields) => {
            ferric_proto::json::json_from_struct(fields).map_err(|e| ApiError::internal(e.to_string()))?
        }
        None => Map::new(),
    };
    node.insert("uuid".into(), Value::String(uuid.clone()));
    node.insert("links".into(), self_and_bookmark(&ctx.base, &format!("nodes/{uuid}")));
    let config = match response.config {
        Some(config) => {
            ferric_proto::json::json_from_struct(config).map_err(|e| ApiError::internal(e.to_string()))?
        }
        None => Map::new(),
    };
    let mut body = Map::new();
    body.insert("node".into(), Value::Object(node));
    body.insert("config".into(), Value::Object(config));
    Ok(Json(Value::Object(body)))
}

fn text(body: &Map<String, Value>, key: &str) -> String {
    body.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

async fn heartbeat(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(node): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<StatusCode, ApiError> {
    ctx.require(RAMDISK)?;
    let callback_url = text(&body, "callback_url");
    if callback_url.is_empty() {
        return Err(ApiError::bad_request(
            "Invalid input for field/attribute callback_url. Value: None. Mandatory field missing.",
        ));
    }
    let uuid = match uuid::Uuid::parse_str(&node) {
        Ok(uuid) => uuid.to_string(),
        Err(_) => crate::nodes::lookup::find(&state, &node, ctx.version).await?.record.uuid.to_string(),
    };
    let request = v1::HeartbeatRequest {
        node: Some(v1::NodeRef::new(uuid)),
        callback_url,
        agent_version: text(&body, "agent_version"),
        agent_token: text(&body, "agent_token"),
        agent_status: text(&body, "agent_status"),
        agent_status_message: text(&body, "agent_status_message"),
        agent_verify_ca: text(&body, "agent_verify_ca"),
    };
    state.deploy()?.heartbeat(request).await?;
    Ok(StatusCode::ACCEPTED)
}
