//! The one error type of the power service and its one mapping to gRPC status.
//!
//! Every driver reports failures as a [`PowerError`] variant that says what kind of
//! failure it was (bad input, unreachable BMC, refused credentials, unsupported
//! operation, BMC error code), because callers act on the kind: the deploy service
//! retries UNAVAILABLE, surfaces INVALID_ARGUMENT to the user, and so on. Messages
//! name the BMC address or the driver_info key, never a password.

use std::time::Duration;

use tonic::{Code, Status};

/// Why a power operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PowerError {
    /// `BmcTarget.driver` names no driver this service has.
    #[error("unknown power driver {0:?} (known: ipmi, redfish, fake)")]
    UnknownDriver(String),
    /// A required driver_info key is absent.
    #[error("driver_info is missing {key}")]
    MissingKey {
        /// The driver_info key, e.g. `ipmi_address`.
        key: &'static str,
    },
    /// A driver_info key has a value the driver cannot use.
    #[error("driver_info {key} is invalid: {reason}")]
    InvalidKey {
        /// The driver_info key.
        key: &'static str,
        /// What is wrong with it, without echoing secrets.
        reason: String,
    },
    /// The request itself is malformed (unset enum, missing field).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The BMC did not answer within the bounded retry budget.
    #[error("BMC at {address} is unreachable: no answer within {waited:?} ({detail})")]
    Unreachable {
        /// host:port or URL of the BMC.
        address: String,
        /// How long we tried.
        waited: Duration,
        /// The last transport error or "timed out".
        detail: String,
    },
    /// Repeated unreachability opened the per-BMC circuit breaker; calls fail fast.
    #[error("BMC at {address} failed {failures} times in a row; not retrying for {cooldown:?}")]
    CircuitOpen {
        /// host:port or URL of the BMC.
        address: String,
        /// Consecutive failures that opened the breaker.
        failures: u32,
        /// How long calls fail fast.
        cooldown: Duration,
    },
    /// The BMC answered and refused the username/password.
    #[error("BMC at {address} rejected the credentials: {detail}")]
    BadCredentials {
        /// host:port or URL of the BMC.
        address: String,
        /// What the BMC said (status code or HTTP status).
        detail: String,
    },
    /// The BMC's TLS certificate is not trusted under `redfish_verify_ca`.
    #[error("TLS verification of BMC at {address} failed: {detail} (check redfish_verify_ca)")]
    TlsVerification {
        /// URL of the BMC.
        address: String,
        /// The verifier's complaint.
        detail: String,
    },
    /// The driver or the BMC cannot do this operation.
    #[error("{operation} is not supported by {driver} at {address}")]
    Unsupported {
        /// Driver name.
        driver: &'static str,
        /// What was asked.
        operation: String,
        /// host:port or URL of the BMC ("" when no BMC is involved).
        address: String,
    },
    /// The BMC answered with an error (IPMI completion code, Redfish HTTP error).
    #[error("BMC at {address} refused {operation}: {detail}")]
    BmcError {
        /// host:port or URL of the BMC.
        address: String,
        /// What was asked.
        operation: String,
        /// Completion code or HTTP status with the BMC's message.
        detail: String,
    },
    /// The BMC answered with something that is not valid protocol.
    #[error("BMC at {address} sent an invalid response: {detail}")]
    Protocol {
        /// host:port or URL of the BMC.
        address: String,
        /// What could not be parsed.
        detail: String,
    },
    /// The power action was accepted but the target state was not reached in time.
    #[error("BMC at {address} did not reach power {target} within {timeout:?}")]
    Timeout {
        /// host:port or URL of the BMC.
        address: String,
        /// The awaited state.
        target: &'static str,
        /// How long we waited.
        timeout: Duration,
    },
    /// A fault injected into the fake driver.
    #[error("fake BMC {0}")]
    Fake(String),
}

impl PowerError {
    /// A short label for the `outcome` metric label: bounded cardinality.
    pub fn outcome(&self) -> &'static str {
        match self {
            PowerError::UnknownDriver(_)
            | PowerError::MissingKey { .. }
            | PowerError::InvalidKey { .. }
            | PowerError::InvalidRequest(_) => "invalid",
            PowerError::Unreachable { .. } | PowerError::CircuitOpen { .. } => "unreachable",
            PowerError::BadCredentials { .. } => "bad_credentials",
            PowerError::TlsVerification { .. } => "tls",
            PowerError::Unsupported { .. } => "unsupported",
            PowerError::BmcError { .. } | PowerError::Protocol { .. } | PowerError::Fake(_) => "bmc_error",
            PowerError::Timeout { .. } => "timeout",
        }
    }

    /// Whether this failure counts towards the per-BMC circuit breaker: only the
    /// BMC not answering, since an answer proves it is alive.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, PowerError::Unreachable { .. })
    }

    /// Shorthand for [`PowerError::InvalidKey`].
    pub fn invalid(key: &'static str, reason: impl Into<String>) -> Self {
        PowerError::InvalidKey { key, reason: reason.into() }
    }
}

/// The one mapping from a power failure to a gRPC status; the gateway turns the
/// code into Ironic's HTTP code and keeps the message as the error body.
impl From<PowerError> for Status {
    fn from(error: PowerError) -> Self {
        let code = match &error {
            PowerError::UnknownDriver(_)
            | PowerError::MissingKey { .. }
            | PowerError::InvalidKey { .. }
            | PowerError::InvalidRequest(_) => Code::InvalidArgument,
            PowerError::Unreachable { .. } | PowerError::CircuitOpen { .. } => Code::Unavailable,
            // The node's stored credentials must be fixed before anything can work:
            // a precondition of the system, not the caller's own permission.
            PowerError::BadCredentials { .. } => Code::FailedPrecondition,
            // An untrusted certificate is fixed in driver_info or the CA bundle.
            PowerError::TlsVerification { .. } => Code::FailedPrecondition,
            PowerError::Unsupported { .. } => Code::Unimplemented,
            PowerError::BmcError { .. } | PowerError::Fake(_) => Code::FailedPrecondition,
            PowerError::Protocol { .. } => Code::Internal,
            PowerError::Timeout { .. } => Code::DeadlineExceeded,
        };
        Status::new(code, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_kind_of_failure() {
        let check = |e: PowerError, code: Code, needle: &str| {
            let status = Status::from(e);
            assert_eq!(status.code(), code, "{}", status.message());
            assert!(status.message().contains(needle), "{}", status.message());
        };
        check(PowerError::MissingKey { key: "ipmi_address" }, Code::InvalidArgument, "ipmi_address");
        check(PowerError::invalid("ipmi_port", "not a port"), Code::InvalidArgument, "ipmi_port");
        check(
            PowerError::Unreachable {
                address: "10.0.0.1:623".into(),
                waited: Duration::from_secs(3),
                detail: "timed out".into(),
            },
            Code::Unavailable,
            "10.0.0.1:623",
        );
        check(
            PowerError::BadCredentials { address: "bmc:623".into(), detail: "auth code mismatch".into() },
            Code::FailedPrecondition,
            "rejected the credentials",
        );
        check(
            PowerError::Unsupported {
                driver: "ipmi",
                operation: "virtual media".into(),
                address: "a".into(),
            },
            Code::Unimplemented,
            "virtual media",
        );
        check(
            PowerError::Timeout { address: "a".into(), target: "off", timeout: Duration::from_secs(1) },
            Code::DeadlineExceeded,
            "off",
        );
    }
}
