//! Ferric's domain model: the resources Ironic exposes, its provision state machine,
//! and the microversion table, all as plain data and pure functions.
//!
//! Architecture invariant: this crate does no I/O, spawns nothing and knows no
//! transport. Every service links it, so it must stay cheap and deterministic: the
//! same input always gives the same answer, and no input makes it panic.
//!
//! # Layout
//!
//! - [`state`] — provision, power, boot and health states; the provision state
//!   machine exactly as Ironic's `state_machine.py`; API verbs and their gates.
//! - [`microversion`] — [`Version`], every microversion Ironic
//!   defines, and which field and endpoint each resource gains at which version.
//! - Resources, each a serde struct whose JSON is Ironic's (links excluded: the
//!   gateway renders those): [`node`], [`port`], [`portgroup`], [`chassis`],
//!   [`conductor`], [`allocation`], [`deploy_template`], [`runbook`], [`volume`],
//!   [`history`].
//! - [`hardware`] — hardware types, their interface kinds, defaults and
//!   properties: what `GET /v1/drivers` reports and node writes are checked against.
//! - [`secrets`] — Ironic's masking of passwords and tokens before a record leaves.
//! - [`validate`] — pure input rules: node names, trait names, MAC addresses,
//!   UUID-or-name identifiers.
//! - [`json`] — Ironic's JSON conventions (Python `isoformat` timestamps, `null`
//!   for empty collections) as serde helpers.
//! - [`error`] — the error types, with Ironic's message texts.

#![warn(missing_docs)]

#[macro_use]
mod macros;

pub mod allocation;
pub mod chassis;
pub mod conductor;
pub mod deploy_template;
pub mod error;
pub mod hardware;
pub mod history;
pub mod inspection_rule;
pub mod json;
pub mod microversion;
pub mod node;
pub mod node_settings;
pub mod port;
pub mod portgroup;
pub mod runbook;
pub mod secrets;
pub mod state;
pub mod validate;
pub mod volume;

#[cfg(test)]
mod testing;

pub use allocation::{Allocation, AllocationState};
pub use chassis::Chassis;
pub use conductor::Conductor;
pub use deploy_template::{DeployStep, DeployTemplate};
pub use error::{InvalidStateRequested, InvalidTransition, ParseError};
pub use history::{HistoryEvent, HistorySeverity};
pub use inspection_rule::InspectionRule;
pub use microversion::Version;
pub use node::Node;
pub use port::Port;
pub use portgroup::Portgroup;
pub use runbook::{Runbook, RunbookStep};
pub use secrets::SecretPolicy;
pub use state::{PowerState, ProvisionEvent, ProvisionState, ProvisionVerb};
pub use volume::{ConnectorType, VolumeConnector, VolumeTarget};
