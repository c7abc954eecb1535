//! The request body of every write: JSON, parsed with errors in Ironic's shape
//! instead of axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde_json::{Map, Value};

use crate::ApiError;

/// A JSON body that must be an object.
///
/// Ironic answers malformed JSON with a 500 carrying the parser's message (a
/// bug in its WSME layer); Ferric answers 400 with the same shape, since the
/// fault is the client's and clients retry 5xx.
#[derive(Debug)]
pub struct JsonObject(pub Map<String, Value>);

/// A JSON body of any shape (JSON Patch documents are arrays).
#[derive(Debug)]
pub struct JsonBody(pub Value);

fn parse(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("The request body is empty; a JSON document is required."));
    }
    serde_json::from_slice(bytes)
        .map_err(|error| ApiError::bad_request(format!("Invalid JSON in the request body: {error}")))
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|error| ApiError::bad_request(format!("Cannot read the request body: {error}")))?;
        parse(&bytes).map(JsonBody)
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match JsonBody::from_request(request, state).await?.0 {
            Value::Object(map) => Ok(JsonObject(map)),
            other => Err(ApiError::bad_request(format!(
                "Invalid input: expected a JSON object, got {}",
                kind(&other)
            ))),
        }
    }
}

/// A body that may be empty, or else must be a JSON object (maintenance
/// reasons, vendor passthru arguments).
#[derive(Debug, Default)]
pub struct OptionalJsonObject(pub Option<Map<String, Value>>);

impl<S: Send + Sync> FromRequest<S> for OptionalJsonObject {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|error| ApiError::bad_request(format!("Cannot read the request body: {error}")))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonObject(None));
        }
        match parse(&bytes)? {
            Value::Object(map) => Ok(OptionalJsonObject(Some(map))),
            other => Err(ApiError::bad_request(format!(
                "Invalid input: expected a JSON object, got {}",
                kind(&other)
            ))),
        }
    }
}

/// The JSON type name of `value`, for messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_and_empty_bodies_are_client_errors() {
        let error = parse(br#"{"name": "x", "driver": "#).unwrap_err();
        assert_eq!(error.status(), 400);
        assert!(error.message().contains("line 1"), "{}", error.message());
        assert_eq!(parse(b"  ").unwrap_err().status(), 400);
        assert_eq!(parse(br#"{"a": 1}"#).unwrap()["a"], 1);
    }
}
