//! Deploy templates (1.55) and runbooks (1.92): named lists of steps that
//! nodes pick up by trait. Both are plain records with the same rules — a name
//! that is a valid trait, at least one step, each step on a known interface —
//! so one generic implementation serves both.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use ferric_catalog::{DeployTemplateRecord, RunbookRecord};
use ferric_model::hardware::InterfaceKind;
use ferric_model::microversion::fields::Resource;
use ferric_model::validate::validate_trait;
use ferric_model::{DeployTemplate, Runbook, Version};
use ferric_store::StoreError;
use ferric_store::records::{Collection, Record, Versioned};
use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::body::{JsonBody, JsonObject};
use crate::collection::{self, ShowQuery, check_create_keys, created, new_uuid, page_body, patch_roots};
use crate::ctx::Ctx;
use crate::extract::{Path, Query};
use crate::list::PageQuery;
use crate::openapi::{Body, Doc, Routes, Schema};
use crate::render::{Place, Selection, render, to_map};
use crate::{ApiError, AppState};

/// What distinguishes one kind of step set from the other.
pub trait StepSet: Record + Clone + 'static {
    /// The resource as the field tables know it.
    const RESOURCE: Resource;
    /// Collection path under `/v1`, e.g. `deploy_templates`.
    const PATH: &'static str;
    /// Name in messages, e.g. `Deploy template`.
    const NAME: &'static str;
    /// Name in schema messages, e.g. `deploy_template`.
    const SCHEMA: &'static str;
    /// First version serving it.
    const SINCE: Version;
    /// Keys a create may carry.
    const CREATE_KEYS: &'static [&'static str];
    /// Keys a patch may change.
    const PATCH_ALLOWED: &'static [&'static str];
    /// The model type.
    type Inner: Serialize + DeserializeOwned;
    /// A fresh one with defaults.
    fn fresh(uuid: uuid::Uuid, now: DateTime<Utc>, name: String) -> Self::Inner;
    /// Wraps the model type as a record.
    fn wrap(inner: Self::Inner) -> Self;
    /// The model type inside.
    fn inner(&self) -> &Self::Inner;
    /// Its UUID.
    fn uuid(&self) -> uuid::Uuid;
    /// Stamps a change.
    fn touch(&mut self, now: DateTime<Utc>);
}

impl StepSet for DeployTemplateRecord {
    const RESOURCE: Resource = Resource::DeployTemplate;
    const PATH: &'static str = "deploy_templates";
    const NAME: &'static str = "Deploy template";
    const SCHEMA: &'static str = "deploy_template";
    const SINCE: Version = Version::new(1, 55);
    const CREATE_KEYS: &'static [&'static str] = &["name", "steps", "extra", "uuid"];
    const PATCH_ALLOWED: &'static [&'static str] = &["name", "steps", "extra"];
    type Inner = DeployTemplate;

    fn fresh(uuid: uuid::Uuid, now: DateTime<Utc>, name: String) -> DeployTemplate {
        DeployTemplate {
            uuid,
            created_at: now,
            updated_at: None,
            name,
            extra: Default::default(),
            steps: Vec::new(),
        }
    }
    fn wrap(inner: DeployTemplate) -> Self {
        DeployTemplateRecord(inner)
    }
    fn inner(&self) -> &DeployTemplate {
        &self.0
    }
    fn uuid(&self) -> uuid::Uuid {
        self.0.uuid
    }
    fn touch(&mut self, now: DateTime<Utc>) {
        self.0.updated_at = Some(now);
    }
}

impl StepSet for RunbookRecord {
    const RESOURCE: Resource = Resource::Runbook;
    const PATH: &'static str = "runbooks";
    const NAME: &'static str = "Runbook";
    const SCHEMA: &'static str = "runbook";
    const SINCE: Version = Version::new(1, 92);
    const CREATE_KEYS: &'static [&'static str] =
        &["name", "steps", "extra", "uuid", "public", "owner", "disable_ramdisk", "description"];
    const PATCH_ALLOWED: &'static [&'static str] =
        &["name", "steps", "extra", "public", "owner", "disable_ramdisk", "description"];
    type Inner = Runbook;

    fn fresh(uuid: uuid::Uuid, now: DateTime<Utc>, name: String) -> Runbook {
        Runbook {
            uuid,
            created_at: now,
            updated_at: None,
            name,
            extra: Default::default(),
            public: false,
            owner: None,
            disable_ramdisk: false,
            description: None,
            steps: Vec::new(),
            traits: Vec::new(),
        }
    }
    fn wrap(inner: Runbook) -> Self {
        RunbookRecord(inner)
    }
    fn inner(&self) -> &Runbook {
        &self.0
    }
    fn uuid(&self) -> uuid::Uuid {
        self.0.uuid
    }
    fn touch(&mut self, now: DateTime<Utc>) {
        self.0.updated_at = Some(now);
    }
}

/// The routes of one kind of step set.
pub fn routes<T: StepSet>(list_path: &'static str, item_path: &'static str, schema: &'static str) -> Routes {
    Routes::new()
        .get(list_path, list::<T>, Doc::list("List", T::PATH, schema))
        .post(list_path, create::<T>, Doc::create("Create", "StepSetCreate", schema))
        .get(item_path, show::<T>, Doc::show("Show", Schema::Ref(schema)))
        .patch(item_path, patch::<T>, Doc::patch("Update", schema))
        .delete(item_path, delete::<T>, Doc::action("Delete", Body::None, 204))
}

fn records<T: StepSet>(state: &AppState) -> Collection<T> {
    Collection::new(state.store().clone())
}

fn not_found<T: StepSet>(ident: &str) -> ApiError {
    ApiError::not_found_message(format!("{} {ident} could not be found.", T::NAME))
}

fn render_one<T: StepSet>(ctx: &Ctx, record: &T, selection: &Selection) -> Result<Value, ApiError> {
    let map = to_map(record.inner())?;
    let path = format!("{}/{}", T::PATH, record.uuid());
    Ok(render(T::RESOURCE, &map, ctx.version, selection, &ctx.base, Place { path: &path }))
}

async fn find<T: StepSet>(state: &AppState, ident: &str) -> Result<Versioned<T>, ApiError> {
    let found = if uuid::Uuid::parse_str(ident).is_ok() {
        records::<T>(state).get(&ident.to_lowercase()).await?
    } else {
        records::<T>(state).get_by("name", ident).await?
    };
    found.ok_or_else(|| not_found::<T>(ident))
}

/// Checks the rules both kinds share: a trait-like name and valid steps.
fn check_doc<T: StepSet>(doc: &Map<String, Value>) -> Result<(), ApiError> {
    let schema_error =
        |detail: String| ApiError::bad_request(format!("Schema error for {}: {detail}", T::SCHEMA));
    match doc.get("name") {
        Some(Value::String(name)) => validate_trait(name).map_err(|e| schema_error(e.to_string()))?,
        _ => return Err(schema_error("'name' is a required property".into())),
    }
    let Some(Value::Array(steps)) = doc.get("steps") else {
        return Err(schema_error("'steps' is a required property".into()));
    };
    if steps.is_empty() {
        return Err(schema_error("[] should be non-empty".into()));
    }
    for step in steps {
        let interface = step.get("interface").and_then(Value::as_str).unwrap_or_default();
        if InterfaceKind::ALL.into_iter().all(|kind| kind.name() != interface) {
            return Err(schema_error(format!("'{interface}' is not one of the interfaces")));
        }
        if step.get("step").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(schema_error("'step' is a required property".into()));
        }
    }
    Ok(())
}

fn store_error<T: StepSet>(error: StoreError, name: &str) -> ApiError {
    match error {
        StoreError::UniqueViolation { value, .. } => {
            ApiError::conflict(format!("{} with name {value} already exists.", T::NAME))
        }
        StoreError::AlreadyExists(_) => ApiError::conflict(format!("{} {name} already exists.", T::NAME)),
        other => other.into(),
    }
}

/// The arguments of a list.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    page: PageQuery,
    fields: Option<String>,
    detail: Option<String>,
}

async fn list<T: StepSet>(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(T::SINCE)?;
    let detail = collection::detail_flag(query.detail.as_deref());
    let page = query.page.validate(&["extra", "steps"])?;
    let selection = Selection::from_query(T::RESOURCE, ctx.version, query.fields.as_deref(), detail)?;
    let rows = collection::all::<T>(state.store())
        .await?
        .into_iter()
        .map(|stored| collection::row(stored, &page))
        .collect();
    page_body(&ctx, T::PATH, rows, &page, T::PATH, Vec::new(), not_found::<T>, |record| {
        render_one(&ctx, record, &selection)
    })
}

async fn show<T: StepSet>(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Json<Value>, ApiError> {
    ctx.require(T::SINCE)?;
    let selection = Selection::for_show(T::RESOURCE, ctx.version, query.fields.as_deref())?;
    Ok(Json(render_one(&ctx, &find::<T>(&state, &ident).await?.record, &selection)?))
}

async fn create<T: StepSet>(
    State(state): State<AppState>,
    ctx: Ctx,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    ctx.require(T::SINCE)?;
    check_create_keys(&body, T::SCHEMA, T::CREATE_KEYS)?;
    check_doc::<T>(&body)?;
    let uuid = new_uuid(&body)?;
    let name = body.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
    let defaults = to_map(&T::fresh(uuid, Utc::now(), name.clone()))?;
    let inner: T::Inner = collection::merge(defaults, body, &["uuid"], T::SCHEMA)?;
    let stored =
        records::<T>(&state).create(&T::wrap(inner)).await.map_err(|e| store_error::<T>(e, &name))?;
    Ok(created(&ctx, &format!("{}/{uuid}", T::PATH), render_one(&ctx, &stored.record, &Selection::All)?))
}

async fn patch<T: StepSet>(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    ctx.require(T::SINCE)?;
    patch_roots(&body, T::PATCH_ALLOWED)?;
    let patch = collection::parse_patch(body)?;
    let stored = find::<T>(&state, &ident).await?;
    let doc = collection::apply_patch(stored.record.inner(), &patch)?;
    check_doc::<T>(&doc)?;
    let inner: T::Inner = serde_json::from_value(Value::Object(doc))
        .map_err(|e| ApiError::bad_request(format!("Invalid {}: {e}", T::SCHEMA)))?;
    let mut record = T::wrap(inner);
    record.touch(Utc::now());
    let updated = records::<T>(&state)
        .update(&record, stored.mod_revision)
        .await
        .map_err(|e| store_error::<T>(e, &ident))?;
    Ok(Json(render_one(&ctx, &updated.record, &Selection::All)?))
}

async fn delete<T: StepSet>(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<StatusCode, ApiError> {
    ctx.require(T::SINCE)?;
    let stored = find::<T>(&state, &ident).await?;
    records::<T>(&state).delete(&stored.record.uuid().to_string(), Some(stored.mod_revision)).await?;
    Ok(StatusCode::NO_CONTENT)
}
