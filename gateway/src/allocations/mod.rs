//! `/v1/allocations` (1.52) and `/v1/nodes/{node}/allocation`: "give me a node
//! with resource class X and traits Y" for schedulers-less users (metal3,
//! Bifrost). Requests are records; [`process`] picks and reserves the node.
//!
//! Ironic answers a create with `allocating` and works in the background; the
//! process here only writes records, so it finishes before the reply, which
//! then carries `active` or `error` (clients poll until either anyway).

pub mod create;
pub mod process;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use ferric_catalog::AllocationRecord;
use ferric_model::Allocation;
use ferric_model::microversion::fields::Resource;
use ferric_model::microversion::known::{ALLOCATION, ALLOCATION_OWNER, ALLOCATION_UPDATE};
use ferric_model::validate::is_valid_logical_name;
use ferric_store::StoreError;
use ferric_store::records::{Collection, Versioned};
use serde::Deserialize;
use serde_json::Value;

use crate::body::JsonBody;
use crate::collection::{self, ShowQuery, page_body, patch_roots};
use crate::ctx::Ctx;
use crate::extract::{Path, Query};
use crate::list::PageQuery;
use crate::nodes::lookup;
use crate::openapi::{Body, Doc, Routes, Schema};
use crate::render::{Place, Selection, render, to_map};
use crate::{ApiError, AppState};

/// Every allocation route.
pub fn routes() -> Routes {
    let one = Schema::Ref("Allocation");
    Routes::new()
        .get("/v1/allocations", list, Doc::list("List allocations", "allocations", "Allocation"))
        .post(
            "/v1/allocations",
            create::create,
            Doc::create("Request an allocation", "AllocationCreate", "Allocation"),
        )
        .get("/v1/allocations/{allocation}", show, Doc::show("Show an allocation", one))
        .patch("/v1/allocations/{allocation}", patch, Doc::patch("Update an allocation", "Allocation"))
        .delete("/v1/allocations/{allocation}", delete, Doc::action("Delete an allocation", Body::None, 204))
        .get("/v1/nodes/{node}/allocation", node_show, Doc::show("A node's allocation", one))
        .delete(
            "/v1/nodes/{node}/allocation",
            node_delete,
            Doc::action("Delete a node's allocation", Body::None, 204),
        )
}

/// The allocation records of the store.
pub(crate) fn allocations(state: &AppState) -> Collection<AllocationRecord> {
    Collection::new(state.store().clone())
}

fn not_found(ident: &str) -> ApiError {
    ApiError::not_found_message(format!("Allocation {ident} could not be found."))
}

/// An allocation as Ironic renders it at the request's version.
pub(crate) fn render_one(ctx: &Ctx, record: &Allocation, selection: &Selection) -> Result<Value, ApiError> {
    let map = to_map(record)?;
    let path = format!("allocations/{}", record.uuid);
    Ok(render(Resource::Allocation, &map, ctx.version, selection, &ctx.base, Place { path: &path }))
}

/// An allocation list returns whole records unless `fields` trims them.
fn selection(ctx: &Ctx, fields: Option<&str>) -> Result<Selection, ApiError> {
    if fields.is_some_and(|f| f.split(',').any(|f| f.trim() == "owner")) && !ctx.allows(ALLOCATION_OWNER) {
        return Err(ApiError::not_acceptable("Request not acceptable."));
    }
    Ok(match Selection::from_query(Resource::Allocation, ctx.version, fields, false)? {
        Selection::ListDefault => Selection::All,
        other => other,
    })
}

async fn find(state: &AppState, ident: &str) -> Result<Versioned<AllocationRecord>, ApiError> {
    let found = if uuid::Uuid::parse_str(ident).is_ok() {
        allocations(state).get(&ident.to_lowercase()).await?
    } else {
        allocations(state).get_by("name", ident).await?
    };
    found.ok_or_else(|| not_found(ident))
}

/// A store refusal of an allocation write in Ironic's words.
pub(crate) fn store_error(error: StoreError, allocation: &Allocation) -> ApiError {
    match error {
        StoreError::UniqueViolation { value, .. } => {
            ApiError::conflict(format!("An allocation with name {value} already exists."))
        }
        StoreError::AlreadyExists(_) => {
            ApiError::conflict(format!("An allocation with UUID {} already exists.", allocation.uuid))
        }
        other => other.into(),
    }
}

/// The arguments of an allocation list.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    page: PageQuery,
    fields: Option<String>,
    node: Option<String>,
    resource_class: Option<String>,
    state: Option<String>,
    owner: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(ALLOCATION)?;
    if query.owner.is_some() && !ctx.allows(ALLOCATION_OWNER) {
        return Err(ApiError::not_acceptable("Request not acceptable."));
    }
    let page = query.page.validate(&["extra", "candidate_nodes", "traits"])?;
    let selection = selection(&ctx, query.fields.as_deref())?;
    let node = match query.node.as_deref() {
        Some(ident) => {
            Some(lookup::find(&state, ident, ctx.version).await.map_err(to_bad_request)?.record.uuid)
        }
        None => None,
    };
    let rows = collection::all::<AllocationRecord>(state.store())
        .await?
        .into_iter()
        .filter(|stored| {
            let a = &stored.record;
            node.is_none_or(|n| a.node_uuid == Some(n))
                && query.resource_class.as_ref().is_none_or(|rc| a.resource_class.as_ref() == Some(rc))
                && query.state.as_deref().is_none_or(|s| a.state.as_str() == s)
                && query.owner.as_ref().is_none_or(|o| a.owner.as_ref() == Some(o))
        })
        .map(|stored| collection::row(stored, &page))
        .collect();
    page_body(&ctx, "allocations", rows, &page, "allocations", Vec::new(), not_found, |record| {
        render_one(&ctx, record, &selection)
    })
}

/// Ironic answers an unknown node named in an allocation request with 400.
pub(crate) fn to_bad_request(error: ApiError) -> ApiError {
    if error.status() == StatusCode::NOT_FOUND { ApiError::bad_request(error.message()) } else { error }
}

async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(ALLOCATION)?;
    let selection = selection(&ctx, query.fields.as_deref())?;
    Ok(Json(render_one(&ctx, &find(&state, &ident).await?.record, &selection)?))
}

async fn patch(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    ctx.require(ALLOCATION)?;
    if !ctx.allows(ALLOCATION_UPDATE) {
        return Err(ApiError::fault(
            StatusCode::METHOD_NOT_ALLOWED,
            "The API version does not allow updating allocations",
        ));
    }
    let allowed: &[&str] =
        if ctx.allows(ALLOCATION_OWNER) { &["name", "extra", "owner"] } else { &["name", "extra"] };
    patch_roots(&body, allowed)?;
    let patch = collection::parse_patch(body)?;
    let stored = find(&state, &ident).await?;
    let doc = collection::apply_patch(&stored.record.0, &patch)?;
    if let Some(Value::String(name)) = doc.get("name")
        && !is_valid_logical_name(name)
    {
        return Err(ApiError::bad_request(format!("Cannot update allocation with invalid name '{name}'")));
    }
    let mut record: Allocation = serde_json::from_value(Value::Object(doc))
        .map_err(|e| ApiError::bad_request(format!("Invalid allocation: {e}")))?;
    record.updated_at = Some(Utc::now());
    let updated = allocations(&state)
        .update(&AllocationRecord(record.clone()), stored.mod_revision)
        .await
        .map_err(|e| store_error(e, &record))?;
    Ok(Json(render_one(&ctx, &updated.record, &Selection::All)?))
}

/// Releases the node, then deletes the allocation.
async fn destroy(state: &AppState, stored: Versioned<AllocationRecord>) -> Result<StatusCode, ApiError> {
    process::release(state, &stored.record).await?;
    match allocations(state).delete(&stored.record.uuid.to_string(), None).await {
        Ok(()) | Err(StoreError::NotFound(_)) => Ok(StatusCode::NO_CONTENT),
        Err(error) => Err(error.into()),
    }
}

async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<StatusCode, ApiError> {
    ctx.require(ALLOCATION)?;
    let stored = find(&state, &ident).await?;
    destroy(&state, stored).await
}

/// The allocation holding `node`, or Ironic's 404 naming the node as asked.
async fn of_node(state: &AppState, ctx: &Ctx, ident: &str) -> Result<Versioned<AllocationRecord>, ApiError> {
    let node = lookup::find(state, ident, ctx.version).await?.record.uuid;
    collection::all::<AllocationRecord>(state.store())
        .await?
        .into_iter()
        .find(|stored| stored.record.node_uuid == Some(node))
        .ok_or_else(|| ApiError::not_found_message(format!("Allocation for node {ident} was not found")))
}

async fn node_show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(ALLOCATION)?;
    let selection = selection(&ctx, query.fields.as_deref())?;
    Ok(Json(render_one(&ctx, &of_node(&state, &ctx, &ident).await?.record, &selection)?))
}

async fn node_delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<StatusCode, ApiError> {
    ctx.require(ALLOCATION)?;
    let stored = of_node(&state, &ctx, &ident).await?;
    destroy(&state, stored).await
}

/// Deletes the allocations of a deleted node, as Ironic's `destroy_node` does.
pub async fn delete_node_allocations(state: &AppState, node: uuid::Uuid) -> Result<(), ApiError> {
    for stored in collection::all::<AllocationRecord>(state.store()).await? {
        if stored.record.node_uuid == Some(node) {
            match allocations(state).delete(&stored.record.uuid.to_string(), None).await {
                Ok(()) | Err(StoreError::NotFound(_)) => {}
                Err(error) => return Err(error.into()),
            }
        }
    }
    Ok(())
}
