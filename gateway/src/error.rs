//! [`ApiError`]: every failure the REST API reports, mapped in this one place to
//! Ironic's status codes and error bodies.
//!
//! Ironic has two body shapes and clients parse both: errors raised by its API
//! code are `{"error_message": "{\"faultcode\": ..., \"faultstring\": ...}"}`,
//! while errors from its HTTP layer (404 for an unknown path, 406 for a version)
//! are `{"error_message": "{\"code\": ..., \"title\": ..., \"description\": ...}"}`.
//! Both nest a JSON document inside a string, exactly as Ironic does.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An error as the REST client will see it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    status: StatusCode,
    message: String,
    shape: Shape,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `faultcode`/`faultstring`/`debuginfo`, from Ironic's API controllers.
    Fault,
    /// `code`/`title`/`description`, from Ironic's HTTP layer.
    Http,
}

impl ApiError {
    /// A client error (400) in the controller shape.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, message: message.into(), shape: Shape::Fault }
    }

    /// Any status in the controller shape (`faultcode` Client for 4xx, Server for 5xx).
    pub fn fault(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), shape: Shape::Fault }
    }

    /// 406 from version negotiation, in the HTTP-layer shape.
    pub fn not_acceptable(message: impl Into<String>) -> Self {
        Self { status: StatusCode::NOT_ACCEPTABLE, message: message.into(), shape: Shape::Http }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Written by hand to match Python's `json.dumps` byte for byte: key order and
        // `", "`/`": "` separators as Ironic emits them.
        let inner = match self.shape {
            Shape::Fault => format!(
                "{{\"faultcode\": {}, \"faultstring\": {}, \"debuginfo\": null}}",
                quote(if self.status.is_server_error() { "Server" } else { "Client" }),
                quote(&self.message),
            ),
            Shape::Http => format!(
                "{{\"code\": {}, \"title\": {}, \"description\": {}}}",
                self.status.as_u16(),
                quote(self.status.canonical_reason().unwrap_or("")),
                quote(&self.message),
            ),
        };
        let body = format!("{{\"error_message\": {}}}", quote(&inner));
        (self.status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

/// Fallback for paths no route matches: Ironic's bare 404.
pub async fn not_found() -> ApiError {
    ApiError { status: StatusCode::NOT_FOUND, message: String::new(), shape: Shape::Http }
}

/// Fallback for a known path with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError { status: StatusCode::METHOD_NOT_ALLOWED, message: String::new(), shape: Shape::Http }
}

/// A JSON string literal (serde's escaping is what Python's `ensure_ascii=False` gives
/// for the characters Ironic's messages contain).
fn quote(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}
