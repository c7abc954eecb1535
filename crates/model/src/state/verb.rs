//! API provision verbs: what a client may put in
//! `PUT /v1/nodes/{node}/states/provision {"target": ...}`, which event each becomes,
//! and which microversion each needs.
//!
//! Ironic's checks have quirks that clients can observe, and Ferric keeps them:
//!
//! - The first version gate (`MIN_VERB_VERSIONS`) is looked up by the *literal*
//!   target, but its keys are event names. So `deploy` needs 1.73 while `undeploy`
//!   (whose event is `delete`) passes at any version, and the literal `delete` needs
//!   1.73 and is then "not understood" (upstream `test_check_allow_undeploy_verbs_fail`
//!   pins this).
//! - The target becomes an event through `VERBS.get(target, target)`, so internal
//!   events (`done`, `fail`, ...) pass the state check where they have an edge and
//!   are refused only afterwards as "could not be understood".
//! - The maintenance check and the `configdrive`/`deploy_steps` checks compare the
//!   literals `active`/`rebuild`, so the 1.73 alias `deploy` escapes them.
//! - `unhold`, `service` and `abort` from some states are gated only *after* the
//!   state check, so an old client gets 400 rather than 406 from the wrong state.

use super::machine::{target_after, transition};
use super::{ProvisionEvent, ProvisionState};
use crate::error::{InvalidStateRequested, ProvisionRefusal};
use crate::microversion::{Version, known};

string_enum! {
    /// A provision verb a client may send, spelled as on the wire.
    pub enum ProvisionVerb, "provision verb" {
        /// Deploy (event `deploy`), the original spelling.
        Active => "active",
        /// Deploy, the 1.73 alias of `active`.
        Deploy => "deploy",
        /// Redeploy an active node (event `rebuild`).
        Rebuild => "rebuild",
        /// Tear down (event `delete`), the original spelling.
        Deleted => "deleted",
        /// Tear down, the 1.73 alias of `deleted`.
        Undeploy => "undeploy",
        /// To `manageable` (verifying first from `enroll`).
        Manage => "manage",
        /// Clean and make `available`.
        Provide => "provide",
        /// Inspect hardware.
        Inspect => "inspect",
        /// Abort a waiting or held operation.
        Abort => "abort",
        /// Manual cleaning with explicit steps.
        Clean => "clean",
        /// Adopt a node deployed outside Ironic.
        Adopt => "adopt",
        /// Boot the rescue ramdisk.
        Rescue => "rescue",
        /// Leave rescue.
        Unrescue => "unrescue",
        /// Release a held step.
        Unhold => "unhold",
        /// Run service steps on an active node.
        Service => "service",
    }
}

use ProvisionVerb as V;

impl ProvisionVerb {
    /// The state-machine event the verb raises (`states.VERBS`, plus `rebuild`, which
    /// Ironic passes through unchanged).
    pub fn event(self) -> ProvisionEvent {
        match self {
            V::Active | V::Deploy => ProvisionEvent::Deploy,
            V::Rebuild => ProvisionEvent::Rebuild,
            V::Deleted | V::Undeploy => ProvisionEvent::Delete,
            V::Manage => ProvisionEvent::Manage,
            V::Provide => ProvisionEvent::Provide,
            V::Inspect => ProvisionEvent::Inspect,
            V::Abort => ProvisionEvent::Abort,
            V::Clean => ProvisionEvent::Clean,
            V::Adopt => ProvisionEvent::Adopt,
            V::Rescue => ProvisionEvent::Rescue,
            V::Unrescue => ProvisionEvent::Unrescue,
            V::Unhold => ProvisionEvent::Unhold,
            V::Service => ProvisionEvent::Service,
        }
    }

    /// The lowest microversion at which Ironic carries the verb out from `from`,
    /// combining its early and late gates: what a client must send.
    ///
    /// `abort` needs 1.13, but 1.41 from `inspect wait` and 1.110 from
    /// `wait call-back`; `undeploy` needs nothing (see the module docs).
    pub fn min_version(self, from: ProvisionState) -> Version {
        let early = early_gate(self.as_str()).unwrap_or(known::INITIAL_VERSION);
        late_gate(self, from).map_or(early, |late| late.max(early))
    }

    /// The target the conductor passes explicitly when it starts this verb's work:
    /// manual cleaning returns to `manageable`, servicing to `active`.
    pub fn explicit_target(self) -> Option<ProvisionState> {
        match self {
            V::Clean => Some(ProvisionState::Manageable),
            V::Service => Some(ProvisionState::Active),
            _ => None,
        }
    }

    /// Whether the conductor spawns work for the verb. Only `manage` into a stable
    /// state does not, which is why it leaves no target behind.
    pub fn spawns_work(self) -> bool {
        self != V::Manage
    }

    /// Whether Ironic refuses the verb on a node in maintenance (literal
    /// `active`/`rebuild` only; see the module docs).
    pub fn blocked_by_maintenance(self) -> bool {
        matches!(self, V::Active | V::Rebuild)
    }

    /// Whether a `configdrive` may accompany the verb at `version`: `active`, and
    /// `rebuild` from 1.35 (`check_allow_configdrive`; `deploy` is refused).
    pub fn accepts_configdrive(self, version: Version) -> bool {
        self == V::Active || (self == V::Rebuild && version >= known::REBUILD_CONFIG_DRIVE)
    }

    /// Whether `deploy_steps` may accompany the verb (`active`/`rebuild`; the field
    /// itself needs 1.69).
    pub fn accepts_deploy_steps(self) -> bool {
        matches!(self, V::Active | V::Rebuild)
    }

    /// Whether `clean_steps` may accompany the verb; `clean` also requires them.
    pub fn accepts_clean_steps(self) -> bool {
        self == V::Clean
    }

    /// Whether `service_steps` may accompany the verb; `service` also requires them.
    pub fn accepts_service_steps(self) -> bool {
        self == V::Service
    }

    /// Whether `rescue_password` may accompany the verb; `rescue` requires a
    /// non-blank one.
    pub fn accepts_rescue_password(self) -> bool {
        self == V::Rescue
    }
}

/// Ironic's first gate, `check_allow_management_verbs`: `MIN_VERB_VERSIONS` looked up
/// by the literal target, whose keys are event names.
pub fn early_gate(target: &str) -> Option<Version> {
    Some(match target {
        "manage" | "provide" => known::MANAGEABLE_STATE,
        "inspect" => known::INSPECT_STATE,
        "abort" => known::ABORT_VERB,
        "clean" => known::MANUAL_CLEAN,
        "adopt" => known::ADOPT_VERB,
        "rescue" | "unrescue" => known::RESCUE_INTERFACE,
        "deploy" | "delete" => known::DEPLOY_UNDEPLOY_VERBS,
        _ => return None,
    })
}

/// Ironic's later gates, checked after the state check.
fn late_gate(verb: ProvisionVerb, from: ProvisionState) -> Option<Version> {
    match (verb, from) {
        (V::Abort, ProvisionState::InspectWait) => Some(known::INSPECTION_ABORT),
        (V::Abort, ProvisionState::DeployWait) => Some(known::DEPLOYWAIT_ABORT),
        (V::Unhold, _) => Some(known::UNHOLD_VERB),
        (V::Service, _) => Some(known::SERVICE),
        _ => None,
    }
}

/// The event a raw target raises: `VERBS.get(target, target)`, so an internal event
/// name stands for itself. `None` when it names no event at all.
pub fn event_for_target(target: &str) -> Option<ProvisionEvent> {
    match target.parse::<ProvisionVerb>() {
        Ok(verb) => Some(verb.event()),
        Err(_) => target.parse().ok(),
    }
}

/// What Ironic needs to know to accept or refuse a provision request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProvisionRequest<'a> {
    /// The `target` as sent.
    pub target: &'a str,
    /// The node's UUID, for messages.
    pub node_uuid: &'a str,
    /// The node's current provision state.
    pub state: ProvisionState,
    /// The node's current target provision state.
    pub target_state: Option<ProvisionState>,
    /// Whether the node is in maintenance.
    pub maintenance: bool,
    /// Who holds the node's lock, if anyone.
    pub reservation: Option<&'a str>,
    /// The request's microversion.
    pub version: Version,
}

/// An accepted provision request: what happens to the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProvisionPlan {
    /// The verb understood.
    pub verb: ProvisionVerb,
    /// The event it raises.
    pub event: ProvisionEvent,
    /// The state the node enters.
    pub next_state: ProvisionState,
    /// The `target_provision_state` it reports while the work runs.
    pub next_target: Option<ProvisionState>,
}

/// Accepts or refuses a provision request with Ironic's checks in Ironic's order.
///
/// Left to the caller, between the state check and the late version gates as in
/// Ironic: body checks (`configdrive`, `clean_steps`, `deploy_steps`,
/// `rescue_password`, `service_steps`, `runbook`, `disable_ramdisk`), for which the
/// `accepts_*` methods of [`ProvisionVerb`] hold the rules.
pub fn plan_provision(request: &ProvisionRequest<'_>) -> Result<ProvisionPlan, ProvisionRefusal> {
    let target = request.target;
    if early_gate(target).is_some_and(|min| request.version < min) {
        return Err(ProvisionRefusal::NotAcceptable);
    }
    if matches!(target, "active" | "rebuild") && request.maintenance {
        return Err(ProvisionRefusal::NodeInMaintenance { node: request.node_uuid.to_owned() });
    }
    let next_state = event_for_target(target).and_then(|event| transition(request.state, event).ok());
    let Some(next_state) = next_state else {
        if let Some(host) = request.reservation {
            return Err(ProvisionRefusal::NodeLocked {
                node: request.node_uuid.to_owned(),
                host: host.to_owned(),
            });
        }
        return Err(InvalidStateRequested::new(target, request.node_uuid, request.state.as_str()).into());
    };
    let Ok(verb) = target.parse::<ProvisionVerb>() else {
        return Err(ProvisionRefusal::NotUnderstood { action: target.to_owned() });
    };
    if late_gate(verb, request.state).is_some_and(|min| request.version < min) {
        return Err(ProvisionRefusal::NotAcceptable);
    }
    let next_target = target_after(
        request.state,
        request.target_state,
        next_state,
        verb.explicit_target(),
        verb.spawns_work(),
    );
    Ok(ProvisionPlan { verb, event: verb.event(), next_state, next_target })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProvisionEvent as E;
    use ProvisionState as S;

    const UUID: &str = "fe94775f-8ff5-4ccb-9929-ff381a8f597b";

    fn request(target: &str, state: ProvisionState) -> ProvisionRequest<'_> {
        ProvisionRequest {
            target,
            node_uuid: UUID,
            state,
            target_state: None,
            maintenance: false,
            reservation: None,
            version: known::MAX,
        }
    }

    fn message(result: Result<ProvisionPlan, ProvisionRefusal>) -> String {
        result.err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn every_verb_maps_to_its_event() {
        // The header comment of state-machine.tsv and features.md §b.
        let expected = [
            ("active", E::Deploy),
            ("deploy", E::Deploy),
            ("rebuild", E::Rebuild),
            ("deleted", E::Delete),
            ("undeploy", E::Delete),
            ("manage", E::Manage),
            ("provide", E::Provide),
            ("inspect", E::Inspect),
            ("abort", E::Abort),
            ("clean", E::Clean),
            ("adopt", E::Adopt),
            ("rescue", E::Rescue),
            ("unrescue", E::Unrescue),
            ("unhold", E::Unhold),
            ("service", E::Service),
        ];
        assert_eq!(ProvisionVerb::ALL.len(), expected.len());
        for (text, event) in expected {
            let verb: ProvisionVerb = text.parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(verb.as_str(), text);
            assert_eq!(verb.event(), event, "{text}");
            assert_eq!(event_for_target(text), Some(event), "{text}");
            assert!(!event.is_internal(), "{text}");
        }
        // Internal events stand for themselves, but no verb raises them.
        for event in [E::Done, E::Fail, E::Wait, E::Resume, E::Hold] {
            assert!(event.is_internal());
            assert_eq!(event_for_target(event.as_str()), Some(event));
            assert!(ProvisionVerb::ALL.iter().all(|v| v.event() != event));
        }
        assert_eq!(event_for_target("bogus"), None);
    }

    #[test]
    fn minimum_versions_follow_ironic() {
        let v = Version::new;
        let cases = [
            (ProvisionVerb::Active, S::Available, v(1, 1)),
            (ProvisionVerb::Deleted, S::Active, v(1, 1)),
            (ProvisionVerb::Rebuild, S::Active, v(1, 1)),
            (ProvisionVerb::Deploy, S::Available, v(1, 73)),
            // Literal lookup by event name: `undeploy` is not gated (module docs).
            (ProvisionVerb::Undeploy, S::Active, v(1, 1)),
            (ProvisionVerb::Manage, S::Enroll, v(1, 4)),
            (ProvisionVerb::Provide, S::Manageable, v(1, 4)),
            (ProvisionVerb::Inspect, S::Manageable, v(1, 6)),
            (ProvisionVerb::Abort, S::CleanWait, v(1, 13)),
            (ProvisionVerb::Abort, S::InspectWait, v(1, 41)),
            (ProvisionVerb::Abort, S::DeployWait, v(1, 110)),
            (ProvisionVerb::Clean, S::Manageable, v(1, 15)),
            (ProvisionVerb::Adopt, S::Manageable, v(1, 17)),
            (ProvisionVerb::Rescue, S::Active, v(1, 38)),
            (ProvisionVerb::Unrescue, S::Rescue, v(1, 38)),
            (ProvisionVerb::Unhold, S::DeployHold, v(1, 85)),
            (ProvisionVerb::Service, S::Active, v(1, 87)),
        ];
        for (verb, from, min) in cases {
            assert_eq!(verb.min_version(from), min, "{verb} from {from}");
            let just_below = Version::new(1, min.minor - 1);
            let at = ProvisionRequest { version: min, ..request(verb.as_str(), from) };
            assert!(plan_provision(&at).is_ok(), "{verb} from {from} at {min}");
            if min.minor > 1 {
                let below = ProvisionRequest { version: just_below, ..request(verb.as_str(), from) };
                assert_eq!(
                    plan_provision(&below),
                    Err(ProvisionRefusal::NotAcceptable),
                    "{verb} at {just_below}"
                );
            }
        }
    }

    #[test]
    fn accepted_verbs_follow_the_state_machine() {
        for &verb in ProvisionVerb::ALL {
            for &state in ProvisionState::ALL {
                let plan = plan_provision(&request(verb.as_str(), state));
                match transition(state, verb.event()) {
                    Ok(next) => {
                        let plan = plan.unwrap_or_else(|e| panic!("{verb} from {state}: {e}"));
                        assert_eq!((plan.verb, plan.event, plan.next_state), (verb, verb.event(), next));
                    }
                    Err(_) => assert!(
                        matches!(plan, Err(ProvisionRefusal::InvalidState(_))),
                        "{verb} from {state}: {plan:?}"
                    ),
                }
            }
        }
    }

    #[test]
    fn transcripts_refusals() {
        // 25-prov-active-from-enroll-400.
        let active = plan_provision(&request("active", S::Enroll));
        assert_eq!(active.as_ref().map_err(ProvisionRefusal::http_status).err(), Some(400));
        assert_eq!(
            message(active),
            "The requested action \"active\" can not be performed on node \"fe94775f-8ff5-4ccb-9929-ff381a8f597b\" while it is in state \"enroll\"."
        );
        // 31-prov-bogus-target-400.
        assert_eq!(
            message(plan_provision(&request("bogus", S::Available))),
            "The requested action \"bogus\" can not be performed on node \"fe94775f-8ff5-4ccb-9929-ff381a8f597b\" while it is in state \"available\"."
        );
        // 36-prov-manage-from-active-400.
        assert!(
            message(plan_provision(&request("manage", S::Active)))
                .ends_with("while it is in state \"active\".")
        );
    }

    #[test]
    fn transcripts_accepted_targets() {
        // 26/27: manage from enroll verifies, no target left after (no work).
        let manage = plan_provision(&request("manage", S::Enroll));
        assert_eq!(manage.map(|p| (p.next_state, p.next_target)), Ok((S::Verifying, Some(S::Manageable))));
        // 28/29: provide cleans towards available.
        let provide = plan_provision(&request("provide", S::Manageable));
        assert_eq!(provide.map(|p| (p.next_state, p.next_target)), Ok((S::Cleaning, Some(S::Available))));
        // 32/33: deploy towards active.
        let deploy = plan_provision(&request("active", S::Available));
        assert_eq!(deploy.map(|p| (p.next_state, p.next_target)), Ok((S::Deploying, Some(S::Active))));
        // 37: undeploy tears down towards available.
        let undeploy = plan_provision(&request("deleted", S::Active));
        assert_eq!(undeploy.map(|p| (p.next_state, p.next_target)), Ok((S::Deleting, Some(S::Available))));
        // Manual clean returns to manageable.
        let clean = plan_provision(&request("clean", S::Manageable));
        assert_eq!(clean.map(|p| p.next_target), Ok(Some(S::Manageable)));
        // manage from available runs no work and leaves no target.
        let manage = plan_provision(&request("manage", S::Available));
        assert_eq!(manage.map(|p| (p.next_state, p.next_target)), Ok((S::Manageable, None)));
    }

    #[test]
    fn quirks_in_ironic_order() {
        // Maintenance blocks the literal `active`/`rebuild` only.
        let maint = ProvisionRequest { maintenance: true, ..request("active", S::Available) };
        assert_eq!(plan_provision(&maint), Err(ProvisionRefusal::NodeInMaintenance { node: UUID.into() }));
        let maint_deploy = ProvisionRequest { maintenance: true, ..request("deploy", S::Available) };
        assert!(plan_provision(&maint_deploy).is_ok());
        // A locked node answers 409 for a non-actionable verb.
        let locked = ProvisionRequest { reservation: Some("c1"), ..request("manage", S::Deploying) };
        let refusal = plan_provision(&locked);
        assert_eq!(refusal, Err(ProvisionRefusal::NodeLocked { node: UUID.into(), host: "c1".into() }));
        assert_eq!(refusal.map_err(|e| e.http_status()), Err(409));
        // Internal events with an edge are "not understood".
        let done = plan_provision(&request("done", S::Deploying));
        assert_eq!(done, Err(ProvisionRefusal::NotUnderstood { action: "done".into() }));
        // The literal `delete` needs 1.73 and is then not understood.
        let old_delete = ProvisionRequest { version: Version::new(1, 72), ..request("delete", S::Active) };
        assert_eq!(plan_provision(&old_delete), Err(ProvisionRefusal::NotAcceptable));
        assert!(matches!(
            plan_provision(&request("delete", S::Active)),
            Err(ProvisionRefusal::NotUnderstood { .. })
        ));
        // Late gates come after the state check: wrong state is 400, not 406.
        let old_unhold = ProvisionRequest { version: Version::new(1, 84), ..request("unhold", S::Active) };
        assert!(matches!(plan_provision(&old_unhold), Err(ProvisionRefusal::InvalidState(_))));
    }

    #[test]
    fn body_rules() {
        let v = Version::new;
        assert!(ProvisionVerb::Active.accepts_configdrive(v(1, 1)));
        assert!(!ProvisionVerb::Rebuild.accepts_configdrive(v(1, 34)));
        assert!(ProvisionVerb::Rebuild.accepts_configdrive(v(1, 35)));
        assert!(!ProvisionVerb::Deploy.accepts_configdrive(known::MAX));
        assert!(
            ProvisionVerb::Rebuild.accepts_deploy_steps() && !ProvisionVerb::Deploy.accepts_deploy_steps()
        );
        assert!(ProvisionVerb::Clean.accepts_clean_steps() && !ProvisionVerb::Service.accepts_clean_steps());
        assert!(ProvisionVerb::Service.accepts_service_steps());
        assert!(
            ProvisionVerb::Rescue.accepts_rescue_password()
                && !ProvisionVerb::Unrescue.accepts_rescue_password()
        );
        assert!(
            ProvisionVerb::Active.blocked_by_maintenance() && !ProvisionVerb::Deploy.blocked_by_maintenance()
        );
    }
}
