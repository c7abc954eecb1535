//! The agent's errors: [`AgentError`] for why `run` stops, and [`CommandError`]
//! for why a command failed, serialised as IPA's `RESTError`
//! (`{type, code, message, details}`) so the conductor reads it as it reads IPA's.

use serde::Serialize;

/// Why the agent could not run at all (bad options, the API port taken). Lookup
/// and heartbeat failures are retried, not returned.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The options cannot work (no MAC and no node UUID, a malformed API URL).
    #[error("invalid agent options: {0}")]
    InvalidOptions(String),
    /// The agent API could not listen.
    #[error("cannot serve the agent API on {address}")]
    Listen {
        /// Where it tried to listen.
        address: String,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// Lookup did not find the node before `lookup_timeout`.
    #[error("lookup found no node within {0:?}")]
    LookupTimeout(std::time::Duration),
}

/// A failed command as IPA reports it: `type` names the error class the conductor
/// and operators know from IPA (`ImageChecksumError`, `DeviceNotFound`, ...),
/// `message` is that class's fixed text, `details` says what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}: {details}")]
pub struct CommandError {
    /// IPA's exception class name.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP-like status IPA attaches to the class.
    pub code: u16,
    /// The class's fixed message.
    pub message: String,
    /// What went wrong this time.
    pub details: String,
}

impl CommandError {
    fn new(kind: &str, code: u16, message: &str, details: impl Into<String>) -> Self {
        Self { kind: kind.into(), code, message: message.into(), details: details.into() }
    }

    /// A command failed for a reason no more specific class covers.
    pub fn execution(details: impl Into<String>) -> Self {
        Self::new("CommandExecutionError", 500, "Command execution failed", details)
    }

    /// The command's parameters are unusable (IPA's `InvalidCommandParamsError`).
    pub fn invalid_params(details: impl Into<String>) -> Self {
        Self::new("InvalidCommandParamsError", 400, "Invalid command parameters", details)
    }

    /// The image could not be fetched (IPA's `ImageDownloadError`).
    pub fn download(image_id: &str, details: impl std::fmt::Display) -> Self {
        Self::new(
            "ImageDownloadError",
            500,
            "Error downloading image",
            format!("Download of image {image_id} failed: {details}"),
        )
    }

    /// The image does not match its checksum (IPA's `ImageChecksumError`).
    pub fn checksum(image_id: &str, location: &str, expected: &str, actual: &str) -> Self {
        Self::new(
            "ImageChecksumError",
            500,
            "Error verifying image checksum",
            format!(
                "Image checksum mismatch: image failed to verify against checksum. location: {location}; \
                 image ID: {image_id}; image checksum: {expected}; verification checksum: {actual}"
            ),
        )
    }

    /// The disk could not be written (IPA's `ImageWriteError`).
    pub fn write(device: &str, details: impl std::fmt::Display) -> Self {
        Self::new(
            "ImageWriteError",
            500,
            "Error writing image to device",
            format!("Writing image to device {device} failed: {details}"),
        )
    }

    /// No disk fits (IPA's `DeviceNotFound`).
    pub fn device_not_found(details: impl Into<String>) -> Self {
        Self::new(
            "DeviceNotFound",
            404,
            "Error finding the disk or partition device to deploy the image onto",
            details,
        )
    }

    /// Erasing a disk failed (IPA's `BlockDeviceEraseError`).
    pub fn erase(details: impl Into<String>) -> Self {
        Self::new("BlockDeviceEraseError", 500, "Error erasing block device", details)
    }

    /// The agent cannot do this (IPA's `IncompatibleHardwareMethodError`).
    pub fn unsupported(details: impl Into<String>) -> Self {
        Self::new(
            "IncompatibleHardwareMethodError",
            500,
            "HardwareManager method is not compatible with current hardware",
            details,
        )
    }
}
