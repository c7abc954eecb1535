//! `log.collect_system_logs`: IPA's `{"system_logs": <base64 of a gzipped tar>}`
//! holding the kernel log and the agent's own log ring. The tar and gzip are
//! written by hand (ustar headers, stored deflate blocks): a few dozen lines
//! instead of two compression crates in a static ramdisk binary.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::agent::Agent;
use crate::error::CommandError;

/// Collects the logs.
pub async fn collect_system_logs(agent: Arc<Agent>) -> Result<Value, CommandError> {
    let hardware = agent.hardware.clone();
    let mut files = tokio::task::spawn_blocking(move || hardware.system_logs())
        .await
        .map_err(|e| CommandError::execution(format!("collecting logs failed: {e}")))?;
    let mut own = crate::logring::snapshot().join("\n");
    own.push('\n');
    files.push(("ferric-agent.log".to_owned(), own.into_bytes()));
    let archive = gzip_stored(&tar(&files));
    Ok(json!({"system_logs": base64::engine::general_purpose::STANDARD.encode(archive)}))
}

/// A ustar archive of `files`.
pub fn tar(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mtime = chrono::Utc::now().timestamp().max(0) as u64;
    let mut out = Vec::new();
    for (name, data) in files {
        let mut header = [0u8; 512];
        let name = name.as_bytes();
        header[..name.len().min(99)].copy_from_slice(&name[..name.len().min(99)]);
        header[100..108].copy_from_slice(b"0000644\0");
        header[108..116].copy_from_slice(b"0000000\0");
        header[116..124].copy_from_slice(b"0000000\0");
        header[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
        header[136..148].copy_from_slice(format!("{mtime:011o}\0").as_bytes());
        header[148..156].copy_from_slice(b"        ");
        header[156] = b'0';
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
        header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// gzip of `data` with stored (uncompressed) deflate blocks.
pub fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let mut chunks = data.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn gzip_and_tar_unpack_with_the_system_tools() {
        let files = vec![
            ("dmesg".to_owned(), b"kernel says hi\n".to_vec()),
            ("agent.log".to_owned(), vec![b'x'; 70_000]),
        ];
        let archive = gzip_stored(&tar(&files));
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("logs.tar.gz");
        std::fs::write(&path, archive).expect("write");
        let status = std::process::Command::new("tar")
            .arg("-xzf")
            .arg(&path)
            .arg("-C")
            .arg(dir.path())
            .status()
            .expect("run tar");
        assert!(status.success());
        assert_eq!(std::fs::read(dir.path().join("dmesg")).expect("dmesg"), b"kernel says hi\n");
        assert_eq!(std::fs::read(dir.path().join("agent.log")).expect("log").len(), 70_000);
    }
}
