//! Provision events: the inputs of the state machine.
//!
//! Some come from API verbs (through [`ProvisionVerb`](super::ProvisionVerb)), the
//! rest only from the conductor as work progresses. The split matters for safety: a
//! client must never be able to send `done` and skip a deployment.

string_enum! {
    /// An event that may move a node between provision states, spelled as Ironic's
    /// `state_machine.py` names it.
    pub enum ProvisionEvent, "provision event" {
        /// Start deploying (verbs `active`, `deploy`).
        Deploy => "deploy",
        /// Deploy again over an existing instance (verb `rebuild`).
        Rebuild => "rebuild",
        /// Tear down (verbs `deleted`, `undeploy`).
        Delete => "delete",
        /// Take under management / back to `manageable`.
        Manage => "manage",
        /// Clean, then offer for deployment.
        Provide => "provide",
        /// Inspect hardware.
        Inspect => "inspect",
        /// Stop a waiting or held operation.
        Abort => "abort",
        /// Manual cleaning; also the conductor's step from `deleting` into cleaning.
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
        /// Internal: the operation finished.
        Done => "done",
        /// Internal: the operation failed.
        Fail => "fail",
        /// Internal: now waiting for the agent.
        Wait => "wait",
        /// Internal: the agent called back; continue.
        Resume => "resume",
        /// Internal: a step asked to hold.
        Hold => "hold",
    }
}

impl ProvisionEvent {
    /// Whether only the conductor may raise this event.
    ///
    /// `clean` and `service` also serve internal moves (`deleting` → `cleaning`,
    /// `service hold` → `servicing`) but are API events too, so they are not listed.
    pub fn is_internal(self) -> bool {
        matches!(self, Self::Done | Self::Fail | Self::Wait | Self::Resume | Self::Hold)
    }
}
