//! Vendor passthru: the methods a node's vendor interface exposes through
//! `/v1/nodes/{node}/vendor_passthru` and a hardware type's through
//! `/v1/drivers/{driver}/vendor_passthru`.
//!
//! Ferric's vendor interfaces are Ironic's `fake` (its `FakeVendorB` methods,
//! which clients' test suites call) and `no-vendor`; `ipmitool` and `redfish`
//! expose no methods yet. Unknown methods get Ironic's 400.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::body::OptionalJsonObject;
use crate::ctx::Ctx;
use crate::extract::{Path, Query};
use crate::nodes::lookup;
use crate::openapi::{Body, Doc, Routes, Schema};
use crate::{ApiError, AppState};

/// One passthru method: name, whether it runs asynchronously, what it does,
/// and the value of `bar` that makes it answer true.
struct Method {
    name: &'static str,
    asynchronous: bool,
    description: &'static str,
    expects: Option<&'static str>,
}

/// `FakeVendorB`'s methods, as Ironic's fake-hardware exposes them.
const FAKE_METHODS: &[Method] = &[
    Method {
        name: "second_method",
        asynchronous: true,
        description: "Test if the value of bar is kazoo",
        expects: Some("kazoo"),
    },
    Method {
        name: "third_method_sync",
        asynchronous: false,
        description: "Test if the value of bar is meow",
        expects: Some("meow"),
    },
    Method {
        name: "fourth_method_shared_lock",
        asynchronous: true,
        description: "Test if the value of bar is woof",
        expects: Some("woof"),
    },
    Method {
        name: "log_passthrough",
        asynchronous: true,
        description: "Test pass-through to wait.",
        expects: None,
    },
];

fn methods_of(vendor_interface: Option<&str>) -> &'static [Method] {
    match vendor_interface {
        Some("fake") => FAKE_METHODS,
        _ => &[],
    }
}

fn metadata(methods: &[Method]) -> Value {
    let map: Map<String, Value> = methods
        .iter()
        .map(|m| {
            let meta = json!({"http_methods": ["POST"], "async": m.asynchronous, "description": m.description, "attach": false,
                              "require_exclusive_lock": m.name != "fourth_method_shared_lock"});
            (m.name.to_owned(), meta)
        })
        .collect();
    Value::Object(map)
}

/// The routes of both passthru resources.
pub fn routes() -> Routes {
    Routes::new()
        .get(
            "/v1/nodes/{node}/vendor_passthru/methods",
            node_methods,
            Doc::show("A node's vendor methods", Schema::Object),
        )
        .post(
            "/v1/nodes/{node}/vendor_passthru",
            node_call,
            Doc::action("Call a node's vendor method", Body::OptionalJson(Schema::Object), 202),
        )
        .get(
            "/v1/drivers/{driver}/vendor_passthru/methods",
            driver_methods,
            Doc::show("A hardware type's vendor methods", Schema::Object),
        )
        .post(
            "/v1/drivers/{driver}/vendor_passthru",
            driver_call,
            Doc::action("Call a hardware type's vendor method", Body::OptionalJson(Schema::Object), 202),
        )
}

async fn node_methods(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    Ok(Json(metadata(methods_of(node.vendor_interface.as_deref()))))
}

/// The `method` argument of a passthru call.
#[derive(Debug, Default, Deserialize)]
pub struct CallQuery {
    method: Option<String>,
}

async fn node_call(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ident): Path<String>,
    Query(query): Query<CallQuery>,
    OptionalJsonObject(body): OptionalJsonObject,
) -> Result<Response, ApiError> {
    let Some(name) = query.method.filter(|m| !m.is_empty()) else {
        return Err(ApiError::bad_request("Missing argument: \"method\""));
    };
    let node = lookup::find(&state, &ident, ctx.version).await?.record;
    let method =
        methods_of(node.vendor_interface.as_deref()).iter().find(|m| m.name == name).ok_or_else(|| {
            ApiError::bad_request(format!("Unsupported method ({name}) passed through to vendor extension."))
        })?;
    let args = body.unwrap_or_default();
    let result = match method.expects {
        Some(expected) => {
            let bar = args.get("bar").and_then(Value::as_str).filter(|b| !b.is_empty());
            let bar = bar.ok_or_else(|| {
                ApiError::bad_request(format!("Parameter 'bar' not passed to method '{name}'."))
            })?;
            Value::Bool(bar == expected)
        }
        None => Value::Null,
    };
    tracing::info!(node = %node.uuid, method = %name, "vendor passthru called");
    if method.asynchronous {
        Ok((StatusCode::ACCEPTED, Json(Value::Null)).into_response())
    } else {
        Ok((StatusCode::OK, Json(result)).into_response())
    }
}

async fn driver_methods(
    State(state): State<AppState>,
    Path(driver): Path<String>,
) -> Result<Json<Value>, ApiError> {
    known_driver(&state, &driver)?;
    // No hardware type of Ferric's has driver-level passthru methods.
    Ok(Json(json!({})))
}

async fn driver_call(
    State(state): State<AppState>,
    Path(driver): Path<String>,
    Query(query): Query<CallQuery>,
) -> Result<Response, ApiError> {
    known_driver(&state, &driver)?;
    let name = query.method.unwrap_or_default();
    Err(ApiError::bad_request(format!("Unsupported method ({name}) passed through to vendor extension.")))
}

fn known_driver(state: &AppState, driver: &str) -> Result<(), ApiError> {
    let served = state
        .ring()
        .is_some_and(|ring| ring.conductors().any(|c| c.hardware_types.iter().any(|h| h == driver)));
    if served && ferric_model::hardware::HardwareType::find(driver).is_some() {
        Ok(())
    } else {
        Err(ApiError::not_found_message(format!(
            "Could not find the following driver(s) or hardware type(s): {driver}."
        )))
    }
}
