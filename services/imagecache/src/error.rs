//! The image cache's one error type, and the one place it becomes a gRPC status.
//!
//! Every message names what the caller can act on (the URL with its credentials
//! removed, the expected and actual checksum) and leaves the underlying cause to
//! `source()`, so logs can print the whole chain while callers see one clear line.

use std::io;

use tonic::{Code, Status};

/// Why an image operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ImageCacheError {
    /// The source URL is unparsable or uses a scheme the cache cannot fetch.
    #[error("invalid image URL {url}: {reason}")]
    InvalidUrl {
        /// The URL as given, credentials removed.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A request field is missing or malformed.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The checksum or its algorithm cannot be used.
    #[error("invalid checksum: {0}")]
    InvalidChecksum(String),
    /// A `file://` source outside the directories the operator allowed.
    #[error("file URL path {path} is not under an allowed directory")]
    FileNotAllowed {
        /// The requested path.
        path: String,
    },
    /// The origin (or the local file) does not have the image.
    #[error("image source {url} not found")]
    SourceNotFound {
        /// The URL, credentials removed.
        url: String,
    },
    /// The origin answered with a status that is not a success and not retried
    /// further (4xx), or kept answering 5xx.
    #[error("origin {url} answered HTTP {status}")]
    OriginStatus {
        /// The URL, credentials removed.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The transfer kept failing (connection refused or dropped, timeouts, short
    /// bodies) after all retries.
    #[error("download of {url} failed after {attempts} attempts: {reason}")]
    Download {
        /// The URL, credentials removed.
        url: String,
        /// How many requests were made.
        attempts: u32,
        /// The last failure, rendered with its causes.
        reason: String,
    },
    /// The bytes are not the image that was asked for.
    #[error("checksum mismatch for {url}: expected {algorithm} {expected}, got {actual}")]
    ChecksumMismatch {
        /// The URL, credentials removed.
        url: String,
        /// "md5", "sha256" or "sha512".
        algorithm: &'static str,
        /// The checksum the caller gave.
        expected: String,
        /// The checksum of what was downloaded.
        actual: String,
    },
    /// A checksum file was fetched but holds nothing usable for this image.
    #[error("checksum file {url} {reason}")]
    ChecksumFile {
        /// The checksum file's URL, credentials removed.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The image is not in the cache.
    #[error("image {0} is not cached")]
    NotCached(String),
    /// The image is pinned and the caller did not force its eviction.
    #[error("image {id} is pinned by {holders:?}")]
    Pinned {
        /// The cache id.
        id: String,
        /// Who holds pins.
        holders: Vec<String>,
    },
    /// The image does not fit even after evicting every unpinned image.
    #[error(
        "image of {size} bytes does not fit the cache quota of {quota} bytes ({pinned} bytes are pinned)"
    )]
    QuotaExceeded {
        /// Size of the new image.
        size: u64,
        /// The configured quota.
        quota: u64,
        /// Bytes held by pinned images.
        pinned: u64,
    },
    /// The image could be used to read host files (backing or data file).
    #[error("refusing unsafe image: {0}")]
    UnsafeImage(String),
    /// Conversion to raw was asked for a format the cache does not convert.
    #[error("cannot convert {0} images to raw")]
    UnsupportedFormat(String),
    /// `qemu-img` failed or is missing.
    #[error("qemu-img {action} failed: {detail}")]
    QemuImg {
        /// "info" or "convert".
        action: &'static str,
        /// Its stderr or the spawn error.
        detail: String,
    },
    /// A local file operation failed.
    #[error("{context}")]
    Io {
        /// What was being done, e.g. "writing the download of <url>".
        context: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Another instance holds the cache directory.
    #[error("cache directory {0} is in use by another process")]
    Locked(String),
    /// A background task died (a bug, or the runtime shutting down).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ImageCacheError {
    /// Wraps an I/O error with what was being done; the one constructor so every
    /// I/O failure carries a context.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io { context: context.into(), source }
    }

    /// The gRPC code for this error; decided here and nowhere else.
    pub fn code(&self) -> Code {
        match self {
            Self::InvalidUrl { .. } | Self::InvalidChecksum(_) | Self::InvalidRequest(_) => {
                Code::InvalidArgument
            }
            Self::FileNotAllowed { .. } => Code::PermissionDenied,
            Self::SourceNotFound { .. } | Self::NotCached(_) => Code::NotFound,
            Self::OriginStatus { status, .. } if *status >= 500 => Code::Unavailable,
            Self::OriginStatus { .. } => Code::FailedPrecondition,
            Self::Download { .. } => Code::Unavailable,
            Self::ChecksumMismatch { .. } => Code::DataLoss,
            Self::ChecksumFile { .. } => Code::FailedPrecondition,
            Self::Pinned { .. } | Self::UnsafeImage(_) | Self::UnsupportedFormat(_) => {
                Code::FailedPrecondition
            }
            Self::QuotaExceeded { .. } => Code::ResourceExhausted,
            Self::QemuImg { .. } | Self::Io { .. } | Self::Locked(_) | Self::Internal(_) => Code::Internal,
        }
    }
}

/// Why [`crate::run`] stopped: the cache could not open, or a server failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The cache directory could not be opened or recovered.
    #[error("cannot open the image cache")]
    Open(#[source] ImageCacheError),
    /// The gRPC server failed.
    #[error("image cache gRPC server failed")]
    Mesh(#[source] ferric_mesh::MeshError),
    /// The HTTP listener's address could not be read.
    #[error("image cache HTTP listener failed")]
    Http(#[source] io::Error),
}

/// Renders an error with its chain of causes, for logs and for reasons carried
/// across a retry.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

impl From<&ImageCacheError> for Status {
    fn from(error: &ImageCacheError) -> Self {
        // Internal errors carry their cause (a local path or OS error is useful to
        // the operator and holds no secret); the others are complete as displayed.
        let message = match error {
            ImageCacheError::Io { .. } => chain(error),
            _ => error.to_string(),
        };
        Status::new(error.code(), message)
    }
}

impl From<ImageCacheError> for Status {
    fn from(error: ImageCacheError) -> Self {
        Status::from(&error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_contract() {
        let cases = [
            (ImageCacheError::InvalidUrl { url: "x".into(), reason: "y".into() }, Code::InvalidArgument),
            (ImageCacheError::SourceNotFound { url: "http://o/i".into() }, Code::NotFound),
            (ImageCacheError::OriginStatus { url: "u".into(), status: 503 }, Code::Unavailable),
            (ImageCacheError::OriginStatus { url: "u".into(), status: 403 }, Code::FailedPrecondition),
            (
                ImageCacheError::ChecksumMismatch {
                    url: "u".into(),
                    algorithm: "sha256",
                    expected: "aa".into(),
                    actual: "bb".into(),
                },
                Code::DataLoss,
            ),
            (ImageCacheError::Pinned { id: "i".into(), holders: vec!["n".into()] }, Code::FailedPrecondition),
            (ImageCacheError::QuotaExceeded { size: 1, quota: 0, pinned: 0 }, Code::ResourceExhausted),
        ];
        for (error, code) in cases {
            assert_eq!(Status::from(&error).code(), code, "{error}");
        }
    }

    #[test]
    fn io_status_carries_the_cause() {
        let error = ImageCacheError::io("writing x", io::Error::other("disk full"));
        let status = Status::from(error);
        assert_eq!(status.message(), "writing x: disk full");
    }
}
