//! What the agent needs from the machine, behind one trait so the same agent runs
//! on real hardware ([`LinuxHardware`]: /proc, /sys, /dev) and by the hundred in
//! the fleet simulator ([`SimulatedHardware`]: disks are files, power is a
//! callback). The inventory types mirror Ironic's inventory JSON field for field.

mod inventory;
mod linux;
mod simulated;

use std::fs::File;
use std::io;

pub use inventory::{BlockDevice, Boot, Cpu, Interface, Inventory, Memory, SystemVendor};
pub use linux::LinuxHardware;
pub use simulated::{PowerAction, SimulatedDisk, SimulatedHardware};

/// The machine under the agent. Methods are blocking (file and ioctl work); the
/// agent calls them from `spawn_blocking` where they may take long.
pub trait Hardware: Send + Sync + 'static {
    /// The whole inventory, as IPA reports it for inspection.
    fn inventory(&self) -> io::Result<Inventory>;

    /// The disks an image may go to (no partitions, loop, RAM or optical devices).
    fn block_devices(&self) -> io::Result<Vec<BlockDevice>>;

    /// Opens `device` for reading, or for writing without truncation (a block
    /// device cannot be truncated, and a simulated disk keeps its size).
    fn open_device(&self, device: &BlockDevice, write: bool) -> io::Result<File>;

    /// Byte offsets of the partitions on `device`, so metadata erasure also
    /// clears filesystem signatures at each partition's start; none by default.
    fn partition_offsets(&self, _device: &BlockDevice) -> Vec<u64> {
        Vec::new()
    }

    /// Discards every block of `device` (BLKDISCARD, or punching holes in a
    /// simulated disk); `Ok(false)` when the device cannot, so the caller zeroes.
    fn discard(&self, device: &BlockDevice, file: &File) -> io::Result<bool>;

    /// Flushes every filesystem and device cache (sync(2)).
    fn sync(&self) -> io::Result<()>;

    /// Powers the machine off; on real hardware this does not return on success.
    fn power_off(&self) -> io::Result<()>;

    /// Reboots the machine; on real hardware this does not return on success.
    fn reboot(&self) -> io::Result<()>;

    /// Log files the machine has beside the agent's own (dmesg), for
    /// `log.collect_system_logs`: (file name, contents).
    fn system_logs(&self) -> Vec<(String, Vec<u8>)>;
}
