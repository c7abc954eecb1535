//! A machine made of files: each disk is a (sparse) regular file, the inventory is
//! given in code, and power actions call back into whoever simulates the machine,
//! so the fleet simulator can mark it off and stop its agent.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::Arc;

use nix::fcntl::{FallocateFlags, fallocate};

use super::{BlockDevice, Hardware, Interface, Inventory};

/// What the agent asked the simulated machine to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerAction {
    /// `standby.power_off`.
    PowerOff,
    /// A reboot.
    Reboot,
}

/// A disk backed by a regular file.
#[derive(Debug, Clone)]
pub struct SimulatedDisk {
    /// What the agent reports (name, size, model, ... for root device hints).
    pub device: BlockDevice,
    /// The backing file.
    pub path: PathBuf,
}

impl SimulatedDisk {
    /// Creates (or resizes) `path` as a sparse file of `size` bytes, reported as
    /// disk `name`.
    pub fn create(name: &str, path: impl Into<PathBuf>, size: u64) -> io::Result<Self> {
        let path = path.into();
        let file = OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
        file.set_len(size)?;
        let device = BlockDevice {
            name: name.to_owned(),
            model: "Ferric simulated disk".into(),
            size,
            serial: Some(format!("SIM-{}", name.trim_start_matches("/dev/"))),
            ..BlockDevice::default()
        };
        Ok(Self { device, path })
    }

    /// An existing file as a disk whose size is the file's.
    pub fn existing(name: &str, path: impl Into<PathBuf>) -> io::Result<Self> {
        let path = path.into();
        let size = std::fs::metadata(&path)?.len();
        let mut disk = Self::create(name, path, size)?;
        disk.device.size = size;
        Ok(disk)
    }
}

type PowerCallback = Arc<dyn Fn(PowerAction) + Send + Sync>;

/// A simulated machine.
#[derive(Clone)]
pub struct SimulatedHardware {
    inventory: Inventory,
    disks: Vec<SimulatedDisk>,
    on_power: PowerCallback,
}

impl std::fmt::Debug for SimulatedHardware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedHardware").field("disks", &self.disks).finish_non_exhaustive()
    }
}

impl SimulatedHardware {
    /// A small virtual machine with one NIC per MAC and no disks yet; power
    /// actions are ignored until [`Self::on_power`] sets a callback.
    pub fn new(macs: &[&str]) -> Self {
        let mut inventory = Inventory {
            cpu: super::Cpu {
                model_name: "Ferric Simulated CPU".into(),
                frequency: "2400.000".into(),
                count: 2,
                architecture: std::env::consts::ARCH.into(),
                flags: vec!["lm".into(), "vmx".into()],
            },
            memory: super::Memory { total: 2 << 30, physical_mb: 2048 },
            system_vendor: super::SystemVendor {
                product_name: "Ferric Simulated Machine".into(),
                serial_number: macs
                    .first()
                    .map(|m| format!("SIM-{}", m.replace(':', "")))
                    .unwrap_or_default(),
                manufacturer: "Ferric".into(),
            },
            boot: super::Boot {
                current_boot_mode: "uefi".into(),
                pxe_interface: macs.first().map(|m| m.to_ascii_lowercase()),
            },
            bmc_address: "0.0.0.0".into(),
            hostname: "ferric-sim".into(),
            ..Inventory::default()
        };
        inventory.interfaces = macs
            .iter()
            .enumerate()
            .map(|(index, mac)| Interface {
                name: format!("eth{index}"),
                mac_address: mac.to_ascii_lowercase(),
                has_carrier: true,
                speed_mbps: Some(10_000),
                lldp: Some(Vec::new()),
                ..Interface::default()
            })
            .collect();
        Self { inventory, disks: Vec::new(), on_power: Arc::new(|_| {}) }
    }

    /// Adds a disk.
    pub fn with_disk(mut self, disk: SimulatedDisk) -> Self {
        self.disks.push(disk);
        self
    }

    /// Calls `callback` on power off and reboot, instead of touching the host.
    pub fn on_power(mut self, callback: impl Fn(PowerAction) + Send + Sync + 'static) -> Self {
        self.on_power = Arc::new(callback);
        self
    }

    /// Replaces the inventory (CPU, memory, NICs, DMI); disks stay as added.
    pub fn with_inventory(mut self, inventory: Inventory) -> Self {
        self.inventory = inventory;
        self
    }

    /// The disks, to check what the agent wrote.
    pub fn disks(&self) -> &[SimulatedDisk] {
        &self.disks
    }

    fn path_of(&self, device: &BlockDevice) -> io::Result<&PathBuf> {
        self.disks
            .iter()
            .find(|d| d.device.name == device.name)
            .map(|d| &d.path)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no disk {}", device.name)))
    }
}

impl Hardware for SimulatedHardware {
    fn inventory(&self) -> io::Result<Inventory> {
        let mut inventory = self.inventory.clone();
        inventory.disks = self.block_devices()?;
        Ok(inventory)
    }

    fn block_devices(&self) -> io::Result<Vec<BlockDevice>> {
        Ok(self.disks.iter().map(|d| d.device.clone()).collect())
    }

    fn open_device(&self, device: &BlockDevice, write: bool) -> io::Result<File> {
        OpenOptions::new().read(true).write(write).open(self.path_of(device)?)
    }

    fn discard(&self, device: &BlockDevice, file: &File) -> io::Result<bool> {
        let length = i64::try_from(device.size).unwrap_or(i64::MAX);
        let flags = FallocateFlags::FALLOC_FL_PUNCH_HOLE | FallocateFlags::FALLOC_FL_KEEP_SIZE;
        match fallocate(file.as_fd(), flags, 0, length) {
            Ok(()) => Ok(true),
            Err(nix::errno::Errno::EOPNOTSUPP) => Ok(false),
            Err(errno) => Err(errno.into()),
        }
    }

    fn sync(&self) -> io::Result<()> {
        for disk in &self.disks {
            File::open(&disk.path)?.sync_all()?;
        }
        Ok(())
    }

    fn power_off(&self) -> io::Result<()> {
        (self.on_power)(PowerAction::PowerOff);
        Ok(())
    }

    fn reboot(&self) -> io::Result<()> {
        (self.on_power)(PowerAction::Reboot);
        Ok(())
    }

    fn system_logs(&self) -> Vec<(String, Vec<u8>)> {
        Vec::new()
    }
}
