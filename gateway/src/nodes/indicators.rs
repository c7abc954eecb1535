//! `/v1/nodes/{node}/management/indicators` (1.63): a node's LEDs, asked of
//! the conductor since only the management interface knows them. An indicator
//! is addressed as `<name>@<component>`, as in Ironic.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ferric_model::microversion::known::INDICATORS;
use ferric_proto::v1;
use serde_json::{Value, json};

use super::lookup;
use crate::body::JsonObject;
use crate::ctx::Ctx;
use crate::extract::Path;
use crate::links::self_and_bookmark;
use crate::{ApiError, AppState};

/// Splits Ironic's `<name>@<component>` (at the first `@`, as Ironic does).
fn split(unique: &str) -> Result<(&str, &str), ApiError> {
    unique
        .split_once('@')
        .ok_or_else(|| ApiError::bad_request(format!("Malformed indicator name \"{unique}\"")))
}

/// `GET /v1/nodes/{node}/management/indicators`
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(INDICATORS)?;
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    let request = v1::GetIndicatorsRequest { node: Some(v1::NodeRef::new(node.uuid.to_string())) };
    let indicators = state.deploy()?.get_indicators(request).await?.into_inner().indicators;
    let items: Vec<Value> = indicators
        .into_iter()
        .map(|i| {
            let unique = format!("{}@{}", i.name, i.component);
            let links = self_and_bookmark(&ctx.base, &format!("nodes/{ident}/management/indicators/{unique}"));
            json!({"name": unique, "component": i.component, "readonly": i.readonly, "states": i.states, "links": links})
        })
        .collect();
    Ok(Json(json!({"indicators": items})))
}

/// `GET /v1/nodes/{node}/management/indicators/{name@component}`
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((ident, indicator)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(INDICATORS)?;
    let (name, component) = split(&indicator)?;
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    let request = v1::GetIndicatorStateRequest {
        node: Some(v1::NodeRef::new(node.uuid.to_string())),
        component: component.to_owned(),
        name: name.to_owned(),
    };
    let reply = state.deploy()?.get_indicator_state(request).await?.into_inner();
    Ok(Json(json!({"state": reply.state})))
}

/// `PUT /v1/nodes/{node}/management/indicators/{name@component}` with `{"state": ...}`.
pub async fn set(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((ident, indicator)): Path<(String, String)>,
    JsonObject(body): JsonObject,
) -> Result<StatusCode, ApiError> {
    ctx.require(INDICATORS)?;
    let Some(Value::String(target)) = body.get("state") else {
        return Err(ApiError::bad_request("Missing argument: \"state\""));
    };
    let (name, component) = split(&indicator)?;
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    let request = v1::SetIndicatorStateRequest {
        node: Some(v1::NodeRef::new(node.uuid.to_string())),
        component: component.to_owned(),
        name: name.to_owned(),
        state: target.clone(),
    };
    state.deploy()?.set_indicator_state(request).await?;
    Ok(StatusCode::NO_CONTENT)
}
