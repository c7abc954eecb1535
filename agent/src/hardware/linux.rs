//! The real machine: inventory from /proc and /sys, disks under /dev, power
//! through reboot(2) after sync(2). Every path is taken under a root directory so
//! the parsers run in tests on captured /proc and /sys trees.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::{BlockDevice, Boot, Cpu, Hardware, Interface, Inventory, Memory, SystemVendor};

/// Kernel block devices that are never install targets.
const NOT_DISKS: &[&str] = &["loop", "ram", "zram", "sr", "fd", "dm-", "md", "nbd"];

nix::ioctl_write_ptr_bad!(blk_discard, nix::request_code_none!(0x12, 119), [u64; 2]);

/// The Linux machine the agent runs on.
#[derive(Debug, Clone)]
pub struct LinuxHardware {
    root: PathBuf,
    boot_mac: Option<String>,
}

impl Default for LinuxHardware {
    fn default() -> Self {
        Self::new()
    }
}

impl LinuxHardware {
    /// This machine.
    pub fn new() -> Self {
        Self { root: PathBuf::from("/"), boot_mac: None }
    }

    /// A machine whose /proc, /sys and /dev live under `root` (tests).
    pub fn with_root(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into(), boot_mac: None }
    }

    /// The MAC the machine PXE-booted from (`BOOTIF`), for `boot.pxe_interface`.
    pub fn with_boot_mac(mut self, mac: Option<String>) -> Self {
        self.boot_mac = mac.map(|m| m.to_ascii_lowercase());
        self
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative.trim_start_matches('/'))
    }

    fn read(&self, relative: &str) -> Option<String> {
        std::fs::read_to_string(self.path(relative)).ok().map(|s| s.trim().to_owned())
    }

    fn cpu(&self) -> Cpu {
        let text = self.read("proc/cpuinfo").unwrap_or_default();
        parse_cpuinfo(&text, std::env::consts::ARCH)
    }

    fn memory(&self) -> Memory {
        let total = parse_meminfo_total(&self.read("proc/meminfo").unwrap_or_default());
        let online = self.online_memory_bytes();
        let physical = online.filter(|b| *b >= total).unwrap_or(total);
        Memory { total, physical_mb: physical.div_ceil(1 << 20) }
    }

    /// Installed memory as the sum of online memory blocks (what `lsmem` shows),
    /// which unlike MemTotal includes what the kernel reserved.
    fn online_memory_bytes(&self) -> Option<u64> {
        let block =
            u64::from_str_radix(&self.read("sys/devices/system/memory/block_size_bytes")?, 16).ok()?;
        let entries = std::fs::read_dir(self.path("sys/devices/system/memory")).ok()?;
        let online = entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("memory"))
            .filter(|e| std::fs::read_to_string(e.path().join("online")).is_ok_and(|s| s.trim() == "1"))
            .count() as u64;
        (online > 0).then_some(online * block)
    }

    fn disk(&self, name: &str) -> Option<BlockDevice> {
        let sys = self.path(&format!("sys/block/{name}"));
        let read = |file: &str| {
            std::fs::read_to_string(sys.join(file))
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        let sectors: u64 = read("size")?.parse().ok()?;
        if sectors == 0 {
            return None;
        }
        let hctl = std::fs::read_link(sys.join("device"))
            .ok()
            .and_then(|target| target.file_name().map(|n| n.to_string_lossy().into_owned()))
            .filter(|n| is_hctl(n));
        let wwn = read("device/wwid").or_else(|| read("wwid")).map(|w| strip_wwn_prefix(&w));
        Some(BlockDevice {
            name: format!("/dev/{name}"),
            model: read("device/model").unwrap_or_default(),
            size: sectors * 512,
            rotational: read("queue/rotational").as_deref() == Some("1"),
            serial: read("device/serial").or_else(|| read("serial")),
            vendor: read("device/vendor"),
            wwn: wwn.clone(),
            wwn_with_extension: wwn,
            wwn_vendor_extension: None,
            hctl,
            by_path: self.by_path(name),
        })
    }

    /// The `/dev/disk/by-path` link that points at `name`, as IPA reports it.
    fn by_path(&self, name: &str) -> Option<String> {
        let dir = self.path("dev/disk/by-path");
        std::fs::read_dir(dir).ok()?.flatten().find_map(|entry| {
            let target = std::fs::read_link(entry.path()).ok()?;
            (target.file_name()?.to_str()? == name)
                .then(|| format!("/dev/disk/by-path/{}", entry.file_name().to_string_lossy()))
        })
    }

    fn interfaces(&self) -> Vec<Interface> {
        let Ok(entries) = std::fs::read_dir(self.path("sys/class/net")) else { return Vec::new() };
        let addresses = if self.root == Path::new("/") { ipv4_addresses() } else { Vec::new() };
        let mut interfaces: Vec<Interface> = entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let dir = entry.path();
                let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok().map(|s| s.trim().to_owned());
                // Loopback and other interfaces without an Ethernet address.
                if name == "lo" || read("type").as_deref() != Some("1") {
                    return None;
                }
                let mac_address = read("address")?.to_ascii_lowercase();
                Some(Interface {
                    ipv4_address: addresses.iter().find(|(n, _)| *n == name).map(|(_, a)| a.clone()),
                    mac_address,
                    speed_mbps: read("speed")
                        .and_then(|s| s.parse::<i64>().ok())
                        .and_then(|s| u64::try_from(s).ok()),
                    has_carrier: read("carrier").as_deref() == Some("1"),
                    lldp: Some(Vec::new()),
                    name,
                })
            })
            .collect();
        interfaces.sort_by(|a, b| a.name.cmp(&b.name));
        interfaces
    }
}

/// (interface, IPv4 address) pairs of this host.
fn ipv4_addresses() -> Vec<(String, String)> {
    let Ok(addresses) = nix::ifaddrs::getifaddrs() else { return Vec::new() };
    addresses
        .filter_map(|a| {
            let ip = a.address?.as_sockaddr_in()?.ip();
            Some((a.interface_name, ip.to_string()))
        })
        .collect()
}

fn is_hctl(name: &str) -> bool {
    let parts: Vec<&str> = name.split(':').collect();
    parts.len() == 4 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `naa.5000c500a1b2c3d4` → `0x5000c500a1b2c3d4`, as udev's `ID_WWN`.
fn strip_wwn_prefix(wwid: &str) -> String {
    match wwid.split_once('.') {
        Some(("naa" | "eui", id)) => format!("0x{id}"),
        _ => wwid.to_owned(),
    }
}

/// `/proc/cpuinfo`: model, MHz and flags of the first processor, and how many.
pub fn parse_cpuinfo(text: &str, architecture: &str) -> Cpu {
    let mut cpu = Cpu { architecture: architecture.to_owned(), ..Cpu::default() };
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else { continue };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "processor" => cpu.count += 1,
            "model name" | "Processor" if cpu.model_name.is_empty() => cpu.model_name = value.to_owned(),
            "cpu MHz" if cpu.frequency.is_empty() => cpu.frequency = value.to_owned(),
            "flags" | "Features" if cpu.flags.is_empty() => {
                cpu.flags = value.split_whitespace().map(str::to_owned).collect();
            }
            _ => {}
        }
    }
    cpu
}

/// `/proc/meminfo`'s MemTotal in bytes.
pub fn parse_meminfo_total(text: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

impl Hardware for LinuxHardware {
    fn inventory(&self) -> io::Result<Inventory> {
        let dmi = |f: &str| self.read(&format!("sys/class/dmi/id/{f}")).unwrap_or_default();
        let efi = self.path("sys/firmware/efi").exists();
        Ok(Inventory {
            cpu: self.cpu(),
            memory: self.memory(),
            disks: self.block_devices()?,
            interfaces: self.interfaces(),
            system_vendor: SystemVendor {
                product_name: dmi("product_name"),
                serial_number: dmi("product_serial"),
                manufacturer: dmi("sys_vendor"),
            },
            boot: Boot {
                current_boot_mode: if efi { "uefi" } else { "bios" }.into(),
                pxe_interface: self.boot_mac.clone(),
            },
            bmc_address: "0.0.0.0".into(),
            hostname: self.read("proc/sys/kernel/hostname").unwrap_or_default(),
        })
    }

    fn block_devices(&self) -> io::Result<Vec<BlockDevice>> {
        let mut disks: Vec<BlockDevice> = std::fs::read_dir(self.path("sys/block"))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| !NOT_DISKS.iter().any(|prefix| name.starts_with(prefix)))
            .filter_map(|name| self.disk(&name))
            .collect();
        disks.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(disks)
    }

    fn open_device(&self, device: &BlockDevice, write: bool) -> io::Result<File> {
        let path = self.path(&device.name);
        OpenOptions::new().read(true).write(write).open(path)
    }

    fn partition_offsets(&self, device: &BlockDevice) -> Vec<u64> {
        let name = device.name.trim_start_matches("/dev/");
        let Ok(entries) = std::fs::read_dir(self.path(&format!("sys/block/{name}"))) else {
            return Vec::new();
        };
        let mut offsets: Vec<u64> = entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(name))
            .filter_map(|e| std::fs::read_to_string(e.path().join("start")).ok())
            .filter_map(|s| s.trim().parse::<u64>().ok())
            .map(|sector| sector * 512)
            .collect();
        offsets.sort_unstable();
        offsets
    }

    fn discard(&self, device: &BlockDevice, file: &File) -> io::Result<bool> {
        if !file.metadata().is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_block_device(&m.file_type())) {
            return Ok(false);
        }
        let range = [0u64, device.size];
        // SAFETY: BLKDISCARD reads a [u64; 2] range from the pointer, which lives
        // for the call; the descriptor is open for writing.
        match unsafe { blk_discard(file.as_raw_fd(), &range) } {
            Ok(_) => Ok(true),
            Err(nix::errno::Errno::EOPNOTSUPP | nix::errno::Errno::ENOTTY | nix::errno::Errno::EINVAL) => {
                Ok(false)
            }
            Err(errno) => Err(errno.into()),
        }
    }

    fn sync(&self) -> io::Result<()> {
        nix::unistd::sync();
        Ok(())
    }

    fn power_off(&self) -> io::Result<()> {
        nix::unistd::sync();
        nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_POWER_OFF)
            .map(|_| ())
            .map_err(io::Error::from)
    }

    fn reboot(&self) -> io::Result<()> {
        nix::unistd::sync();
        nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_AUTOBOOT)
            .map(|_| ())
            .map_err(io::Error::from)
    }

    fn system_logs(&self) -> Vec<(String, Vec<u8>)> {
        let mut logs = Vec::new();
        if let Some(dmesg) = read_kmsg(&self.path("dev/kmsg")) {
            logs.push(("dmesg".to_owned(), dmesg));
        }
        for (name, file) in [("cmdline", "proc/cmdline"), ("mounts", "proc/mounts")] {
            if let Ok(text) = std::fs::read(self.path(file)) {
                logs.push((name.to_owned(), text));
            }
        }
        logs
    }
}

/// The kernel log, read record by record from /dev/kmsg until it has no more.
fn read_kmsg(path: &Path) -> Option<Vec<u8>> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file =
        OpenOptions::new().read(true).custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits()).open(path).ok()?;
    let mut out = Vec::new();
    let mut record = vec![0u8; 8192];
    loop {
        match file.read(&mut record) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&record[..n]),
            // EPIPE: a record was overwritten while reading; go on with the next.
            Err(e) if e.raw_os_error() == Some(nix::libc::EPIPE) => continue,
            Err(_) => break,
        }
    }
    Some(out)
}
