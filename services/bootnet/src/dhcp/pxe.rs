//! Which firmware is asking, and what it is handed, so every firmware ends in
//! iPXE running the node's script:
//!
//! | client | answer |
//! |---|---|
//! | iPXE (user class `iPXE` or option 175) | URL of its per-node script |
//! | PXE, arch 0 (BIOS) or none | `undionly.kpxe` over TFTP |
//! | PXE, arch 7 or 9 (x86-64 UEFI) | `ipxe.efi` over TFTP |
//! | PXE, arch 11 (arm64 UEFI) | `ipxe-arm64.efi`, when the iPXE directory has it |
//! | anything else (dhclient, the ramdisk's udhcpc) | no boot answer |
//!
//! Whether a MAC gets a boot answer at all is decided before: only registered
//! nodes (and unknown MACs when discovery is on).

use std::net::Ipv4Addr;
use std::path::Path;

use crate::dhcp::options::Inbound;
use crate::registry::{BootTarget, Firmware};

/// The firmware family a request comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// iPXE, wherever it was loaded from.
    Ipxe,
    /// A legacy BIOS PXE ROM.
    BiosPxe,
    /// An x86-64 UEFI PXE client.
    UefiX64,
    /// An arm64 UEFI PXE client.
    UefiArm64,
    /// A PXE client of an architecture we have no iPXE for.
    OtherPxe(u16),
    /// Not a netboot firmware (an OS DHCP client).
    NotPxe,
}

/// Classifies a request by options 60, 77, 93 and 175.
pub fn classify(request: &Inbound) -> Client {
    if request.ipxe {
        return Client::Ipxe;
    }
    if !request.pxe {
        return Client::NotPxe;
    }
    match request.arch {
        None | Some(0) => Client::BiosPxe,
        Some(7) | Some(9) => Client::UefiX64,
        Some(11) => Client::UefiArm64,
        Some(other) => Client::OtherPxe(other),
    }
}

/// The iPXE builds available to hand out (file names as served over TFTP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpxeFiles {
    /// For BIOS PXE ROMs.
    pub bios: Option<String>,
    /// For x86-64 UEFI.
    pub uefi_x64: Option<String>,
    /// For arm64 UEFI.
    pub uefi_arm64: Option<String>,
}

impl IpxeFiles {
    /// Names the iPXE builds present in `root` or `ipxe_dir`.
    pub fn find(root: &Path, ipxe_dir: &Path) -> Self {
        let present = |name: &str| {
            (root.join(name).is_file() || ipxe_dir.join(name).is_file()).then(|| name.to_owned())
        };
        Self {
            bios: present(BIOS_FILE),
            uefi_x64: present(UEFI_X64_FILE),
            uefi_arm64: present(UEFI_ARM64_FILE).or_else(|| present("arm64-efi/ipxe.efi")),
        }
    }
}

/// iPXE for BIOS PXE ROMs (UNDI, keeps the ROM's driver).
pub const BIOS_FILE: &str = "undionly.kpxe";
/// iPXE for x86-64 UEFI.
pub const UEFI_X64_FILE: &str = "ipxe.efi";
/// iPXE for arm64 UEFI (not in Debian 12's `ipxe`; used when an operator adds it).
pub const UEFI_ARM64_FILE: &str = "ipxe-arm64.efi";

/// What a netbooting client is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootAnswer {
    /// Boot file name (TFTP path) or, for iPXE, the script URL.
    pub file: String,
    /// TFTP server (siaddr).
    pub next_server: Ipv4Addr,
    /// Whether the client is iPXE (gets option 175).
    pub ipxe: bool,
}

/// The boot answer for `client`, a node configured for `firmware`, or `None` when
/// it must get none.
pub fn answer(
    client: Client,
    firmware: Firmware,
    target: BootTarget,
    files: &IpxeFiles,
    script_url: &str,
    next_server: Ipv4Addr,
) -> Option<BootAnswer> {
    let _ = target; // Local boot still chains into iPXE: its script exits to disk.
    let file = match client {
        Client::Ipxe => return Some(BootAnswer { file: script_url.to_owned(), next_server, ipxe: true }),
        Client::BiosPxe if firmware != Firmware::Uefi => files.bios.clone()?,
        Client::UefiX64 if firmware != Firmware::Bios => files.uefi_x64.clone()?,
        Client::UefiArm64 if firmware != Firmware::Bios => files.uefi_arm64.clone()?,
        _ => return None,
    };
    Some(BootAnswer { file, next_server, ipxe: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> IpxeFiles {
        IpxeFiles { bios: Some(BIOS_FILE.into()), uefi_x64: Some(UEFI_X64_FILE.into()), uefi_arm64: None }
    }

    fn check(client: Client, firmware: Firmware, expected: Option<&str>) {
        let server = Ipv4Addr::new(10, 0, 0, 1);
        let got = answer(client, firmware, BootTarget::Deploy, &files(), "http://10.0.0.1/ipxe/x", server);
        assert_eq!(got.map(|a| a.file).as_deref(), expected, "{client:?} {firmware:?}");
    }

    #[test]
    fn every_firmware_ends_in_ipxe() {
        check(Client::Ipxe, Firmware::Any, Some("http://10.0.0.1/ipxe/x"));
        check(Client::Ipxe, Firmware::Bios, Some("http://10.0.0.1/ipxe/x"));
        check(Client::BiosPxe, Firmware::Any, Some("undionly.kpxe"));
        check(Client::BiosPxe, Firmware::Bios, Some("undionly.kpxe"));
        check(Client::BiosPxe, Firmware::Uefi, None);
        check(Client::UefiX64, Firmware::Any, Some("ipxe.efi"));
        check(Client::UefiX64, Firmware::Uefi, Some("ipxe.efi"));
        check(Client::UefiX64, Firmware::Bios, None);
        check(Client::UefiArm64, Firmware::Any, None); // not installed
        check(Client::OtherPxe(16), Firmware::Any, None);
        check(Client::NotPxe, Firmware::Any, None);
    }
}
