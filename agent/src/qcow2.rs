//! A minimal qcow2 reader, so an image that reaches the agent as qcow2 (with
//! `image_download_source = direct`) is written as the disk it describes. It
//! reads versions 2 and 3 without backing files, encryption, compressed clusters,
//! external data files or extended L2 entries, and refuses those with a clear
//! error; Ferric's image cache (on by default) converts such images to raw.
//!
//! The downloaded file is verified first (its checksum is the image's), then
//! each guest cluster is copied in order: allocated clusters from the file,
//! unallocated and zero clusters as zeros, so no old data survives under the image.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;

/// `QFI\xfb`, the first four bytes of every qcow2 image.
const MAGIC: [u8; 4] = *b"QFI\xfb";
/// Bits 9–55 of an L1 or L2 entry: the host offset.
const OFFSET_MASK: u64 = 0x00ff_ffff_ffff_fe00;
/// L2 entry bit 62: a compressed cluster.
const COMPRESSED: u64 = 1 << 62;
/// L2 entry bit 0 (v3): the cluster reads as zeros.
const ZERO: u64 = 1;
/// Incompatible feature bits the reader cannot honour: corrupt, external data
/// file, extended L2 entries.
const UNREADABLE_FEATURES: u64 = (1 << 1) | (1 << 2) | (1 << 4);

/// Why a qcow2 image cannot be written.
pub const UNSUPPORTED: &str = "qcow2 is not supported by this agent for this image; \
    let the image cache convert it to raw (Ferric does by default)";

/// Whether `head` (the start of an image) is a qcow2 header.
pub fn is_qcow2(head: &[u8]) -> bool {
    head.len() >= 4 && head[..4] == MAGIC
}

/// What the header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// 2 or 3.
    pub version: u32,
    /// Bytes per cluster.
    pub cluster_size: u64,
    /// The disk's size.
    pub virtual_size: u64,
    /// Entries in the L1 table.
    pub l1_size: u64,
    /// Where the L1 table is.
    pub l1_offset: u64,
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be64(b: &[u8], at: usize) -> u64 {
    (u64::from(be32(b, at)) << 32) | u64::from(be32(b, at + 4))
}

fn refuse(what: impl std::fmt::Display) -> String {
    format!("{what}: {UNSUPPORTED}")
}

/// Parses and checks the header at the start of `image`.
pub fn header(image: &File) -> Result<Header, String> {
    let mut raw = [0u8; 104];
    let read = image.read_at(&mut raw, 0).map_err(|e| format!("cannot read the qcow2 header: {e}"))?;
    if read < 72 || !is_qcow2(&raw) {
        return Err("not a qcow2 image".into());
    }
    let version = be32(&raw, 4);
    if version != 2 && version != 3 {
        return Err(refuse(format!("qcow2 version {version}")));
    }
    if be64(&raw, 8) != 0 {
        return Err(refuse("the image has a backing file"));
    }
    let cluster_bits = be32(&raw, 20);
    if !(9..=21).contains(&cluster_bits) {
        return Err(format!("invalid qcow2 cluster_bits {cluster_bits}"));
    }
    if be32(&raw, 32) != 0 {
        return Err(refuse("the image is encrypted"));
    }
    if version == 3 && read >= 80 && be64(&raw, 72) & UNREADABLE_FEATURES != 0 {
        return Err(refuse(format!("incompatible qcow2 features {:#x}", be64(&raw, 72))));
    }
    Ok(Header {
        version,
        cluster_size: 1 << cluster_bits,
        virtual_size: be64(&raw, 24),
        l1_size: u64::from(be32(&raw, 36)),
        l1_offset: be64(&raw, 40),
    })
}

/// Writes the disk `image` describes onto `disk` from offset 0; returns its size.
pub fn convert(image: &File, disk: &mut File, capacity: u64) -> Result<u64, String> {
    let header = header(image)?;
    if header.virtual_size > capacity {
        return Err(format!(
            "the image's virtual size {} is larger than the disk ({capacity} bytes)",
            header.virtual_size
        ));
    }
    let cluster = header.cluster_size;
    let per_l2 = cluster / 8;
    let clusters = header.virtual_size.div_ceil(cluster);
    if header.l1_size < clusters.div_ceil(per_l2) {
        return Err("the qcow2 L1 table is too small for the virtual size".into());
    }
    let mut l1 = vec![0u8; usize::try_from(header.l1_size * 8).map_err(|e| e.to_string())?];
    image.read_exact_at(&mut l1, header.l1_offset).map_err(|e| format!("cannot read the L1 table: {e}"))?;
    let size = usize::try_from(cluster).map_err(|e| e.to_string())?;
    let zeros = vec![0u8; size];
    let mut l2 = vec![0u8; size];
    let mut data = vec![0u8; size];
    let mut loaded_l2 = None;
    for index in 0..clusters {
        let (l1_index, l2_index) = ((index / per_l2) as usize, (index % per_l2) as usize);
        let l2_offset = be64(&l1, l1_index * 8) & OFFSET_MASK;
        let entry = if l2_offset == 0 {
            0
        } else {
            if loaded_l2 != Some(l2_offset) {
                image
                    .read_exact_at(&mut l2, l2_offset)
                    .map_err(|e| format!("cannot read an L2 table: {e}"))?;
                loaded_l2 = Some(l2_offset);
            }
            be64(&l2, l2_index * 8)
        };
        if entry & COMPRESSED != 0 {
            return Err(refuse("the image has compressed clusters"));
        }
        let host = entry & OFFSET_MASK;
        let length = (header.virtual_size - index * cluster).min(cluster) as usize;
        let block = if host == 0 || (header.version == 3 && entry & ZERO != 0) {
            &zeros[..length]
        } else {
            image
                .read_exact_at(&mut data[..length], host)
                .map_err(|e| format!("cannot read cluster {index} of the image: {e}"))?;
            &data[..length]
        };
        disk.write_all(block).map_err(|e| e.to_string())?;
    }
    disk.sync_all().map_err(|e| format!("fsync failed: {e}"))?;
    Ok(header.virtual_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_magic_identifies_qcow2() {
        assert!(is_qcow2(b"QFI\xfb\x00\x00\x00\x03"));
        assert!(!is_qcow2(b"QFI"));
        assert!(!is_qcow2(&[0u8; 512]));
    }
}
