//! Who may call the API: Ironic standalone's `noauth` and `http_basic`, plus a
//! reader role that may look but not touch.
//!
//! bcrypt is deliberately slow (tens of milliseconds per check), which would cap
//! the API at a few dozen requests per second per core. A successful check is
//! therefore remembered under a SHA-256 of the exact credentials, so a client
//! pays bcrypt once per password, not once per request; a changed password
//! hashes differently and is checked afresh.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::ApiError;

/// What a caller may do once authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Reads and changes everything.
    Admin,
    /// Reads only: any other method is refused with 403.
    Reader,
}

/// Why the htpasswd file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The file could not be read.
    #[error("cannot read htpasswd file {path}: {source}")]
    Read {
        /// The configured path.
        path: String,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// A line is not `user:$2y$...`: only bcrypt is accepted, as in Ironic.
    #[error("htpasswd file {path} line {line}: only bcrypt entries (htpasswd -B) are supported")]
    NotBcrypt {
        /// The configured path.
        path: String,
        /// 1-based line number.
        line: usize,
    },
}

/// The authentication policy of one gateway.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Policy>,
}

enum Policy {
    NoAuth,
    HttpBasic(BasicUsers),
}

struct BasicUsers {
    hashes: HashMap<String, String>,
    readers: HashSet<String>,
    /// SHA-256 of `user:password` pairs that passed bcrypt.
    verified: Mutex<HashSet<[u8; 32]>>,
}

impl Auth {
    /// Everyone is an admin.
    pub fn noauth() -> Self {
        Self { inner: Arc::new(Policy::NoAuth) }
    }

    /// Basic auth against the bcrypt entries of an Apache htpasswd file.
    pub fn http_basic(file: &Path, readers: &[String]) -> Result<Self, AuthError> {
        let path = file.display().to_string();
        let text =
            std::fs::read_to_string(file).map_err(|source| AuthError::Read { path: path.clone(), source })?;
        Self::from_htpasswd(&path, &text, readers)
    }

    fn from_htpasswd(path: &str, text: &str, readers: &[String]) -> Result<Self, AuthError> {
        let mut hashes = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((user, hash)) = line.split_once(':').filter(|(_, h)| h.starts_with("$2")) else {
                return Err(AuthError::NotBcrypt { path: path.to_owned(), line: index + 1 });
            };
            hashes.insert(user.to_owned(), hash.to_owned());
        }
        let users = BasicUsers {
            hashes,
            readers: readers.iter().cloned().collect(),
            verified: Mutex::new(HashSet::new()),
        };
        Ok(Self { inner: Arc::new(Policy::HttpBasic(users)) })
    }

    /// The caller's role, or the error to answer with.
    fn authenticate(&self, authorization: Option<&HeaderValue>) -> Result<Role, ApiError> {
        let users = match &*self.inner {
            Policy::NoAuth => return Ok(Role::Admin),
            Policy::HttpBasic(users) => users,
        };
        let (user, password) = authorization
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Basic "))
            .and_then(|encoded| base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok())
            .and_then(|decoded| String::from_utf8(decoded).ok())
            .and_then(|pair| pair.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned())))
            .ok_or_else(|| ApiError::unauthorized("Authorization required"))?;
        let hash = users.hashes.get(&user).ok_or_else(|| ApiError::unauthorized("Authentication failed"))?;
        let fingerprint: [u8; 32] = Sha256::new()
            .chain_update(user.as_bytes())
            .chain_update([0])
            .chain_update(password.as_bytes())
            .chain_update([0])
            .chain_update(hash.as_bytes())
            .finalize()
            .into();
        let known = users.verified.lock().map(|set| set.contains(&fingerprint)).unwrap_or(false);
        if !known {
            if !bcrypt::verify(&password, hash).unwrap_or(false) {
                tracing::info!(%user, "http_basic authentication failed");
                return Err(ApiError::unauthorized("Authentication failed"));
            }
            if let Ok(mut set) = users.verified.lock() {
                set.insert(fingerprint);
            }
        }
        Ok(if users.readers.contains(&user) { Role::Reader } else { Role::Admin })
    }
}

/// Paths anyone may call: version discovery (clients probe it before they
/// authenticate, as Ironic allows) and the agent's lookup and heartbeat, which
/// prove themselves with the agent token instead.
fn is_public(method: &Method, path: &str) -> bool {
    let discovery = matches!(path, "/" | "/v1" | "/v1/" | "/v1/openapi.json" | "/metrics");
    let agent = path == "/v1/lookup"
        || (method == Method::POST
            && (path.starts_with("/v1/heartbeat/") || path == "/v1/continue_inspection"));
    discovery || agent
}

/// Middleware: authenticates every non-public request and enforces the reader
/// role before any handler runs.
pub async fn enforce(State(auth): State<Auth>, mut request: Request, next: Next) -> Response {
    if is_public(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let role = match auth.authenticate(request.headers().get(header::AUTHORIZATION)) {
        Ok(role) => role,
        Err(error) => {
            let mut response = error.into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"Baremetal API\""));
            return response;
        }
    };
    let read_only = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if role == Role::Reader && !read_only {
        let action = format!("{} {}", request.method(), request.uri().path());
        return ApiError::forbidden(format!("Access was denied to the following resource: {action}"))
            .into_response();
    }
    request.extensions_mut().insert(role);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> HeaderValue {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {encoded}")).unwrap()
    }

    fn policy() -> Auth {
        let admin = bcrypt::hash("secret", 4).unwrap();
        let reader = bcrypt::hash("look", 4).unwrap();
        let file = format!("# users\nadmin:{admin}\nviewer:{reader}\n");
        Auth::from_htpasswd("test", &file, &["viewer".to_owned()]).unwrap()
    }

    #[test]
    fn noauth_makes_everyone_admin() {
        assert_eq!(Auth::noauth().authenticate(None).unwrap(), Role::Admin);
    }

    #[test]
    fn basic_auth_checks_password_and_role() {
        let auth = policy();
        assert_eq!(auth.authenticate(Some(&basic("admin", "secret"))).unwrap(), Role::Admin);
        // Second time from the cache of verified credentials: same answer.
        assert_eq!(auth.authenticate(Some(&basic("admin", "secret"))).unwrap(), Role::Admin);
        assert_eq!(auth.authenticate(Some(&basic("viewer", "look"))).unwrap(), Role::Reader);
        assert_eq!(auth.authenticate(Some(&basic("admin", "wrong"))).unwrap_err().status(), 401);
        assert_eq!(auth.authenticate(Some(&basic("nobody", "secret"))).unwrap_err().status(), 401);
        assert_eq!(auth.authenticate(None).unwrap_err().status(), 401);
        let garbage = HeaderValue::from_static("Basic %%%");
        assert_eq!(auth.authenticate(Some(&garbage)).unwrap_err().status(), 401);
    }

    #[test]
    fn non_bcrypt_entries_are_refused() {
        let error = Auth::from_htpasswd("f", "admin:{SHA}abc\n", &[]).err().expect("refused");
        assert!(error.to_string().contains("line 1"), "{error}");
    }

    #[test]
    fn discovery_and_agent_paths_are_public() {
        assert!(is_public(&Method::GET, "/"));
        assert!(is_public(&Method::GET, "/v1"));
        assert!(is_public(&Method::GET, "/v1/lookup"));
        assert!(is_public(&Method::POST, "/v1/heartbeat/1be26c0b-03f2-4d2e-ae87-c02d7f33c123"));
        assert!(!is_public(&Method::GET, "/v1/nodes"));
    }
}
