//! Create, show, list, patch and delete nodes.

use axum::Json;
use axum::extract::State;

use crate::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use ferric_catalog::NodeRecord;
use ferric_model::hardware::{HardwareType, InterfaceKind};
use ferric_model::microversion::fields::Resource;
use ferric_model::validate::check_node_name;
use ferric_model::{Node, ProvisionState, Version};
use ferric_store::StoreError;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::filters::NodeFilters;
use super::input::{self, PATCH_ALLOWED};
use super::lookup::{self, StoredNode};
use crate::body::{JsonBody, JsonObject};
use crate::collection::{ShowQuery, created, cut_page, new_uuid, patch_roots};
use crate::ctx::Ctx;
use crate::list::{PageQuery, Row};
use crate::render::{Selection, plan, to_map};
use crate::{ApiError, AppState};

/// Node fields Ironic refuses to sort by (JSON blobs).
const UNSORTABLE: &[&str] = &[
    "properties",
    "driver_info",
    "extra",
    "instance_info",
    "driver_internal_info",
    "clean_step",
    "deploy_step",
    "raid_config",
    "target_raid_config",
    "traits",
    "network_data",
    "service_step",
];

/// How many times a patch re-reads and re-applies after losing a race to
/// another writer before answering 409.
const PATCH_ATTEMPTS: usize = 3;

/// Renders a node for the client: secrets masked, states as the version knows
/// them, fields per `selection`.
pub fn render_node(ctx: &Ctx, node: &Node, selection: &Selection) -> Result<Value, ApiError> {
    let json = super::view::node_json(node)?;
    Ok(super::view::render_json(
        ctx,
        &node.uuid,
        &json,
        node.reservation.as_deref(),
        node.conductor.as_deref(),
        selection,
    ))
}

/// `GET /v1/nodes/{node}`
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Json<Value>, ApiError> {
    let selection = Selection::for_show(Resource::Node, ctx.version, query.fields.as_deref())?;
    let mut node = lookup::find(&state, &ident, ctx.version).await?.record;
    lookup::decorate(&state, &mut node).await?;
    Ok(Json(render_node(&ctx, &node, &selection)?))
}

/// The arguments of a node list.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    page: PageQuery,
    fields: Option<String>,
    detail: Option<String>,
    #[serde(flatten)]
    filters: NodeFilters,
}

/// `GET /v1/nodes`
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let detail = match query.detail.as_deref() {
        None => false,
        Some(raw) => {
            ctx.require_arg("detail", Version::new(1, 43))?;
            input::parse_bool(raw).ok_or_else(|| ApiError::bad_request(format!("Invalid detail: {raw}")))?
        }
    };
    list_nodes(&state, &ctx, query, detail, "nodes").await
}

/// `GET /v1/chassis/{chassis}/nodes`
pub async fn chassis_nodes(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(chassis): Path<String>,
    Query(mut query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let chassis = crate::chassis::find(&state, &chassis).await?.record.uuid;
    query.filters.chassis_uuid = Some(chassis.to_string());
    let detail = query.detail.as_deref().and_then(input::parse_bool).unwrap_or(false);
    list_nodes(&state, &ctx, query, detail, &format!("chassis/{chassis}/nodes")).await
}

/// `GET /v1/nodes/detail`
pub async fn list_detail(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    if query.fields.is_some() {
        return Err(ApiError::bad_request("Can not specify ?detail=True and fields in the same request."));
    }
    list_nodes(&state, &ctx, query, true, "nodes/detail").await
}

async fn list_nodes(
    state: &AppState,
    ctx: &Ctx,
    query: ListQuery,
    detail: bool,
    resource_path: &str,
) -> Result<Response, ApiError> {
    let page = query.page.validate(UNSORTABLE)?;
    if page.sort_key != "id"
        && Selection::from_query(Resource::Node, ctx.version, Some(&page.sort_key), false).is_err()
    {
        return Err(ApiError::bad_request(format!(
            "The sort_key value \"{}\" is an invalid field for sorting",
            page.sort_key
        )));
    }
    let selection = Selection::from_query(Resource::Node, ctx.version, query.fields.as_deref(), detail)?;
    let filters = query.filters.validate(ctx.version)?;
    let (nodes, reservations) = state.node_snapshot().await?;
    let ring = state.ring();
    let mut rows = Vec::with_capacity(nodes.len());
    for cached in nodes {
        let node = &cached.stored.record;
        let uuid = node.uuid.to_string();
        let conductor = ring
            .as_ref()
            .and_then(|r| r.owner_of(&uuid, &node.conductor_group, &node.driver).map(str::to_owned));
        if !filters.matches(node, conductor.as_deref()) {
            continue;
        }
        let sort_value = match page.sort_key.as_str() {
            "id" => None,
            "reservation" => reservations.get(&uuid).cloned().map(Value::from),
            "conductor" => conductor.clone().map(Value::from),
            key => cached.json.get(key).cloned(),
        };
        let order = cached.stored.create_revision;
        rows.push(Row { uuid, order, sort_value, item: (cached, conductor) });
    }
    let mut args: Vec<(&str, String)> = Vec::new();
    if let Some(fields) = &query.fields {
        args.push(("fields", fields.clone()));
    }
    if detail && resource_path == "nodes" {
        args.push(("detail", "True".to_owned()));
    }
    let (kept, next) = cut_page(ctx, rows, &page, resource_path, args, lookup::not_found)?;
    // Written as text from each node's cached serialized fields: a thousand
    // nodes cost a copy each, not a clone and a re-serialization.
    let plan = plan(Resource::Node, ctx.version, &selection);
    let base = Value::from(ctx.base.as_str()).to_string();
    let base = base.trim_matches('"');
    let mut body = String::with_capacity(64 + kept.len() * 512);
    body.push_str("{\"nodes\": [");
    for (index, row) in kept.iter().enumerate() {
        if index > 0 {
            body.push_str(", ");
        }
        let (cached, conductor) = &row.item;
        let reservation = reservations.get(&row.uuid).map(String::as_str);
        super::view::write_node(&mut body, ctx, &plan, base, cached, reservation, conductor.as_deref());
    }
    body.push(']');
    if let Some(next) = next {
        body.push_str(", \"next\": ");
        body.push_str(&Value::from(next).to_string());
    }
    body.push('}');
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `POST /v1/nodes`
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    JsonObject(mut body): JsonObject,
) -> Result<Response, ApiError> {
    input::check_create(&mut body, ctx.version)?;
    let driver = body.get("driver").and_then(Value::as_str).unwrap_or_default().to_owned();
    let group = body.get("conductor_group").and_then(Value::as_str).unwrap_or_default().to_lowercase();
    let hardware = state.enabled_hardware_type(&driver, &group).await?;
    if let Some(Value::String(name)) = body.get("name") {
        check_node_name(name, ctx.version)
            .map_err(|e| ApiError::fault(status(e.http_status()), e.to_string()))?;
    }
    if let Some(Value::String(chassis)) = body.get("chassis_uuid") {
        crate::chassis::find(&state, chassis).await?;
    }
    let uuid = new_uuid(&body)?;
    let fresh = Node::new(uuid, driver, Utc::now(), ProvisionState::initial(ctx.version));
    let mut doc = to_map(&fresh)?;
    for (key, value) in body {
        if !value.is_null() && key != "uuid" {
            doc.insert(key, value);
        }
    }
    if let Some(Value::String(group)) = doc.get_mut("conductor_group") {
        *group = group.to_lowercase();
    }
    fill_interfaces(&mut doc, hardware, &[])?;
    let node: Node = serde_json::from_value(Value::Object(doc))
        .map_err(|e| ApiError::bad_request(format!("Invalid node: {e}")))?;
    let stored = lookup::nodes(&state).create(&NodeRecord(node)).await.map_err(|e| unique_error(e, uuid))?;
    state.wrote(stored.mod_revision);
    tracing::info!(node = %uuid, driver = %stored.record.driver, "node enrolled");
    let mut node = stored.record;
    lookup::decorate(&state, &mut node).await?;
    Ok(created(&ctx, &format!("nodes/{uuid}"), render_node(&ctx, &node, &Selection::All)?))
}

/// Sets each interface the node does not name to the hardware type's default
/// (for `reset`, also those it named before a driver change), and checks each
/// named one against the hardware type.
fn fill_interfaces(
    doc: &mut Map<String, Value>,
    hardware: &HardwareType,
    reset: &[InterfaceKind],
) -> Result<(), ApiError> {
    for kind in InterfaceKind::ALL {
        let field = kind.node_field();
        match doc.get(&field) {
            Some(Value::String(implementation)) if !reset.contains(&kind) => {
                hardware.check(kind, implementation).map_err(|e| ApiError::bad_request(e.to_string()))?;
            }
            _ => {
                doc.insert(field, Value::from(hardware.slot(kind).default));
            }
        }
    }
    Ok(())
}

/// A store refusal of a node write in Ironic's words.
fn unique_error(error: StoreError, uuid: uuid::Uuid) -> ApiError {
    match error {
        StoreError::UniqueViolation { index, value, .. } if index == "name" => {
            ApiError::conflict(format!("A node with name {value} already exists."))
        }
        StoreError::UniqueViolation { index, value, .. } if index == "instance_uuid" => {
            ApiError::conflict(format!(
                "Instance {value} is already associated with a node, it cannot be associated with this other node {uuid}"
            ))
        }
        StoreError::AlreadyExists(_) => {
            ApiError::conflict(format!("A node with UUID {uuid} already exists."))
        }
        StoreError::Conflict(_) => {
            ApiError::conflict(format!("Node {uuid} was modified by another request, please retry."))
        }
        other => other.into(),
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}

/// Ironic's 409 for a node some conductor holds.
pub fn locked(node: &Node, holder: &str) -> ApiError {
    ApiError::conflict(format!(
        "Node {} is locked by host {holder}, please retry after the current operation is completed.",
        node.uuid
    ))
}

/// Refuses a change while a conductor holds the node.
pub async fn ensure_unlocked(state: &AppState, node: &Node) -> Result<(), ApiError> {
    let locks = ferric_store::lock::Locks::new(state.store().clone());
    match locks.reservation(&ferric_catalog::node_lock(&node.uuid.to_string())).await? {
        Some(holder) => Err(locked(node, &holder)),
        None => Ok(()),
    }
}

/// `PATCH /v1/nodes/{node}`: RFC 6902 JSON Patch on the node's API shape.
pub async fn patch(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let operations = check_patch_paths(&body, &ctx)?;
    let patch: json_patch::Patch =
        serde_json::from_value(body).map_err(|e| ApiError::bad_request(format!("Invalid patch: {e}")))?;
    for _ in 0..PATCH_ATTEMPTS {
        let stored = lookup::find(&state, &ident, ctx.version).await?;
        match apply_patch(&state, &ctx, &stored, &patch, &operations).await {
            Err(PatchError::Api(error)) => return Err(error),
            Err(PatchError::Raced) => continue,
            Ok(mut node) => {
                lookup::decorate(&state, &mut node).await?;
                return Ok(Json(render_node(&ctx, &node, &Selection::All)?));
            }
        }
    }
    Err(ApiError::conflict(format!("Node {ident} is being modified by other requests, please retry.")))
}

enum PatchError {
    Api(ApiError),
    Raced,
}

impl From<ApiError> for PatchError {
    fn from(error: ApiError) -> Self {
        PatchError::Api(error)
    }
}

/// The root fields a patch touches; refuses paths outside [`PATCH_ALLOWED`].
fn check_patch_paths(body: &Value, ctx: &Ctx) -> Result<Vec<String>, ApiError> {
    let roots = patch_roots(body, PATCH_ALLOWED)?;
    for root in &roots {
        if let Some(since) = ferric_model::microversion::fields::field_min_version(Resource::Node, root)
            && ctx.version < since
        {
            return Err(ApiError::fault(StatusCode::NOT_ACCEPTABLE, "Request not acceptable."));
        }
    }
    Ok(roots)
}

async fn apply_patch(
    state: &AppState,
    ctx: &Ctx,
    stored: &StoredNode,
    patch: &json_patch::Patch,
    roots: &[String],
) -> Result<NodeRecord, PatchError> {
    let original = &stored.record;
    ensure_unlocked(state, original).await?;
    if !original.provision_state.allows_update(original.target_provision_state) {
        return Err(ApiError::conflict(format!(
            "Node {} can not be updated while a state transition is in progress.",
            original.uuid
        ))
        .into());
    }
    if original.provision_state.patch_refused_while_inspecting(ctx.version) {
        return Err(ApiError::conflict(format!(
            "Node {} can not be updated while it is being inspected.",
            original.uuid
        ))
        .into());
    }
    let mut doc = serde_json::to_value(&original.0).map_err(|e| ApiError::internal(e.to_string()))?;
    json_patch::patch(&mut doc, patch).map_err(|e| ApiError::bad_request(format!("Invalid patch: {e}")))?;
    let Value::Object(mut map) = doc else {
        return Err(ApiError::bad_request("Invalid patch: the result is not a node.").into());
    };
    input::check_patched(&mut map)?;
    // A removed field returns to its default, as in Ironic.
    let defaults = to_map(&Node::new(
        original.uuid,
        original.driver.clone(),
        original.created_at,
        original.provision_state,
    ))?;
    for (key, value) in defaults {
        map.entry(key).or_insert(value);
    }
    let driver = map.get("driver").and_then(Value::as_str).unwrap_or_default().to_owned();
    if driver != original.driver || roots.iter().any(|r| r.ends_with("_interface") || r == "conductor_group")
    {
        let group = map.get("conductor_group").and_then(Value::as_str).unwrap_or_default().to_lowercase();
        let hardware = state.enabled_hardware_type(&driver, &group).await?;
        let reset: Vec<InterfaceKind> = if driver != original.driver {
            InterfaceKind::ALL.into_iter().filter(|k| !roots.contains(&k.node_field())).collect()
        } else {
            Vec::new()
        };
        fill_interfaces(&mut map, hardware, &reset)?;
    }
    if let Some(Value::String(name)) = map.get("name")
        && original.name.as_deref() != Some(name.as_str())
    {
        check_node_name(name, ctx.version).map_err(|e| {
            ApiError::fault(status(e.http_status()), e.update_message(&original.uuid.to_string()))
        })?;
    }
    if let Some(Value::String(chassis)) = map.get("chassis_uuid")
        && original.chassis_uuid.map(|c| c.to_string()).as_deref() != Some(chassis.as_str())
    {
        crate::chassis::find(state, chassis).await?;
    }
    let mut node: Node = serde_json::from_value(Value::Object(map))
        .map_err(|e| ApiError::bad_request(format!("Invalid node: {e}")))?;
    node.updated_at = Some(Utc::now());
    node.reservation = None;
    node.conductor = None;
    match lookup::nodes(state).update(&NodeRecord(node), stored.mod_revision).await {
        Ok(updated) => {
            state.wrote(updated.mod_revision);
            Ok(updated.record)
        }
        Err(StoreError::Conflict(_)) => Err(PatchError::Raced),
        Err(error) => Err(unique_error(error, original.uuid).into()),
    }
}

/// `DELETE /v1/nodes` without a node: Ironic's 400, not a 405.
pub async fn delete_without_node() -> ApiError {
    ApiError::bad_request("Missing mandatory parameter: node_ident")
}

/// `DELETE /v1/nodes/{node}`
pub async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<StatusCode, ApiError> {
    let stored = lookup::find(&state, &ident, ctx.version).await?;
    let node = &stored.record;
    ensure_unlocked(&state, node).await?;
    if !node.provision_state.allows_delete(node.maintenance, true) {
        return Err(ApiError::conflict(format!(
            "Can not delete node \"{}\" while it is in provision state \"{}\". Valid provision states to perform deletion are: \"('manageable', 'enroll', 'adopt failed', 'available')\", or set the node into maintenance mode",
            node.uuid, node.provision_state
        )));
    }
    if node.protected {
        return Err(ApiError::bad_request(format!(
            "Node {} is protected and cannot be undeployed, rebuilt or deleted",
            node.uuid
        )));
    }
    crate::ports::delete_node_ports(&state, node.uuid).await?;
    crate::volume::delete_node_records(&state, node.uuid).await?;
    crate::allocations::delete_node_allocations(&state, node.uuid).await?;
    lookup::nodes(&state)
        .delete(&node.uuid.to_string(), Some(stored.mod_revision))
        .await
        .map_err(|e| unique_error(e, node.uuid))?;
    state.wrote_now().await;
    tracing::info!(node = %node.uuid, "node deleted");
    Ok(StatusCode::NO_CONTENT)
}
