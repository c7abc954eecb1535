//! Management values: boot devices, boot modes and indicator LEDs
//! (`ironic/common/boot_devices.py`, `boot_modes.py`, `indicator_states.py`).
//!
//! Which of these a node supports is the driver's business (a fake node answers
//! only `pxe`, transcript 47); this module only fixes the spellings, so that a
//! value the API accepts is always one Ironic knows.

string_enum! {
    /// A boot device for `PUT /v1/nodes/{node}/management/boot_device`.
    pub enum BootDevice, "boot device" {
        /// Network boot.
        Pxe => "pxe",
        /// Local disk.
        Disk => "disk",
        /// Optical drive or virtual media CD.
        Cdrom => "cdrom",
        /// Firmware setup.
        Bios => "bios",
        /// Safe mode (vendor specific).
        Safe => "safe",
        /// Solaris WAN boot.
        Wanboot => "wanboot",
        /// iSCSI boot.
        Iscsiboot => "iscsiboot",
        /// Floppy or virtual floppy.
        Floppy => "floppy",
        /// UEFI HTTP boot.
        Uefihttp => "uefihttp",
    }
}

impl BootDevice {
    /// Devices that virtual media can back (`VMEDIA_DEVICES`).
    pub const VMEDIA: &'static [Self] = &[Self::Disk, Self::Cdrom, Self::Floppy];
}

string_enum! {
    /// A firmware boot mode: the node's `boot_mode` (1.75) and the target of
    /// `PUT /v1/nodes/{node}/states/boot_mode` (1.76).
    pub enum BootMode, "boot mode" {
        /// Legacy BIOS.
        Bios => "bios",
        /// UEFI.
        Uefi => "uefi",
    }
}

string_enum! {
    /// The state of an indicator LED (1.63).
    pub enum IndicatorState, "indicator state" {
        /// Lit.
        On => "on",
        /// Dark.
        Off => "off",
        /// Blinking, e.g. to find the machine in a rack.
        Blinking => "blinking",
        /// The BMC does not say.
        Unknown => "unknown",
    }
}
