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

    /// 401: missing or wrong credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::fault(StatusCode::UNAUTHORIZED, message)
    }

    /// 403: authenticated, but the role does not allow it.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::fault(StatusCode::FORBIDDEN, message)
    }

    /// 404 for a resource that does not exist, with Ironic's message.
    pub fn not_found_message(message: impl Into<String>) -> Self {
        Self::fault(StatusCode::NOT_FOUND, message)
    }

    /// 409: a duplicate, a locked node, or a state that forbids the change.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::fault(StatusCode::CONFLICT, message)
    }

    /// 503: the store or a service behind the gateway is unavailable.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::fault(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// 500: a bug or an unexpected answer from behind the gateway.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::fault(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// The human-readable message (Ironic's `faultstring`).
    pub fn message(&self) -> &str {
        &self.message
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

/// Fallback for paths no route matches: Ironic's bare 404, without version
/// headers.
pub async fn not_found() -> Response {
    let mut response = plain_not_found().into_response();
    response.extensions_mut().insert(crate::version::Unrouted);
    response
}

/// Ironic's bare 404 (unknown path, or an endpoint newer than the request's
/// version).
pub fn plain_not_found() -> ApiError {
    ApiError { status: StatusCode::NOT_FOUND, message: String::new(), shape: Shape::Http }
}

/// Store failures as the API reports them. Most are answered where the context
/// gives a better message (a duplicate name, a locked node); this is the
/// fallback, and the one place an outage becomes Ironic's 503.
impl From<ferric_store::StoreError> for ApiError {
    fn from(error: ferric_store::StoreError) -> Self {
        use ferric_store::StoreError as E;
        match error {
            E::Unavailable(_) | E::Timeout => {
                tracing::warn!(%error, "store unavailable");
                ApiError::unavailable(format!(
                    "The state store is unavailable, please retry shortly: {error}"
                ))
            }
            E::Conflict(what) => {
                ApiError::conflict(format!("{what} was modified by another request, please retry."))
            }
            E::Locked { holder, name } => ApiError::conflict(format!(
                "{name} is locked by host {holder}, please retry after the current operation is completed."
            )),
            E::NotFound(what) => ApiError::not_found_message(format!("{what} could not be found.")),
            E::AlreadyExists(what) => ApiError::conflict(format!("{what} already exists.")),
            E::UniqueViolation { index, value, .. } => {
                ApiError::conflict(format!("A resource with {index} {value} already exists."))
            }
            E::InvalidArgument(message) => ApiError::bad_request(message),
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::internal(other.to_string())
            }
        }
    }
}

/// Failures of internal gRPC calls as the API reports them: the one mapping from
/// a service's `Status` to Ironic's codes.
impl From<tonic::Status> for ApiError {
    fn from(status: tonic::Status) -> Self {
        use tonic::Code;
        let message = status.message().to_owned();
        match status.code() {
            Code::InvalidArgument | Code::OutOfRange => ApiError::bad_request(message),
            Code::NotFound => ApiError::not_found_message(message),
            Code::AlreadyExists | Code::Aborted | Code::FailedPrecondition => ApiError::conflict(message),
            Code::PermissionDenied => ApiError::forbidden(message),
            Code::Unauthenticated => ApiError::unauthorized(message),
            Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted => {
                ApiError::unavailable(message)
            }
            Code::Unimplemented => ApiError::fault(StatusCode::NOT_IMPLEMENTED, message),
            _ => ApiError::internal(message),
        }
    }
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
