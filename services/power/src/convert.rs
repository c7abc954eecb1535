//! proto ↔ domain, in one place: the gRPC enums and `Struct` become the driver
//! types, with INVALID_ARGUMENT-mapped errors for what a caller left unset.

use ferric_proto::v1;

use crate::driver::{BootDevice, BootMode, BootSetting, MediaKind, PowerAction, PowerState};
use crate::error::PowerError;
use crate::info::DriverInfo;

/// The driver name and its driver_info from a request's `BmcTarget`.
pub fn target(bmc: Option<v1::BmcTarget>) -> Result<(String, DriverInfo), PowerError> {
    let bmc = bmc.ok_or_else(|| PowerError::InvalidRequest("bmc is required".into()))?;
    let info = match bmc.driver_info {
        None => DriverInfo::default(),
        Some(s) => DriverInfo::from(
            ferric_proto::json::json_from_struct(s)
                .map_err(|e| PowerError::InvalidRequest(format!("driver_info: {e}")))?,
        ),
    };
    Ok((bmc.driver, info))
}

/// The node uuid for logs ("" when absent: logs still work).
pub fn node(node: &Option<v1::NodeRef>) -> String {
    node.as_ref().map(|n| n.uuid.clone()).unwrap_or_default()
}

/// A requested power action.
pub fn action(value: i32) -> Result<PowerAction, PowerError> {
    Ok(match v1::PowerAction::try_from(value).unwrap_or(v1::PowerAction::Unspecified) {
        v1::PowerAction::On => PowerAction::On,
        v1::PowerAction::Off => PowerAction::Off,
        v1::PowerAction::Reboot => PowerAction::Reboot,
        v1::PowerAction::SoftOff => PowerAction::SoftOff,
        v1::PowerAction::SoftReboot => PowerAction::SoftReboot,
        v1::PowerAction::PowerCycle => PowerAction::PowerCycle,
        v1::PowerAction::Unspecified => return Err(PowerError::InvalidRequest("action is required".into())),
    })
}

/// A power state for the wire.
pub fn power_state(state: PowerState) -> v1::PowerState {
    match state {
        PowerState::On => v1::PowerState::On,
        PowerState::Off => v1::PowerState::Off,
    }
}

/// A requested boot device.
pub fn boot_device(value: i32) -> Result<BootDevice, PowerError> {
    Ok(match v1::BootDevice::try_from(value).unwrap_or(v1::BootDevice::Unspecified) {
        v1::BootDevice::Pxe => BootDevice::Pxe,
        v1::BootDevice::Disk => BootDevice::Disk,
        v1::BootDevice::Cdrom => BootDevice::Cdrom,
        v1::BootDevice::Bios => BootDevice::Bios,
        v1::BootDevice::Safe => BootDevice::Safe,
        v1::BootDevice::Uefihttp => BootDevice::UefiHttp,
        v1::BootDevice::Floppy => BootDevice::Floppy,
        v1::BootDevice::Wanboot | v1::BootDevice::Iscsiboot => {
            return Err(PowerError::InvalidRequest(
                "wanboot and iscsiboot are not supported by any driver".into(),
            ));
        }
        v1::BootDevice::Unspecified => {
            return Err(PowerError::InvalidRequest("boot_device is required".into()));
        }
    })
}

/// A boot device for the wire.
pub fn boot_device_out(device: BootDevice) -> v1::BootDevice {
    match device {
        BootDevice::Pxe => v1::BootDevice::Pxe,
        BootDevice::Disk => v1::BootDevice::Disk,
        BootDevice::Cdrom => v1::BootDevice::Cdrom,
        BootDevice::Bios => v1::BootDevice::Bios,
        BootDevice::Safe => v1::BootDevice::Safe,
        BootDevice::UefiHttp => v1::BootDevice::Uefihttp,
        BootDevice::Floppy => v1::BootDevice::Floppy,
    }
}

/// A requested boot mode; UNSPECIFIED leaves the mode alone.
pub fn boot_mode(value: i32) -> Option<BootMode> {
    match v1::BootMode::try_from(value).unwrap_or(v1::BootMode::Unspecified) {
        v1::BootMode::Bios => Some(BootMode::Bios),
        v1::BootMode::Uefi => Some(BootMode::Uefi),
        v1::BootMode::Unspecified => None,
    }
}

/// The boot setting for the wire.
pub fn boot_setting(setting: BootSetting) -> v1::GetBootDeviceResponse {
    v1::GetBootDeviceResponse {
        boot_device: setting.device.map_or(v1::BootDevice::Unspecified, boot_device_out) as i32,
        persistent: setting.persistent,
    }
}

/// A requested virtual media kind.
pub fn media_kind(value: i32) -> Result<MediaKind, PowerError> {
    match v1::VirtualMediaKind::try_from(value).unwrap_or(v1::VirtualMediaKind::Unspecified) {
        v1::VirtualMediaKind::Cd => Ok(MediaKind::Cd),
        v1::VirtualMediaKind::Usb => Ok(MediaKind::Usb),
        v1::VirtualMediaKind::Unspecified => Err(PowerError::InvalidRequest("kind is required".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_enums_are_invalid_arguments() {
        assert!(action(0).is_err());
        assert!(action(99).is_err());
        assert!(boot_device(0).is_err());
        assert!(media_kind(0).is_err());
        assert_eq!(boot_mode(0), None);
        assert!(target(None).is_err());
    }

    #[test]
    fn every_device_round_trips() {
        for d in [
            BootDevice::Pxe,
            BootDevice::Disk,
            BootDevice::Cdrom,
            BootDevice::Bios,
            BootDevice::Safe,
            BootDevice::UefiHttp,
            BootDevice::Floppy,
        ] {
            assert_eq!(boot_device(boot_device_out(d) as i32).unwrap(), d);
        }
    }
}
