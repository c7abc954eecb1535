//! Ironic's redfish driver_info keys, parsed and checked without I/O:
//! `redfish_address` (required; `https://` assumed without a scheme),
//! `redfish_system_id` (a path or a bare id; discovered when the service has one
//! system), `redfish_username`/`redfish_password`, `redfish_verify_ca` (true,
//! false or a CA bundle path; default true) and `redfish_auth_type` (basic,
//! session, auto; default auto).

use std::path::PathBuf;

use crate::error::PowerError;
use crate::info::DriverInfo;

/// How the BMC's certificate is checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VerifyCa {
    /// Against the system's CA store.
    System,
    /// Not at all (Ironic's `redfish_verify_ca = false`).
    Insecure,
    /// Against this CA bundle only.
    Bundle(PathBuf),
}

/// How requests are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    /// HTTP basic on every request.
    Basic,
    /// A SessionService token.
    Session,
    /// Session when the service offers it, else basic.
    Auto,
}

/// A checked Redfish target. `Debug` leaves the password out.
#[derive(Clone)]
pub struct RedfishConfig {
    /// scheme://host[:port], no trailing slash.
    pub base: String,
    /// The system's path, e.g. `/redfish/v1/Systems/1`; None to discover.
    pub system: Option<String>,
    /// Username, when the BMC needs authentication.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// TLS verification.
    pub verify: VerifyCa,
    /// Authentication.
    pub auth: AuthType,
}

impl std::fmt::Debug for RedfishConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedfishConfig")
            .field("base", &self.base)
            .field("system", &self.system)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("verify", &self.verify)
            .field("auth", &self.auth)
            .finish()
    }
}

impl RedfishConfig {
    /// Parses driver_info.
    pub fn parse(info: &DriverInfo) -> Result<Self, PowerError> {
        let raw = info.required("redfish_address")?.trim().to_owned();
        let with_scheme = if raw.contains("://") { raw } else { format!("https://{raw}") };
        let url = reqwest::Url::parse(&with_scheme)
            .map_err(|e| PowerError::invalid("redfish_address", format!("not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(PowerError::invalid("redfish_address", "scheme must be http or https"));
        }
        let host = url.host_str().ok_or_else(|| PowerError::invalid("redfish_address", "has no host"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(PowerError::invalid(
                "redfish_address",
                "put credentials in redfish_username/redfish_password, not the URL",
            ));
        }
        let host =
            if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_owned() };
        let base = match url.port() {
            Some(port) => format!("{}://{}:{}", url.scheme(), host, port),
            None => format!("{}://{}", url.scheme(), host),
        };
        let system = info
            .string("redfish_system_id")?
            .map(|s| s.trim().trim_end_matches('/').to_owned())
            .filter(|s| !s.is_empty())
            .map(|s| if s.starts_with('/') { s } else { format!("/redfish/v1/Systems/{s}") });
        if let Some(path) = &system
            && (path.contains(char::is_whitespace) || path.contains(".."))
        {
            return Err(PowerError::invalid("redfish_system_id", "not a resource path"));
        }
        let username = info.string("redfish_username")?.filter(|s| !s.is_empty());
        let password = info.string("redfish_password")?;
        if password.is_some() && username.is_none() {
            return Err(PowerError::MissingKey { key: "redfish_username" });
        }
        let verify = match info.bool_or_string("redfish_verify_ca")? {
            None | Some(Ok(true)) => VerifyCa::System,
            Some(Ok(false)) => VerifyCa::Insecure,
            Some(Err(path)) => {
                let path = PathBuf::from(path);
                if !path.is_file() {
                    return Err(PowerError::invalid(
                        "redfish_verify_ca",
                        format!("{} is neither a boolean nor a readable file", path.display()),
                    ));
                }
                VerifyCa::Bundle(path)
            }
        };
        let auth = match info.string("redfish_auth_type")?.as_deref().map(str::trim) {
            None | Some("auto") => AuthType::Auto,
            Some("basic") => AuthType::Basic,
            Some("session") => AuthType::Session,
            Some(_) => {
                return Err(PowerError::invalid("redfish_auth_type", "must be one of basic, session, auto"));
            }
        };
        Ok(Self { base, system, username, password, verify, auth })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(v: serde_json::Value) -> Result<RedfishConfig, PowerError> {
        RedfishConfig::parse(&DriverInfo::from_json(v))
    }

    #[test]
    fn addresses_and_systems_as_ironic() {
        let c = parse(json!({"redfish_address": "10.0.0.9"})).unwrap();
        assert_eq!(
            (c.base.as_str(), c.system.clone(), c.verify.clone(), c.auth),
            ("https://10.0.0.9", None, VerifyCa::System, AuthType::Auto)
        );
        let c = parse(json!({"redfish_address": "http://127.0.0.1:8000/", "redfish_system_id": "abc", "redfish_verify_ca": "false", "redfish_auth_type": "basic"})).unwrap();
        assert_eq!(
            (c.base.as_str(), c.system.as_deref(), c.verify, c.auth),
            ("http://127.0.0.1:8000", Some("/redfish/v1/Systems/abc"), VerifyCa::Insecure, AuthType::Basic)
        );
        let c = parse(
            json!({"redfish_address": "https://[::1]:8443", "redfish_system_id": "/redfish/v1/Systems/1/"}),
        )
        .unwrap();
        assert_eq!(
            (c.base.as_str(), c.system.as_deref()),
            ("https://[::1]:8443", Some("/redfish/v1/Systems/1"))
        );
    }

    #[test]
    fn each_bad_key_is_named() {
        let cases = [
            (json!({}), "redfish_address"),
            (json!({"redfish_address": "ftp://x"}), "redfish_address"),
            (json!({"redfish_address": "https://u:p@x"}), "redfish_address"),
            (json!({"redfish_address": "x", "redfish_verify_ca": "/no/such/ca.pem"}), "redfish_verify_ca"),
            (json!({"redfish_address": "x", "redfish_verify_ca": 3}), "redfish_verify_ca"),
            (json!({"redfish_address": "x", "redfish_auth_type": "digest"}), "redfish_auth_type"),
            (json!({"redfish_address": "x", "redfish_password": "p"}), "redfish_username"),
            (json!({"redfish_address": "x", "redfish_system_id": "/a/../b"}), "redfish_system_id"),
        ];
        for (info, key) in cases {
            match parse(info.clone()).unwrap_err() {
                PowerError::MissingKey { key: k } | PowerError::InvalidKey { key: k, .. } => {
                    assert_eq!(k, key, "{info}")
                }
                other => panic!("{other}"),
            }
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let c =
            parse(json!({"redfish_address": "x", "redfish_username": "u", "redfish_password": "hunter2"}))
                .unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
