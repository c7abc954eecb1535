//! `POST /v1/allocations`: checking the request as Ironic's API does, then
//! running [`super::process`] on it and saving the outcome.

use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use ferric_catalog::AllocationRecord;
use ferric_model::microversion::known::{ALLOCATION, ALLOCATION_BACKFILL, ALLOCATION_OWNER};
use ferric_model::validate::{is_valid_logical_name, validate_trait};
use ferric_model::{Allocation, AllocationState};
use serde_json::{Map, Value};

use super::{allocations, process, render_one, store_error, to_bad_request};
use crate::body::JsonObject;
use crate::collection::{self, check_create_keys, created, new_uuid};
use crate::ctx::Ctx;
use crate::nodes::lookup;
use crate::render::{Selection, to_map};
use crate::{ApiError, AppState};

/// Checks a create body's shape; returns the node to backfill, if any.
async fn check_create(
    state: &AppState,
    ctx: &Ctx,
    body: &mut Map<String, Value>,
) -> Result<Option<lookup::StoredNode>, ApiError> {
    let mut keys = vec!["resource_class", "traits", "candidate_nodes", "name", "uuid", "extra"];
    if ctx.allows(ALLOCATION_OWNER) {
        keys.push("owner");
    }
    keys.push("node");
    check_create_keys(body, "allocation", &keys)?;
    if let Some(Value::String(name)) = body.get("name")
        && !is_valid_logical_name(name)
    {
        return Err(ApiError::bad_request(format!("Cannot create allocation with invalid name '{name}'")));
    }
    for t in body.get("traits").and_then(Value::as_array).into_iter().flatten() {
        validate_trait(t.as_str().unwrap_or_default())
            .map_err(|e| ApiError::bad_request(format!("Schema error for allocation: {e}")))?;
    }
    let node = match body.remove("node") {
        None | Some(Value::Null) => None,
        Some(_) if !ctx.allows(ALLOCATION_BACKFILL) => {
            return Err(ApiError::bad_request(
                "Cannot set node when creating an allocation in this API version",
            ));
        }
        Some(ident) => {
            let ident = ident.as_str().map_or_else(|| ident.to_string(), str::to_owned);
            Some(lookup::find(state, &ident, ctx.version).await.map_err(to_bad_request)?)
        }
    };
    if body.get("resource_class").is_none_or(|rc| rc.is_null() || rc == "") {
        match &node {
            Some(node) => {
                body.insert(
                    "resource_class".into(),
                    serde_json::to_value(&node.record.resource_class).unwrap_or_default(),
                );
            }
            None => {
                return Err(ApiError::bad_request(
                    "The resource_class field is mandatory when not backfilling",
                ));
            }
        }
    }
    if let Some(Value::Array(idents)) = body.get("candidate_nodes").cloned() {
        let mut uuids = Vec::new();
        let mut missing = Vec::new();
        for ident in idents {
            let text = ident.as_str().map_or_else(|| ident.to_string(), str::to_owned);
            match lookup::find(state, &text, ctx.version).await {
                Ok(found) => uuids.push(Value::String(found.record.uuid.to_string())),
                Err(_) => missing.push(text),
            }
        }
        if !missing.is_empty() {
            return Err(ApiError::bad_request(format!("Nodes cannot be found: {}", missing.join(", "))));
        }
        body.insert("candidate_nodes".into(), Value::Array(uuids));
    }
    Ok(node)
}

/// `POST /v1/allocations`: the request is stored, then fulfilled (or
/// backfilled from `node`, 1.58) before the reply.
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    JsonObject(mut body): JsonObject,
) -> Result<Response, ApiError> {
    ctx.require(ALLOCATION)?;
    let node = check_create(&state, &ctx, &mut body).await?;
    let uuid = match (&body.get("uuid"), &node) {
        (None | Some(Value::Null), Some(node)) if node.record.instance_uuid.is_some() => {
            node.record.instance_uuid.unwrap_or_default()
        }
        _ => new_uuid(&body)?,
    };
    let defaults = to_map(&Allocation::new(uuid, Utc::now(), None))?;
    let fresh: Allocation = collection::merge(defaults, body, &["uuid"], "allocation")?;
    let stored = allocations(&state)
        .create(&AllocationRecord(fresh.clone()))
        .await
        .map_err(|e| store_error(e, &fresh))?;
    let backfilling = node.is_some();
    let outcome = match node {
        Some(node) => process::backfill(&state, &fresh, node).await,
        None => process::allocate(&state, &fresh).await,
    };
    let mut record = stored.record.0.clone();
    record.updated_at = Some(Utc::now());
    let refusal = match outcome {
        Ok(Ok(node)) => {
            record.state = AllocationState::Active;
            record.node_uuid = Some(node);
            None
        }
        Ok(Err(error)) => {
            record.state = AllocationState::Error;
            record.last_error = Some(process::failed(&record, &error));
            // A failed backfill is the request's error too, as in Ironic.
            backfilling.then(|| ApiError::bad_request(process::failed(&record, &error)))
        }
        Err(refusal) => {
            record.state = AllocationState::Error;
            record.last_error = Some(refusal.message().to_owned());
            Some(refusal)
        }
    };
    let saved = allocations(&state).update(&AllocationRecord(record), stored.mod_revision).await?;
    if let Some(refusal) = refusal {
        return Err(refusal);
    }
    Ok(created(&ctx, &format!("allocations/{uuid}"), render_one(&ctx, &saved.record, &Selection::All)?))
}
