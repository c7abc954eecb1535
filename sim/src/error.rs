//! The simulator's errors: each names the machine or file it concerns, so a
//! failed benchmark run says what broke without a debugger.

use std::path::Path;

/// Anything that stops a fleet run or one machine's boot.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A local file or socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// The file, socket or operation.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Ferric could not be started or stopped answering.
    #[error("ferric: {0}")]
    Ferric(String),
    /// The REST API refused or failed a call.
    #[error("REST API: {0}")]
    Api(String),
    /// A DHCP exchange got no usable answer.
    #[error("DHCP: {0}")]
    Dhcp(String),
    /// A boot file or script could not be fetched or understood.
    #[error("boot: {0}")]
    Boot(String),
    /// A TFTP transfer failed.
    #[error("TFTP: {0}")]
    Tftp(String),
    /// The fleet did not reach the expected state.
    #[error("fleet: {0}")]
    Fleet(String),
}

impl SimError {
    /// An I/O error about `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Self::Io { what: path.as_ref().display().to_string(), source }
    }

    /// An I/O error about an operation described in words.
    pub fn op(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io { what: what.into(), source }
    }
}
