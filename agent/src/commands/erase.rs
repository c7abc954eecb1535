//! Disk erasure for cleaning. `erase_devices_metadata` does what ironic-lib's
//! `destroy_disk_metadata` does (wipefs, the first sectors, `sgdisk -Z`): it
//! zeroes the first and last MiB of every disk, where partition tables (MBR, GPT
//! and its backup at the end) and RAID/filesystem signatures live, and the first
//! MiB of every partition. `erase_devices` discards every block when the device
//! can (BLKDISCARD; a hole in a simulated disk), else writes zeros over it all.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value, json};

use super::blocking;
use crate::agent::Agent;
use crate::error::CommandError;
use crate::hardware::{BlockDevice, Hardware};

/// How much is zeroed at each end of a disk (covers GPT's 33 sectors at either
/// end with room for 4K-sector disks and most RAID superblocks).
pub const METADATA_BYTES: u64 = 1 << 20;
static ZEROS: [u8; 1 << 20] = [0; 1 << 20];

/// Every disk's metadata, gone.
pub async fn erase_devices_metadata(agent: &Arc<Agent>) -> Result<Value, CommandError> {
    let hardware = agent.hardware.clone();
    let result = blocking(move || {
        let mut done = Map::new();
        for disk in hardware.block_devices()? {
            erase_metadata(hardware.as_ref(), &disk)?;
            done.insert(disk.name.clone(), json!("metadata erased"));
        }
        Ok(done)
    })
    .await
    .map_err(|e| CommandError::erase(format!("Erasing disk metadata failed: {e}")))?;
    Ok(Value::Object(result))
}

fn zero(file: &mut File, offset: u64, length: u64) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    let mut left = length;
    while left > 0 {
        let n = left.min(ZEROS.len() as u64) as usize;
        file.write_all(&ZEROS[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// Zeroes the start and end of `disk` and the start of each partition.
fn erase_metadata(hardware: &dyn Hardware, disk: &BlockDevice) -> std::io::Result<()> {
    let mut file = hardware.open_device(disk, true)?;
    let size = disk.size;
    let head = METADATA_BYTES.min(size);
    zero(&mut file, 0, head)?;
    let tail_start = size.saturating_sub(METADATA_BYTES).max(head);
    zero(&mut file, tail_start, size - tail_start)?;
    for offset in hardware.partition_offsets(disk) {
        zero(&mut file, offset, METADATA_BYTES.min(size.saturating_sub(offset)))?;
    }
    file.sync_all()?;
    tracing::info!(disk = %disk.name, "disk metadata erased (first and last MiB)");
    Ok(())
}

/// Every disk erased: discarded where possible, else zeroed.
pub async fn erase_devices(agent: &Arc<Agent>) -> Result<Value, CommandError> {
    let hardware = agent.hardware.clone();
    let result = blocking(move || {
        let mut done = Map::new();
        for disk in hardware.block_devices()? {
            let how = erase_disk(hardware.as_ref(), &disk)?;
            done.insert(disk.name.clone(), json!(how));
        }
        Ok(done)
    })
    .await
    .map_err(|e| CommandError::erase(format!("Erasing devices failed: {e}")))?;
    Ok(Value::Object(result))
}

fn erase_disk(hardware: &dyn Hardware, disk: &BlockDevice) -> std::io::Result<&'static str> {
    let mut file = hardware.open_device(disk, true)?;
    if hardware.discard(disk, &file)? {
        // Discarded blocks of some devices read back as old data: clear the
        // metadata explicitly so no partition table survives either way.
        drop(file);
        erase_metadata(hardware, disk)?;
        tracing::info!(disk = %disk.name, "disk discarded");
        return Ok("discarded");
    }
    let started = Instant::now();
    zero(&mut file, 0, disk.size)?;
    file.sync_all()?;
    let seconds = started.elapsed().as_secs_f64().max(0.001);
    tracing::info!(disk = %disk.name, bytes = disk.size, rate_mib_s = format!("{:.1}", disk.size as f64 / seconds / 1_048_576.0), "disk zeroed");
    Ok("zeroed")
}
