//! The agent's HTTP API, as IPA serves it: `GET /` (versions), `GET /v1/status`,
//! `GET|POST /v1/commands/`, `GET /v1/commands/{id}`. Command routes need this
//! boot's token as `?agent_token=`. Errors use IPA's WSME shape
//! `{"faultcode": "Client"|"Server", "faultstring": ...}`; no input panics.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::agent::Agent;
use crate::commands::{self, CommandResult, Refusal};

type Params = Query<HashMap<String, String>>;

/// The routes, sharing `agent`.
pub fn router(agent: Arc<Agent>) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/v1", get(v1))
        .route("/v1/", get(v1))
        .route("/v1/status", get(status))
        .route("/v1/commands", get(list).post(run))
        .route("/v1/commands/", get(list).post(run))
        .route("/v1/commands/{id}", get(one))
        .fallback(not_found)
        .with_state(agent)
}

fn fault(status: StatusCode, text: impl std::fmt::Display) -> Response {
    let code = if status.is_server_error() { "Server" } else { "Client" };
    (status, Json(json!({"faultcode": code, "faultstring": text.to_string()}))).into_response()
}

async fn not_found() -> Response {
    fault(
        StatusCode::NOT_FOUND,
        "404 Not Found: The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.",
    )
}

/// The base URL the client used, for links.
fn base(headers: &HeaderMap) -> String {
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    format!("http://{host}")
}

fn version(url: &str) -> Value {
    json!({"id": "v1", "links": [
        {"href": format!("{url}/v1/"), "rel": "self"},
        {"href": "https://docs.openstack.org/ironic-python-agent", "rel": "describedby", "type": "text/html"},
    ]})
}

async fn root(headers: HeaderMap) -> Json<Value> {
    let url = base(&headers);
    Json(json!({
        "name": "OpenStack Ironic Python Agent API",
        "description": "Ironic Python Agent is a provisioning agent for OpenStack Ironic",
        "versions": [version(&url)],
        "default_version": version(&url),
    }))
}

async fn v1(headers: HeaderMap) -> Json<Value> {
    let url = base(&headers);
    let mut body = json!({
        "commands": [{"href": format!("{url}/v1/commands"), "rel": "self"}, {"href": format!("{url}/commands"), "rel": "bookmark"}],
        "status": [{"href": format!("{url}/v1/status"), "rel": "self"}, {"href": format!("{url}/status"), "rel": "bookmark"}],
        "media_types": [{"base": "application/json", "type": "application/vnd.openstack.ironic-python-agent.v1+json"}],
    });
    if let (Value::Object(body), Value::Object(version)) = (&mut body, version(&url)) {
        body.extend(version);
    }
    Json(body)
}

async fn status(State(agent): State<Arc<Agent>>) -> Json<Value> {
    Json(json!({"started_at": agent.started_at, "version": crate::VERSION}))
}

/// IPA's token check, before anything else about the request.
fn authorise(agent: &Agent, params: &HashMap<String, String>) -> Option<Response> {
    (!agent.token_matches(params.get("agent_token").map(String::as_str)))
        .then(|| fault(StatusCode::UNAUTHORIZED, "401 Unauthorized: Token invalid."))
}

fn wants_wait(params: &HashMap<String, String>) -> bool {
    params.get("wait").is_some_and(|w| w.eq_ignore_ascii_case("true"))
}

async fn settle(mut progress: tokio::sync::watch::Receiver<CommandResult>, wait: bool) -> CommandResult {
    if wait && let Ok(done) = progress.wait_for(CommandResult::is_done).await {
        return done.clone();
    }
    progress.borrow().clone()
}

async fn list(State(agent): State<Arc<Agent>>, Query(params): Params) -> Response {
    if let Some(refused) = authorise(&agent, &params) {
        return refused;
    }
    Json(json!({"commands": agent.commands.list()})).into_response()
}

async fn one(State(agent): State<Arc<Agent>>, Path(id): Path<String>, Query(params): Params) -> Response {
    if let Some(refused) = authorise(&agent, &params) {
        return refused;
    }
    match agent.commands.get(&id) {
        Some(progress) => Json(settle(progress, wants_wait(&params)).await).into_response(),
        None => fault(StatusCode::NOT_FOUND, format!("Not found: Command with id {id} not found.")),
    }
}

async fn run(State(agent): State<Arc<Agent>>, Query(params): Params, body: Bytes) -> Response {
    if let Some(refused) = authorise(&agent, &params) {
        return refused;
    }
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(error) => {
            return fault(
                StatusCode::BAD_REQUEST,
                format!("400 Bad Request: Failed to decode JSON object: {error}"),
            );
        }
    };
    let (Some(name), Some(Value::Object(command_params))) =
        (parsed.get("name").and_then(Value::as_str), parsed.get("params"))
    else {
        return fault(StatusCode::BAD_REQUEST, "400 Bad Request: Missing or invalid name or params");
    };
    match commands::execute(&agent, name, command_params.clone()) {
        Ok(progress) => Json(settle(progress, wants_wait(&params)).await).into_response(),
        Err(Refusal::Busy(running)) => {
            fault(StatusCode::CONFLICT, format!("Agent is busy: executing command {running}"))
        }
        Err(Refusal::Invalid(details)) => {
            fault(StatusCode::BAD_REQUEST, format!("Invalid command: {details}"))
        }
        Err(Refusal::NoExtension(extension)) => {
            fault(StatusCode::NOT_FOUND, format!("Not found: Extension with id {extension} not found."))
        }
    }
}
