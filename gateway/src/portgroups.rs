//! `/v1/portgroups` (1.23): bonded ports of a node.

use axum::extract::State;

use crate::extract::{Path, Query};
use axum::Json;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use ferric_catalog::{PortRecord, PortgroupRecord};
use ferric_model::microversion::fields::Resource;
use ferric_model::validate::normalize_mac;
use ferric_model::{Portgroup, Version};
use ferric_store::records::{Collection, Versioned};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::body::{JsonBody, JsonObject};
use crate::collection::{self, ShowQuery, check_create_keys, created, new_uuid, page_body, patch_roots};
use crate::ctx::Ctx;
use crate::list::PageQuery;
use crate::nodes::lookup;
use crate::openapi::{Body, Doc, Routes, Schema};
use crate::render::{Place, Selection, render, to_map};
use crate::{ApiError, AppState};

/// Portgroups appear at 1.23.
const PORTGROUPS: Version = Version::new(1, 23);

/// Fields a portgroup create may carry.
const CREATE_KEYS: &[&str] = &[
    "address",
    "node_uuid",
    "extra",
    "mode",
    "name",
    "properties",
    "standalone_ports_supported",
    "physical_network",
    "category",
    "uuid",
];

/// Fields a portgroup patch may change.
const PATCH_ALLOWED: &[&str] = &[
    "address",
    "node_uuid",
    "extra",
    "mode",
    "name",
    "properties",
    "standalone_ports_supported",
    "physical_network",
    "category",
];

/// Every `/v1/portgroups` route, plus the node's portgroups sub-resource.
pub fn routes() -> Routes {
    Routes::new()
        .get("/v1/portgroups", list, Doc::list("List portgroups", "portgroups", "Portgroup"))
        .post("/v1/portgroups", create, Doc::create("Create a portgroup", "PortgroupCreate", "Portgroup"))
        .get(
            "/v1/portgroups/detail",
            list_detail,
            Doc::list("List portgroups in detail", "portgroups", "Portgroup"),
        )
        .get("/v1/portgroups/{portgroup}", show, Doc::show("Show a portgroup", Schema::Ref("Portgroup")))
        .patch("/v1/portgroups/{portgroup}", patch, Doc::patch("Update a portgroup", "Portgroup"))
        .delete("/v1/portgroups/{portgroup}", delete, Doc::action("Delete a portgroup", Body::None, 204))
        .get(
            "/v1/nodes/{node}/portgroups",
            node_portgroups,
            Doc::list("List a node's portgroups", "portgroups", "Portgroup"),
        )
        .get(
            "/v1/nodes/{node}/portgroups/detail",
            node_portgroups_detail,
            Doc::list("List a node's portgroups in detail", "portgroups", "Portgroup"),
        )
}

fn groups(state: &AppState) -> Collection<PortgroupRecord> {
    Collection::new(state.store().clone())
}

fn not_found(ident: &str) -> ApiError {
    ApiError::not_found_message(format!("Portgroup {ident} could not be found."))
}

fn render_group(ctx: &Ctx, group: &Portgroup, selection: &Selection) -> Result<Value, ApiError> {
    let map = to_map(group)?;
    let path = format!("portgroups/{}", group.uuid);
    Ok(render(Resource::Portgroup, &map, ctx.version, selection, &ctx.base, Place { path: &path }))
}

/// Finds a portgroup by UUID, MAC address or name.
pub async fn find(state: &AppState, ident: &str) -> Result<Versioned<PortgroupRecord>, ApiError> {
    collection::find_by_mac_or_name::<PortgroupRecord>(state.store(), ident, not_found).await
}

/// The arguments of a portgroup list.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    page: PageQuery,
    fields: Option<String>,
    detail: Option<String>,
    node: Option<String>,
    address: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let detail = collection::detail_flag(query.detail.as_deref());
    list_groups(&state, &ctx, query, detail, None, "portgroups").await
}

async fn list_detail(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    list_groups(&state, &ctx, query, true, None, "portgroups/detail").await
}

async fn node_portgroups(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    let detail = collection::detail_flag(query.detail.as_deref());
    list_groups(&state, &ctx, query, detail, Some(node.uuid), &format!("nodes/{}/portgroups", node.uuid))
        .await
}

async fn node_portgroups_detail(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    let path = format!("nodes/{}/portgroups/detail", node.uuid);
    list_groups(&state, &ctx, query, true, Some(node.uuid), &path).await
}

async fn list_groups(
    state: &AppState,
    ctx: &Ctx,
    query: ListQuery,
    detail: bool,
    node: Option<uuid::Uuid>,
    resource_path: &str,
) -> Result<Json<Value>, ApiError> {
    ctx.require(PORTGROUPS)?;
    let page = query.page.validate(&["extra", "properties", "internal_info"])?;
    let selection = Selection::from_query(Resource::Portgroup, ctx.version, query.fields.as_deref(), detail)?;
    let node = match (node, query.node.as_deref()) {
        (Some(uuid), _) => Some(uuid),
        (None, Some(ident)) => Some(lookup::find(state, ident, ctx.version).await?.record.uuid),
        (None, None) => None,
    };
    let address = query.address.as_deref().map(str::to_lowercase);
    let rows = collection::all::<PortgroupRecord>(state.store())
        .await?
        .into_iter()
        .filter(|stored| {
            node.is_none_or(|n| stored.record.node_uuid == n)
                && address.as_deref().is_none_or(|a| stored.record.address.as_deref() == Some(a))
        })
        .map(|stored| collection::row(stored, &page))
        .collect();
    page_body(ctx, "portgroups", rows, &page, resource_path, Vec::new(), not_found, |group| {
        render_group(ctx, group, &selection)
    })
}

async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(PORTGROUPS)?;
    let selection = Selection::for_show(Resource::Portgroup, ctx.version, query.fields.as_deref())?;
    let group = find(&state, &ident).await?.record;
    Ok(Json(render_group(&ctx, &group, &selection)?))
}

/// Checks and normalises a portgroup document: an optional lower-cased MAC and
/// a node that exists.
async fn check_group_doc(state: &AppState, ctx: &Ctx, doc: &mut Map<String, Value>) -> Result<(), ApiError> {
    if let Some(Value::String(address)) = doc.get("address") {
        let mac = normalize_mac(address).map_err(|e| ApiError::bad_request(e.api_message("address")))?;
        doc.insert("address".to_owned(), Value::String(mac));
    }
    match doc.get("node_uuid").cloned() {
        Some(Value::String(ident)) => {
            let node = lookup::find(state, &ident, ctx.version).await?.record;
            doc.insert("node_uuid".to_owned(), Value::String(node.uuid.to_string()));
            Ok(())
        }
        _ => Err(ApiError::bad_request(
            "Invalid input for field/attribute node_uuid. Value: None. Mandatory field missing.",
        )),
    }
}

async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    JsonObject(mut body): JsonObject,
) -> Result<Response, ApiError> {
    ctx.require(PORTGROUPS)?;
    check_create_keys(&body, "portgroup", CREATE_KEYS)?;
    check_group_doc(&state, &ctx, &mut body).await?;
    let uuid = new_uuid(&body)?;
    let node_uuid = body
        .get("node_uuid")
        .and_then(Value::as_str)
        .and_then(|u| uuid::Uuid::parse_str(u).ok())
        .unwrap_or_default();
    let defaults = to_map(&Portgroup::new(uuid, node_uuid, Utc::now()))?;
    let group: Portgroup = collection::merge(defaults, body, &["uuid"], "portgroup")?;
    let stored = groups(&state)
        .create(&PortgroupRecord(group))
        .await
        .map_err(|e| collection::write_error(e, "portgroup", uuid))?;
    tracing::info!(portgroup = %uuid, node = %node_uuid, "portgroup created");
    Ok(created(&ctx, &format!("portgroups/{uuid}"), render_group(&ctx, &stored.record, &Selection::All)?))
}

async fn patch(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    ctx.require(PORTGROUPS)?;
    patch_roots(&body, PATCH_ALLOWED)?;
    let patch = collection::parse_patch(body)?;
    let stored = find(&state, &ident).await?;
    let mut doc = collection::apply_patch(&stored.record.0, &patch)?;
    check_group_doc(&state, &ctx, &mut doc).await?;
    let mut group: Portgroup = serde_json::from_value(Value::Object(doc))
        .map_err(|e| ApiError::bad_request(format!("Invalid portgroup: {e}")))?;
    group.updated_at = Some(Utc::now());
    let uuid = group.uuid;
    let updated = groups(&state)
        .update(&PortgroupRecord(group), stored.mod_revision)
        .await
        .map_err(|e| collection::write_error(e, "portgroup", uuid))?;
    Ok(Json(render_group(&ctx, &updated.record, &Selection::All)?))
}

async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<StatusCode, ApiError> {
    ctx.require(PORTGROUPS)?;
    let stored = find(&state, &ident).await?;
    let uuid = stored.record.uuid;
    let members = collection::all::<PortRecord>(state.store()).await?;
    if members.iter().any(|port| port.record.portgroup_uuid == Some(uuid)) {
        return Err(ApiError::conflict(format!(
            "Port group {uuid} contains ports. Ports must be removed before deletion."
        )));
    }
    groups(&state)
        .delete(&uuid.to_string(), Some(stored.mod_revision))
        .await
        .map_err(|e| collection::write_error(e, "portgroup", uuid))?;
    tracing::info!(portgroup = %uuid, "portgroup deleted");
    Ok(StatusCode::NO_CONTENT)
}
