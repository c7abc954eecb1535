//! The fleet's BMCs: one Redfish service (axum) that serves every machine as
//! `/redfish/v1/Systems/<id>`, with what Ferric's `redfish` driver uses —
//! `PowerState`, `ComputerSystem.Reset` with its allowed reset types, and the
//! `Boot` override PATCHed under `If-Match` (a stale ETag is a 412, as on real
//! BMCs). No SessionService: the driver falls back to basic authentication,
//! which is checked on every call but the service root.
//!
//! One service for all machines rather than one per machine keeps a 1000-machine
//! fleet to one listening socket; the driver caches one HTTP client per BMC
//! address, so Ferric pools connections to it as it would to one BMC each.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::error::SimError;
use crate::machine::{Machine, Reset};

/// The BMC credentials of every machine.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// `redfish_username`.
    pub username: String,
    /// `redfish_password`.
    pub password: String,
}

struct Bmcs {
    machines: HashMap<String, Arc<Machine>>,
    /// `Authorization` header value expected.
    authorization: String,
}

/// Serves the Redfish service for `machines` on `listen` until the task is
/// aborted; returns the task and the bound address (`listen` may say port 0).
pub async fn serve(
    listen: SocketAddr,
    machines: &[Arc<Machine>],
    credentials: &Credentials,
) -> Result<(tokio::task::JoinHandle<()>, SocketAddr), SimError> {
    use base64::Engine as _;
    let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let bmcs = Arc::new(Bmcs {
        machines: machines.iter().map(|m| (m.system_id.clone(), m.clone())).collect(),
        authorization: format!(
            "Basic {}",
            encode(&format!("{}:{}", credentials.username, credentials.password))
        ),
    });
    let app = Router::new()
        .route("/redfish/v1", get(root))
        .route("/redfish/v1/", get(root))
        .route("/redfish/v1/Systems", get(systems))
        .route("/redfish/v1/Systems/{id}", get(system).patch(patch_system))
        .route("/redfish/v1/Systems/{id}/Actions/ComputerSystem.Reset", post(reset))
        .with_state(bmcs);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| SimError::op(format!("bind the Redfish service at {listen}"), e))?;
    let bound = listener.local_addr().map_err(|e| SimError::op("Redfish service address", e))?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((task, bound))
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": {"code": "Base.1.0.GeneralError", "message": message}}))).into_response()
}

/// Why a request is refused before it reaches a machine.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    /// Wrong or missing credentials.
    Unauthorized,
    /// No system with that id.
    NoSuchSystem,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Unauthorized => error(StatusCode::UNAUTHORIZED, "authentication required"),
            Refusal::NoSuchSystem => error(StatusCode::NOT_FOUND, "no such system"),
        }
    }
}

impl Bmcs {
    fn authorized(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        match headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
            Some(value) if value == self.authorization => Ok(()),
            _ => Err(Refusal::Unauthorized),
        }
    }

    fn machine(&self, headers: &HeaderMap, id: &str) -> Result<&Arc<Machine>, Refusal> {
        self.authorized(headers)?;
        self.machines.get(id).ok_or(Refusal::NoSuchSystem)
    }
}

async fn root() -> Json<Value> {
    Json(json!({
        "@odata.id": "/redfish/v1/",
        "Id": "RootService",
        "Name": "Ferric simulated fleet",
        "RedfishVersion": "1.6.0",
        "Systems": {"@odata.id": "/redfish/v1/Systems"},
    }))
}

async fn systems(State(bmcs): State<Arc<Bmcs>>, headers: HeaderMap) -> Response {
    if let Err(denied) = bmcs.authorized(&headers) {
        return denied.into_response();
    }
    let mut ids: Vec<&String> = bmcs.machines.keys().collect();
    ids.sort();
    let members: Vec<Value> =
        ids.into_iter().map(|id| json!({"@odata.id": format!("/redfish/v1/Systems/{id}")})).collect();
    Json(json!({"Members@odata.count": members.len(), "Members": members})).into_response()
}

fn etag(revision: u64) -> String {
    format!("\"{revision}\"")
}

async fn system(State(bmcs): State<Arc<Bmcs>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let machine = match bmcs.machine(&headers, &id) {
        Ok(machine) => machine,
        Err(denied) => return denied.into_response(),
    };
    let (powered, boot, revision) = {
        let state = machine.state();
        (state.powered, state.boot.clone(), state.revision)
    };
    let path = format!("/redfish/v1/Systems/{id}");
    let body = json!({
        "@odata.id": path,
        "Id": id,
        "Name": format!("Simulated machine {}", machine.index),
        "Manufacturer": "Ferric",
        "Model": "Simulated",
        "PowerState": if powered { "On" } else { "Off" },
        "Boot": {
            "BootSourceOverrideTarget": boot.target,
            "BootSourceOverrideEnabled": boot.enabled,
            "BootSourceOverrideMode": boot.mode,
            "BootSourceOverrideTarget@Redfish.AllowableValues": ["None", "Pxe", "Hdd", "Cd", "BiosSetup"],
        },
        "Actions": {
            "#ComputerSystem.Reset": {
                "target": format!("{path}/Actions/ComputerSystem.Reset"),
                "ResetType@Redfish.AllowableValues": Reset::ALLOWED,
            }
        },
    });
    ([(header::ETAG, etag(revision))], Json(body)).into_response()
}

async fn patch_system(
    State(bmcs): State<Arc<Bmcs>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let machine = match bmcs.machine(&headers, &id) {
        Ok(machine) => machine,
        Err(denied) => return denied.into_response(),
    };
    if let Some(expected) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok())
        && expected != "*"
        && expected != etag(machine.state().revision)
    {
        return error(StatusCode::PRECONDITION_FAILED, "ETag does not match");
    }
    let Some(boot) = body.get("Boot") else {
        return error(StatusCode::BAD_REQUEST, "only Boot can be changed");
    };
    let field = |name: &str| boot.get(name).and_then(Value::as_str);
    let target = field("BootSourceOverrideTarget");
    if let Some(target) = target
        && !["None", "Pxe", "Hdd", "Cd", "BiosSetup"].contains(&target)
    {
        return error(StatusCode::BAD_REQUEST, "unsupported boot target");
    }
    machine.set_boot(target, field("BootSourceOverrideEnabled"), field("BootSourceOverrideMode"));
    StatusCode::NO_CONTENT.into_response()
}

async fn reset(
    State(bmcs): State<Arc<Bmcs>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let machine = match bmcs.machine(&headers, &id) {
        Ok(machine) => machine,
        Err(denied) => return denied.into_response(),
    };
    let Some(kind) = body.get("ResetType").and_then(Value::as_str).and_then(Reset::parse) else {
        return error(StatusCode::BAD_REQUEST, "unsupported ResetType");
    };
    machine.reset(kind);
    StatusCode::NO_CONTENT.into_response()
}
