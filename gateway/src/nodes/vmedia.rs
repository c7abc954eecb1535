//! `/v1/nodes/{node}/vmedia`: attach an image to the node's BMC as virtual
//! media (1.89), detach it, and list what is attached (1.93). The conductor
//! does the work through the node's management interface; only Redfish can.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ferric_model::Version;
use ferric_proto::v1;
use serde::Deserialize;
use serde_json::{Value, json};

use super::lookup;
use crate::body::JsonObject;
use crate::ctx::Ctx;
use crate::extract::{Path, Query};
use crate::{ApiError, AppState};

/// Attach and detach appear at 1.89.
const VMEDIA: Version = Version::new(1, 89);
/// Listing appears at 1.93.
const VMEDIA_GET: Version = Version::new(1, 93);
/// URL schemes a BMC can read virtual media from (Ironic's
/// `VMEDIA_SUPPORTED_URL_SCHEMES`).
const SCHEMES: &[&str] = &["http", "https", "nfs", "cifs"];

/// `POST /v1/nodes/{node}/vmedia`
pub async fn attach(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<StatusCode, ApiError> {
    ctx.require(VMEDIA)?;
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    let device_type = text("device_type").ok_or_else(|| {
        ApiError::bad_request("Schema error for vmedia: 'device_type' is a required property")
    })?;
    let image_url = text("image_url").ok_or_else(|| {
        ApiError::bad_request("Schema error for vmedia: 'image_url' is a required property")
    })?;
    let scheme =
        image_url.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase()).unwrap_or_default();
    if !SCHEMES.contains(&scheme.as_str()) {
        return Err(ApiError::bad_request(format!("Unsupported or missing URL scheme: {scheme}")));
    }
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    let request = v1::AttachVirtualMediaRequest {
        node: Some(v1::NodeRef::new(node.uuid.to_string())),
        device_type: device_type.to_lowercase(),
        image_url,
        image_download_source: text("image_download_source").unwrap_or_else(|| "local".to_owned()),
    };
    state.deploy()?.attach_virtual_media(request).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The `device_types` argument of a detach.
#[derive(Debug, Default, Deserialize)]
pub struct DetachQuery {
    device_types: Option<String>,
}

/// `DELETE /v1/nodes/{node}/vmedia`
pub async fn detach(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    Query(query): Query<DetachQuery>,
) -> Result<StatusCode, ApiError> {
    ctx.require(VMEDIA)?;
    let device_types: Vec<String> = query
        .device_types
        .unwrap_or_default()
        .split(',')
        .map(|d| d.trim().to_lowercase())
        .filter(|d| !d.is_empty())
        .collect();
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    let request =
        v1::DetachVirtualMediaRequest { node: Some(v1::NodeRef::new(node.uuid.to_string())), device_types };
    state.deploy()?.detach_virtual_media(request).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/nodes/{node}/vmedia`: what the conductor recorded as attached.
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(VMEDIA_GET)?;
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    let attached: Vec<Value> = node
        .driver_internal_info
        .get("vmedia")
        .and_then(Value::as_object)
        .map(|map| map.values().cloned().collect())
        .unwrap_or_default();
    Ok(Json(json!({"vmedia": attached})))
}
