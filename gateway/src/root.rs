//! The version documents: `GET /` names the API and its version range, `GET /v1`
//! lists the resources the negotiated version has. Clients (ironicclient,
//! openstacksdk) read both to pick a version before anything else.

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::HeaderMap;
use ferric_model::microversion::Version;
use serde_json::{Value, json};

use crate::AppState;
use crate::version::{ApiVersion, MAX_VERSION, MIN_VERSION};

/// Top-level resources of `/v1`, in Ironic's order, with the version each appeared
/// in. The first four predate microversions.
const RESOURCES: &[(&str, Version)] = &[
    ("chassis", Version::new(1, 1)),
    ("nodes", Version::new(1, 1)),
    ("ports", Version::new(1, 1)),
    ("drivers", Version::new(1, 1)),
    ("portgroups", Version::new(1, 23)),
    ("volume", Version::new(1, 32)),
    ("lookup", Version::new(1, 22)),
    ("heartbeat", Version::new(1, 22)),
    ("conductors", Version::new(1, 49)),
    ("allocations", Version::new(1, 52)),
    ("events", Version::new(1, 54)),
    ("deploy_templates", Version::new(1, 55)),
    ("shards", Version::new(1, 82)),
    ("runbooks", Version::new(1, 92)),
    ("inspection_rules", Version::new(1, 96)),
    ("continue_inspection", Version::new(1, 84)),
];

/// The base URL for links: configured, else taken from the request's `Host`.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = state.public_url() {
        return url.to_owned();
    }
    let host =
        headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost:6385");
    format!("http://{host}")
}

/// A `{"href", "rel"}` pair list: `self` under `/v1`, `bookmark` without.
pub fn resource_links(base: &str, path: &str) -> Value {
    json!([
        {"href": format!("{base}/v1/{path}"), "rel": "self"},
        {"href": format!("{base}/{path}"), "rel": "bookmark"},
    ])
}

fn version_object(base: &str) -> Value {
    json!({
        "id": "v1",
        "links": [{"href": format!("{base}/v1/"), "rel": "self"}],
        "status": "CURRENT",
        "min_version": MIN_VERSION.to_string(),
        "version": MAX_VERSION.to_string(),
    })
}

/// `GET /`
pub async fn root(State(state): State<AppState>, headers: HeaderMap) -> Json<Value> {
    let base = base_url(&state, &headers);
    Json(json!({
        "name": "OpenStack Ironic API",
        "description": "Ironic is an OpenStack project which enables the provision and management of baremetal machines.",
        "default_version": version_object(&base),
        "versions": [version_object(&base)],
    }))
}

/// `GET /v1`
pub async fn v1(
    State(state): State<AppState>,
    Extension(ApiVersion(version)): Extension<ApiVersion>,
    headers: HeaderMap,
) -> Json<Value> {
    let base = base_url(&state, &headers);
    let mut doc = serde_json::Map::new();
    doc.insert("id".into(), json!("v1"));
    doc.insert(
        "links".into(),
        json!([
            {"href": format!("{base}/v1/"), "rel": "self"},
            {"href": "https://docs.openstack.org//ironic/latest/contributor//webapi.html", "rel": "describedby", "type": "text/html"},
        ]),
    );
    doc.insert(
        "media_types".into(),
        json!({"base": "application/json", "type": "application/vnd.openstack.ironic.v1+json"}),
    );
    for (index, (name, since)) in RESOURCES.iter().enumerate() {
        if version >= *since {
            doc.insert((*name).into(), resource_links(&base, &format!("{name}/")));
        }
        // Ironic places the version object right after the four original resources.
        if index == 3 {
            doc.insert("version".into(), version_object(&base));
        }
    }
    Json(Value::Object(doc))
}
