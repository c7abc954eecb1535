//! The store's one error type. Callers map it to gRPC status and REST errors in
//! their own single place; here it only says what went wrong, typed.

/// Everything a store call can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot be reached or has no quorum; retrying later may work.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A call took longer than its deadline.
    #[error("store call timed out")]
    Timeout,
    /// The watch asked for history that has been compacted away.
    #[error("revision {requested} is compacted (oldest available is {oldest})")]
    Compacted { requested: i64, oldest: i64 },
    /// The lease expired or never existed.
    #[error("lease {0} not found")]
    LeaseNotFound(i64),
    /// A record that must exist does not.
    #[error("{0} not found")]
    NotFound(String),
    /// A record that must not exist does.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// A unique secondary key is taken by another record.
    #[error("{index} {value:?} is already used by {owner}")]
    UniqueViolation { index: String, value: String, owner: String },
    /// Compare-and-swap lost: the record changed since it was read.
    #[error("{0} was modified concurrently")]
    Conflict(String),
    /// A lock is held by someone else; `holder` is who (the node's `reservation`).
    #[error("{name} is locked by {holder}")]
    Locked { name: String, holder: String },
    /// Stored bytes could not be decoded.
    #[error("corrupt record {key}: {reason}")]
    Corrupt { key: String, reason: String },
    /// The request itself is malformed (an empty key, one key written twice in a
    /// transaction, an id with a `/`): retrying the same call can never succeed.
    #[error("invalid store request: {0}")]
    InvalidArgument(String),
    /// A bug or an unexpected backend answer.
    #[error("store internal error: {0}")]
    Internal(String),
}

impl StoreError {
    /// Whether the same call may succeed if retried after a pause.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::Timeout)
    }
}
