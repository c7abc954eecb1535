//! Query-string and path extractors whose failures are Ironic error bodies
//! (axum's own answer with plain text, which Ironic's clients cannot parse).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// The query string, deserialized; a malformed one is a 400 in Ironic's shape.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state).await.map(|query| Query(query.0)).map_err(
            |rejection| ApiError::bad_request(format!("Invalid query string: {}", rejection.body_text())),
        )
    }
}

/// Path parameters, deserialized; an undecodable one is a 400 in Ironic's shape.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|path| Path(path.0))
            .map_err(|rejection| ApiError::bad_request(format!("Invalid path: {}", rejection.body_text())))
    }
}
