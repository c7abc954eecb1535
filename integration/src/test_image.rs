//! The "user image" end-to-end tests deploy: a raw disk image whose first
//! sector is a boot sector that prints `FERRIC-BOOTED-FROM-DISK tag=<tag>` on
//! COM1 and then switches the (qemu i440fx) machine off; the rest is random.
//!
//! So "the node booted what we deployed" is a string match on its serial log,
//! with a tag no earlier run could have printed, and the VM powers itself off
//! afterwards, so nothing keeps a CPU busy.

use std::io::{self, Read};
use std::path::Path;
use std::process::Command;

/// Where a BIOS loads a boot sector.
const LOAD_ADDRESS: u16 = 0x7c00;

/// A generated image and the facts a test checks it by.
#[derive(Debug, Clone)]
pub struct TestImage {
    /// The whole image.
    pub bytes: Vec<u8>,
    /// The random tag its boot sector prints.
    pub tag: String,
    /// Its sha256, lowercase hex (what `image_os_hash_value` carries).
    pub sha256: String,
}

impl TestImage {
    /// An image of `size` bytes (at least one sector) with a fresh random tag.
    pub fn new(size: usize) -> io::Result<Self> {
        let size = size.max(512);
        let mut bytes = vec![0u8; size];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
        let tag: String = bytes[..6].iter().map(|b| format!("{b:02x}")).collect();
        let sector = boot_sector(&format!("\r\nFERRIC-BOOTED-FROM-DISK tag={tag}\r\n"));
        bytes[..512].copy_from_slice(&sector);
        let sha256 = sha256(&bytes)?;
        Ok(Self { bytes, tag, sha256 })
    }

    /// The line the machine prints when it boots this image.
    pub fn marker(&self) -> String {
        format!("FERRIC-BOOTED-FROM-DISK tag={}", self.tag)
    }
}

/// A 512-byte boot sector (real mode, loaded at 0:7c00) that writes `message`
/// to the first serial port, waiting for the transmitter before each byte,
/// then writes SLP_TYP=S5|SLP_EN to the PIIX4 PM1a control port (0x604),
/// which is power-off on qemu's default machine.
fn boot_sector(message: &str) -> [u8; 512] {
    const CODE_LEN: u16 = 41;
    let text = LOAD_ADDRESS + CODE_LEN;
    #[rustfmt::skip]
    let code: [u8; CODE_LEN as usize] = [
        0xfa,                                   //  0 cli
        0x31, 0xc0,                             //  1 xor ax, ax
        0x8e, 0xd8,                             //  3 mov ds, ax
        0xbe, text as u8, (text >> 8) as u8,    //  5 mov si, text
        0xac,                                   //  8 next: lodsb
        0x84, 0xc0,                             //  9 test al, al
        0x74, 0x12,                             // 11 jz off (31)
        0x88, 0xc3,                             // 13 mov bl, al
        0xba, 0xfd, 0x03,                       // 15 wait: mov dx, 0x3fd (line status)
        0xec,                                   // 18 in al, dx
        0xa8, 0x20,                             // 19 test al, 0x20 (transmitter empty)
        0x74, 0xf8,                             // 21 jz wait (15)
        0xba, 0xf8, 0x03,                       // 23 mov dx, 0x3f8 (COM1 data)
        0x88, 0xd8,                             // 26 mov al, bl
        0xee,                                   // 28 out dx, al
        0xeb, 0xe9,                             // 29 jmp next (8)
        0xba, 0x04, 0x06,                       // 31 off: mov dx, 0x604
        0xb8, 0x00, 0x20,                       // 34 mov ax, 0x2000 (S5 | SLP_EN)
        0xef,                                   // 37 out dx, ax
        0xf4,                                   // 38 halt: hlt
        0xeb, 0xfd,                             // 39 jmp halt (38)
    ];
    let mut sector = [0u8; 512];
    sector[..code.len()].copy_from_slice(&code);
    let message = message.as_bytes();
    let room = 510 - code.len() - 1; // keep a terminating zero before the signature
    let len = message.len().min(room);
    sector[code.len()..code.len() + len].copy_from_slice(&message[..len]);
    sector[510] = 0x55;
    sector[511] = 0xaa;
    sector
}

/// sha256 of `bytes`, by coreutils' `sha256sum` (an independent implementation
/// from the one Ferric uses to verify images).
pub fn sha256(bytes: &[u8]) -> io::Result<String> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("data");
    std::fs::write(&path, bytes)?;
    sha256_file(&path, None)
}

/// sha256 of the first `len` bytes of `path` (all of it when `None`).
pub fn sha256_file(path: &Path, len: Option<u64>) -> io::Result<String> {
    let script = match len {
        Some(len) => format!("head -c {len} \"$0\" | sha256sum"),
        None => "sha256sum < \"$0\"".to_owned(),
    };
    let output = Command::new("sh").arg("-c").arg(script).arg(path).output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    match text.split_whitespace().next() {
        Some(hex) if output.status.success() && hex.len() == 64 => Ok(hex.to_owned()),
        _ => Err(io::Error::other(format!("sha256sum of {} failed: {text}", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boot_sector_carries_its_message_and_signature() {
        let image = TestImage::new(4096).unwrap();
        assert_eq!(image.bytes.len(), 4096);
        assert_eq!(&image.bytes[510..512], &[0x55, 0xaa]);
        let text = String::from_utf8_lossy(&image.bytes[41..110]).into_owned();
        assert!(text.contains(&image.marker()), "{text:?}");
        assert_eq!(image.sha256, sha256(&image.bytes).unwrap());
        assert_ne!(TestImage::new(4096).unwrap().tag, image.tag, "every image has its own tag");
    }

    /// The boot sector really runs: qemu boots the image from a disk, prints
    /// the marker on its serial port and exits by itself (the ACPI power-off).
    #[test]
    fn qemu_boots_the_image_prints_the_marker_and_powers_off() {
        let image = TestImage::new(64 * 1024).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let disk = dir.path().join("disk.img");
        std::fs::write(&disk, &image.bytes).unwrap();
        // SeaBIOS does not boot a disk of a few sectors; make it a plausible size.
        std::fs::OpenOptions::new().write(true).open(&disk).unwrap().set_len(8 << 20).unwrap();
        let serial = dir.path().join("serial.log");
        let status = Command::new("timeout")
            .args([
                "60",
                "qemu-system-x86_64",
                "-accel",
                "tcg",
                "-m",
                "64",
                "-nodefaults",
                "-display",
                "none",
            ])
            .args(["-no-reboot", "-boot", "order=c", "-serial"])
            .arg(format!("file:{}", serial.display()))
            .arg("-drive")
            .arg(format!("file={},format=raw,if=virtio", disk.display()))
            .status()
            .expect("qemu-system-x86_64 (scripts/install-deps.sh test)");
        let console = std::fs::read_to_string(&serial).unwrap_or_default();
        assert!(status.success(), "qemu did not power off by itself ({status}): {console}");
        assert!(console.contains(&image.marker()), "{console:?}");
    }
}
