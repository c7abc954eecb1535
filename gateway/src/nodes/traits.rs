//! `/v1/nodes/{node}/traits` (1.37): the node's trait set, changed by
//! compare-and-swap like every other node write.

use axum::Json;
use axum::extract::State;

use crate::extract::Path;
use axum::http::StatusCode;
use chrono::Utc;
use ferric_model::Version;
use ferric_model::validate::validate_trait;
use ferric_store::StoreError;
use serde_json::{Value, json};

use super::crud::ensure_unlocked;
use super::lookup;
use crate::body::JsonObject;
use crate::ctx::Ctx;
use crate::{ApiError, AppState};

/// Traits appear at 1.37.
const TRAITS: Version = Version::new(1, 37);
/// Ironic's limit on traits per node.
const MAX_TRAITS: usize = 50;
/// Attempts before a write that keeps losing races answers 409.
const ATTEMPTS: usize = 3;

/// `GET /v1/nodes/{node}/traits`
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(TRAITS)?;
    let node = lookup::find(&state, &ident, ctx.version).await?;
    Ok(Json(json!({"traits": node.record.traits})))
}

/// `PUT /v1/nodes/{node}/traits/{trait}`
pub async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((ident, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    ctx.require(TRAITS)?;
    validate_trait(&name).map_err(|e| ApiError::bad_request(e.to_string()))?;
    change(&state, &ctx, &ident, |traits| {
        if !traits.contains(&name) {
            traits.push(name.clone());
        }
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /v1/nodes/{node}/traits` with `{"traits": [...]}`: replaces the set.
pub async fn replace(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<StatusCode, ApiError> {
    ctx.require(TRAITS)?;
    let Some(Value::Array(items)) = body.get("traits") else {
        return Err(ApiError::bad_request("Schema error for traits: 'traits' is a required property"));
    };
    let mut wanted = Vec::new();
    for item in items {
        let name = item.as_str().ok_or_else(|| {
            ApiError::bad_request(format!("Schema error for trait: {item} is not of type 'string'"))
        })?;
        validate_trait(name).map_err(|e| ApiError::bad_request(e.to_string()))?;
        if !wanted.iter().any(|w| w == name) {
            wanted.push(name.to_owned());
        }
    }
    change(&state, &ctx, &ident, |traits| {
        *traits = wanted.clone();
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v1/nodes/{node}/traits/{trait}`
pub async fn remove(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((ident, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    ctx.require(TRAITS)?;
    change(&state, &ctx, &ident, |traits| {
        let before = traits.len();
        traits.retain(|t| t != &name);
        if traits.len() == before { Err(name.clone()) } else { Ok(()) }
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v1/nodes/{node}/traits`
pub async fn remove_all(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<StatusCode, ApiError> {
    ctx.require(TRAITS)?;
    change(&state, &ctx, &ident, |traits| {
        traits.clear();
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Applies `edit` to the node's traits under compare-and-swap. `edit` returns
/// `Err(name)` for a trait the node does not have (404).
async fn change(
    state: &AppState,
    ctx: &Ctx,
    ident: &str,
    edit: impl Fn(&mut Vec<String>) -> Result<(), String>,
) -> Result<(), ApiError> {
    for _ in 0..ATTEMPTS {
        let stored = lookup::find(state, ident, ctx.version).await?;
        let mut node = stored.record;
        ensure_unlocked(state, &node).await?;
        if let Err(missing) = edit(&mut node.traits) {
            return Err(ApiError::not_found_message(format!(
                "Node {} doesn't have a trait '{missing}'",
                node.uuid
            )));
        }
        if node.traits.len() > MAX_TRAITS {
            return Err(ApiError::bad_request(format!(
                "Could not add traits to node {} because it would exceed the maximum of {MAX_TRAITS}",
                node.uuid
            )));
        }
        node.updated_at = Some(Utc::now());
        match lookup::nodes(state).update(&node, stored.mod_revision).await {
            Ok(updated) => {
                state.wrote(updated.mod_revision);
                return Ok(());
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(ApiError::conflict(format!("Node {ident} is being modified by other requests, please retry.")))
}
