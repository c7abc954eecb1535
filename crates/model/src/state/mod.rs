//! Node states and the transitions between them.
//!
//! - [`provision`]: the 30 provision states and Ironic's sets of them.
//! - [`event`]: the state machine's inputs.
//! - [`machine`]: the transition table, exactly as Ironic's, and target tracking.
//! - [`verb`]: API verbs, their events and version gates.
//! - [`power`]: power states and power requests.
//! - [`management`]: boot devices, boot modes, indicator LEDs.
//! - [`condition`]: faults and hardware health.

pub mod condition;
pub mod event;
pub mod machine;
pub mod management;
pub mod power;
pub mod provision;
pub mod verb;

pub use condition::{Fault, Health};
pub use event::ProvisionEvent;
pub use machine::{TRANSITIONS, Transition, events_from, is_actionable, target_after, transition};
pub use management::{BootDevice, BootMode, IndicatorState};
pub use power::{PowerRequest, PowerState, PowerTarget, plan_power};
pub use provision::ProvisionState;
pub use verb::{
    ProvisionPlan, ProvisionRequest, ProvisionVerb, early_gate, event_for_target, plan_provision,
};
