//! HTTP to one Redfish service: TLS per `redfish_verify_ca`, authentication per
//! `redfish_auth_type`, JSON in and out, and every failure turned into a typed
//! [`PowerError`] naming the BMC.
//!
//! reqwest clients (connection pools) are cached per address and TLS setting by
//! the driver, so repeated calls to a BMC reuse a kept-alive connection.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::config::{AuthType, RedfishConfig, VerifyCa};
use super::session::SessionCache;
use crate::error::PowerError;

/// Builds the reqwest client for a BMC's TLS settings.
pub fn build_client(
    verify: &VerifyCa,
    timeout: Duration,
    connect_timeout: Duration,
) -> Result<reqwest::Client, PowerError> {
    let mut builder =
        reqwest::Client::builder().timeout(timeout).connect_timeout(connect_timeout).use_rustls_tls();
    match verify {
        VerifyCa::System => {}
        VerifyCa::Insecure => builder = builder.danger_accept_invalid_certs(true),
        VerifyCa::Bundle(path) => {
            let pem = std::fs::read(path).map_err(|e| {
                PowerError::invalid(
                    "redfish_verify_ca",
                    format!("cannot read CA bundle {}: {e}", path.display()),
                )
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                PowerError::invalid(
                    "redfish_verify_ca",
                    format!("{} is not a PEM bundle: {e}", path.display()),
                )
            })?;
            if certs.is_empty() {
                return Err(PowerError::invalid(
                    "redfish_verify_ca",
                    format!("{} holds no certificate", path.display()),
                ));
            }
            builder = builder.tls_built_in_root_certs(false);
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
    }
    builder
        .build()
        .map_err(|e| PowerError::invalid("redfish_verify_ca", format!("cannot build an HTTPS client: {e}")))
}

/// A response we accepted: status, ETag and JSON body (Null when empty).
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status.
    pub status: StatusCode,
    /// The `ETag` header, for If-Match on the next PATCH.
    pub etag: Option<String>,
    /// The body as JSON (Null when empty or not JSON).
    pub body: Value,
}

/// One Redfish service as a node's driver_info describes it.
#[derive(Debug, Clone)]
pub struct Client {
    pub(super) config: RedfishConfig,
    pub(super) http: reqwest::Client,
    pub(super) sessions: SessionCache,
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// The message a Redfish error body carries, if any.
fn redfish_message(body: &Value) -> Option<String> {
    let error = body.get("error")?;
    let extended = error
        .get("@Message.ExtendedInfo")
        .and_then(|v| v.as_array())
        .and_then(|a| a.first())
        .and_then(|m| m.get("Message"))
        .and_then(|m| m.as_str());
    extended.or_else(|| error.get("message").and_then(|m| m.as_str())).map(str::to_owned)
}

impl Client {
    /// The BMC's base URL, for messages.
    pub fn address(&self) -> &str {
        &self.config.base
    }

    /// Maps a transport failure: TLS trust problems apart from unreachability.
    pub(super) fn transport_error(&self, e: reqwest::Error, started: Instant) -> PowerError {
        let detail = error_chain(&e);
        let lower = detail.to_ascii_lowercase();
        if lower.contains("certificate") || lower.contains("unknownissuer") || lower.contains("invalid peer")
        {
            return PowerError::TlsVerification { address: self.config.base.clone(), detail };
        }
        PowerError::Unreachable { address: self.config.base.clone(), waited: started.elapsed(), detail }
    }

    /// Sends one request with the configured authentication and returns the
    /// reply; 4xx/5xx become errors (401/403 as bad credentials). A session token
    /// the BMC no longer accepts is renewed once.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<Reply, PowerError> {
        let mut renewed = false;
        loop {
            let token = match self.config.auth {
                AuthType::Basic => None,
                AuthType::Session | AuthType::Auto => self.sessions.token(self).await?,
            };
            let url = format!("{}{}", self.config.base, path);
            let mut req = self.http.request(method.clone(), &url).header("OData-Version", "4.0");
            req = match (&token, &self.config.username) {
                (Some(token), _) => req.header("X-Auth-Token", token.as_str()),
                (None, Some(user)) => req.basic_auth(user, self.config.password.as_deref()),
                (None, None) => req,
            };
            if let Some(body) = body {
                req = req.json(body);
            }
            if let Some(etag) = if_match {
                req = req.header("If-Match", etag);
            }
            let started = Instant::now();
            let response = req.send().await.map_err(|e| self.transport_error(e, started))?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && token.is_some() && !renewed {
                self.sessions.forget(self);
                renewed = true;
                continue;
            }
            let etag = response.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_owned);
            let text = response.text().await.map_err(|e| self.transport_error(e, started))?;
            let body = serde_json::from_str(&text).unwrap_or(Value::Null);
            if status.is_success() {
                return Ok(Reply { status, etag, body });
            }
            let message = redfish_message(&body).unwrap_or_else(|| text.chars().take(200).collect());
            return Err(match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => PowerError::BadCredentials {
                    address: self.config.base.clone(),
                    detail: format!("HTTP {status} on {path}"),
                },
                _ => PowerError::BmcError {
                    address: self.config.base.clone(),
                    operation: format!("{method} {path}"),
                    detail: format!("HTTP {status}: {message}"),
                },
            });
        }
    }

    /// GET as JSON.
    pub async fn get(&self, path: &str) -> Result<Reply, PowerError> {
        self.request(Method::GET, path, None, None).await
    }

    /// POST a JSON body (actions).
    pub async fn post(&self, path: &str, body: &Value) -> Result<Reply, PowerError> {
        self.request(Method::POST, path, Some(body), None).await
    }

    /// A protocol error naming this BMC.
    pub fn protocol(&self, detail: impl Into<String>) -> PowerError {
        PowerError::Protocol { address: self.config.base.clone(), detail: detail.into() }
    }
}

/// The `@odata.id` of a link object.
pub fn odata_id(value: &Value) -> Option<&str> {
    value.get("@odata.id").and_then(Value::as_str)
}
