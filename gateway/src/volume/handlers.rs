//! The CRUD of one [`VolumeKind`]: Ironic's `VolumeConnectorsController` and
//! `VolumeTargetsController`, which differ only in their fields.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use ferric_model::microversion::known::VOLUME;
use ferric_store::StoreError;
use ferric_store::records::{Collection, Versioned};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::kind::VolumeKind;
use super::{ensure_changeable, node_of};
use crate::body::{JsonBody, JsonObject};
use crate::collection::{self, ShowQuery, check_create_keys, created, new_uuid, page_body, patch_roots};
use crate::ctx::Ctx;
use crate::extract::{Path, Query};
use crate::list::PageQuery;
use crate::nodes::lookup;
use crate::render::{Place, Selection, render, to_map};
use crate::{ApiError, AppState};

fn records<T: VolumeKind>(state: &AppState) -> Collection<T> {
    Collection::new(state.store().clone())
}

fn not_found<T: VolumeKind>(ident: &str) -> ApiError {
    ApiError::not_found_message(format!("{} {ident} could not be found.", T::NAME))
}

fn render_one<T: VolumeKind>(ctx: &Ctx, record: &T, selection: &Selection) -> Result<Value, ApiError> {
    let map = to_map(record.inner())?;
    let path = format!("{}/{}", T::PATH, record.uuid());
    Ok(render(T::RESOURCE, &map, ctx.version, selection, &ctx.base, Place { path: &path }))
}

/// Finds a record by UUID, the only identity volume records have.
async fn find<T: VolumeKind>(state: &AppState, ident: &str) -> Result<Versioned<T>, ApiError> {
    if uuid::Uuid::parse_str(ident).is_err() {
        return Err(ApiError::bad_request(format!("Expected a UUID but received {ident}.")));
    }
    records::<T>(state).get(&ident.to_lowercase()).await?.ok_or_else(|| not_found::<T>(ident))
}

fn store_error<T: VolumeKind>(error: StoreError, record: &T) -> ApiError {
    match error {
        StoreError::UniqueViolation { .. } => T::duplicate(record),
        StoreError::AlreadyExists(_) => {
            ApiError::conflict(format!("A {} with UUID {} already exists.", T::ACTION, record.uuid()))
        }
        other => other.into(),
    }
}

/// The arguments of a volume list.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    page: PageQuery,
    fields: Option<String>,
    detail: Option<String>,
    node: Option<String>,
}

/// `GET /v1/volume/<kind>`
pub async fn list<T: VolumeKind>(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(VOLUME)?;
    let node = match query.node.as_deref() {
        Some(ident) => Some(lookup::find(&state, ident, ctx.version).await?.record.uuid),
        None => None,
    };
    list_of::<T>(&state, &ctx, query, node, T::PATH.to_owned()).await
}

/// `GET /v1/nodes/{node}/volume/<kind>`
pub async fn node_list<T: VolumeKind>(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(VOLUME)?;
    let node = lookup::find(&state, &ident, ctx.version).await?.record.uuid;
    let path = format!("nodes/{node}/{}", T::PATH);
    list_of::<T>(&state, &ctx, query, Some(node), path).await
}

async fn list_of<T: VolumeKind>(
    state: &AppState,
    ctx: &Ctx,
    query: ListQuery,
    node: Option<uuid::Uuid>,
    path: String,
) -> Result<Json<Value>, ApiError> {
    let detail = collection::detail_flag(query.detail.as_deref());
    if detail && query.fields.is_some() {
        return Err(ApiError::bad_request("Can't fetch a subset of fields with 'detail' set"));
    }
    let page = query.page.validate(T::UNSORTABLE)?;
    let selection = Selection::from_query(T::RESOURCE, ctx.version, query.fields.as_deref(), detail)?;
    let rows = collection::all::<T>(state.store())
        .await?
        .into_iter()
        .filter(|stored| node.is_none_or(|n| stored.record.node_uuid() == n))
        .map(|stored| collection::row(stored, &page))
        .collect();
    let mut args = Vec::new();
    if detail {
        args.push(("detail", "True".to_owned()));
    }
    page_body(ctx, T::KEY, rows, &page, &path, args, not_found::<T>, |record| {
        render_one(ctx, record, &selection)
    })
}

/// `GET /v1/volume/<kind>/{uuid}`
pub async fn show<T: VolumeKind>(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(VOLUME)?;
    let selection = Selection::for_show(T::RESOURCE, ctx.version, query.fields.as_deref())?;
    Ok(Json(render_one(&ctx, &find::<T>(&state, &ident).await?.record, &selection)?))
}

/// Checks a whole document (create body or patched record): the required keys,
/// the kind's field rules, and a node that exists (its UUID normalised).
async fn check_doc<T: VolumeKind>(
    state: &AppState,
    doc: &mut Map<String, Value>,
) -> Result<lookup::StoredNode, ApiError> {
    for key in T::REQUIRED {
        if doc.get(*key).is_none_or(Value::is_null) {
            return Err(ApiError::bad_request(format!(
                "Schema error for {}: '{key}' is a required property",
                T::SCHEMA
            )));
        }
    }
    T::check(doc)?;
    let node = node_of(state, doc.get("node_uuid").unwrap_or(&Value::Null)).await?;
    doc.insert("node_uuid".into(), Value::String(node.record.uuid.to_string()));
    Ok(node)
}

/// `POST /v1/volume/<kind>`: Ironic creates these in the API, without the
/// conductor and whatever the node's power state.
pub async fn create<T: VolumeKind>(
    State(state): State<AppState>,
    ctx: Ctx,
    JsonObject(mut body): JsonObject,
) -> Result<Response, ApiError> {
    ctx.require(VOLUME)?;
    check_create_keys(&body, T::SCHEMA, T::CREATE_KEYS)?;
    check_doc::<T>(&state, &mut body).await?;
    let uuid = new_uuid(&body)?;
    let mut defaults = T::defaults();
    defaults.insert("uuid".into(), Value::String(uuid.to_string()));
    defaults.insert("created_at".into(), Value::String(ferric_model::json::isoformat(&Utc::now())));
    let record = T::wrap(collection::merge(defaults, body, &["uuid"], T::SCHEMA)?);
    let stored = records::<T>(&state).create(&record).await.map_err(|e| store_error(e, &record))?;
    tracing::info!(kind = T::SCHEMA, %uuid, node = %record.node_uuid(), "volume record created");
    Ok(created(&ctx, &format!("{}/{uuid}", T::PATH), render_one(&ctx, &stored.record, &Selection::All)?))
}

/// `PATCH /v1/volume/<kind>/{uuid}`: only while the node is powered off and
/// not locked, as Ironic's conductor allows.
pub async fn patch<T: VolumeKind>(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    ctx.require(VOLUME)?;
    patch_roots(&body, T::PATCH_ALLOWED)?;
    let patch = collection::parse_patch(body)?;
    let stored = find::<T>(&state, &ident).await?;
    let mut doc = collection::apply_patch(stored.record.inner(), &patch)?;
    let node = check_doc::<T>(&state, &mut doc).await?;
    ensure_changeable(&state, &node.record, &format!("{} update", T::ACTION)).await?;
    let inner: T::Inner = serde_json::from_value(Value::Object(doc))
        .map_err(|e| ApiError::bad_request(format!("Invalid {}: {e}", T::SCHEMA)))?;
    let mut record = T::wrap(inner);
    record.touch(Utc::now());
    let updated = records::<T>(&state)
        .update(&record, stored.mod_revision)
        .await
        .map_err(|e| store_error(e, &record))?;
    Ok(Json(render_one(&ctx, &updated.record, &Selection::All)?))
}

/// `DELETE /v1/volume/<kind>/{uuid}`: only while the node is powered off.
pub async fn delete<T: VolumeKind>(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<StatusCode, ApiError> {
    ctx.require(VOLUME)?;
    let stored = find::<T>(&state, &ident).await?;
    if let Some(node) = lookup::nodes(&state).get(&stored.record.node_uuid().to_string()).await? {
        ensure_changeable(&state, &node.record, &format!("{} deletion", T::ACTION)).await?;
    }
    records::<T>(&state).delete(&stored.record.uuid().to_string(), Some(stored.mod_revision)).await?;
    Ok(StatusCode::NO_CONTENT)
}
