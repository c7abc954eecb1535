//! Which endpoint appears at which microversion.
//!
//! The version is the one that made the endpoint reachable (Ironic answers 404
//! below it, as transcript `12-conductors-old-version-404` shows for conductors at
//! 1.48). Later changes to an endpoint's body are field gates or verb gates, kept in
//! [`super::fields`] and [`crate::state::verb`]. The path is a template with
//! `{node}`-style holes, for documentation and route tables.

use super::Version;
use super::known as k;

/// An endpoint family, one per controller or sub-resource Ironic gates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `/v1/chassis`.
    Chassis,
    /// `/v1/nodes`.
    Nodes,
    /// `/v1/ports`.
    Ports,
    /// `/v1/drivers`.
    Drivers,
    /// `/v1/portgroups`.
    Portgroups,
    /// `/v1/volume` with connectors and targets.
    Volume,
    /// `/v1/lookup`, the agent's first call.
    Lookup,
    /// `/v1/heartbeat/{node}`, the agent's callback.
    Heartbeat,
    /// `/v1/conductors`.
    Conductors,
    /// `/v1/allocations`.
    Allocations,
    /// `/v1/events`, network events from Neutron.
    Events,
    /// `/v1/deploy_templates`.
    DeployTemplates,
    /// `/v1/shards`.
    Shards,
    /// `/v1/continue_inspection`. Also answered at exactly 1.1, as a drop-in for
    /// ironic-inspector's callback, though the root document hides it there.
    ContinueInspection,
    /// `/v1/runbooks`.
    Runbooks,
    /// `/v1/inspection_rules`.
    InspectionRules,
    /// `/v1/nodes/{node}/states` (its link in node bodies from 1.14).
    NodeStates,
    /// `/v1/nodes/{node}/states/raid`.
    NodeRaid,
    /// `/v1/drivers/{driver}/raid/logical_disk_properties`.
    DriverRaidLogicalDiskProperties,
    /// `/v1/nodes/{node}/portgroups` and `/v1/portgroups/{pg}/ports`.
    NodePortgroups,
    /// `/v1/nodes/{node}/vifs`.
    NodeVifs,
    /// `/v1/nodes/{node}/management/inject_nmi`.
    NodeInjectNmi,
    /// `/v1/nodes/{node}/volume`.
    NodeVolume,
    /// `/v1/nodes/{node}/traits`.
    NodeTraits,
    /// `/v1/nodes/{node}/bios`.
    NodeBios,
    /// `/v1/nodes/{node}/allocation`.
    NodeAllocation,
    /// `/v1/nodes/{node}/management/indicators`. Ironic's code does not enforce
    /// this gate; the documented version is kept.
    NodeIndicators,
    /// `/v1/nodes/{node}/states/boot_mode` and `/states/secure_boot`.
    NodeBootModeChange,
    /// `/v1/nodes/{node}/history`.
    NodeHistory,
    /// `/v1/nodes/{node}/inventory`.
    NodeInventory,
    /// `/v1/nodes/{node}/children`.
    NodeChildren,
    /// `/v1/nodes/{node}/firmware`.
    NodeFirmware,
    /// `POST`/`DELETE /v1/nodes/{node}/vmedia`.
    NodeVmedia,
    /// `GET /v1/nodes/{node}/vmedia`.
    NodeVmediaGet,
    /// `/v1/runbooks/{runbook}/traits`.
    RunbookTraits,
}

use Endpoint as P;

impl Endpoint {
    /// Every endpoint family, for tables and exhaustive tests.
    pub const ALL: &'static [Endpoint] = &[
        P::Chassis,
        P::Nodes,
        P::Ports,
        P::Drivers,
        P::Portgroups,
        P::Volume,
        P::Lookup,
        P::Heartbeat,
        P::Conductors,
        P::Allocations,
        P::Events,
        P::DeployTemplates,
        P::Shards,
        P::ContinueInspection,
        P::Runbooks,
        P::InspectionRules,
        P::NodeStates,
        P::NodeRaid,
        P::DriverRaidLogicalDiskProperties,
        P::NodePortgroups,
        P::NodeVifs,
        P::NodeInjectNmi,
        P::NodeVolume,
        P::NodeTraits,
        P::NodeBios,
        P::NodeAllocation,
        P::NodeIndicators,
        P::NodeBootModeChange,
        P::NodeHistory,
        P::NodeInventory,
        P::NodeChildren,
        P::NodeFirmware,
        P::NodeVmedia,
        P::NodeVmediaGet,
        P::RunbookTraits,
    ];

    /// The top-level resources linked from `GET /v1/`, in Ironic's order: the four
    /// always present, then `VERSIONED_CONTROLLERS`.
    pub const ROOT: &'static [Endpoint] = &[
        P::Chassis,
        P::Nodes,
        P::Ports,
        P::Drivers,
        P::Portgroups,
        P::Volume,
        P::Lookup,
        P::Heartbeat,
        P::Conductors,
        P::Allocations,
        P::Events,
        P::DeployTemplates,
        P::Shards,
        P::Runbooks,
        P::InspectionRules,
        P::ContinueInspection,
    ];

    /// The version the endpoint appears at.
    pub fn since(self) -> Version {
        match self {
            P::Chassis | P::Nodes | P::Ports | P::Drivers | P::NodeStates => k::INITIAL_VERSION,
            P::Portgroups => k::PORTGROUPS,
            P::Volume | P::NodeVolume => k::VOLUME,
            P::Lookup | P::Heartbeat => k::LOOKUP_HEARTBEAT,
            P::Conductors => k::CONDUCTORS,
            P::Allocations | P::NodeAllocation => k::ALLOCATION,
            P::Events => k::EVENTS,
            P::DeployTemplates => k::DEPLOY_TEMPLATES,
            P::Shards => k::NODE_SHARD,
            P::ContinueInspection => k::CONTINUE_INSPECTION,
            P::Runbooks => k::RUNBOOKS,
            P::InspectionRules => k::INSPECTION_RULES,
            P::NodeRaid | P::DriverRaidLogicalDiskProperties => k::RAID_CONFIG,
            P::NodePortgroups => k::PORTGROUPS_SUBCONTROLLERS,
            P::NodeVifs => k::VIFS_SUBCONTROLLER,
            P::NodeInjectNmi => k::INJECT_NMI,
            P::NodeTraits => k::NODE_TRAITS,
            P::NodeBios => k::BIOS_INTERFACE,
            P::NodeIndicators => k::INDICATORS,
            P::NodeBootModeChange => k::NODE_CHANGE_BOOT_MODE,
            P::NodeHistory => k::NODE_HISTORY,
            P::NodeInventory => k::NODE_INVENTORY,
            P::NodeChildren => k::PARENT_CHILD_NODES,
            P::NodeFirmware => k::FIRMWARE_INTERFACE,
            P::NodeVmedia => k::ATTACH_DETACH_VMEDIA,
            P::NodeVmediaGet => k::GET_VMEDIA,
            P::RunbookTraits => k::RUNBOOK_TRAITS,
        }
    }

    /// The path template, as in Ironic's API reference.
    pub fn path(self) -> &'static str {
        match self {
            P::Chassis => "/v1/chassis",
            P::Nodes => "/v1/nodes",
            P::Ports => "/v1/ports",
            P::Drivers => "/v1/drivers",
            P::Portgroups => "/v1/portgroups",
            P::Volume => "/v1/volume",
            P::Lookup => "/v1/lookup",
            P::Heartbeat => "/v1/heartbeat/{node}",
            P::Conductors => "/v1/conductors",
            P::Allocations => "/v1/allocations",
            P::Events => "/v1/events",
            P::DeployTemplates => "/v1/deploy_templates",
            P::Shards => "/v1/shards",
            P::ContinueInspection => "/v1/continue_inspection",
            P::Runbooks => "/v1/runbooks",
            P::InspectionRules => "/v1/inspection_rules",
            P::NodeStates => "/v1/nodes/{node}/states",
            P::NodeRaid => "/v1/nodes/{node}/states/raid",
            P::DriverRaidLogicalDiskProperties => "/v1/drivers/{driver}/raid/logical_disk_properties",
            P::NodePortgroups => "/v1/nodes/{node}/portgroups",
            P::NodeVifs => "/v1/nodes/{node}/vifs",
            P::NodeInjectNmi => "/v1/nodes/{node}/management/inject_nmi",
            P::NodeVolume => "/v1/nodes/{node}/volume",
            P::NodeTraits => "/v1/nodes/{node}/traits",
            P::NodeBios => "/v1/nodes/{node}/bios",
            P::NodeAllocation => "/v1/nodes/{node}/allocation",
            P::NodeIndicators => "/v1/nodes/{node}/management/indicators",
            P::NodeBootModeChange => "/v1/nodes/{node}/states/boot_mode",
            P::NodeHistory => "/v1/nodes/{node}/history",
            P::NodeInventory => "/v1/nodes/{node}/inventory",
            P::NodeChildren => "/v1/nodes/{node}/children",
            P::NodeFirmware => "/v1/nodes/{node}/firmware",
            P::NodeVmedia | P::NodeVmediaGet => "/v1/nodes/{node}/vmedia",
            P::RunbookTraits => "/v1/runbooks/{runbook}/traits",
        }
    }

    /// The key of the endpoint's link in `GET /v1/`, for [`Self::ROOT`] members.
    pub fn root_key(self) -> Option<&'static str> {
        Self::ROOT.contains(&self).then(|| self.path().trim_start_matches("/v1/"))
    }

    /// Whether a request at `version` may use the endpoint.
    pub fn available(self, version: Version) -> bool {
        version >= self.since() || (self == P::ContinueInspection && version == k::INITIAL_VERSION)
    }
}

/// The keys `GET /v1/` links at `version`, in Ironic's order.
pub fn root_links(version: Version) -> impl Iterator<Item = &'static str> {
    Endpoint::ROOT.iter().filter(move |e| version >= e.since()).filter_map(|e| e.root_key())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microversion::known;

    #[test]
    fn brief_examples() {
        let v = Version::new;
        assert_eq!(Endpoint::Portgroups.since(), v(1, 23));
        assert_eq!(Endpoint::NodeVifs.since(), v(1, 28));
        assert_eq!(Endpoint::Conductors.since(), v(1, 49));
        assert_eq!(Endpoint::NodeVmediaGet.since(), v(1, 93));
        assert_eq!(Endpoint::InspectionRules.since(), v(1, 96));
        assert!(!Endpoint::Conductors.available(v(1, 48)));
        assert!(Endpoint::ContinueInspection.available(v(1, 1)));
        assert!(!Endpoint::ContinueInspection.available(v(1, 83)));
    }

    #[test]
    fn root_links_match_transcripts() {
        let at_1_1: Vec<_> = root_links(Version::new(1, 1)).collect();
        assert_eq!(at_1_1, ["chassis", "nodes", "ports", "drivers"]);
        let latest: Vec<_> = root_links(known::MAX).collect();
        assert_eq!(latest.len(), Endpoint::ROOT.len());
        assert_eq!(latest[4..8], ["portgroups", "volume", "lookup", "heartbeat"]);
        for endpoint in Endpoint::ALL {
            assert!(endpoint.path().starts_with("/v1/"), "{endpoint:?}");
        }
    }

}
