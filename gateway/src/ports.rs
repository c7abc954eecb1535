//! `/v1/ports`: a node's network interfaces, the MACs its boot network answers.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use ferric_catalog::PortRecord;
use ferric_model::Port;
use ferric_model::microversion::fields::Resource;
use ferric_model::validate::normalize_mac;
use ferric_store::StoreError;
use ferric_store::records::Collection;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::body::{JsonBody, JsonObject};
use crate::ctx::Ctx;
use crate::links::next_page;
use crate::list::{PageQuery, Row, cut};
use crate::nodes::lookup;
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

/// Every `/v1/ports` route, plus the node's ports sub-resource.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/ports", get(list).post(create))
        .route("/v1/ports/detail", get(list_detail))
        .route("/v1/ports/{port}", get(show).patch(patch).delete(delete))
        .route("/v1/nodes/{node}/ports", get(node_ports))
        .route("/v1/nodes/{node}/ports/detail", get(node_ports_detail))
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

async fn find(
    state: &AppState,
    ident: &str,
) -> Result<ferric_store::records::Versioned<PortRecord>, ApiError> {
    let found = if uuid::Uuid::parse_str(ident).is_ok() {
        ports(state).get(&ident.to_lowercase()).await?
    } else if let Ok(mac) = normalize_mac(ident) {
        ports(state).get_by("address", &mac).await?
    } else {
        ports(state).get_by("name", ident).await?
    };
    found.ok_or_else(|| not_found(ident))
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

async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let detail = query.detail.as_deref().and_then(crate::nodes::input::parse_bool).unwrap_or(false);
    list_ports(&state, &ctx, query, detail, None, "ports").await
}

async fn list_detail(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    list_ports(&state, &ctx, query, true, None, "ports/detail").await
}

async fn node_ports(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    let detail = query.detail.as_deref().and_then(crate::nodes::input::parse_bool).unwrap_or(false);
    list_ports(&state, &ctx, query, detail, Some(node.uuid), &format!("nodes/{}/ports", node.uuid)).await
}

async fn node_ports_detail(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    list_ports(&state, &ctx, query, true, Some(node.uuid), &format!("nodes/{}/ports/detail", node.uuid)).await
}

async fn list_ports(
    state: &AppState,
    ctx: &Ctx,
    query: ListQuery,
    detail: bool,
    node: Option<uuid::Uuid>,
    resource_path: &str,
) -> Result<Json<Value>, ApiError> {
    let page = query.page.validate(&["extra", "local_link_connection", "internal_info"])?;
    let selection = Selection::from_query(Resource::Port, ctx.version, query.fields.as_deref(), detail)?;
    let node = match (node, query.node.as_deref().or(query.node_uuid.as_deref())) {
        (Some(uuid), _) => Some(uuid),
        (None, Some(ident)) => Some(lookup::find(state, ident, ctx.version).await?.record.uuid),
        (None, None) => None,
    };
    let address = query.address.as_deref().map(str::to_lowercase);
    let portgroup = query.portgroup.as_deref().and_then(|p| uuid::Uuid::parse_str(p).ok());
    let mut rows = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let listed = ports(state).list(after.as_deref(), 1000).await?;
        for stored in listed.items {
            let port = stored.record;
            let keep = node.is_none_or(|n| port.node_uuid == n)
                && address.as_deref().is_none_or(|a| port.address == a)
                && (query.portgroup.is_none() || port.portgroup_uuid == portgroup);
            if keep {
                let sort_value = page.sort_value(&port.0);
                rows.push(Row {
                    uuid: port.uuid.to_string(),
                    order: stored.create_revision,
                    sort_value,
                    item: port,
                });
            }
        }
        match listed.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let kept = cut(rows, &page, not_found)?;
    let out =
        kept.iter().map(|row| render_port(ctx, &row.item, &selection)).collect::<Result<Vec<_>, _>>()?;
    let mut body = Map::new();
    let full = out.len() == page.limit;
    body.insert("ports".to_owned(), Value::Array(out));
    if full && let Some(last) = kept.last() {
        let args = [
            ("sort_key", page.sort_key.clone()),
            ("sort_dir", if page.descending { "desc" } else { "asc" }.to_owned()),
        ];
        body.insert(
            "next".to_owned(),
            Value::String(next_page(&ctx.base, resource_path, &args, page.limit, &last.uuid)),
        );
    }
    Ok(Json(Value::Object(body)))
}

#[derive(Debug, Default, Deserialize)]
struct ShowQuery {
    fields: Option<String>,
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

/// A store refusal of a port write in Ironic's words.
fn port_error(error: StoreError, uuid: uuid::Uuid) -> ApiError {
    match error {
        StoreError::UniqueViolation { index, value, .. } if index == "address" => {
            ApiError::conflict(format!("A port with MAC address {value} already exists."))
        }
        StoreError::UniqueViolation { index, value, .. } if index == "name" => {
            ApiError::conflict(format!("A port with name {value} already exists."))
        }
        StoreError::AlreadyExists(_) => {
            ApiError::conflict(format!("A port with UUID {uuid} already exists."))
        }
        other => other.into(),
    }
}

/// Checks and normalises the fields of a port body.
fn check_port_doc(doc: &mut Map<String, Value>) -> Result<(), ApiError> {
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
    Ok(())
}

async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    JsonObject(mut body): JsonObject,
) -> Result<Response, ApiError> {
    if let Some(unknown) = body.keys().find(|k| !CREATE_KEYS.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "Schema error for port: Additional properties are not allowed ('{unknown}' was unexpected)"
        )));
    }
    check_port_doc(&mut body)?;
    let node_ident =
        body.get("node_uuid").or_else(|| body.get("node_id")).and_then(Value::as_str).map(str::to_owned);
    let Some(node_ident) = node_ident else {
        return Err(ApiError::bad_request(
            "Invalid input for field/attribute node_uuid. Value: None. Mandatory field missing.",
        ));
    };
    let node = lookup::find(&state, &node_ident, ctx.version).await?.record;
    let uuid = match body.get("uuid").and_then(Value::as_str) {
        Some(text) => uuid::Uuid::parse_str(text)
            .map_err(|_| ApiError::bad_request(format!("Expected a UUID but received {text}.")))?,
        None => uuid::Uuid::new_v4(),
    };
    let address = body.get("address").and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut doc = to_map(&Port::new(uuid, node.uuid, address, Utc::now()))?;
    for (key, value) in body {
        if !value.is_null() && !matches!(key.as_str(), "uuid" | "node_uuid" | "node_id" | "address") {
            doc.insert(key, value);
        }
    }
    let port: Port = serde_json::from_value(Value::Object(doc))
        .map_err(|e| ApiError::bad_request(format!("Invalid port: {e}")))?;
    let created = ports(&state).create(&PortRecord(port)).await.map_err(|e| port_error(e, uuid))?;
    tracing::info!(port = %uuid, node = %node.uuid, address = %created.record.address, "port created");
    let rendered = render_port(&ctx, &created.record, &Selection::All)?;
    let mut response = (StatusCode::CREATED, Json(rendered)).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("{}/v1/ports/{uuid}", ctx.base)) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

async fn patch(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let Value::Array(operations) = &body else {
        return Err(ApiError::bad_request("Invalid patch: a JSON Patch is a list of operations."));
    };
    for operation in operations {
        let path = operation.get("path").and_then(Value::as_str).unwrap_or_default();
        let root = path.trim_start_matches('/').split('/').next().unwrap_or_default();
        if !PATCH_ALLOWED.contains(&root) {
            return Err(ApiError::bad_request(format!(
                "Cannot patch {path}. Only the following can be updated: {}",
                PATCH_ALLOWED.join(", ")
            )));
        }
    }
    let patch: json_patch::Patch =
        serde_json::from_value(body).map_err(|e| ApiError::bad_request(format!("Invalid patch: {e}")))?;
    let stored = find(&state, &ident).await?;
    let original = stored.record;
    let mut doc = serde_json::to_value(&original.0).map_err(|e| ApiError::internal(e.to_string()))?;
    json_patch::patch(&mut doc, &patch).map_err(|e| ApiError::bad_request(format!("Invalid patch: {e}")))?;
    let Value::Object(mut map) = doc else {
        return Err(ApiError::bad_request("Invalid patch: the result is not a port."));
    };
    check_port_doc(&mut map)?;
    if let Some(Value::String(node_ident)) = map.get("node_uuid").cloned()
        && node_ident != original.node_uuid.to_string()
    {
        let node = lookup::find(&state, &node_ident, ctx.version).await?.record;
        map.insert("node_uuid".to_owned(), Value::String(node.uuid.to_string()));
    }
    let mut port: Port = serde_json::from_value(Value::Object(map))
        .map_err(|e| ApiError::bad_request(format!("Invalid port: {e}")))?;
    port.updated_at = Some(Utc::now());
    let updated = ports(&state)
        .update(&PortRecord(port), stored.mod_revision)
        .await
        .map_err(|e| port_error(e, original.uuid))?;
    Ok(Json(render_port(&ctx, &updated.record, &Selection::All)?))
}

async fn delete(State(state): State<AppState>, Path(ident): Path<String>) -> Result<StatusCode, ApiError> {
    let stored = find(&state, &ident).await?;
    let uuid = stored.record.uuid;
    ports(&state)
        .delete(&uuid.to_string(), Some(stored.mod_revision))
        .await
        .map_err(|e| port_error(e, uuid))?;
    tracing::info!(port = %uuid, "port deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes every port of a node that is being deleted, as Ironic does.
pub async fn delete_node_ports(state: &AppState, node: uuid::Uuid) -> Result<(), ApiError> {
    let mut after: Option<String> = None;
    loop {
        let listed = ports(state).list(after.as_deref(), 1000).await?;
        for stored in listed.items.iter().filter(|p| p.record.node_uuid == node) {
            match ports(state).delete(&stored.record.uuid.to_string(), None).await {
                Ok(()) | Err(StoreError::NotFound(_)) => {}
                Err(error) => return Err(error.into()),
            }
        }
        match listed.next {
            Some(next) => after = Some(next),
            None => return Ok(()),
        }
    }
}
