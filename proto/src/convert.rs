//! The one mapping between the contract's enums and the domain's, so the
//! gateway and every service translate verbs, power actions and boot devices
//! the same way. Each direction is total over the domain; proto values the
//! domain does not know (`*_UNSPECIFIED`, or a value from a newer peer) come
//! back as `None` and are the caller's `INVALID_ARGUMENT`.

use ferric_model::state::{BootDevice as ModelBootDevice, PowerTarget};
use ferric_model::{PowerState as ModelPowerState, ProvisionVerb as ModelVerb};

use crate::v1::{BootDevice, PowerAction, PowerState, ProvisionVerb};

/// Declares both directions of a one-to-one enum mapping.
macro_rules! bijection {
    ($to_proto:ident, $from_proto:ident, $model:ty, $proto:ty, { $($m:ident => $p:ident),* $(,)? }) => {
        /// The contract's value for a domain value.
        pub fn $to_proto(value: $model) -> $proto {
            match value { $(<$model>::$m => <$proto>::$p,)* }
        }

        /// The domain's value for a contract value; `None` for unspecified or
        /// unknown values. Where two domain values share a wire value (verb aliases), the first
        /// listed is the one returned.
        #[allow(unreachable_patterns)]
        pub fn $from_proto(value: i32) -> Option<$model> {
            match <$proto>::try_from(value).ok()? {
                $(<$proto>::$p => Some(<$model>::$m),)*
                _ => None,
            }
        }
    };
}

bijection!(verb_to_proto, verb_from_proto, ModelVerb, ProvisionVerb, {
    Active => Deploy,
    Deploy => Deploy,
    Rebuild => Rebuild,
    Deleted => Undeploy,
    Undeploy => Undeploy,
    Manage => Manage,
    Provide => Provide,
    Inspect => Inspect,
    Abort => Abort,
    Clean => Clean,
    Adopt => Adopt,
    Rescue => Rescue,
    Unrescue => Unrescue,
    Unhold => Unhold,
    Service => Service,
});

bijection!(power_target_to_proto, power_target_from_proto, PowerTarget, PowerAction, {
    On => On,
    Off => Off,
    Reboot => Reboot,
    SoftReboot => SoftReboot,
    SoftOff => SoftOff,
});

bijection!(boot_device_to_proto, boot_device_from_proto, ModelBootDevice, BootDevice, {
    Pxe => Pxe,
    Disk => Disk,
    Cdrom => Cdrom,
    Bios => Bios,
    Safe => Safe,
    Wanboot => Wanboot,
    Iscsiboot => Iscsiboot,
    Floppy => Floppy,
    Uefihttp => Uefihttp,
});

/// The contract's power state for the domain's (`None` is unspecified).
pub fn power_state_to_proto(value: Option<ModelPowerState>) -> PowerState {
    match value {
        Some(ModelPowerState::On) => PowerState::On,
        Some(ModelPowerState::Off) => PowerState::Off,
        Some(ModelPowerState::Error) => PowerState::Error,
        None => PowerState::Unspecified,
    }
}

/// The domain's power state for the contract's.
pub fn power_state_from_proto(value: i32) -> Option<ModelPowerState> {
    match PowerState::try_from(value).ok()? {
        PowerState::On => Some(ModelPowerState::On),
        PowerState::Off => Some(ModelPowerState::Off),
        PowerState::Error => Some(ModelPowerState::Error),
        PowerState::Unspecified => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_share_one_wire_verb_and_round_trip_to_the_canonical_one() {
        assert_eq!(verb_to_proto(ModelVerb::Active), ProvisionVerb::Deploy);
        assert_eq!(verb_from_proto(ProvisionVerb::Deploy as i32), Some(ModelVerb::Active));
        assert_eq!(verb_from_proto(ProvisionVerb::Unspecified as i32), None);
        assert_eq!(verb_from_proto(999), None);
    }

    #[test]
    fn every_boot_device_round_trips() {
        for device in [ModelBootDevice::Pxe, ModelBootDevice::Disk, ModelBootDevice::Uefihttp] {
            assert_eq!(boot_device_from_proto(boot_device_to_proto(device) as i32), Some(device));
        }
        for target in [PowerTarget::On, PowerTarget::SoftOff] {
            assert_eq!(power_target_from_proto(power_target_to_proto(target) as i32), Some(target));
        }
    }
}
