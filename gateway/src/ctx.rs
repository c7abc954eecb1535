//! [`Ctx`]: what every resource handler needs to know about its request — the
//! negotiated microversion and the base URL its links are written against.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use ferric_model::Version;

use crate::version::{ApiVersion, MIN_VERSION};
use crate::{ApiError, AppState};

/// The request's negotiated version and link base.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The microversion this request speaks (negotiated by `version::negotiate`).
    pub version: Version,
    /// Base URL for links, without a trailing slash.
    pub base: String,
}

impl Ctx {
    /// Whether the request's version is at least `since`.
    pub fn allows(&self, since: Version) -> bool {
        self.version >= since
    }

    /// 404 unless the request's version reaches `since`: how Ironic hides an
    /// endpoint from older clients.
    pub fn require(&self, since: Version) -> Result<(), ApiError> {
        if self.allows(since) { Ok(()) } else { Err(crate::error::plain_not_found()) }
    }
}

impl Ctx {
    /// 406 unless the request's version reaches `since`: how Ironic refuses a
    /// query argument newer than the client.
    pub fn require_arg(&self, name: &str, since: Version) -> Result<(), ApiError> {
        if self.allows(since) {
            Ok(())
        } else {
            Err(ApiError::fault(
                axum::http::StatusCode::NOT_ACCEPTABLE,
                format!("The argument {name} is not available before API version {since}."),
            ))
        }
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let version = parts.extensions.get::<ApiVersion>().map_or(MIN_VERSION, |v| v.0);
        let base = crate::root::base_url(state, &parts.headers);
        Ok(Self { version, base })
    }
}
