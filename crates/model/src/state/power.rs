//! Power states and power requests (`PUT /v1/nodes/{node}/states/power`).
//!
//! A node's `power_state` is what the BMC last reported; the request `target` is an
//! action. They share strings (`power on`), but a reboot is an action, not a state,
//! so they are two types. There is no `power cycle` target in Ironic; Ferric's
//! internal power contract may have one, but the API does not.

use super::ProvisionState;
use crate::error::{InvalidStateRequested, PowerRefusal};
use crate::microversion::{Version, known};

string_enum! {
    /// A node's `power_state` / `target_power_state` (`null` when unknown or no
    /// target), as Ironic records it.
    pub enum PowerState, "power state" {
        /// The machine is on.
        On => "power on",
        /// The machine is off.
        Off => "power off",
        /// The BMC answered but its state could not be understood (drivers return
        /// Ironic's `states.ERROR`).
        Error => "error",
    }
}

string_enum! {
    /// A power action a client may request, spelled as on the wire
    /// (`ALLOWED_TARGET_POWER_STATES`).
    pub enum PowerTarget, "power target" {
        /// Power on.
        On => "power on",
        /// Hard power off.
        Off => "power off",
        /// Hard reboot.
        Reboot => "rebooting",
        /// ACPI shutdown then power on (1.27).
        SoftReboot => "soft rebooting",
        /// ACPI shutdown (1.27).
        SoftOff => "soft power off",
    }
}

impl PowerTarget {
    /// The microversion the action needs: soft actions arrived in 1.27.
    pub fn min_version(self) -> Version {
        match self {
            Self::SoftReboot | Self::SoftOff => known::SOFT_POWER_OFF,
            Self::On | Self::Off | Self::Reboot => known::INITIAL_VERSION,
        }
    }

    /// The `target_power_state` Ironic records while the action runs
    /// (`_calculate_target_state`): reboots aim at `power on`.
    pub fn target_state(self) -> PowerState {
        match self {
            Self::On | Self::Reboot | Self::SoftReboot => PowerState::On,
            Self::Off | Self::SoftOff => PowerState::Off,
        }
    }

    /// Whether the action turns the machine off, which `disable_power_off` forbids.
    pub fn powers_off(self) -> bool {
        matches!(self, Self::Off | Self::SoftOff)
    }
}

/// What Ironic checks before accepting a power request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerRequest<'a> {
    /// The `target` as sent.
    pub target: &'a str,
    /// The `timeout` as sent, in seconds.
    pub timeout: Option<i64>,
    /// The node identifier as the client wrote it; Ironic's message uses it as is.
    pub node_ident: &'a str,
    /// The node's current power state.
    pub power_state: Option<PowerState>,
    /// The node's current provision state.
    pub provision_state: ProvisionState,
    /// The node's `disable_power_off`.
    pub disable_power_off: bool,
    /// The request's microversion.
    pub version: Version,
}

/// Accepts or refuses a power request with Ironic's checks in Ironic's order
/// (`NodeStatesController.power`).
pub fn plan_power(request: &PowerRequest<'_>) -> Result<PowerTarget, PowerRefusal> {
    let soft = matches!(request.target, "soft rebooting" | "soft power off");
    // Python truthiness: a timeout of 0 does not trip the version gate.
    let has_timeout = request.timeout.is_some_and(|t| t != 0);
    if (soft || has_timeout) && request.version < known::SOFT_POWER_OFF {
        return Err(PowerRefusal::NotAcceptable);
    }
    if request.timeout.is_some_and(|t| t < 1) {
        return Err(PowerRefusal::InvalidTimeout);
    }
    let Ok(target) = request.target.parse::<PowerTarget>() else {
        let state = InvalidStateRequested::state_or_none(request.power_state.map(PowerState::as_str));
        return Err(InvalidStateRequested::new(request.target, request.node_ident, state).into());
    };
    if matches!(request.provision_state, ProvisionState::CleanWait | ProvisionState::Cleaning) {
        return Err(InvalidStateRequested::new(
            request.target,
            request.node_ident,
            request.provision_state.as_str(),
        )
        .into());
    }
    if target.powers_off() && request.disable_power_off {
        return Err(PowerRefusal::PowerOffDisabled { target: target.as_str().to_owned() });
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(target: &str) -> PowerRequest<'_> {
        PowerRequest {
            target,
            timeout: None,
            node_ident: "curl-node-0",
            power_state: Some(PowerState::On),
            provision_state: ProvisionState::Available,
            disable_power_off: false,
            version: known::MAX,
        }
    }

    #[test]
    fn transcript_44_bogus_target() {
        let err = plan_power(&request("explode")).err();
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            text,
            "The requested action \"explode\" can not be performed on node \"curl-node-0\" while it is in state \"power on\"."
        );
    }

    #[test]
    fn gates_in_ironic_order() {
        let old = PowerRequest { version: Version::new(1, 26), ..request("soft power off") };
        assert_eq!(plan_power(&old), Err(PowerRefusal::NotAcceptable));
        let old_timeout =
            PowerRequest { version: Version::new(1, 26), timeout: Some(5), ..request("power on") };
        assert_eq!(plan_power(&old_timeout), Err(PowerRefusal::NotAcceptable));
        let zero = PowerRequest { version: Version::new(1, 26), timeout: Some(0), ..request("power on") };
        assert_eq!(plan_power(&zero), Err(PowerRefusal::InvalidTimeout));
        let unknown = PowerRequest { power_state: None, ..request("explode") };
        let text = plan_power(&unknown).map_err(|e| e.to_string()).err().unwrap_or_default();
        assert!(text.ends_with("while it is in state \"None\"."), "{text}");
        let cleaning = PowerRequest { provision_state: ProvisionState::Cleaning, ..request("power on") };
        assert!(matches!(plan_power(&cleaning), Err(PowerRefusal::InvalidState(_))));
        let disabled = PowerRequest { disable_power_off: true, ..request("soft power off") };
        assert_eq!(
            plan_power(&disabled),
            Err(PowerRefusal::PowerOffDisabled { target: "soft power off".into() })
        );
        assert_eq!(
            plan_power(&PowerRequest { disable_power_off: true, ..request("rebooting") }),
            Ok(PowerTarget::Reboot)
        );
        assert_eq!(plan_power(&request("soft rebooting")).map(PowerTarget::target_state), Ok(PowerState::On));
    }
}

#[cfg(test)]
mod strings {
    use super::*;

    #[test]
    fn power_strings_are_ironics() {
        let states: Vec<_> = PowerState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(states, ["power on", "power off", "error"]);
        let targets: Vec<_> = PowerTarget::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(targets, ["power on", "power off", "rebooting", "soft rebooting", "soft power off"]);
        for target in PowerTarget::ALL {
            assert_eq!(target.as_str().parse::<PowerTarget>(), Ok(*target));
        }
        assert!("power cycle".parse::<PowerTarget>().is_err());
        assert_eq!(serde_json::from_str::<Option<PowerState>>("null").ok(), Some(None));
        assert_eq!(PowerTarget::SoftOff.min_version(), Version::new(1, 27));
        assert_eq!(PowerTarget::Reboot.min_version(), Version::new(1, 1));
    }
}
