//! API microversion negotiation, as Ironic does it.
//!
//! A client names the version with `X-OpenStack-Ironic-API-Version: 1.N` (or
//! `latest`), or with `OpenStack-API-Version: baremetal 1.N`; with neither it gets
//! the minimum, 1.1. The outcome is stored in the request's extensions as
//! [`ApiVersion`] for handlers, and every response — errors too — carries the
//! minimum, maximum and chosen version plus a request id.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ferric_model::microversion::Version;

use crate::ApiError;

/// The oldest version served: 1.0 was retired before versioning existed.
pub const MIN_VERSION: Version = Version::new(1, 1);

/// The newest version served: Ironic 39's 1.115. Every node, port and driver
/// field and behaviour up to it is served; the sub-resources that are not yet
/// (listed in `docs/api-coverage.md`) answer 404, as an Ironic without the
/// matching driver or service would.
pub const MAX_VERSION: Version = ferric_model::microversion::known::MAX;

const VERSION_HEADER: &str = "x-openstack-ironic-api-version";
const MIN_HEADER: &str = "x-openstack-ironic-api-minimum-version";
const MAX_HEADER: &str = "x-openstack-ironic-api-maximum-version";
const GENERIC_HEADER: &str = "openstack-api-version";

/// The microversion a request negotiated; handlers gate fields and endpoints on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiVersion(pub Version);

/// Why a requested version cannot be served; rendered as Ironic's 406.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionError {
    /// Not of the form `1.N` or `latest`. Ironic omits the range headers here.
    Garbage,
    /// A major version other than 1.
    WrongMajor(String),
    /// A 1.N outside the served range.
    OutOfRange(Version),
}

/// Reads the requested version from the headers.
pub fn requested_version(headers: &HeaderMap) -> Result<Version, VersionError> {
    let raw = match headers.get(VERSION_HEADER) {
        Some(value) => Some(value.to_str().map_err(|_| VersionError::Garbage)?.trim().to_owned()),
        None => generic_header_version(headers),
    };
    let Some(raw) = raw else { return Ok(MIN_VERSION) };
    if raw.eq_ignore_ascii_case("latest") {
        return Ok(MAX_VERSION);
    }
    let (major, minor) = raw.split_once('.').ok_or(VersionError::Garbage)?;
    let major: u32 = major.parse().map_err(|_| VersionError::Garbage)?;
    let minor: u32 = minor.parse().map_err(|_| VersionError::Garbage)?;
    if major != 1 {
        return Err(VersionError::WrongMajor(raw));
    }
    let version = Version::new(major, minor);
    if version < MIN_VERSION || version > MAX_VERSION {
        return Err(VersionError::OutOfRange(version));
    }
    Ok(version)
}

/// `OpenStack-API-Version: baremetal 1.N` (other services' entries are ignored).
fn generic_header_version(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(GENERIC_HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|entry| {
            let mut parts = entry.split_whitespace();
            let service = parts.next()?;
            let version = parts.next()?;
            service.eq_ignore_ascii_case("baremetal").then(|| version.to_owned())
        })
}

impl From<VersionError> for ApiError {
    fn from(err: VersionError) -> Self {
        let range = format!("The supported version range is: [{MIN_VERSION}, {MAX_VERSION}].");
        match err {
            VersionError::Garbage => {
                ApiError::not_acceptable("Invalid value for X-OpenStack-Ironic-API-Version header")
            }
            VersionError::WrongMajor(raw) => ApiError::not_acceptable(format!(
                "Mutually exclusive versions requested. Version {raw} requested but not supported by this service. {range}"
            )),
            VersionError::OutOfRange(v) => ApiError::not_acceptable(format!(
                "Version {v} was requested but the minor version is not supported by this service. {range}"
            )),
        }
    }
}

/// Marks a response to a path no route matches.
#[derive(Debug, Clone, Copy)]
pub struct Unrouted;

/// Middleware: negotiates the version, then stamps the response headers.
pub async fn negotiate(mut request: Request, next: Next) -> Response {
    let request_id = HeaderValue::try_from(format!("req-{}", uuid::Uuid::new_v4()))
        .unwrap_or(HeaderValue::from_static("req-unknown"));
    let negotiated = requested_version(request.headers());
    let mut response = match &negotiated {
        Ok(version) => {
            request.extensions_mut().insert(ApiVersion(*version));
            next.run(request).await
        }
        Err(err) => ApiError::from(err.clone()).into_response(),
    };
    // Ironic answers a path it does not route before its version hook runs, so
    // that 404 carries no version headers (transcript 77).
    let unrouted = response.extensions().get::<Unrouted>().is_some();
    let headers = response.headers_mut();
    if !unrouted && !matches!(negotiated, Err(VersionError::Garbage)) {
        insert(headers, MIN_HEADER, MIN_VERSION.to_string());
        insert(headers, MAX_HEADER, MAX_VERSION.to_string());
    }
    if let (Ok(version), false) = (negotiated, unrouted) {
        insert(headers, VERSION_HEADER, version.to_string());
    }
    headers.insert(HeaderName::from_static("x-openstack-request-id"), request_id.clone());
    headers.insert(HeaderName::from_static("openstack-request-id"), request_id);
    response
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(value) = HeaderValue::try_from(value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(headers: &[(&'static str, &str)], expected: Result<Version, VersionError>) {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        assert_eq!(requested_version(&map), expected, "{headers:?}");
    }

    #[test]
    fn negotiation_follows_ironic() {
        check(&[], Ok(MIN_VERSION));
        check(&[(VERSION_HEADER, "latest")], Ok(MAX_VERSION));
        check(&[(VERSION_HEADER, "1.1")], Ok(Version::new(1, 1)));
        check(&[(GENERIC_HEADER, "baremetal 1.1")], Ok(Version::new(1, 1)));
        check(&[(GENERIC_HEADER, "compute 2.1, baremetal latest")], Ok(MAX_VERSION));
        check(&[(GENERIC_HEADER, "compute 2.1")], Ok(MIN_VERSION));
        check(&[(VERSION_HEADER, "abc")], Err(VersionError::Garbage));
        check(&[(VERSION_HEADER, "1.x")], Err(VersionError::Garbage));
        check(&[(VERSION_HEADER, "2.1")], Err(VersionError::WrongMajor("2.1".into())));
        check(&[(VERSION_HEADER, "1.0")], Err(VersionError::OutOfRange(Version::new(1, 0))));
        check(&[(VERSION_HEADER, "1.999")], Err(VersionError::OutOfRange(Version::new(1, 999))));
    }
}
