//! The one error type of the deploy service and its one mapping to gRPC status.
//!
//! Every refusal and failure the conductor can answer with is a [`DeployError`]
//! variant, so the gateway sees one consistent set of codes: FAILED_PRECONDITION
//! for a locked node (Ironic's 409 NodeLocked), INVALID_ARGUMENT for a verb the
//! state does not allow (400 InvalidStateRequested), NOT_FOUND, UNAVAILABLE when no
//! conductor or power service can act, ... Messages are Ironic's texts where Ironic
//! has one; they never carry a secret (tokens and passwords are not formatted
//! anywhere in this crate).

use ferric_model::InvalidStateRequested;
use ferric_store::StoreError;
use tonic::{Code, Status};

/// Why a deploy service request or a piece of conductor work failed.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// Ironic's `NodeLocked`: another operation holds the node's lock.
    #[error("Node {node} is locked by host {host}, please retry after the current operation is completed.")]
    NodeLocked {
        /// The node's UUID.
        node: String,
        /// The lock holder (the node's `reservation`).
        host: String,
    },
    /// Ironic's `InvalidStateRequested`: the verb has no edge from the node's state.
    #[error(transparent)]
    InvalidState(#[from] InvalidStateRequested),
    /// The node does not exist.
    #[error("Node {0} could not be found.")]
    NodeNotFound(String),
    /// A malformed request (missing node, unknown verb, bad step).
    #[error("{0}")]
    InvalidArgument(String),
    /// The operation does not apply to the node as configured (e.g. boot device not
    /// supported by its management interface).
    #[error("{0}")]
    Unsupported(String),
    /// Ironic's 503 when the admission limit is reached and queueing is disabled.
    #[error(
        "Unable to process request at this time. The concurrent action limit for {0} has been reached. Please contact your administrator and try again later."
    )]
    ConcurrencyLimit(&'static str),
    /// This conductor cannot act right now (no valid membership lease, no power
    /// service instance, store unreachable).
    #[error("{0}")]
    Unavailable(String),
    /// The agent token of a heartbeat is missing or wrong.
    #[error("{0}")]
    Unauthenticated(String),
    /// The driver (fake, power service, agent) reported a failure; becomes the
    /// node's `last_error` when it happens during a transition.
    #[error("{0}")]
    Driver(String),
    /// The node changed under the operation in a way it cannot merge.
    #[error("{0}")]
    Conflict(String),
    /// The store failed.
    #[error("store error: {0}")]
    Store(#[source] StoreError),
    /// The lock was lost mid-operation (lease lapsed, taken over): stop at once.
    #[error("lost the lock of node {0}")]
    LockLost(String),
}

impl From<StoreError> for DeployError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Locked { name, holder } => {
                DeployError::NodeLocked { node: name.trim_start_matches("nodes/").to_owned(), host: holder }
            }
            StoreError::Unavailable(_) | StoreError::Timeout => DeployError::Unavailable(error.to_string()),
            other => DeployError::Store(other),
        }
    }
}

impl From<DeployError> for Status {
    fn from(error: DeployError) -> Status {
        let code = match &error {
            DeployError::NodeLocked { .. } => Code::FailedPrecondition,
            DeployError::InvalidState(_) | DeployError::InvalidArgument(_) | DeployError::Unsupported(_) => {
                Code::InvalidArgument
            }
            DeployError::NodeNotFound(_) => Code::NotFound,
            DeployError::ConcurrencyLimit(_) | DeployError::Unavailable(_) => Code::Unavailable,
            DeployError::Unauthenticated(_) => Code::Unauthenticated,
            DeployError::Conflict(_) => Code::Aborted,
            DeployError::Driver(_) | DeployError::Store(_) | DeployError::LockLost(_) => Code::Internal,
        };
        if code == Code::Internal {
            tracing::error!(error = %error, source = ?std::error::Error::source(&error), "deploy request failed");
        }
        Status::new(code, error.to_string())
    }
}

/// Result alias of this crate.
pub type Result<T, E = DeployError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locked_node_is_ironics_409_text() {
        let status = Status::from(DeployError::from(StoreError::Locked {
            name: "nodes/1be26c0b-03f2-4d2e-ae87-c02d7f33c123".into(),
            holder: "c1".into(),
        }));
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(
            status.message(),
            "Node 1be26c0b-03f2-4d2e-ae87-c02d7f33c123 is locked by host c1, please retry after the current operation is completed."
        );
    }

    #[test]
    fn invalid_state_is_invalid_argument() {
        let status = Status::from(DeployError::from(InvalidStateRequested::new("active", "n", "enroll")));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "The requested action \"active\" can not be performed on node \"n\" while it is in state \"enroll\"."
        );
    }
}
