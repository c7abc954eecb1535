//! The boot network's one error type, and the one place it becomes a gRPC status.
//!
//! Packet-level problems (a malformed DHCP or TFTP datagram) never become errors
//! that travel anywhere: they are dropped and counted where they are parsed. What
//! is here is what an operator or a caller can act on: a bad registration, a store
//! failure, a socket that cannot be bound.

use std::io;

use ferric_store::StoreError;
use tonic::{Code, Status};

/// Why a boot network operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BootnetError {
    /// A request field is missing or malformed (a MAC, the mode, a URL).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The node, or one of its MACs, is registered already.
    #[error("already registered: {0}")]
    AlreadyRegistered(String),
    /// The node is not registered.
    #[error("node {0} is not registered")]
    NotRegistered(String),
    /// The registration changed while it was being replaced; the caller may retry.
    #[error("node {0} was changed concurrently")]
    Conflict(String),
    /// The store failed; transient failures are retryable.
    #[error("store failure")]
    Store(#[source] StoreError),
    /// A listener could not be bound or configured.
    #[error("cannot set up {what} on {addr}")]
    Bind {
        /// Which listener (DHCP, TFTP, HTTP...).
        what: &'static str,
        /// The address or interface.
        addr: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The settings cannot work (no server address with DHCP on, ...).
    #[error("invalid settings: {0}")]
    Settings(String),
    /// The gRPC server failed.
    #[error("gRPC server failed")]
    Mesh(#[source] ferric_mesh::MeshError),
}

impl From<StoreError> for BootnetError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::AlreadyExists(what) => BootnetError::AlreadyRegistered(what),
            StoreError::UniqueViolation { index, value, owner } => {
                BootnetError::AlreadyRegistered(format!("{index} {value} belongs to node {owner}"))
            }
            StoreError::Conflict(what) => BootnetError::Conflict(what),
            other => BootnetError::Store(other),
        }
    }
}

impl From<BootnetError> for Status {
    fn from(error: BootnetError) -> Self {
        let code = match &error {
            BootnetError::InvalidRequest(_) | BootnetError::Settings(_) => Code::InvalidArgument,
            BootnetError::AlreadyRegistered(_) => Code::AlreadyExists,
            BootnetError::NotRegistered(_) => Code::NotFound,
            BootnetError::Conflict(_) => Code::Aborted,
            BootnetError::Store(store) if store.is_transient() => Code::Unavailable,
            BootnetError::Store(StoreError::InvalidArgument(_)) => Code::InvalidArgument,
            BootnetError::Store(_) | BootnetError::Bind { .. } | BootnetError::Mesh(_) => Code::Internal,
        };
        // The whole chain goes to the log; the caller gets the top line plus the
        // store's own message, which names keys but never secrets.
        let message = match &error {
            BootnetError::Store(store) => format!("{error}: {store}"),
            _ => error.to_string(),
        };
        if code == Code::Internal || code == Code::Unavailable {
            tracing::error!(error = &error as &dyn std::error::Error, "bootnet request failed");
        }
        Status::new(code, message)
    }
}
