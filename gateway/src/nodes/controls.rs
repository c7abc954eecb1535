//! Node controls that touch hardware, sent to the conductor: boot mode and
//! secure boot (1.76), NMI injection (1.29), and the serial console. Only
//! reading the console's state is answered here, from the node record, as the
//! `fake` console has nothing more to say than `{}`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ferric_model::hardware::{HardwareType, InterfaceKind};
use ferric_model::microversion::known::{INJECT_NMI, NODE_CHANGE_BOOT_MODE};
use ferric_proto::v1;
use serde_json::{Value, json};

use super::input::parse_bool;
use super::lookup;
use crate::body::JsonObject;
use crate::ctx::Ctx;
use crate::extract::Path;
use crate::{ApiError, AppState};

/// A request's boolean argument: JSON `true`/`false` or Ironic's strings.
fn flag(body: &serde_json::Map<String, Value>, key: &str) -> Option<bool> {
    match body.get(key)? {
        Value::Bool(flag) => Some(*flag),
        Value::String(text) => parse_bool(text),
        _ => None,
    }
}

fn node_ref(node: &ferric_model::Node) -> Option<v1::NodeRef> {
    Some(v1::NodeRef::new(node.uuid.to_string()))
}

/// `PUT /v1/nodes/{node}/states/boot_mode` with `{"target": "uefi"|"bios"}`.
pub async fn set_boot_mode(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<StatusCode, ApiError> {
    ctx.require(NODE_CHANGE_BOOT_MODE)?;
    let target = body.get("target").and_then(Value::as_str).unwrap_or_default();
    let mode = match target {
        "bios" => v1::BootMode::Bios,
        "uefi" => v1::BootMode::Uefi,
        _ => {
            let shown = body
                .get("target")
                .map_or("None".to_owned(), |t| t.as_str().map_or(t.to_string(), str::to_owned));
            return Err(ApiError::bad_request(format!("Invalid boot mode {shown} requested for node.")));
        }
    };
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    let request = v1::SetBootModeRequest { node: node_ref(&node), boot_mode: mode as i32 };
    state.deploy()?.set_boot_mode(request).await?;
    Ok(StatusCode::ACCEPTED)
}

/// `PUT /v1/nodes/{node}/states/secure_boot` with `{"target": true|false}`.
pub async fn set_secure_boot(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<StatusCode, ApiError> {
    ctx.require(NODE_CHANGE_BOOT_MODE)?;
    let Some(enabled) = flag(&body, "target") else {
        let shown = body.get("target").map_or("None".to_owned(), Value::to_string);
        return Err(ApiError::bad_request(format!("Invalid secure_boot {shown} requested for node.")));
    };
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    state.deploy()?.set_secure_boot(v1::SetSecureBootRequest { node: node_ref(&node), enabled }).await?;
    Ok(StatusCode::ACCEPTED)
}

/// `PUT /v1/nodes/{node}/management/inject_nmi` with `{}`.
pub async fn inject_nmi(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<StatusCode, ApiError> {
    ctx.require(INJECT_NMI)?;
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    state.deploy()?.inject_nmi(v1::DeployServiceInjectNmiRequest { node: node_ref(&node) }).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The console implementation a node uses: its own or its hardware type's default.
fn console_interface(node: &ferric_model::Node) -> String {
    match &node.console_interface {
        Some(name) if !name.is_empty() => name.clone(),
        _ => HardwareType::find(&node.driver)
            .map(|hw| hw.slot(InterfaceKind::Console).default.to_owned())
            .unwrap_or_default(),
    }
}

/// `GET /v1/nodes/{node}/states/console`
pub async fn get_console(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    // As Ironic's conductor: a disabled console is reported before the
    // interface is validated.
    if node.console_enabled && console_interface(&node).starts_with("no-") {
        return Err(ApiError::bad_request(format!(
            "Driver {} does not support console (disabled or not implemented).",
            node.driver
        )));
    }
    let info = if node.console_enabled { json!({}) } else { Value::Null };
    Ok(Json(json!({"console_enabled": node.console_enabled, "console_info": info})))
}

/// `PUT /v1/nodes/{node}/states/console` with `{"enabled": true|false}`.
pub async fn set_console(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<StatusCode, ApiError> {
    let Some(enabled) = flag(&body, "enabled") else {
        return Err(ApiError::bad_request("Missing argument: \"enabled\""));
    };
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    state.deploy()?.set_console(v1::SetConsoleRequest { node: node_ref(&node), enabled }).await?;
    Ok(StatusCode::ACCEPTED)
}
