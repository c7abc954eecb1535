//! `/v1/ports`: a node's network interfaces, the MACs its boot network answers.

use axum::extract::State;

use crate::extract::{Path, Query};
use axum::Json;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use ferric_catalog::PortRecord;
use ferric_model::Port;
use ferric_model::microversion::fields::Resource;
use ferric_model::validate::normalize_mac;
use ferric_store::StoreError;
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

/// Fields a port create may carry.
const CREATE_KEYS: &[&str] = &[
    "address",
    "node_uuid",
    "node_id",
    "extra",
    "local_link_connection",
    "pxe_enabled",
    "physical_network",
    "is_smartnic",
    "portgroup_uuid",
    "name",
    "description",
    "vendor",
    "category",
    "uuid",
];

/// Fields a port patch may change.
const PATCH_ALLOWED: &[&str] = &[
    "address",
    "node_uuid",
    "extra",
    "local_link_connection",
    "pxe_enabled",
    "physical_network",
    "is_smartnic",
    "portgroup_uuid",
    "name",
    "description",
    "vendor",
    "category",
];

/// Every `/v1/ports` route, plus the node's and portgroup's ports.
pub fn routes() -> Routes {
    Routes::new()
        .get("/v1/ports", list, Doc::list("List ports", "ports", "Port"))
        .post("/v1/ports", create, Doc::create("Create a port", "PortCreate", "Port"))
        .get("/v1/ports/detail", list_detail, Doc::list("List ports with every field", "ports", "Port"))
        .get("/v1/ports/{port}", show, Doc::show("Show a port", Schema::Ref("Port")))
        .patch("/v1/ports/{port}", patch, Doc::patch("Update a port", "Port"))
        .delete("/v1/ports/{port}", delete, Doc::action("Delete a port", Body::None, 204))
        .get("/v1/nodes/{node}/ports", node_ports, Doc::list("List a node's ports", "ports", "Port"))
        .get(
            "/v1/nodes/{node}/ports/detail",
            node_ports_detail,
            Doc::list("List a node's ports in detail", "ports", "Port"),
        )
        .get(
            "/v1/portgroups/{portgroup}/ports",
            portgroup_ports,
            Doc::list("List a portgroup's ports", "ports", "Port"),
        )
        .get(
            "/v1/portgroups/{portgroup}/ports/detail",
            portgroup_ports_detail,
            Doc::list("List a portgroup's ports in detail", "ports", "Port"),
        )
}

fn ports(state: &AppState) -> Collection<PortRecord> {
    Collection::new(state.store().clone())
}

fn not_found(ident: &str) -> ApiError {
    ApiError::not_found_message(format!("Port {ident} could not be found."))
}

fn render_port(ctx: &Ctx, port: &Port, selection: &Selection) -> Result<Value, ApiError> {
    let map = to_map(port)?;
    Ok(render(
        Resource::Port,
        &map,
        ctx.version,
        selection,
        &ctx.base,
        Place { path: &format!("ports/{}", port.uuid) },
    ))
}

async fn find(state: &AppState, ident: &str) -> Result<Versioned<PortRecord>, ApiError> {
    collection::find_by_mac_or_name::<PortRecord>(state.store(), ident, not_found).await
}

/// The arguments of a port list.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    page: PageQuery,
    fields: Option<String>,
    detail: Option<String>,
    node: Option<String>,
    node_uuid: Option<String>,
    address: Option<String>,
    portgroup: Option<String>,
}

/// Which ports a list is about, besides its query filters.
enum Scope {
    All,
    Node(uuid::Uuid),
    Portgroup(uuid::Uuid),
}

fn detail_arg(query: &ListQuery) -> bool {
    collection::detail_flag(query.detail.as_deref())
}

async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let detail = detail_arg(&query);
    list_ports(&state, &ctx, query, detail, Scope::All, "ports").await
}

async fn list_detail(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    list_ports(&state, &ctx, query, true, Scope::All, "ports/detail").await
}

async fn node_ports(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    let detail = detail_arg(&query);
    list_ports(&state, &ctx, query, detail, Scope::Node(node.uuid), &format!("nodes/{}/ports", node.uuid))
        .await
}

async fn node_ports_detail(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    list_ports(
        &state,
        &ctx,
        query,
        true,
        Scope::Node(node.uuid),
        &format!("nodes/{}/ports/detail", node.uuid),
    )
    .await
}

async fn portgroup_ports(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let group = crate::portgroups::find(&state, &ident).await?.record;
    let detail = detail_arg(&query);
    list_ports(
        &state,
        &ctx,
        query,
        detail,
        Scope::Portgroup(group.uuid),
        &format!("portgroups/{}/ports", group.uuid),
    )
    .await
}

async fn portgroup_ports_detail(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let group = crate::portgroups::find(&state, &ident).await?.record;
    let path = format!("portgroups/{}/ports/detail", group.uuid);
    list_ports(&state, &ctx, query, true, Scope::Portgroup(group.uuid), &path).await
}

async fn list_ports(
    state: &AppState,
    ctx: &Ctx,
    query: ListQuery,
    detail: bool,
    scope: Scope,
    resource_path: &str,
) -> Result<Json<Value>, ApiError> {
    let page = query.page.validate(&["extra", "local_link_connection", "internal_info"])?;
    let selection = Selection::from_query(Resource::Port, ctx.version, query.fields.as_deref(), detail)?;
    let node = match (&scope, query.node.as_deref().or(query.node_uuid.as_deref())) {
        (Scope::Node(uuid), _) => Some(*uuid),
        (_, Some(ident)) => Some(lookup::find(state, ident, ctx.version).await?.record.uuid),
        _ => None,
    };
    let portgroup = match (&scope, query.portgroup.as_deref()) {
        (Scope::Portgroup(uuid), _) => Some(*uuid),
        (_, Some(ident)) => Some(crate::portgroups::find(state, ident).await?.record.uuid),
        _ => None,
    };
    let address = query.address.as_deref().map(str::to_lowercase);
    let rows = collection::all::<PortRecord>(state.store())
        .await?
        .into_iter()
        .filter(|stored| {
            let port = &stored.record;
            node.is_none_or(|n| port.node_uuid == n)
                && address.as_deref().is_none_or(|a| port.address == a)
                && portgroup.is_none_or(|g| port.portgroup_uuid == Some(g))
        })
        .map(|stored| collection::row(stored, &page))
        .collect();
    page_body(ctx, "ports", rows, &page, resource_path, Vec::new(), not_found, |port| {
        render_port(ctx, port, &selection)
    })
}

async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Json<Value>, ApiError> {
    let selection = Selection::for_show(Resource::Port, ctx.version, query.fields.as_deref())?;
    let port = find(&state, &ident).await?.record;
    Ok(Json(render_port(&ctx, &port, &selection)?))
}

/// Checks and normalises a port document: a MAC address is required and
/// stored lower-case; the node and portgroup it names must exist.
async fn check_port_doc(state: &AppState, ctx: &Ctx, doc: &mut Map<String, Value>) -> Result<(), ApiError> {
    match doc.get("address") {
        Some(Value::String(address)) => {
            let mac = normalize_mac(address).map_err(|e| ApiError::bad_request(e.api_message("address")))?;
            doc.insert("address".to_owned(), Value::String(mac));
        }
        _ => {
            return Err(ApiError::bad_request(
                "Invalid input for field/attribute address. Value: None. Mandatory field missing.",
            ));
        }
    }
    match doc.remove("node_id").or_else(|| doc.get("node_uuid").cloned()) {
        Some(Value::String(ident)) => {
            let node = lookup::find(state, &ident, ctx.version).await?.record;
            doc.insert("node_uuid".to_owned(), Value::String(node.uuid.to_string()));
        }
        _ => {
            return Err(ApiError::bad_request(
                "Invalid input for field/attribute node_uuid. Value: None. Mandatory field missing.",
            ));
        }
    }
    if let Some(Value::String(ident)) = doc.get("portgroup_uuid").cloned() {
        let group = crate::portgroups::find(state, &ident).await?.record;
        doc.insert("portgroup_uuid".to_owned(), Value::String(group.uuid.to_string()));
    }
    Ok(())
}

async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    JsonObject(mut body): JsonObject,
) -> Result<Response, ApiError> {
    check_create_keys(&body, "port", CREATE_KEYS)?;
    check_port_doc(&state, &ctx, &mut body).await?;
    let uuid = new_uuid(&body)?;
    let node_uuid = body
        .get("node_uuid")
        .and_then(Value::as_str)
        .and_then(|u| uuid::Uuid::parse_str(u).ok())
        .unwrap_or_default();
    let address = body.get("address").and_then(Value::as_str).unwrap_or_default().to_owned();
    let defaults = to_map(&Port::new(uuid, node_uuid, address, Utc::now()))?;
    let port: Port = collection::merge(defaults, body, &["uuid"], "port")?;
    let created_port = ports(&state)
        .create(&PortRecord(port))
        .await
        .map_err(|e| collection::write_error(e, "port", uuid))?;
    tracing::info!(port = %uuid, node = %node_uuid, address = %created_port.record.address, "port created");
    Ok(created(&ctx, &format!("ports/{uuid}"), render_port(&ctx, &created_port.record, &Selection::All)?))
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
    let mut doc = collection::apply_patch(&stored.record.0, &patch)?;
    check_port_doc(&state, &ctx, &mut doc).await?;
    let mut port: Port = serde_json::from_value(Value::Object(doc))
        .map_err(|e| ApiError::bad_request(format!("Invalid port: {e}")))?;
    port.updated_at = Some(Utc::now());
    let uuid = port.uuid;
    let updated = ports(&state)
        .update(&PortRecord(port), stored.mod_revision)
        .await
        .map_err(|e| collection::write_error(e, "port", uuid))?;
    Ok(Json(render_port(&ctx, &updated.record, &Selection::All)?))
}

async fn delete(State(state): State<AppState>, Path(ident): Path<String>) -> Result<StatusCode, ApiError> {
    let stored = find(&state, &ident).await?;
    let uuid = stored.record.uuid;
    ports(&state)
        .delete(&uuid.to_string(), Some(stored.mod_revision))
        .await
        .map_err(|e| collection::write_error(e, "port", uuid))?;
    tracing::info!(port = %uuid, "port deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes every port of a node that is being deleted, as Ironic does.
pub async fn delete_node_ports(state: &AppState, node: uuid::Uuid) -> Result<(), ApiError> {
    for stored in collection::all::<PortRecord>(state.store()).await? {
        if stored.record.node_uuid != node {
            continue;
        }
        match ports(state).delete(&stored.record.uuid.to_string(), None).await {
            Ok(()) | Err(StoreError::NotFound(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}
