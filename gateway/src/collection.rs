//! What every record-backed resource does the same way: read all records of a
//! kind, cut a page and write its `next` link, check and apply a JSON Patch,
//! check a create body's keys, and answer 201 with `Location`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferric_store::DynStore;
use ferric_store::records::{Collection, Record, Versioned};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ApiError;
use crate::ctx::Ctx;
use crate::links::next_page;
use crate::list::{Page, Row, cut};

/// The `fields` argument of every single-record `GET`.
#[derive(Debug, Default, Deserialize)]
pub struct ShowQuery {
    /// Comma-separated field names to return.
    pub fields: Option<String>,
}

/// A list's `detail=` argument: Ironic's boolean spellings, false otherwise.
pub fn detail_flag(detail: Option<&str>) -> bool {
    detail.and_then(crate::nodes::input::parse_bool).unwrap_or(false)
}

/// Every record of kind `R`, in creation order.
pub async fn all<R: Record>(store: &DynStore) -> Result<Vec<Versioned<R>>, ApiError> {
    let collection = Collection::<R>::new(store.clone());
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = collection.list(after.as_deref(), 1000).await?;
        out.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    out.sort_by_key(|record| record.create_revision);
    Ok(out)
}

/// Sorts and cuts `rows` per `page`; with the kept rows comes Ironic's `next`
/// link when the page is full. `resource_path` is the collection path the link
/// points at (`ports`, `nodes/<uuid>/ports`, ...); `args` the query arguments it
/// repeats.
pub fn cut_page<T>(
    ctx: &Ctx,
    rows: Vec<Row<T>>,
    page: &Page,
    resource_path: &str,
    mut args: Vec<(&str, String)>,
    not_found: impl Fn(&str) -> ApiError,
) -> Result<(Vec<Row<T>>, Option<String>), ApiError> {
    let kept = cut(rows, page, not_found)?;
    let next = match kept.last() {
        Some(last) if kept.len() == page.limit => {
            args.push(("sort_key", page.sort_key.clone()));
            args.push(("sort_dir", if page.descending { "desc" } else { "asc" }.to_owned()));
            Some(next_page(&ctx.base, resource_path, &args, page.limit, &last.uuid))
        }
        _ => None,
    };
    Ok((kept, next))
}

/// [`cut_page`], then renders the kept rows as `{"<key>": [...], "next": ...}`.
#[allow(clippy::too_many_arguments)] // Each is one fact about the page; a struct would only rename them.
pub fn page_body<T>(
    ctx: &Ctx,
    key: &str,
    rows: Vec<Row<T>>,
    page: &Page,
    resource_path: &str,
    args: Vec<(&str, String)>,
    not_found: impl Fn(&str) -> ApiError,
    render: impl Fn(&T) -> Result<Value, ApiError>,
) -> Result<Json<Value>, ApiError> {
    let (kept, next) = cut_page(ctx, rows, page, resource_path, args, not_found)?;
    let items = kept.iter().map(|row| render(&row.item)).collect::<Result<Vec<_>, _>>()?;
    let mut body = Map::new();
    body.insert(key.to_owned(), Value::Array(items));
    if let Some(next) = next {
        body.insert("next".to_owned(), Value::String(next));
    }
    Ok(Json(Value::Object(body)))
}

/// A row for [`page_body`] from a stored record.
pub fn row<R: Record>(stored: Versioned<R>, page: &Page) -> Row<R> {
    let sort_value = page.sort_value(&stored.record);
    Row { uuid: stored.record.id(), order: stored.create_revision, sort_value, item: stored.record }
}

/// Refuses create keys the resource does not take, with the schema message
/// Ironic's clients know.
pub fn check_create_keys(
    body: &Map<String, Value>,
    resource: &str,
    allowed: &[&str],
) -> Result<(), ApiError> {
    match body.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(unknown) => Err(ApiError::bad_request(format!(
            "Schema error for {resource}: Additional properties are not allowed ('{unknown}' was unexpected)"
        ))),
        None => Ok(()),
    }
}

/// The `uuid` a create body names, or a new one.
pub fn new_uuid(body: &Map<String, Value>) -> Result<uuid::Uuid, ApiError> {
    match body.get("uuid") {
        None | Some(Value::Null) => Ok(uuid::Uuid::new_v4()),
        Some(Value::String(text)) => uuid::Uuid::parse_str(text)
            .map_err(|_| ApiError::bad_request(format!("Expected a UUID but received {text}."))),
        Some(other) => Err(ApiError::bad_request(format!("Expected a UUID but received {other}."))),
    }
}

/// Overlays the non-null values of `body` (except `skip`) on `defaults` and
/// decodes the result.
pub fn merge<T: DeserializeOwned>(
    mut defaults: Map<String, Value>,
    body: Map<String, Value>,
    skip: &[&str],
    what: &str,
) -> Result<T, ApiError> {
    for (key, value) in body {
        if !value.is_null() && !skip.contains(&key.as_str()) {
            defaults.insert(key, value);
        }
    }
    serde_json::from_value(Value::Object(defaults))
        .map_err(|e| ApiError::bad_request(format!("Invalid {what}: {e}")))
}

/// The root fields a JSON Patch touches; refuses a patch that is not a list of
/// operations or touches a field outside `allowed`, with Ironic's message.
pub fn patch_roots(body: &Value, allowed: &[&str]) -> Result<Vec<String>, ApiError> {
    let Value::Array(operations) = body else {
        return Err(ApiError::bad_request("Invalid patch: a JSON Patch is a list of operations."));
    };
    if operations.is_empty() {
        return Err(ApiError::bad_request("Patch is empty."));
    }
    let mut roots = Vec::new();
    for operation in operations {
        let path = operation
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::bad_request("Invalid patch: each operation needs a 'path'."))?;
        let root = path.trim_start_matches('/').split('/').next().unwrap_or_default();
        if !allowed.contains(&root) {
            return Err(ApiError::bad_request(format!(
                "Cannot patch {path}. Only the following can be updated: {}",
                allowed.join(", ")
            )));
        }
        roots.push(root.to_owned());
    }
    Ok(roots)
}

/// Parses a JSON Patch document.
pub fn parse_patch(body: Value) -> Result<json_patch::Patch, ApiError> {
    serde_json::from_value(body).map_err(|e| ApiError::bad_request(format!("Invalid patch: {e}")))
}

/// Applies `patch` to `record`'s JSON form; the result still needs checking.
pub fn apply_patch<T: Serialize>(
    record: &T,
    patch: &json_patch::Patch,
) -> Result<Map<String, Value>, ApiError> {
    let mut doc = serde_json::to_value(record).map_err(|e| ApiError::internal(e.to_string()))?;
    json_patch::patch(&mut doc, patch).map_err(|e| ApiError::bad_request(format!("Invalid patch: {e}")))?;
    match doc {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::bad_request("Invalid patch: the result is not an object.")),
    }
}

/// Finds a port-like record by UUID, MAC address (`address`) or `name`, the
/// identifiers Ironic accepts for ports and portgroups.
pub async fn find_by_mac_or_name<R: Record>(
    store: &DynStore,
    ident: &str,
    not_found: impl Fn(&str) -> ApiError,
) -> Result<Versioned<R>, ApiError> {
    let records = Collection::<R>::new(store.clone());
    let found = if uuid::Uuid::parse_str(ident).is_ok() {
        records.get(&ident.to_lowercase()).await?
    } else if let Ok(mac) = ferric_model::validate::normalize_mac(ident) {
        records.get_by("address", &mac).await?
    } else {
        records.get_by("name", ident).await?
    };
    found.ok_or_else(|| not_found(ident))
}

/// A store refusal of a write to a `what` (`port`, `portgroup`) in Ironic's
/// words: a taken unique key or UUID is a 409 naming it.
pub fn write_error(error: ferric_store::StoreError, what: &str, uuid: uuid::Uuid) -> ApiError {
    use ferric_store::StoreError as E;
    match error {
        E::UniqueViolation { index, value, .. } => {
            let label = if index == "address" { "MAC address" } else { index.as_str() };
            ApiError::conflict(format!("A {what} with {label} {value} already exists."))
        }
        E::AlreadyExists(_) => ApiError::conflict(format!("A {what} with UUID {uuid} already exists.")),
        other => other.into(),
    }
}

/// 201 with the rendered resource and `Location` at `<base>/v1/<path>`.
pub fn created(ctx: &Ctx, path: &str, rendered: Value) -> Response {
    let mut response = (StatusCode::CREATED, Json(rendered)).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("{}/v1/{path}", ctx.base)) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}
