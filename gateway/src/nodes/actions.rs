//! Node actions: the state document, provision and power transitions, the boot
//! device, maintenance and validation. Everything that reaches hardware is the
//! conductor's, through the deploy service; the gateway checks the request
//! with Ironic's rules first so refusals are immediate and worded as Ironic's.

use axum::Json;
use axum::extract::State;

use crate::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use ferric_catalog::node_lock;
use ferric_model::state::{BootDevice, PowerRequest, ProvisionRequest, plan_power, plan_provision};
use ferric_model::{ProvisionVerb, Version};
use ferric_proto::convert;
use ferric_proto::v1;
use ferric_store::StoreError;
use serde_json::{Map, Value, json};

use super::crud::ensure_unlocked;
use super::lookup;
use crate::body::{JsonObject, OptionalJsonObject};
use crate::ctx::Ctx;
use crate::{ApiError, AppState};

/// `raid_config` and `target_raid_config` join the state document at 1.12.
const RAID: Version = Version::new(1, 12);
/// `boot_mode` and `secure_boot` join it at 1.75.
const BOOT_MODE: Version = Version::new(1, 75);
/// Attempts before a maintenance write that keeps losing races answers 409.
const ATTEMPTS: usize = 3;

/// `GET /v1/nodes/{node}/states`
pub async fn states(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    let rendered = super::crud::render_node(&ctx, &node, &crate::render::Selection::All)?;
    let mut out = Map::new();
    let mut keys = vec![
        "console_enabled",
        "last_error",
        "power_state",
        "provision_state",
        "target_power_state",
        "target_provision_state",
        "provision_updated_at",
    ];
    if ctx.allows(RAID) {
        keys.extend(["raid_config", "target_raid_config"]);
    }
    if ctx.allows(BOOT_MODE) {
        keys.extend(["boot_mode", "secure_boot"]);
    }
    for key in keys {
        out.insert(key.to_owned(), rendered.get(key).cloned().unwrap_or(Value::Null));
    }
    Ok(Json(Value::Object(out)))
}

/// 202 with `Location` pointing at the node's states, as Ironic answers
/// accepted transitions.
fn accepted(ctx: &Ctx, uuid: &str) -> Response {
    let mut response = StatusCode::ACCEPTED.into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("{}/v1/nodes/{uuid}/states", ctx.base)) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn steps(body: &Map<String, Value>, key: &str) -> Result<Vec<prost_types::Struct>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::Object(map) => Ok(ferric_proto::json::struct_from_map(map.clone())),
                other => Err(ApiError::bad_request(format!(
                    "Invalid {key}: each step must be an object, got {other}"
                ))),
            })
            .collect(),
        Some(other) => {
            Err(ApiError::bad_request(format!("Invalid {key}: expected a list of steps, got {other}")))
        }
    }
}

/// `PUT /v1/nodes/{node}/states/provision`
pub async fn provision(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let Some(Value::String(target)) = body.get("target") else {
        return Err(ApiError::bad_request(
            "Invalid input for field/attribute target. Value: None. Mandatory field missing.",
        ));
    };
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    let uuid = node.uuid.to_string();
    let locks = ferric_store::lock::Locks::new(state.store().clone());
    let reservation = locks.reservation(&node_lock(&uuid)).await?;
    let plan = plan_provision(&ProvisionRequest {
        target,
        node_uuid: &uuid,
        state: node.provision_state,
        target_state: node.target_provision_state,
        maintenance: node.maintenance,
        reservation: reservation.as_deref(),
        version: ctx.version,
    })
    .map_err(|refusal| ApiError::fault(status(refusal.http_status()), refusal.to_string()))?;
    let verb = plan.verb;
    if body.contains_key("configdrive") && !verb.accepts_configdrive(ctx.version) {
        return Err(ApiError::bad_request(format!(
            "Adding a config drive is only supported when setting provision state to {}",
            "active, rebuild"
        )));
    }
    if verb == ProvisionVerb::Clean && !body.contains_key("clean_steps") {
        return Err(ApiError::bad_request(
            "\"clean_steps\" is required when setting target provision state to clean",
        ));
    }
    if body.contains_key("clean_steps") && !verb.accepts_clean_steps() {
        return Err(ApiError::bad_request(
            "\"clean_steps\" is only valid when setting target provision state to clean",
        ));
    }
    if body.contains_key("rescue_password") != (verb == ProvisionVerb::Rescue) {
        let message = if verb == ProvisionVerb::Rescue {
            "A non-empty \"rescue_password\" is required when setting target provision state to rescue"
        } else {
            "\"rescue_password\" is only valid when setting target provision state to rescue"
        };
        return Err(ApiError::bad_request(message));
    }
    let configdrive = match body.get("configdrive") {
        None | Some(Value::Null) => None,
        Some(Value::String(blob)) => {
            Some(v1::change_provision_state_request::Configdrive::ConfigdriveBlob(blob.clone()))
        }
        Some(Value::Object(map)) => {
            Some(v1::change_provision_state_request::Configdrive::ConfigdriveContents(
                ferric_proto::json::struct_from_map(map.clone()),
            ))
        }
        Some(other) => return Err(ApiError::bad_request(format!("Invalid configdrive: {other}"))),
    };
    let request = v1::ChangeProvisionStateRequest {
        node: Some(v1::NodeRef::new(&uuid)),
        verb: convert::verb_to_proto(verb) as i32,
        clean_steps: steps(&body, "clean_steps")?,
        deploy_steps: steps(&body, "deploy_steps")?,
        service_steps: steps(&body, "service_steps")?,
        configdrive,
        rescue_password: body.get("rescue_password").and_then(Value::as_str).unwrap_or_default().to_owned(),
        disable_ramdisk: body.get("disable_ramdisk").and_then(Value::as_bool),
        requested_by: String::new(),
    };
    state.deploy()?.change_provision_state(request).await?;
    tracing::info!(node = %uuid, %verb, "provision transition accepted");
    Ok(accepted(&ctx, &uuid))
}

/// `PUT /v1/nodes/{node}/states/power`
pub async fn power(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let target = body.get("target").and_then(Value::as_str).unwrap_or_default().to_owned();
    let timeout = match body.get("timeout") {
        None | Some(Value::Null) => None,
        Some(value) => {
            Some(value.as_i64().ok_or_else(|| ApiError::bad_request(format!("Invalid timeout: {value}")))?)
        }
    };
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    let planned = plan_power(&PowerRequest {
        target: &target,
        timeout,
        node_ident: &ident,
        power_state: node.power_state,
        provision_state: node.provision_state,
        disable_power_off: node.disable_power_off,
        version: ctx.version,
    })
    .map_err(|refusal| ApiError::fault(status(refusal.http_status()), refusal.to_string()))?;
    let uuid = node.uuid.to_string();
    let request = v1::ChangePowerStateRequest {
        node: Some(v1::NodeRef::new(&uuid)),
        action: convert::power_target_to_proto(planned) as i32,
        timeout: timeout.map(|seconds| prost_types::Duration { seconds, nanos: 0 }),
    };
    state.deploy()?.change_power_state(request).await?;
    tracing::info!(node = %uuid, target = %planned, "power transition accepted");
    Ok(accepted(&ctx, &uuid))
}

/// `GET /v1/nodes/{node}/management/boot_device`
pub async fn get_boot_device(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    let request =
        v1::DeployServiceGetBootDeviceRequest { node: Some(v1::NodeRef::new(node.uuid.to_string())) };
    let response = state.deploy()?.get_boot_device(request).await?.into_inner();
    let device = convert::boot_device_from_proto(response.boot_device).map(|d| d.as_str());
    Ok(Json(json!({"boot_device": device, "persistent": response.persistent})))
}

/// `PUT /v1/nodes/{node}/management/boot_device`
pub async fn set_boot_device(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<StatusCode, ApiError> {
    let raw = body.get("boot_device").and_then(Value::as_str).unwrap_or_default();
    let device: BootDevice = raw.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "Invalid boot device {raw}, valid devices are: pxe, disk, cdrom, bios, safe, wanboot, iscsiboot, floppy, uefihttp."
        ))
    })?;
    let persistent = match body.get("persistent") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(text)) => super::input::parse_bool(text)
            .ok_or_else(|| ApiError::bad_request(format!("Invalid persistent: {text}")))?,
        Some(other) => return Err(ApiError::bad_request(format!("Invalid persistent: {other}"))),
    };
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    let request = v1::DeployServiceSetBootDeviceRequest {
        node: Some(v1::NodeRef::new(node.uuid.to_string())),
        boot_device: convert::boot_device_to_proto(device) as i32,
        persistent,
    };
    state.deploy()?.set_boot_device(request).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/nodes/{node}/management/boot_device/supported`
pub async fn supported_boot_devices(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    let request = v1::DeployServiceGetSupportedBootDevicesRequest {
        node: Some(v1::NodeRef::new(node.uuid.to_string())),
    };
    let response = state.deploy()?.get_supported_boot_devices(request).await?.into_inner();
    let devices: Vec<&str> = response
        .boot_devices
        .into_iter()
        .filter_map(convert::boot_device_from_proto)
        .map(BootDevice::as_str)
        .collect();
    Ok(Json(json!({"supported_boot_devices": devices})))
}

/// `PUT /v1/nodes/{node}/maintenance`
pub async fn set_maintenance(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    OptionalJsonObject(body): OptionalJsonObject,
) -> Result<StatusCode, ApiError> {
    // The body is optional: `{"reason": "..."}` or nothing.
    let reason = body.and_then(|map| map.get("reason").and_then(Value::as_str).map(str::to_owned));
    maintenance(&state, &ctx, &ident, true, reason).await
}

/// `DELETE /v1/nodes/{node}/maintenance`
pub async fn unset_maintenance(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<StatusCode, ApiError> {
    maintenance(&state, &ctx, &ident, false, None).await
}

async fn maintenance(
    state: &AppState,
    ctx: &Ctx,
    ident: &str,
    on: bool,
    reason: Option<String>,
) -> Result<StatusCode, ApiError> {
    for _ in 0..ATTEMPTS {
        let stored = lookup::find(state, ident, ctx.version).await?;
        let mut node = stored.record;
        ensure_unlocked(state, &node).await?;
        node.maintenance = on;
        node.maintenance_reason = if on { reason.clone() } else { None };
        if !on {
            node.fault = None;
        }
        node.updated_at = Some(Utc::now());
        match lookup::nodes(state).update(&node, stored.mod_revision).await {
            Ok(updated) => {
                state.wrote(updated.mod_revision);
                tracing::info!(node = %node.uuid, maintenance = on, "maintenance changed");
                return Ok(StatusCode::ACCEPTED);
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(ApiError::conflict(format!("Node {ident} is being modified by other requests, please retry.")))
}

/// Interfaces in the order Ironic's validate lists them.
const VALIDATE_ORDER: &[&str] = &[
    "boot",
    "deploy",
    "management",
    "network",
    "power",
    "bios",
    "console",
    "firmware",
    "inspect",
    "raid",
    "rescue",
    "storage",
];

/// `GET /v1/nodes/{node}/validate`
pub async fn validate(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    let request = v1::DeployServiceValidateRequest { node: Some(v1::NodeRef::new(node.uuid.to_string())) };
    let mut interfaces = state.deploy()?.validate(request).await?.into_inner().interfaces;
    let mut out = Map::new();
    for name in VALIDATE_ORDER {
        if let Some(result) = interfaces.remove(*name) {
            out.insert((*name).to_owned(), interface_result(result));
        }
    }
    let mut rest: Vec<_> = interfaces.into_iter().collect();
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, result) in rest {
        out.insert(name, interface_result(result));
    }
    Ok(Json(Value::Object(out)))
}

fn interface_result(result: v1::InterfaceValidation) -> Value {
    match result.result {
        Some(true) => json!({"result": true}),
        Some(false) => json!({"result": false, "reason": result.reason}),
        None => json!({"result": null, "reason": result.reason}),
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}
