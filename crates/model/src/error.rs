//! The model's error types, with Ironic's message texts.
//!
//! Clients parse Ironic's `faultstring`s (the CLI prints them, metal3 matches some),
//! so each `Display` here reproduces the text of the Ironic exception it stands for,
//! quotes included. Each type also names the HTTP status Ironic's exception class
//! carries, so the gateway's single error mapping does not have to rediscover it.

use thiserror::Error;

use crate::state::{ProvisionEvent, ProvisionState};

/// A string that names no known value of a closed set (a state, an event, a verb).
///
/// Kept separate from the request-level errors below: an unknown stored value is a
/// data problem, an unknown requested value is the caller's mistake, and the gateway
/// answers them differently.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("\"{value}\" is not a valid {kind}")]
pub struct ParseError {
    /// What was being parsed, e.g. "provision state".
    pub kind: &'static str,
    /// The text that did not match.
    pub value: String,
}

impl ParseError {
    /// Builds the error; a constructor so call sites stay one line.
    pub fn new(kind: &'static str, value: impl Into<String>) -> Self {
        Self { kind, value: value.into() }
    }
}

/// The state machine has no edge for this (state, event) pair.
///
/// The text is the one Ironic's FSM raises (automaton's `NotFound`, translated to
/// `InvalidState`), which is what conductor logs and `last_error` show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("Can not transition from state '{from}' on event '{event}' (no defined transition)")]
pub struct InvalidTransition {
    /// The state the node was in.
    pub from: ProvisionState,
    /// The event that has no edge out of it.
    pub event: ProvisionEvent,
}

impl InvalidTransition {
    /// The API-facing form: which verb was refused, on which node.
    ///
    /// `action` is the literal the client sent (`"active"`, not the `deploy` event)
    /// and `node` the node's UUID, as Ironic reports them.
    pub fn to_request_error(&self, action: &str, node: &str) -> InvalidStateRequested {
        InvalidStateRequested::new(action, node, self.from.as_str())
    }
}

/// Ironic's `InvalidStateRequested` (HTTP 400): a verb that the node's current state
/// does not allow, e.g. `active` on an `enroll` node.
///
/// `state` is a string because for power requests it is the power state, which may
/// be Python's `None`; [`InvalidStateRequested::state_or_none`] renders that.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "The requested action \"{action}\" can not be performed on node \"{node}\" while it is in state \"{state}\"."
)]
pub struct InvalidStateRequested {
    /// The verb as the client sent it.
    pub action: String,
    /// The node as Ironic names it in this message (UUID for provision requests, the
    /// identifier as given for power requests).
    pub node: String,
    /// The state that refused the verb.
    pub state: String,
}

impl InvalidStateRequested {
    /// Builds the error from borrowed parts.
    pub fn new(action: &str, node: &str, state: &str) -> Self {
        Self { action: action.to_owned(), node: node.to_owned(), state: state.to_owned() }
    }

    /// Python's `str(None)` for an absent state, as Ironic's message shows it.
    pub fn state_or_none(state: Option<&str>) -> &str {
        state.unwrap_or("None")
    }

    /// The HTTP status Ironic answers with.
    pub fn http_status(&self) -> u16 {
        400
    }
}

/// Why a `PUT /v1/nodes/{node}/states/provision` is refused before any work starts.
///
/// Variants are listed in the order Ironic checks them, which decides the status a
/// client sees when several apply.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProvisionRefusal {
    /// `NotAcceptable` (406): the verb, or the verb from this state, needs a newer
    /// microversion.
    #[error("Request not acceptable.")]
    NotAcceptable,
    /// `NodeInMaintenance` (400): `active`/`rebuild` on a node in maintenance.
    #[error("The provisioning operation can't be performed on node {node} because it's in maintenance mode.")]
    NodeInMaintenance {
        /// The node's UUID.
        node: String,
    },
    /// `NodeLocked` (409): the verb is not actionable and a conductor holds the node,
    /// so the client should retry rather than give up.
    #[error("Node {node} is locked by host {host}, please retry after the current operation is completed.")]
    NodeLocked {
        /// The node's UUID.
        node: String,
        /// The holder of the reservation.
        host: String,
    },
    /// `InvalidStateRequested` (400): the verb is not actionable from this state.
    #[error(transparent)]
    InvalidState(#[from] InvalidStateRequested),
    /// `InvalidStateRequested` with a custom message (400): the target names an
    /// internal event (`done`, `fail`, ...) that the state machine would accept but
    /// no API action implements.
    #[error("The requested action \"{action}\" could not be understood.")]
    NotUnderstood {
        /// The target as sent.
        action: String,
    },
}

impl ProvisionRefusal {
    /// The HTTP status Ironic answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::NotAcceptable => 406,
            Self::NodeLocked { .. } => 409,
            Self::NodeInMaintenance { .. } | Self::InvalidState(_) | Self::NotUnderstood { .. } => 400,
        }
    }
}

/// Why a `PUT /v1/nodes/{node}/states/power` is refused, in Ironic's check order.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PowerRefusal {
    /// `NotAcceptable` (406): soft power actions or a timeout before 1.27.
    #[error("Request not acceptable.")]
    NotAcceptable,
    /// `Invalid` (400): a timeout below one second.
    #[error("timeout has to be positive integer")]
    InvalidTimeout,
    /// `InvalidStateRequested` (400): an unknown target, or any target while the
    /// node is cleaning.
    #[error(transparent)]
    InvalidState(#[from] InvalidStateRequested),
    /// `PowerStateFailure` (409): powering off a node with `disable_power_off`.
    #[error("Failed to set node power state to {target}.")]
    PowerOffDisabled {
        /// The refused target (`power off` or `soft power off`).
        target: String,
    },
}

impl PowerRefusal {
    /// The HTTP status Ironic answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::NotAcceptable => 406,
            Self::InvalidTimeout | Self::InvalidState(_) => 400,
            Self::PowerOffDisabled { .. } => 409,
        }
    }
}

/// A path identifier that can name no node (Ironic's `InvalidUuidOrName`, or
/// `NodeNotFound` for names before 1.5).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdentError {
    /// Neither a UUID nor a valid logical name (400).
    #[error("Expected a logical name or UUID but received {name}.")]
    InvalidUuidOrName {
        /// The identifier as given.
        name: String,
    },
    /// Names are not understood before 1.5, so Ironic answers as for a missing node
    /// (404), exactly as Juno did.
    #[error("Node {node} could not be found.")]
    NodeNotFound {
        /// The identifier as given.
        node: String,
    },
}

impl IdentError {
    /// The HTTP status Ironic answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::InvalidUuidOrName { .. } => 400,
            Self::NodeNotFound { .. } => 404,
        }
    }
}

/// A node name Ironic would refuse on create or rename.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NodeNameError {
    /// Names need 1.5 (406).
    #[error("Request not acceptable.")]
    NotAcceptable,
    /// Not a logical name for this version, or UUID-like (400). `Display` gives the
    /// create wording; [`NodeNameError::update_message`] the rename wording.
    #[error("Cannot create node with invalid name '{name}'")]
    Invalid {
        /// The refused name.
        name: String,
    },
    /// A word the nodes controller routes itself, e.g. `detail` (400).
    #[error(
        "The word \"{name}\" is reserved and can not be used as a node name. Reserved words are: {}.",
        crate::validate::RESERVED_NODE_NAMES.join(", ")
    )]
    Reserved {
        /// The refused name.
        name: String,
    },
}

impl NodeNameError {
    /// The message Ironic gives when a PATCH renames `node_ident` to a bad name.
    pub fn update_message(&self, node_ident: &str) -> String {
        match self {
            Self::Invalid { name } => {
                format!("Node {node_ident}: Cannot change name to invalid name '{name}'")
            }
            other => other.to_string(),
        }
    }

    /// The HTTP status Ironic answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::NotAcceptable => 406,
            Self::Invalid { .. } | Self::Reserved { .. } => 400,
        }
    }
}

/// A trait name outside Ironic's `TRAITS_SCHEMA` (400).
///
/// The text reproduces the jsonschema message Ironic wraps, e.g. transcript
/// `60-trait-bad-name-400`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("Schema error for trait: {}", self.schema_message())]
pub struct TraitError {
    /// The refused name.
    pub value: String,
    /// Which rule it broke.
    pub reason: TraitErrorReason,
}

/// Which part of `TRAITS_SCHEMA` a trait broke; jsonschema reports the length rules
/// ahead of the pattern rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraitErrorReason {
    /// Empty.
    TooShort,
    /// Longer than 255 characters.
    TooLong,
    /// Neither `CUSTOM_[A-Z0-9_]+` nor a standard os-traits name.
    NoMatch,
}

impl TraitError {
    fn schema_message(&self) -> String {
        let repr = crate::validate::python_repr(&self.value);
        match self.reason {
            TraitErrorReason::TooShort => format!("{repr} should be non-empty"),
            TraitErrorReason::TooLong => format!("{repr} is too long"),
            TraitErrorReason::NoMatch => format!(
                "{repr} is not valid under any of the given schemas. Possible root cause: {repr} does not match '{}'",
                crate::validate::CUSTOM_TRAIT_PATTERN
            ),
        }
    }
}

/// A string that is not a MAC address (Ironic's `InvalidMAC`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("Expected a MAC address but received {value}.")]
pub struct InvalidMac {
    /// The refused text.
    pub value: String,
}

impl InvalidMac {
    /// The API wording for a request field, e.g. `address` (transcript
    /// `51-port-create-bad-mac-400`).
    pub fn api_message(&self, field: &str) -> String {
        format!("Expected valid MAC address for {field}: {}", self.value)
    }
}

/// A node names an interface implementation its hardware type cannot use.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InterfaceError {
    /// No hardware type knows the implementation (Ironic's
    /// `InterfaceNotFoundInEntrypoint`, transcript `68-node-create-bad-iface-400`).
    #[error(
        "Could not find the following interface in the 'ironic.hardware.interfaces.{kind}' entrypoint: {implementation}. Valid interfaces are {}.",
        crate::validate::python_list(valid)
    )]
    Unknown {
        /// Interface kind, e.g. `deploy`.
        kind: &'static str,
        /// The refused implementation.
        implementation: String,
        /// Every known implementation of the kind, sorted.
        valid: Vec<&'static str>,
    },
    /// Known, but not for this hardware type (Ironic's `IncompatibleInterface`).
    #[error(
        "{kind} interface implementation '{implementation}' is not supported by hardware type {hardware_type}."
    )]
    Unsupported {
        /// Interface kind, e.g. `power`.
        kind: &'static str,
        /// The refused implementation.
        implementation: String,
        /// The node's hardware type.
        hardware_type: &'static str,
    },
}
