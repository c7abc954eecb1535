//! `/v1/conductors` (1.49): the deploy-service instances, live or lately dead.

use axum::extract::State;

use crate::extract::{Path, Query};
use axum::Json;
use ferric_cluster::{ConductorRecord, get_conductor, list_conductors};
use ferric_model::microversion::fields::Resource;
use ferric_model::{Conductor, Version};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::ctx::Ctx;
use crate::openapi::{Doc, Routes, Schema};
use crate::render::{Place, Selection, render, to_map};
use crate::{ApiError, AppState};

/// Conductors appear at 1.49.
const CONDUCTORS: Version = Version::new(1, 49);

/// The `/v1/conductors` routes.
pub fn routes() -> Routes {
    Routes::new()
        .get("/v1/conductors", list, Doc::show("List conductors", Schema::List("conductors", "Conductor")))
        .get("/v1/conductors/{hostname}", show, Doc::show("Show a conductor", Schema::Ref("Conductor")))
}

fn gate(ctx: &Ctx) -> Result<(), ApiError> {
    if ctx.allows(CONDUCTORS) {
        Ok(())
    } else {
        Err(ApiError::not_found_message("The API is not supported for this version"))
    }
}

fn cluster_error(error: ferric_cluster::ClusterError) -> ApiError {
    ApiError::unavailable(format!("Cannot read conductors: {error}"))
}

fn to_model(record: ConductorRecord) -> Conductor {
    Conductor {
        created_at: record.created_at,
        updated_at: record.updated_at,
        hostname: record.hostname,
        conductor_group: record.conductor_group,
        drivers: record.drivers,
        alive: record.alive,
    }
}

fn render_conductor(ctx: &Ctx, conductor: &Conductor, selection: &Selection) -> Result<Value, ApiError> {
    let map = to_map(conductor)?;
    let path = format!("conductors/{}", conductor.hostname);
    Ok(render(Resource::Conductor, &map, ctx.version, selection, &ctx.base, Place { path: &path }))
}

/// The arguments of a conductor list.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    detail: Option<String>,
    fields: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    gate(&ctx)?;
    let detail = crate::collection::detail_flag(query.detail.as_deref());
    let selection = Selection::from_query(Resource::Conductor, ctx.version, query.fields.as_deref(), detail)?;
    let conductors = list_conductors(state.store()).await.map_err(cluster_error)?;
    let rendered = conductors
        .into_iter()
        .map(|record| render_conductor(&ctx, &to_model(record), &selection))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(json!({"conductors": rendered})))
}

async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(hostname): Path<String>,
) -> Result<Json<Value>, ApiError> {
    gate(&ctx)?;
    let record = get_conductor(state.store(), &hostname)
        .await
        .map_err(cluster_error)?
        .ok_or_else(|| ApiError::not_found_message(format!("Conductor {hostname} could not be found.")))?;
    Ok(Json(render_conductor(&ctx, &to_model(record), &Selection::All)?))
}
