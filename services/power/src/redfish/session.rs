//! Redfish session authentication (DSP0266 §13.3): POST credentials to the
//! SessionService, then send `X-Auth-Token`. Tokens are cached per BMC and user
//! and renewed when the BMC answers 401. With `redfish_auth_type = auto`, a
//! service without a SessionService falls back to basic authentication, as
//! Ironic does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use reqwest::StatusCode;
use serde_json::json;

use super::client::{Client, odata_id};
use super::config::AuthType;
use crate::error::PowerError;

/// What a login left us with.
#[derive(Clone)]
enum Login {
    /// A token to send.
    Token(String),
    /// The service has no sessions: use basic authentication.
    Basic,
}

/// Tokens per (base URL, username, password digest); shared by the driver.
#[derive(Clone, Default)]
pub struct SessionCache {
    tokens: Arc<Mutex<HashMap<String, Login>>>,
}

impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionCache(<tokens redacted>)")
    }
}

fn key(client: &Client) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(client.config.password.as_deref().unwrap_or("").as_bytes());
    format!(
        "{}\n{:?}\n{}\n{:x}",
        client.config.base,
        client.config.auth,
        client.config.username.as_deref().unwrap_or(""),
        digest
    )
}

impl SessionCache {
    /// The token to send, logging in when there is none; None means basic auth.
    pub async fn token(&self, client: &Client) -> Result<Option<String>, PowerError> {
        if client.config.username.is_none() {
            return Ok(None);
        }
        let k = key(client);
        let cached = self.tokens.lock().unwrap_or_else(|p| p.into_inner()).get(&k).cloned();
        let login = match cached {
            Some(login) => login,
            None => {
                let login = self.login(client).await?;
                self.tokens.lock().unwrap_or_else(|p| p.into_inner()).insert(k, login.clone());
                login
            }
        };
        Ok(match login {
            Login::Token(t) => Some(t),
            Login::Basic => None,
        })
    }

    /// Drops the cached token of `client` (after a 401).
    pub fn forget(&self, client: &Client) {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).remove(&key(client));
    }

    async fn login(&self, client: &Client) -> Result<Login, PowerError> {
        let auto = client.config.auth == AuthType::Auto;
        let started = Instant::now();
        // The service root is readable without authentication and names the
        // sessions collection.
        let root = client
            .http
            .get(format!("{}/redfish/v1/", client.config.base))
            .send()
            .await
            .map_err(|e| client.transport_error(e, started))?;
        let root: serde_json::Value = root.json().await.unwrap_or_default();
        let sessions =
            root.pointer("/Links/Sessions").and_then(odata_id).map(str::to_owned).or_else(|| {
                root.get("SessionService").map(|_| "/redfish/v1/SessionService/Sessions".to_owned())
            });
        let Some(sessions) = sessions else {
            return if auto {
                Ok(Login::Basic)
            } else {
                Err(PowerError::Unsupported {
                    driver: "redfish",
                    operation: "session authentication (redfish_auth_type=session)".into(),
                    address: client.config.base.clone(),
                })
            };
        };
        let body = json!({
            "UserName": client.config.username.clone().unwrap_or_default(),
            "Password": client.config.password.clone().unwrap_or_default(),
        });
        let started = Instant::now();
        let response = client
            .http
            .post(format!("{}{}", client.config.base, sessions))
            .json(&body)
            .send()
            .await
            .map_err(|e| client.transport_error(e, started))?;
        let status = response.status();
        if let Some(token) = response.headers().get("x-auth-token").and_then(|v| v.to_str().ok())
            && status.is_success()
        {
            return Ok(Login::Token(token.to_owned()));
        }
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::BAD_REQUEST
                if !auto || status != StatusCode::BAD_REQUEST =>
            {
                Err(PowerError::BadCredentials {
                    address: client.config.base.clone(),
                    detail: format!("session login: HTTP {status}"),
                })
            }
            _ if auto => Ok(Login::Basic),
            _ => Err(PowerError::BmcError {
                address: client.config.base.clone(),
                operation: "session login".into(),
                detail: format!("HTTP {status} without X-Auth-Token"),
            }),
        }
    }
}
