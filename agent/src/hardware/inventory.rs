//! Ironic's inventory document (what IPA's `hardware.list_hardware_info` sends
//! for inspection), as serde types so both hardware kinds report the same shape.

use serde::{Deserialize, Serialize};

/// The inventory: `{cpu, memory, disks, interfaces, system_vendor, boot, bmc_address}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    /// Processors.
    pub cpu: Cpu,
    /// Memory.
    pub memory: Memory,
    /// Disks (block devices an image may go to).
    pub disks: Vec<BlockDevice>,
    /// Network interfaces other than loopback.
    pub interfaces: Vec<Interface>,
    /// DMI identity.
    pub system_vendor: SystemVendor,
    /// How the machine booted.
    pub boot: Boot,
    /// The BMC's IPv4 address; IPA reports `0.0.0.0` when it cannot tell.
    pub bmc_address: String,
    /// The ramdisk's host name.
    #[serde(default)]
    pub hostname: String,
}

/// `cpu`: the processor model and how many logical CPUs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cpu {
    /// `model name` of /proc/cpuinfo.
    pub model_name: String,
    /// MHz, as a string (IPA's type).
    pub frequency: String,
    /// Logical CPUs.
    pub count: u32,
    /// `x86_64`, `aarch64`, ...
    pub architecture: String,
    /// CPU feature flags.
    pub flags: Vec<String>,
}

/// `memory`: usable bytes and installed MiB.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// Bytes the kernel manages (MemTotal).
    pub total: u64,
    /// Installed memory in MiB.
    pub physical_mb: u64,
}

/// One disk, with the fields root device hints match on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockDevice {
    /// `/dev/sda` (or, for a simulated disk, whatever name it was given).
    pub name: String,
    /// Model string.
    pub model: String,
    /// Size in bytes.
    pub size: u64,
    /// Spinning disk.
    pub rotational: bool,
    /// World-wide name.
    pub wwn: Option<String>,
    /// Serial number.
    pub serial: Option<String>,
    /// Vendor string.
    pub vendor: Option<String>,
    /// WWN with the vendor extension.
    pub wwn_with_extension: Option<String>,
    /// WWN vendor extension.
    pub wwn_vendor_extension: Option<String>,
    /// SCSI host:channel:target:lun.
    pub hctl: Option<String>,
    /// `/dev/disk/by-path/...` link.
    pub by_path: Option<String>,
}

/// One network interface.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Interface {
    /// Kernel name (`eth0`).
    pub name: String,
    /// MAC address, lower case.
    pub mac_address: String,
    /// First IPv4 address, if any.
    pub ipv4_address: Option<String>,
    /// Link speed in Mbit/s, when the driver tells.
    pub speed_mbps: Option<u64>,
    /// Whether the link is up.
    pub has_carrier: bool,
    /// LLDP TLVs (the agent does not listen for LLDP: always empty).
    pub lldp: Option<Vec<serde_json::Value>>,
}

/// `system_vendor`: DMI product, serial and manufacturer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemVendor {
    /// DMI product name.
    pub product_name: String,
    /// DMI serial number.
    pub serial_number: String,
    /// DMI system vendor.
    pub manufacturer: String,
}

/// `boot`: firmware mode and the interface the machine network-booted from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Boot {
    /// `uefi` or `bios`.
    pub current_boot_mode: String,
    /// MAC of the PXE interface (from `BOOTIF`), if known.
    pub pxe_interface: Option<String>,
}
