//! Provision states: the values of a node's `provision_state`, and the sets Ironic
//! groups them into (`ironic/common/states.py`).
//!
//! The enum holds the 30 states of Ironic's state machine. Ironic's `ALL_STATES` also
//! lists `deleted` and `deploy complete`, but those are never stored and the state
//! machine does not know them (filtering by them is a 400), so they are verbs or
//! history here, not states.

use crate::error::ParseError;
use crate::microversion::{Version, known};

string_enum! {
    /// A node's provisioning state, spelled exactly as Ironic stores and returns it.
    pub enum ProvisionState, "provision state" {
        /// Known to Ironic but not managed: credentials not yet verified.
        Enroll => "enroll",
        /// Power credentials are being checked (after `manage` from `enroll`).
        Verifying => "verifying",
        /// Managed but not offered for deployment; inspection and cleaning start here.
        Manageable => "manageable",
        /// Clean and ready to be deployed.
        Available => "available",
        /// Deployed with an instance.
        Active => "active",
        /// A deployment is running.
        Deploying => "deploying",
        /// A deployment waits for the ramdisk agent to call back (DEPLOYWAIT).
        DeployWait => "wait call-back",
        /// A deployment failed.
        DeployFailed => "deploy failed",
        /// A deploy step asked to hold the node for an operator.
        DeployHold => "deploy hold",
        /// The instance is being torn down.
        Deleting => "deleting",
        /// Cleaning (automated after tear-down or `provide`, or manual) is running.
        Cleaning => "cleaning",
        /// Cleaning waits for the agent to finish a step.
        CleanWait => "clean wait",
        /// Cleaning failed; an operator must look.
        CleanFailed => "clean failed",
        /// A clean step asked to hold the node.
        CleanHold => "clean hold",
        /// Tear-down failed.
        Error => "error",
        /// Hardware inspection is running.
        Inspecting => "inspecting",
        /// Inspection waits for the in-band agent (1.39).
        InspectWait => "inspect wait",
        /// Inspection failed.
        InspectFailed => "inspect failed",
        /// An already-deployed node is being taken under management.
        Adopting => "adopting",
        /// Adoption failed.
        AdoptFailed => "adopt failed",
        /// Booted into the rescue ramdisk.
        Rescue => "rescue",
        /// Rescue is being set up.
        Rescuing => "rescuing",
        /// Rescue waits for the agent.
        RescueWait => "rescue wait",
        /// Rescue failed.
        RescueFailed => "rescue failed",
        /// Leaving rescue for `active`.
        Unrescuing => "unrescuing",
        /// Leaving rescue failed.
        UnrescueFailed => "unrescue failed",
        /// Service steps run on an active node (1.87).
        Servicing => "servicing",
        /// Servicing waits for the agent.
        ServiceWait => "service wait",
        /// Servicing failed.
        ServiceFailed => "service failed",
        /// A service step asked to hold the node.
        ServiceHold => "service hold",
    }
}

use ProvisionState as S;

impl ProvisionState {
    /// States that change only on request (`STABLE_STATES`); they have no target.
    pub const STABLE: &'static [Self] =
        &[S::Enroll, S::Manageable, S::Available, S::Active, S::Error, S::Rescue];

    /// States a live conductor moves on its own (`UNSTABLE_STATES`): work is in
    /// progress.
    pub const UNSTABLE: &'static [Self] = &[
        S::Deploying,
        S::DeployWait,
        S::Cleaning,
        S::CleanWait,
        S::Verifying,
        S::Deleting,
        S::Inspecting,
        S::InspectWait,
        S::Adopting,
        S::Rescuing,
        S::RescueWait,
        S::Unrescuing,
        S::Servicing,
        S::ServiceWait,
    ];

    /// States where a step parked the node for an operator; left with `unhold` or
    /// `abort`.
    pub const HOLD: &'static [Self] = &[S::DeployHold, S::CleanHold, S::ServiceHold];

    /// Failure states (`FAILURE_STATES`); `error` (failed tear-down) is stable
    /// instead, as in Ironic.
    pub const FAILURE: &'static [Self] = &[
        S::DeployFailed,
        S::CleanFailed,
        S::InspectFailed,
        S::RescueFailed,
        S::UnrescueFailed,
        S::AdoptFailed,
        S::ServiceFailed,
    ];

    /// States where the conductor waits for the ramdisk agent to call back; each has
    /// a callback timeout and answers `resume`.
    pub const WAIT: &'static [Self] =
        &[S::DeployWait, S::CleanWait, S::InspectWait, S::RescueWait, S::ServiceWait];

    /// Transitional states in which PATCH is still allowed (`UPDATE_ALLOWED_STATES`).
    ///
    /// Ironic's tuple also names `service`, which is a verb, not a state, so it can
    /// never match; it is left out here.
    pub const UPDATE_ALLOWED: &'static [Self] = &[
        S::DeployFailed,
        S::Inspecting,
        S::InspectFailed,
        S::InspectWait,
        S::CleanFailed,
        S::Error,
        S::Verifying,
        S::AdoptFailed,
        S::RescueFailed,
        S::UnrescueFailed,
        S::ServiceHold,
        S::ServiceFailed,
    ];

    /// States a node may be deleted in without maintenance (`DELETE_ALLOWED_STATES`),
    /// in Ironic's order, which its 409 message prints. `available` joins them when
    /// `allow_deleting_available_nodes` is set (the default).
    pub const DELETE_ALLOWED: &'static [Self] = &[S::Manageable, S::Enroll, S::AdoptFailed];

    /// States in which the agent's lookup succeeds (`LOOKUP_ALLOWED_STATES`).
    pub const LOOKUP_ALLOWED: &'static [Self] = &[
        S::Deploying,
        S::DeployWait,
        S::Cleaning,
        S::CleanWait,
        S::Inspecting,
        S::InspectWait,
        S::Rescuing,
        S::RescueWait,
        S::ServiceWait,
    ];

    /// Lookup states with fast-track on (`FASTTRACK_LOOKUP_ALLOWED_STATES`): the
    /// agent may stay up between operations.
    pub const FASTTRACK_LOOKUP_ALLOWED: &'static [Self] = &[
        S::Enroll,
        S::Manageable,
        S::Available,
        S::Deploying,
        S::DeployWait,
        S::Cleaning,
        S::CleanWait,
        S::Inspecting,
        S::InspectWait,
        S::Rescuing,
        S::RescueWait,
        S::Servicing,
        S::ServiceWait,
        S::ServiceHold,
    ];

    /// States Ironic fails (event `fail`) instead of resuming when their conductor
    /// dies (`STUCK_STATES_TREATED_AS_FAIL`). Ferric aims to resume them instead; the
    /// set is here so the difference stays deliberate.
    pub const STUCK_TREATED_AS_FAIL: &'static [Self] = &[
        S::Deploying,
        S::Cleaning,
        S::Verifying,
        S::Inspecting,
        S::Adopting,
        S::Rescuing,
        S::Unrescuing,
        S::Deleting,
        S::Servicing,
    ];

    /// Whether the state waits for a request (no target state).
    pub fn is_stable(self) -> bool {
        Self::STABLE.contains(&self)
    }

    /// Whether work is in progress that a conductor drives on its own.
    pub fn is_unstable(self) -> bool {
        Self::UNSTABLE.contains(&self)
    }

    /// Whether a step holds the node for an operator.
    pub fn is_hold(self) -> bool {
        Self::HOLD.contains(&self)
    }

    /// Whether the state records a failed operation.
    pub fn is_failure(self) -> bool {
        Self::FAILURE.contains(&self)
    }

    /// Whether the conductor waits for the agent to call back.
    pub fn is_wait(self) -> bool {
        Self::WAIT.contains(&self)
    }

    /// The target Ironic's state machine assigns on entering this state
    /// (`add_state(..., target=...)`); `None` for stable states.
    ///
    /// Failure and hold states keep the target of the operation that failed or
    /// paused, which is why a `deploy failed` node reports target `active`.
    pub fn default_target(self) -> Option<Self> {
        Some(match self {
            S::Enroll | S::Manageable | S::Available | S::Active | S::Error | S::Rescue => return None,
            S::Verifying | S::Inspecting | S::InspectFailed | S::InspectWait => S::Manageable,
            S::Deploying | S::DeployWait | S::DeployFailed | S::DeployHold => S::Active,
            S::Cleaning | S::CleanWait | S::CleanFailed | S::CleanHold | S::Deleting => S::Available,
            S::Adopting | S::AdoptFailed | S::Unrescuing | S::UnrescueFailed => S::Active,
            S::Servicing | S::ServiceWait | S::ServiceFailed | S::ServiceHold => S::Active,
            S::Rescuing | S::RescueWait | S::RescueFailed => S::Rescue,
        })
    }

    /// How the state is shown to a client speaking `version`, or `None` for JSON
    /// `null`.
    ///
    /// Before 1.2 `available` was Ironic's NOSTATE and shows as `null`; before 1.39
    /// `inspect wait` did not exist and shows as `inspecting`
    /// (`update_state_in_older_versions`).
    pub fn api_value(self, version: Version) -> Option<&'static str> {
        match self {
            S::Available if version < known::AVAILABLE_STATE => None,
            S::InspectWait if version < known::INSPECT_WAIT => Some(S::Inspecting.as_str()),
            other => Some(other.as_str()),
        }
    }

    /// Reads a stored `provision_state` where `null` is the pre-Kilo NOSTATE, which
    /// meant `available`.
    pub fn from_legacy(value: Option<&str>) -> Result<Self, ParseError> {
        value.map_or(Ok(S::Available), str::parse)
    }

    /// The state a node is created in for a client speaking `version`: `enroll`
    /// from 1.11, `available` before (`initial_node_provision_state`).
    pub fn initial(version: Version) -> Self {
        if version >= known::ENROLL_STATE { S::Enroll } else { S::Available }
    }

    /// Whether Ironic lets a PATCH through in this state
    /// (`NodesController.patch`): any state with no target, or one of
    /// [`Self::UPDATE_ALLOWED`]. From 1.39 `inspecting` is refused even so; that
    /// check has its own message, so it is [`Self::patch_refused_while_inspecting`].
    pub fn allows_update(self, target: Option<Self>) -> bool {
        target.is_none() || Self::UPDATE_ALLOWED.contains(&self)
    }

    /// Ironic's second PATCH guard: from 1.39 a node in `inspecting` cannot be
    /// updated, because in-band inspection may be writing to it.
    pub fn patch_refused_while_inspecting(self, version: Version) -> bool {
        self == S::Inspecting && version >= known::INSPECT_WAIT
    }

    /// Whether a node in this state may be deleted: in maintenance always, else in
    /// [`Self::DELETE_ALLOWED`] plus `available` when allowed by configuration.
    pub fn allows_delete(self, maintenance: bool, allow_deleting_available: bool) -> bool {
        maintenance
            || Self::DELETE_ALLOWED.contains(&self)
            || (allow_deleting_available && self == S::Available)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_is_in_exactly_one_kind() {
        for state in ProvisionState::ALL {
            let kinds = [state.is_stable(), state.is_unstable(), state.is_hold(), state.is_failure()];
            assert_eq!(kinds.iter().filter(|k| **k).count(), 1, "{state}");
        }
        assert_eq!(ProvisionState::ALL.len(), 30);
    }

    #[test]
    fn strings_round_trip() {
        for state in ProvisionState::ALL {
            assert_eq!(state.as_str().parse::<ProvisionState>(), Ok(*state));
            let json = serde_json::to_string(state).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
        assert!("deleted".parse::<ProvisionState>().is_err());
        assert!("Active".parse::<ProvisionState>().is_err());
    }

    #[test]
    fn stable_states_have_no_default_target_and_others_do() {
        for state in ProvisionState::ALL {
            assert_eq!(state.default_target().is_none(), state.is_stable(), "{state}");
            if let Some(target) = state.default_target() {
                assert!(target.is_stable(), "{state} -> {target}");
            }
        }
    }

    #[test]
    fn old_versions_see_old_names() {
        let v = Version::new;
        assert_eq!(S::Available.api_value(v(1, 1)), None);
        assert_eq!(S::Available.api_value(v(1, 2)), Some("available"));
        assert_eq!(S::Enroll.api_value(v(1, 1)), Some("enroll"));
        assert_eq!(S::InspectWait.api_value(v(1, 38)), Some("inspecting"));
        assert_eq!(S::InspectWait.api_value(v(1, 39)), Some("inspect wait"));
        assert_eq!(ProvisionState::from_legacy(None), Ok(S::Available));
        assert_eq!(ProvisionState::from_legacy(Some("active")), Ok(S::Active));
        assert_eq!(ProvisionState::initial(v(1, 10)), S::Available);
        assert_eq!(ProvisionState::initial(v(1, 11)), S::Enroll);
    }

    #[test]
    fn update_and_delete_guards() {
        assert!(S::Active.allows_update(None));
        assert!(!S::Deploying.allows_update(Some(S::Active)));
        assert!(S::DeployFailed.allows_update(Some(S::Active)));
        assert!(S::Inspecting.patch_refused_while_inspecting(Version::new(1, 39)));
        assert!(!S::Inspecting.patch_refused_while_inspecting(Version::new(1, 38)));
        assert!(S::Enroll.allows_delete(false, false));
        assert!(!S::Available.allows_delete(false, false));
        assert!(S::Available.allows_delete(false, true));
        assert!(!S::Active.allows_delete(false, true));
        assert!(S::Active.allows_delete(true, false));
    }

    fn names(states: &[ProvisionState]) -> Vec<&'static str> {
        states.iter().map(|s| s.as_str()).collect()
    }

    #[test]
    fn sets_match_features_md() {
        // features.md §b, "States".
        assert_eq!(
            names(ProvisionState::STABLE),
            ["enroll", "manageable", "available", "active", "error", "rescue"]
        );
        let mut transient = names(ProvisionState::UNSTABLE);
        transient.sort_unstable();
        let mut expected = vec![
            "verifying",
            "deploying",
            "wait call-back",
            "cleaning",
            "clean wait",
            "deleting",
            "inspecting",
            "inspect wait",
            "adopting",
            "rescuing",
            "rescue wait",
            "unrescuing",
            "servicing",
            "service wait",
        ];
        expected.sort_unstable();
        assert_eq!(transient, expected);
        assert_eq!(names(ProvisionState::HOLD), ["deploy hold", "clean hold", "service hold"]);
        assert_eq!(
            names(ProvisionState::FAILURE),
            [
                "deploy failed",
                "clean failed",
                "inspect failed",
                "rescue failed",
                "unrescue failed",
                "adopt failed",
                "service failed"
            ]
        );
        for state in ProvisionState::WAIT {
            assert!(state.is_unstable() && state.is_wait(), "{state}");
        }
        // Transcript 35: the delete refusal lists these, then `available`.
        assert_eq!(names(ProvisionState::DELETE_ALLOWED), ["manageable", "enroll", "adopt failed"]);
    }
}
