//! `/v1/inspection_rules` (1.96): rules the conductor applies to what
//! inspection found, migrated from ironic-inspector. Plain records here,
//! checked for shape (known operators, object arguments, at least one action);
//! a `sensitive` rule never shows its conditions and actions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use ferric_catalog::InspectionRuleRecord;
use ferric_model::InspectionRule;
use ferric_model::inspection_rule::{PHASES, step_error};
use ferric_model::microversion::fields::Resource;
use ferric_model::microversion::known::INSPECTION_RULES;
use ferric_store::StoreError;
use ferric_store::records::{Collection, Versioned};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::body::{JsonBody, JsonObject};
use crate::collection::{self, ShowQuery, check_create_keys, created, new_uuid, page_body, patch_roots};
use crate::ctx::Ctx;
use crate::extract::{Path, Query};
use crate::list::PageQuery;
use crate::openapi::{Body, Doc, Routes, Schema};
use crate::render::{Place, Selection, render, to_map};
use crate::{ApiError, AppState};

/// Fields a create may carry.
const CREATE_KEYS: &[&str] =
    &["uuid", "description", "phase", "priority", "sensitive", "conditions", "actions"];
/// Fields a patch may change.
const PATCH_ALLOWED: &[&str] = &["description", "phase", "priority", "sensitive", "conditions", "actions"];

/// Every inspection rule route.
pub fn routes() -> Routes {
    Routes::new()
        .get(
            "/v1/inspection_rules",
            list,
            Doc::list("List inspection rules", "inspection_rules", "InspectionRule"),
        )
        .post(
            "/v1/inspection_rules",
            create,
            Doc::create("Create an inspection rule", "InspectionRuleCreate", "InspectionRule"),
        )
        .delete(
            "/v1/inspection_rules",
            delete_all,
            Doc::action("Delete every inspection rule", Body::None, 204),
        )
        .get(
            "/v1/inspection_rules/{rule}",
            show,
            Doc::show("Show an inspection rule", Schema::Ref("InspectionRule")),
        )
        .patch(
            "/v1/inspection_rules/{rule}",
            patch,
            Doc::patch("Update an inspection rule", "InspectionRule"),
        )
        .delete(
            "/v1/inspection_rules/{rule}",
            delete,
            Doc::action("Delete an inspection rule", Body::None, 204),
        )
}

fn rules(state: &AppState) -> Collection<InspectionRuleRecord> {
    Collection::new(state.store().clone())
}

fn not_found(ident: &str) -> ApiError {
    ApiError::not_found_message(format!("Inspection rule {ident} could not be found."))
}

fn render_rule(ctx: &Ctx, rule: &InspectionRule, selection: &Selection) -> Result<Value, ApiError> {
    let mut map = to_map(rule)?;
    if rule.sensitive {
        map.insert("conditions".into(), Value::Null);
        map.insert("actions".into(), Value::Null);
    }
    let path = format!("inspection_rules/{}", rule.uuid);
    Ok(render(Resource::InspectionRule, &map, ctx.version, selection, &ctx.base, Place { path: &path }))
}

async fn find(state: &AppState, ident: &str) -> Result<Versioned<InspectionRuleRecord>, ApiError> {
    if uuid::Uuid::parse_str(ident).is_err() {
        return Err(ApiError::bad_request(format!("Expected a UUID but received {ident}.")));
    }
    rules(state).get(&ident.to_lowercase()).await?.ok_or_else(|| not_found(ident))
}

fn schema_error(detail: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("Schema error for inspection_rule: {detail}"))
}

/// Checks a whole rule document: types, phase, and every step's shape.
fn check_doc(doc: &Map<String, Value>) -> Result<(), ApiError> {
    if let Some(phase) = doc.get("phase").filter(|p| !p.is_null())
        && phase.as_str().is_none_or(|p| !PHASES.contains(&p))
    {
        return Err(schema_error(format!("{phase} is not one of ['main']")));
    }
    if doc.get("priority").is_some_and(|p| !p.is_null() && !p.is_i64()) {
        return Err(schema_error("'priority' must be an integer"));
    }
    if doc.get("sensitive").is_some_and(|s| !s.is_null() && !s.is_boolean()) {
        return Err(schema_error("'sensitive' must be a boolean"));
    }
    if doc
        .get("description")
        .is_some_and(|d| !d.is_null() && d.as_str().is_none_or(|d| d.chars().count() > 255))
    {
        return Err(schema_error("'description' must be a string of at most 255 characters"));
    }
    let Some(Value::Array(actions)) = doc.get("actions") else {
        return Err(schema_error("'actions' is a required property"));
    };
    if actions.is_empty() {
        return Err(schema_error("[] should be non-empty"));
    }
    let conditions = match doc.get("conditions") {
        None | Some(Value::Null) => &Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(schema_error(format!("{other} is not of type 'array'"))),
    };
    let steps = conditions.iter().map(|c| ("condition", c)).chain(actions.iter().map(|a| ("action", a)));
    for (kind, step) in steps {
        if let Some(error) = step_error(kind, step) {
            return Err(schema_error(error));
        }
    }
    Ok(())
}

/// The arguments of a list.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    page: PageQuery,
    fields: Option<String>,
    detail: Option<String>,
    phase: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(INSPECTION_RULES)?;
    let detail = collection::detail_flag(query.detail.as_deref());
    let page = query.page.validate(&["conditions", "actions"])?;
    let selection =
        Selection::from_query(Resource::InspectionRule, ctx.version, query.fields.as_deref(), detail)?;
    let rows = collection::all::<InspectionRuleRecord>(state.store())
        .await?
        .into_iter()
        .filter(|stored| query.phase.as_ref().is_none_or(|p| &stored.record.phase == p))
        .map(|stored| collection::row(stored, &page))
        .collect();
    page_body(&ctx, "inspection_rules", rows, &page, "inspection_rules", Vec::new(), not_found, |rule| {
        render_rule(&ctx, rule, &selection)
    })
}

async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(INSPECTION_RULES)?;
    let selection = Selection::for_show(Resource::InspectionRule, ctx.version, query.fields.as_deref())?;
    Ok(Json(render_rule(&ctx, &find(&state, &ident).await?.record, &selection)?))
}

async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    ctx.require(INSPECTION_RULES)?;
    check_create_keys(&body, "inspection_rule", CREATE_KEYS)?;
    check_doc(&body)?;
    let uuid = new_uuid(&body)?;
    let defaults = to_map(&InspectionRule::new(uuid, Utc::now()))?;
    let rule: InspectionRule = collection::merge(defaults, body, &["uuid"], "inspection_rule")?;
    let stored = rules(&state).create(&InspectionRuleRecord(rule)).await.map_err(|error| match error {
        StoreError::AlreadyExists(_) => {
            ApiError::conflict(format!("An inspection rule with UUID {uuid} already exists."))
        }
        other => other.into(),
    })?;
    Ok(created(
        &ctx,
        &format!("inspection_rules/{uuid}"),
        render_rule(&ctx, &stored.record, &Selection::All)?,
    ))
}

async fn patch(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    ctx.require(INSPECTION_RULES)?;
    patch_roots(&body, PATCH_ALLOWED)?;
    let patch = collection::parse_patch(body)?;
    let stored = find(&state, &ident).await?;
    let doc = collection::apply_patch(&stored.record.0, &patch)?;
    check_doc(&doc)?;
    let mut rule: InspectionRule = serde_json::from_value(Value::Object(doc))
        .map_err(|e| ApiError::bad_request(format!("Invalid inspection_rule: {e}")))?;
    rule.updated_at = Some(Utc::now());
    let updated = rules(&state).update(&InspectionRuleRecord(rule), stored.mod_revision).await?;
    Ok(Json(render_rule(&ctx, &updated.record, &Selection::All)?))
}

async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<StatusCode, ApiError> {
    ctx.require(INSPECTION_RULES)?;
    let stored = find(&state, &ident).await?;
    rules(&state).delete(&stored.record.uuid.to_string(), Some(stored.mod_revision)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v1/inspection_rules`: every rule goes.
async fn delete_all(State(state): State<AppState>, ctx: Ctx) -> Result<StatusCode, ApiError> {
    ctx.require(INSPECTION_RULES)?;
    for stored in collection::all::<InspectionRuleRecord>(state.store()).await? {
        match rules(&state).delete(&stored.record.uuid.to_string(), None).await {
            Ok(()) | Err(StoreError::NotFound(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
