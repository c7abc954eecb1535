//! The cluster crate's one error type: what joining or listing membership can fail
//! with. Its `Display` says what failed, the source says why.

use ferric_store::StoreError;

/// Everything membership calls can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A store call failed.
    #[error("store operation failed while {doing}")]
    Store {
        /// What membership was doing, e.g. "registering conductor c1".
        doing: String,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// A conductor record could not be encoded.
    #[error("cannot encode the record of conductor {hostname}")]
    Encode {
        /// The conductor's hostname.
        hostname: String,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// The hostname cannot name a conductor (empty, or containing `/`).
    #[error("invalid conductor hostname {0:?}")]
    InvalidHostname(String),
    /// Another live instance holds this hostname and did not leave within one
    /// lease TTL; two conductors sharing a name would corrupt ownership.
    #[error("conductor {hostname} is already registered by a live instance")]
    AlreadyRegistered {
        /// The contested hostname.
        hostname: String,
    },
}

impl ClusterError {
    pub(crate) fn store(doing: impl Into<String>) -> impl FnOnce(StoreError) -> ClusterError {
        let doing = doing.into();
        move |source| ClusterError::Store { doing, source }
    }
}
