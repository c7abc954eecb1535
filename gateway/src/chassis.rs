//! `/v1/chassis`: a grouping of nodes, kept for clients that still use it.

use axum::extract::State;

use crate::extract::{Path, Query};
use axum::Json;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use ferric_catalog::ChassisRecord;
use ferric_model::Chassis;
use ferric_model::microversion::fields::Resource;
use ferric_store::StoreError;
use ferric_store::records::{Collection, Versioned};
use serde::Deserialize;
use serde_json::Value;

use crate::body::{JsonBody, JsonObject};
use crate::collection::{self, ShowQuery, check_create_keys, created, new_uuid, page_body, patch_roots};
use crate::ctx::Ctx;
use crate::list::PageQuery;
use crate::openapi::{Body, Doc, Routes, Schema};
use crate::render::{Place, Selection, render, to_map};
use crate::{ApiError, AppState};

/// Fields a chassis create may carry.
const CREATE_KEYS: &[&str] = &["description", "extra", "uuid"];
/// Fields a chassis patch may change.
const PATCH_ALLOWED: &[&str] = &["description", "extra"];

/// The `/v1/chassis` routes.
pub fn routes() -> Routes {
    Routes::new()
        .get("/v1/chassis", list, Doc::list("List chassis", "chassis", "Chassis"))
        .post("/v1/chassis", create, Doc::create("Create a chassis", "ChassisCreate", "Chassis"))
        .get("/v1/chassis/detail", list_detail, Doc::list("List chassis in detail", "chassis", "Chassis"))
        .get("/v1/chassis/{chassis}", show, Doc::show("Show a chassis", Schema::Ref("Chassis")))
        .patch("/v1/chassis/{chassis}", patch, Doc::patch("Update a chassis", "Chassis"))
        .delete("/v1/chassis/{chassis}", delete, Doc::action("Delete a chassis", Body::None, 204))
}

fn chassis(state: &AppState) -> Collection<ChassisRecord> {
    Collection::new(state.store().clone())
}

fn not_found(ident: &str) -> ApiError {
    ApiError::not_found_message(format!("Chassis {ident} could not be found."))
}

fn render_chassis(ctx: &Ctx, record: &Chassis, selection: &Selection) -> Result<Value, ApiError> {
    let map = to_map(record)?;
    let path = format!("chassis/{}", record.uuid);
    Ok(render(Resource::Chassis, &map, ctx.version, selection, &ctx.base, Place { path: &path }))
}

/// Finds a chassis by UUID; a node naming a chassis must name one that exists.
pub async fn find(state: &AppState, ident: &str) -> Result<Versioned<ChassisRecord>, ApiError> {
    if uuid::Uuid::parse_str(ident).is_err() {
        return Err(ApiError::bad_request(format!("Expected a UUID but received {ident}.")));
    }
    chassis(state).get(&ident.to_lowercase()).await?.ok_or_else(|| not_found(ident))
}

/// The arguments of a chassis list.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    page: PageQuery,
    fields: Option<String>,
    detail: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let detail = collection::detail_flag(query.detail.as_deref());
    list_chassis(&state, &ctx, query, detail, "chassis").await
}

async fn list_detail(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    list_chassis(&state, &ctx, query, true, "chassis/detail").await
}

async fn list_chassis(
    state: &AppState,
    ctx: &Ctx,
    query: ListQuery,
    detail: bool,
    path: &str,
) -> Result<Json<Value>, ApiError> {
    let page = query.page.validate(&["extra"])?;
    let selection = Selection::from_query(Resource::Chassis, ctx.version, query.fields.as_deref(), detail)?;
    let rows = collection::all::<ChassisRecord>(state.store())
        .await?
        .into_iter()
        .map(|stored| collection::row(stored, &page))
        .collect();
    page_body(ctx, "chassis", rows, &page, path, Vec::new(), not_found, |record| {
        render_chassis(ctx, record, &selection)
    })
}

async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Json<Value>, ApiError> {
    let selection = Selection::for_show(Resource::Chassis, ctx.version, query.fields.as_deref())?;
    let record = find(&state, &ident).await?.record;
    Ok(Json(render_chassis(&ctx, &record, &selection)?))
}

async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    check_create_keys(&body, "chassis", CREATE_KEYS)?;
    let uuid = new_uuid(&body)?;
    let defaults = to_map(&Chassis::new(uuid, Utc::now()))?;
    let record: Chassis = collection::merge(defaults, body, &["uuid"], "chassis")?;
    let stored = chassis(&state).create(&ChassisRecord(record)).await.map_err(|error| match error {
        StoreError::AlreadyExists(_) => {
            ApiError::conflict(format!("A chassis with UUID {uuid} already exists."))
        }
        other => other.into(),
    })?;
    Ok(created(&ctx, &format!("chassis/{uuid}"), render_chassis(&ctx, &stored.record, &Selection::All)?))
}

async fn patch(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    patch_roots(&body, PATCH_ALLOWED)?;
    let patch = collection::parse_patch(body)?;
    let stored = find(&state, &ident).await?;
    let doc = collection::apply_patch(&stored.record.0, &patch)?;
    let mut record: Chassis = serde_json::from_value(Value::Object(doc))
        .map_err(|e| ApiError::bad_request(format!("Invalid chassis: {e}")))?;
    record.updated_at = Some(Utc::now());
    let updated = chassis(&state).update(&ChassisRecord(record), stored.mod_revision).await?;
    Ok(Json(render_chassis(&ctx, &updated.record, &Selection::All)?))
}

async fn delete(State(state): State<AppState>, Path(ident): Path<String>) -> Result<StatusCode, ApiError> {
    let stored = find(&state, &ident).await?;
    let uuid = stored.record.uuid;
    let (nodes, _) = state.node_snapshot().await?;
    if nodes.iter().any(|node| node.stored.record.chassis_uuid == Some(uuid)) {
        return Err(ApiError::bad_request(format!("Chassis {uuid} contains nodes.")));
    }
    chassis(&state).delete(&uuid.to_string(), Some(stored.mod_revision)).await?;
    Ok(StatusCode::NO_CONTENT)
}
