//! The provision state machine: Ironic's `ironic/common/state_machine.py` as a table.
//!
//! Every edge is one row of [`TRANSITIONS`], in the order Ironic adds them; every
//! (state, event) pair not in the table is refused. Keeping it a table (rather than
//! a `match`) lets tests compare it row by row with the reference TSV, and lets
//! callers list what a state accepts.

use super::{ProvisionEvent, ProvisionState};
use crate::error::InvalidTransition;

use ProvisionEvent as E;
use ProvisionState as S;

/// One edge of the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The state the edge leaves.
    pub from: ProvisionState,
    /// The event that takes it.
    pub event: ProvisionEvent,
    /// The state it enters.
    pub to: ProvisionState,
}

const fn t(from: ProvisionState, event: ProvisionEvent, to: ProvisionState) -> Transition {
    Transition { from, event, to }
}

/// Every edge of Ironic's state machine (93), in `state_machine.py` order.
pub const TRANSITIONS: &[Transition] = &[
    t(S::Available, E::Deploy, S::Deploying),
    t(S::Deploying, E::Fail, S::DeployFailed),
    t(S::DeployFailed, E::Rebuild, S::Deploying),
    t(S::DeployFailed, E::Deploy, S::Deploying),
    t(S::Deploying, E::Wait, S::DeployWait),
    t(S::Deploying, E::Hold, S::DeployHold),
    t(S::DeployWait, E::Hold, S::DeployHold),
    t(S::DeployWait, E::Resume, S::Deploying),
    t(S::DeployWait, E::Fail, S::DeployFailed),
    t(S::DeployHold, E::Unhold, S::DeployWait),
    t(S::DeployHold, E::Abort, S::DeployFailed),
    t(S::DeployWait, E::Abort, S::DeployFailed),
    t(S::Deploying, E::Done, S::Active),
    t(S::Active, E::Rebuild, S::Deploying),
    t(S::Active, E::Delete, S::Deleting),
    t(S::DeployWait, E::Delete, S::Deleting),
    t(S::DeployFailed, E::Delete, S::Deleting),
    t(S::Deleting, E::Fail, S::Error),
    t(S::Deleting, E::Clean, S::Cleaning),
    t(S::Cleaning, E::Done, S::Available),
    t(S::Cleaning, E::Fail, S::CleanFailed),
    t(S::CleanWait, E::Fail, S::CleanFailed),
    t(S::CleanWait, E::Abort, S::CleanFailed),
    t(S::Cleaning, E::Wait, S::CleanWait),
    t(S::Cleaning, E::Hold, S::CleanHold),
    t(S::CleanWait, E::Hold, S::CleanHold),
    t(S::CleanWait, E::Resume, S::Cleaning),
    t(S::CleanHold, E::Abort, S::CleanFailed),
    t(S::CleanHold, E::Unhold, S::CleanWait),
    t(S::CleanFailed, E::Manage, S::Manageable),
    t(S::Manageable, E::Provide, S::Cleaning),
    t(S::Manageable, E::Clean, S::Cleaning),
    t(S::Cleaning, E::Manage, S::Manageable),
    t(S::Available, E::Manage, S::Manageable),
    t(S::Error, E::Rebuild, S::Deploying),
    t(S::Error, E::Delete, S::Deleting),
    t(S::Manageable, E::Inspect, S::Inspecting),
    t(S::Inspecting, E::Done, S::Manageable),
    t(S::Inspecting, E::Fail, S::InspectFailed),
    t(S::Inspecting, E::Wait, S::InspectWait),
    t(S::InspectWait, E::Done, S::Manageable),
    t(S::InspectWait, E::Fail, S::InspectFailed),
    t(S::InspectWait, E::Abort, S::InspectFailed),
    t(S::InspectWait, E::Resume, S::Inspecting),
    t(S::InspectFailed, E::Manage, S::Manageable),
    t(S::InspectFailed, E::Inspect, S::Inspecting),
    t(S::Active, E::Rescue, S::Rescuing),
    t(S::Rescuing, E::Done, S::Rescue),
    t(S::Rescuing, E::Wait, S::RescueWait),
    t(S::RescueWait, E::Resume, S::Rescuing),
    t(S::Rescue, E::Rescue, S::Rescuing),
    t(S::Rescue, E::Delete, S::Deleting),
    t(S::RescueWait, E::Fail, S::RescueFailed),
    t(S::Rescuing, E::Fail, S::RescueFailed),
    t(S::RescueWait, E::Abort, S::RescueFailed),
    t(S::RescueFailed, E::Rescue, S::Rescuing),
    t(S::RescueFailed, E::Unrescue, S::Unrescuing),
    t(S::RescueFailed, E::Delete, S::Deleting),
    t(S::RescueWait, E::Delete, S::Deleting),
    t(S::Rescue, E::Unrescue, S::Unrescuing),
    t(S::Unrescuing, E::Done, S::Active),
    t(S::Unrescuing, E::Fail, S::UnrescueFailed),
    t(S::UnrescueFailed, E::Rescue, S::Rescuing),
    t(S::UnrescueFailed, E::Unrescue, S::Unrescuing),
    t(S::UnrescueFailed, E::Delete, S::Deleting),
    t(S::Enroll, E::Manage, S::Verifying),
    t(S::Verifying, E::Done, S::Manageable),
    t(S::Verifying, E::Fail, S::Enroll),
    t(S::Manageable, E::Adopt, S::Adopting),
    t(S::Adopting, E::Done, S::Active),
    t(S::Adopting, E::Fail, S::AdoptFailed),
    t(S::AdoptFailed, E::Adopt, S::Adopting),
    t(S::AdoptFailed, E::Manage, S::Manageable),
    t(S::Servicing, E::Done, S::Active),
    t(S::Active, E::Service, S::Servicing),
    t(S::Servicing, E::Fail, S::ServiceFailed),
    t(S::Servicing, E::Wait, S::ServiceWait),
    t(S::Servicing, E::Hold, S::ServiceHold),
    t(S::ServiceWait, E::Hold, S::ServiceHold),
    t(S::ServiceHold, E::Service, S::Servicing),
    t(S::ServiceHold, E::Unhold, S::ServiceWait),
    t(S::ServiceWait, E::Resume, S::Servicing),
    t(S::ServiceWait, E::Fail, S::ServiceFailed),
    t(S::ServiceHold, E::Fail, S::ServiceFailed),
    t(S::ServiceWait, E::Abort, S::ServiceFailed),
    t(S::ServiceHold, E::Abort, S::ServiceFailed),
    t(S::ServiceFailed, E::Service, S::Servicing),
    t(S::ServiceFailed, E::Rescue, S::Rescuing),
    t(S::ServiceFailed, E::Wait, S::ServiceWait),
    t(S::ServiceFailed, E::Hold, S::ServiceHold),
    t(S::ServiceFailed, E::Delete, S::Deleting),
    t(S::ServiceFailed, E::Abort, S::Active),
    t(S::ServiceWait, E::Delete, S::Deleting),
];

/// The state `event` leads to from `from`, or the refusal Ironic's FSM raises.
pub fn transition(from: ProvisionState, event: ProvisionEvent) -> Result<ProvisionState, InvalidTransition> {
    TRANSITIONS
        .iter()
        .find(|edge| edge.from == from && edge.event == event)
        .map(|edge| edge.to)
        .ok_or(InvalidTransition { from, event })
}

/// Whether `event` has an edge out of `from` (Ironic's `is_actionable_event`).
pub fn is_actionable(from: ProvisionState, event: ProvisionEvent) -> bool {
    transition(from, event).is_ok()
}

/// The events `from` accepts, in table order; e.g. to tell a client what it can do.
pub fn events_from(from: ProvisionState) -> impl Iterator<Item = ProvisionEvent> {
    TRANSITIONS.iter().filter(move |edge| edge.from == from).map(|edge| edge.event)
}

/// The `target_provision_state` after a node moves from `current` (whose target was
/// `current_target`) into `new_state`, exactly as Ironic's FSM and task manager
/// compute it.
///
/// - The FSM starts from `current_target`, or `current`'s default target when none
///   is recorded (`FSM.initialize`).
/// - On entering `new_state` it clears the target if it was reached, then takes
///   `new_state`'s default target if it has one (`_post_process_event`).
/// - A conductor may pass an explicit target, e.g. `manageable` for manual cleaning,
///   which wins (`process_event(target_state=...)`).
/// - When no work is spawned and `new_state` is stable, the task manager clears the
///   target (`spawns_work` false).
pub fn target_after(
    current: ProvisionState,
    current_target: Option<ProvisionState>,
    new_state: ProvisionState,
    explicit_target: Option<ProvisionState>,
    spawns_work: bool,
) -> Option<ProvisionState> {
    if !spawns_work && new_state.is_stable() {
        return None;
    }
    let mut target = current_target.or(current.default_target());
    if target == Some(new_state) {
        target = None;
    }
    if let Some(default) = new_state.default_target() {
        target = Some(default);
    }
    explicit_target.or(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_duplicate_edges() {
        for (i, a) in TRANSITIONS.iter().enumerate() {
            for b in &TRANSITIONS[i + 1..] {
                assert!(!(a.from == b.from && a.event == b.event), "{a:?} / {b:?}");
            }
        }
        assert_eq!(TRANSITIONS.len(), 93);
    }

    #[test]
    fn targets_follow_ironic() {
        // Transcript 33: deploying shows target active.
        assert_eq!(target_after(S::Available, None, S::Deploying, None, true), Some(S::Active));
        // Transcript 29: provide -> cleaning shows target available.
        assert_eq!(target_after(S::Manageable, None, S::Cleaning, None, true), Some(S::Available));
        // Manual clean keeps manageable as the goal.
        assert_eq!(
            target_after(S::Manageable, None, S::Cleaning, Some(S::Manageable), true),
            Some(S::Manageable)
        );
        // Reaching the goal clears it.
        assert_eq!(target_after(S::Deploying, Some(S::Active), S::Active, None, false), None);
        // A failure keeps the goal of the failed operation.
        assert_eq!(target_after(S::Deploying, Some(S::Active), S::DeployFailed, None, true), Some(S::Active));
        // Verification failing back to enroll with no spawned work clears the target.
        assert_eq!(target_after(S::Verifying, Some(S::Manageable), S::Enroll, None, false), None);
        // available -> manageable runs no work: no target.
        assert_eq!(target_after(S::Available, None, S::Manageable, None, false), None);
    }

    #[test]
    fn events_from_lists_table_rows() {
        let from_active: Vec<_> = events_from(S::Active).collect();
        assert_eq!(from_active, vec![E::Rebuild, E::Delete, E::Rescue, E::Service]);
        assert_eq!(events_from(S::Verifying).count(), 2);
    }

    /// The reference table, `from<TAB>event<TAB>to`, `#` comments.
    const TSV: &str = include_str!("../../data/state-machine.tsv");

    /// Every row of the TSV, parsed; a row naming an unknown state or event fails
    /// the test.
    fn tsv_rows() -> Vec<Transition> {
        TSV.lines()
            .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
            .map(|line| {
                let cols: Vec<&str> = line.split('\t').collect();
                assert_eq!(cols.len(), 3, "malformed row {line:?}");
                let parse_state =
                    |text: &str| text.parse::<ProvisionState>().unwrap_or_else(|e| panic!("{e} in {line:?}"));
                let event = cols[1].parse::<ProvisionEvent>().unwrap_or_else(|e| panic!("{e} in {line:?}"));
                Transition { from: parse_state(cols[0]), event, to: parse_state(cols[2]) }
            })
            .collect()
    }

    #[test]
    fn every_tsv_row_is_a_transition() {
        let rows = tsv_rows();
        assert_eq!(rows.len(), 93);
        for row in &rows {
            assert_eq!(transition(row.from, row.event), Ok(row.to), "{row:?}");
            assert!(is_actionable(row.from, row.event), "{row:?}");
        }
        // Same edges, same order as state_machine.py.
        assert_eq!(rows.as_slice(), TRANSITIONS);
    }

    #[test]
    fn every_pair_not_in_the_tsv_is_refused() {
        let rows = tsv_rows();
        let mut refused = 0;
        for &from in ProvisionState::ALL {
            for &event in ProvisionEvent::ALL {
                if rows.iter().any(|row| row.from == from && row.event == event) {
                    continue;
                }
                refused += 1;
                assert_eq!(
                    transition(from, event),
                    Err(InvalidTransition { from, event }),
                    "{from} / {event}"
                );
                assert!(!is_actionable(from, event));
            }
        }
        assert_eq!(refused, ProvisionState::ALL.len() * ProvisionEvent::ALL.len() - 93);
    }

    #[test]
    fn every_state_and_event_appears_in_the_table() {
        for state in ProvisionState::ALL {
            let touched =
                TRANSITIONS.iter().any(|t| t.from == *state) || TRANSITIONS.iter().any(|t| t.to == *state);
            assert!(touched, "{state} is unreachable and inescapable");
        }
        for event in ProvisionEvent::ALL {
            assert!(TRANSITIONS.iter().any(|t| t.event == *event), "{event} is never used");
        }
        // Only `enroll` (the initial state) is never entered except by a failed
        // verification; every state is left by some edge.
        for state in ProvisionState::ALL {
            assert!(events_from(*state).count() > 0, "{state} is a dead end");
        }
    }

    #[test]
    fn refusal_message_is_ironics() {
        let err = transition(S::Enroll, E::Deploy).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(err, "Can not transition from state 'enroll' on event 'deploy' (no defined transition)");
    }
}
