//! Disk formats: what a downloaded image is (`qemu-img info`), and qcow2 (or
//! another format qemu-img reads) to raw for agents that write raw.
//!
//! Ironic's rule is kept: an image whose metadata points at another file (a
//! qcow2 backing file or external data file) is refused, since converting it
//! would read that file from this host. Conversion keeps holes (qemu-img writes
//! raw sparsely), and the result is fsynced before it can be committed.

use std::path::Path;
use std::process::Stdio;

use serde::Deserialize;
use tokio::process::Command;

use crate::error::ImageCacheError;

/// What qemu-img says about an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// "raw", "qcow2", ... as qemu-img names it.
    pub format: String,
    /// Size of the disk the image describes.
    pub virtual_size: u64,
}

/// Formats that conversion to raw accepts; qemu-img reads more, but these are
/// the ones cloud images come in.
const CONVERTIBLE: &[&str] = &["qcow2", "vmdk", "vhdx", "vpc", "vdi", "qed"];

#[derive(Deserialize)]
struct InfoJson {
    format: String,
    #[serde(rename = "virtual-size")]
    virtual_size: u64,
    #[serde(rename = "backing-filename")]
    backing_filename: Option<String>,
    #[serde(rename = "format-specific")]
    format_specific: Option<FormatSpecific>,
}

#[derive(Deserialize)]
struct FormatSpecific {
    data: Option<FormatData>,
}

#[derive(Deserialize)]
struct FormatData {
    #[serde(rename = "data-file")]
    data_file: Option<String>,
}

/// Runs qemu-img and returns its stdout, or its stderr as the error.
async fn qemu_img(action: &'static str, args: &[&std::ffi::OsStr]) -> Result<Vec<u8>, ImageCacheError> {
    let output =
        Command::new("qemu-img")
            .args(args)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| ImageCacheError::QemuImg { action, detail: format!("cannot run qemu-img: {e}") })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(ImageCacheError::QemuImg {
            action,
            detail: format!("{}: {}", output.status, stderr.trim()),
        });
    }
    Ok(output.stdout)
}

/// Detects the format and virtual size of the image at `path`, refusing images
/// that reference other files.
pub async fn inspect(path: &Path) -> Result<ImageInfo, ImageCacheError> {
    let stdout = qemu_img("info", &["info".as_ref(), "--output=json".as_ref(), path.as_os_str()]).await?;
    let info: InfoJson = serde_json::from_slice(&stdout).map_err(|e| ImageCacheError::QemuImg {
        action: "info",
        detail: format!("unreadable output: {e}"),
    })?;
    if let Some(backing) = info.backing_filename {
        return Err(ImageCacheError::UnsafeImage(format!(
            "{} image has a backing file ({backing})",
            info.format
        )));
    }
    if let Some(data_file) = info.format_specific.and_then(|f| f.data).and_then(|d| d.data_file) {
        return Err(ImageCacheError::UnsafeImage(format!(
            "{} image has an external data file ({data_file})",
            info.format
        )));
    }
    Ok(ImageInfo { format: info.format, virtual_size: info.virtual_size })
}

/// Converts `src` (of `format`) to a sparse raw file at `dst`, fsynced.
pub async fn to_raw(src: &Path, format: &str, dst: &Path) -> Result<(), ImageCacheError> {
    if !CONVERTIBLE.contains(&format) {
        return Err(ImageCacheError::UnsupportedFormat(format.to_owned()));
    }
    qemu_img(
        "convert",
        &[
            "convert".as_ref(),
            "-q".as_ref(),
            "-f".as_ref(),
            format.as_ref(),
            "-O".as_ref(),
            "raw".as_ref(),
            src.as_os_str(),
            dst.as_os_str(),
        ],
    )
    .await?;
    let dst = dst.to_owned();
    tokio::task::spawn_blocking(move || std::fs::File::open(&dst).and_then(|f| f.sync_all()))
        .await
        .map_err(|e| ImageCacheError::Internal(format!("fsync task: {e}")))?
        .map_err(|e| ImageCacheError::io("syncing the converted image", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_unknown_formats() {
        let err = to_raw(Path::new("/nonexistent"), "iso", Path::new("/nonexistent2")).await.err();
        assert!(matches!(err, Some(ImageCacheError::UnsupportedFormat(f)) if f == "iso"));
    }
}
