//! The mesh's one error type. Callers log it whole (with its source chain); its
//! `Display` says what failed, the source says why.

use std::path::PathBuf;

use ferric_store::StoreError;

/// Everything setting up or running mesh plumbing can fail with. Failed RPCs are
/// not here: they are `tonic::Status`, as the callers' handlers expect.
#[derive(Debug, thiserror::Error)]
pub enum MeshError {
    /// A store call failed (registration, discovery).
    #[error("store operation failed while {doing}")]
    Store {
        /// What the mesh was doing, e.g. "registering power/p1".
        doing: String,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// A service address cannot be turned into a gRPC endpoint.
    #[error("invalid service address {address:?}")]
    InvalidAddress {
        /// The address as registered or configured.
        address: String,
        /// Why tonic rejected it.
        #[source]
        source: tonic::transport::Error,
    },
    /// A TLS certificate, key or CA file could not be read.
    #[error("cannot read TLS file {}", path.display())]
    TlsFile {
        /// The configured file.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
    /// The gRPC server failed to start or stopped with an error.
    #[error("gRPC server failed")]
    Transport(#[source] tonic::transport::Error),
    /// The reflection service rejected the descriptor set (a build problem).
    #[error("cannot build the reflection service")]
    Reflection(#[source] tonic_reflection::server::Error),
    /// A registration record could not be encoded.
    #[error("cannot encode the registration of {key}")]
    Encode {
        /// The registration's store key.
        key: String,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// The listener's local address could not be read.
    #[error("cannot read the listener's address")]
    Listener(#[source] std::io::Error),
}

impl MeshError {
    pub(crate) fn store(doing: impl Into<String>) -> impl FnOnce(StoreError) -> MeshError {
        let doing = doing.into();
        move |source| MeshError::Store { doing, source }
    }
}
