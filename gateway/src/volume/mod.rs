//! `/v1/volume` (1.32): a node's volume connectors (its initiator identities)
//! and volume targets (the volumes it boots from), for boot from volume.
//!
//! Records live in the store like ports; as in Ironic they are created by the
//! API alone, but changed or deleted only while their node is powered off and
//! not held by a conductor (Ironic's conductor refuses otherwise).
//!
//! Layout: [`kind`] (what connectors and targets differ in), [`handlers`]
//! (their generic CRUD); this file holds the index documents and the node rules.

pub mod handlers;
pub mod kind;

use axum::Json;
use axum::extract::State;
use ferric_catalog::{VolumeConnectorRecord, VolumeTargetRecord};
use ferric_model::microversion::known::VOLUME;
use ferric_model::{Node, PowerState};
use ferric_store::StoreError;
use ferric_store::records::Collection;
use serde_json::{Value, json};

use crate::ctx::Ctx;
use crate::extract::Path;
use crate::links::self_and_bookmark;
use crate::nodes::lookup;
use crate::openapi::{Body, Doc, Routes, Schema};
use crate::{ApiError, AppState};
use handlers as h;
use kind::VolumeKind;

type Connector = VolumeConnectorRecord;
type Target = VolumeTargetRecord;

/// Every `/v1/volume` route and the node's volume sub-resources.
pub fn routes() -> Routes {
    Routes::new()
        .get("/v1/volume", index, Doc::show("Links to the volume resources", Schema::Ref("VolumeIndex")))
        .get(
            "/v1/nodes/{node}/volume",
            node_index,
            Doc::show("Links to a node's volume resources", Schema::Ref("VolumeIndex")),
        )
        .merge(kind_routes::<Connector>(
            "/v1/volume/connectors",
            "/v1/volume/connectors/{id}",
            "VolumeConnector",
        ))
        .merge(kind_routes::<Target>("/v1/volume/targets", "/v1/volume/targets/{id}", "VolumeTarget"))
        .get(
            "/v1/nodes/{node}/volume/connectors",
            h::node_list::<Connector>,
            Doc::list("List a node's volume connectors", "connectors", "VolumeConnector"),
        )
        .get(
            "/v1/nodes/{node}/volume/targets",
            h::node_list::<Target>,
            Doc::list("List a node's volume targets", "targets", "VolumeTarget"),
        )
}

fn kind_routes<T: VolumeKind>(list: &'static str, item: &'static str, schema: &'static str) -> Routes {
    let create_body = if T::KEY == "connectors" { "VolumeConnectorCreate" } else { "VolumeTargetCreate" };
    Routes::new()
        .get(list, h::list::<T>, Doc::list("List", T::KEY, schema))
        .post(list, h::create::<T>, Doc::create("Create", create_body, schema))
        .get(item, h::show::<T>, Doc::show("Show", Schema::Ref(schema)))
        .patch(item, h::patch::<T>, Doc::patch("Update", schema))
        .delete(item, h::delete::<T>, Doc::action("Delete", Body::None, 204))
}

fn index_body(ctx: &Ctx, root: &str) -> Value {
    json!({
        "connectors": self_and_bookmark(&ctx.base, &format!("{root}/connectors")),
        "links": self_and_bookmark(&ctx.base, &format!("{root}/")),
        "targets": self_and_bookmark(&ctx.base, &format!("{root}/targets")),
    })
}

/// `GET /v1/volume`
async fn index(ctx: Ctx) -> Result<Json<Value>, ApiError> {
    ctx.require(VOLUME)?;
    Ok(Json(index_body(&ctx, "volume")))
}

/// `GET /v1/nodes/{node}/volume`
async fn node_index(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(VOLUME)?;
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    Ok(Json(index_body(&ctx, &format!("nodes/{}/volume", node.uuid))))
}

/// The node a volume document names by UUID; as Ironic, a missing node is a
/// 400 here (the request is not about the node).
async fn node_of(state: &AppState, value: &Value) -> Result<lookup::StoredNode, ApiError> {
    let text = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
    let Ok(uuid) = uuid::Uuid::parse_str(&text) else {
        return Err(ApiError::bad_request(format!("Expected a UUID for node_uuid, but received {text}.")));
    };
    lookup::nodes(state)
        .get(&uuid.to_string())
        .await?
        .ok_or_else(|| ApiError::bad_request(format!("Node {text} could not be found.")))
}

/// Ironic's conductor changes volume records only of an unlocked node that is
/// powered off; anything else is `InvalidStateRequested`.
async fn ensure_changeable(state: &AppState, node: &Node, action: &str) -> Result<(), ApiError> {
    crate::nodes::crud::ensure_unlocked(state, node).await?;
    if node.power_state == Some(PowerState::Off) {
        return Ok(());
    }
    let shown = node.power_state.map_or("None", PowerState::as_str);
    Err(ApiError::bad_request(format!(
        "The requested action \"{action}\" can not be performed on node \"{}\" while it is in state \"{shown}\".",
        node.uuid
    )))
}

/// Deletes a deleted node's volume connectors and targets, as Ironic's
/// `destroy_node` does.
pub async fn delete_node_records(state: &AppState, node: uuid::Uuid) -> Result<(), ApiError> {
    delete_of::<Connector>(state, node).await?;
    delete_of::<Target>(state, node).await
}

async fn delete_of<T: VolumeKind>(state: &AppState, node: uuid::Uuid) -> Result<(), ApiError> {
    let records = Collection::<T>::new(state.store().clone());
    for stored in crate::collection::all::<T>(state.store()).await? {
        if stored.record.node_uuid() != node {
            continue;
        }
        match records.delete(&stored.record.uuid().to_string(), None).await {
            Ok(()) | Err(StoreError::NotFound(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}
