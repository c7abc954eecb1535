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

    /// The key of the endpoint's link in `GET /v1/`, for [`Self::ROOT`] members:
    /// the first path segment after `/v1/` (`heartbeat`, not `heartbeat/{node}`).
    pub fn root_key(self) -> Option<&'static str> {
        let rest = self.path().trim_start_matches("/v1/");
        Self::ROOT.contains(&self).then(|| rest.split('/').next().unwrap_or(rest))
    }

    /// Whether a request at `version` may use the endpoint.
    pub fn available(self, version: Version) -> bool {
        version >= self.since() || (self == P::ContinueInspection && version == k::INITIAL_VERSION)
    }
}

/// The endpoint family a concrete request path belongs to, so the gateway can
/// answer 404 below [`Endpoint::since`] without a gate per handler.
///
/// `path` is the request path (`/v1/nodes/n1/vifs/abc`, query excluded); `method`
/// matters only for `/v1/nodes/{node}/vmedia`, whose `GET` came later. `None` for
/// the API roots and for paths Ironic does not route.
pub fn endpoint_for_path(method: &str, path: &str) -> Option<Endpoint> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let ["v1", first, rest @ ..] = segments.as_slice() else {
        return None;
    };
    let sub = |index: usize| rest.get(index).copied();
    Some(match (*first, sub(1), sub(2)) {
        ("nodes", Some("states"), Some("raid")) => P::NodeRaid,
        ("nodes", Some("states"), Some("boot_mode" | "secure_boot")) => P::NodeBootModeChange,
        ("nodes", Some("states"), _) => P::NodeStates,
        ("nodes", Some("portgroups"), _) => P::NodePortgroups,
        ("nodes", Some("vifs"), _) => P::NodeVifs,
        ("nodes", Some("management"), Some("inject_nmi")) => P::NodeInjectNmi,
        ("nodes", Some("management"), Some("indicators")) => P::NodeIndicators,
        ("nodes", Some("volume"), _) => P::NodeVolume,
        ("nodes", Some("traits"), _) => P::NodeTraits,
        ("nodes", Some("bios"), _) => P::NodeBios,
        ("nodes", Some("allocation"), _) => P::NodeAllocation,
        ("nodes", Some("history"), _) => P::NodeHistory,
        ("nodes", Some("inventory"), _) => P::NodeInventory,
        ("nodes", Some("children"), _) => P::NodeChildren,
        ("nodes", Some("firmware"), _) => P::NodeFirmware,
        ("nodes", Some("vmedia"), _) if method.eq_ignore_ascii_case("GET") => P::NodeVmediaGet,
        ("nodes", Some("vmedia"), _) => P::NodeVmedia,
        ("portgroups", Some("ports"), _) => P::NodePortgroups,
        ("drivers", Some("raid"), Some("logical_disk_properties")) => P::DriverRaidLogicalDiskProperties,
        ("runbooks", Some("traits"), _) => P::RunbookTraits,
        (top, _, _) => return Endpoint::ROOT.iter().copied().find(|e| e.root_key() == Some(top)),
    })
}

/// The version a request path appears at (see [`endpoint_for_path`]).
pub fn endpoint_min_version(method: &str, path: &str) -> Option<Version> {
    endpoint_for_path(method, path).map(Endpoint::since)
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
        // Transcript 03-v1-latest, after `version` (which the gateway adds).
        assert_eq!(
            latest,
            [
                "chassis",
                "nodes",
                "ports",
                "drivers",
                "portgroups",
                "volume",
                "lookup",
                "heartbeat",
                "conductors",
                "allocations",
                "events",
                "deploy_templates",
                "shards",
                "runbooks",
                "inspection_rules",
                "continue_inspection",
            ]
        );
        let at_1_48: Vec<_> = root_links(Version::new(1, 48)).collect();
        assert!(!at_1_48.contains(&"conductors") && at_1_48.contains(&"heartbeat"));
        for endpoint in Endpoint::ALL {
            assert!(endpoint.path().starts_with("/v1/"), "{endpoint:?}");
        }
    }

    #[test]
    fn request_paths_map_to_their_families() {
        let v = Version::new;
        let cases: &[(&str, &str, Option<Endpoint>, Option<Version>)] = &[
            ("GET", "/v1/nodes", Some(P::Nodes), Some(v(1, 1))),
            ("GET", "/v1/nodes/detail", Some(P::Nodes), Some(v(1, 1))),
            ("PUT", "/v1/nodes/n1/states/provision", Some(P::NodeStates), Some(v(1, 1))),
            ("PUT", "/v1/nodes/n1/states/raid", Some(P::NodeRaid), Some(v(1, 12))),
            ("PUT", "/v1/nodes/n1/states/secure_boot", Some(P::NodeBootModeChange), Some(v(1, 76))),
            ("GET", "/v1/nodes/n1/ports", Some(P::Nodes), Some(v(1, 1))),
            ("GET", "/v1/nodes/n1/portgroups/detail", Some(P::NodePortgroups), Some(v(1, 24))),
            ("DELETE", "/v1/nodes/n1/vifs/abc", Some(P::NodeVifs), Some(v(1, 28))),
            ("PUT", "/v1/nodes/n1/management/inject_nmi", Some(P::NodeInjectNmi), Some(v(1, 29))),
            ("PUT", "/v1/nodes/n1/management/boot_device", Some(P::Nodes), Some(v(1, 1))),
            ("GET", "/v1/nodes/n1/management/indicators", Some(P::NodeIndicators), Some(v(1, 63))),
            ("GET", "/v1/nodes/n1/volume/connectors", Some(P::NodeVolume), Some(v(1, 32))),
            ("PUT", "/v1/nodes/n1/traits/CUSTOM_A", Some(P::NodeTraits), Some(v(1, 37))),
            ("GET", "/v1/nodes/n1/bios/ProcVirtualization", Some(P::NodeBios), Some(v(1, 40))),
            ("GET", "/v1/nodes/n1/allocation", Some(P::NodeAllocation), Some(v(1, 52))),
            ("GET", "/v1/nodes/n1/history", Some(P::NodeHistory), Some(v(1, 78))),
            ("GET", "/v1/nodes/n1/inventory", Some(P::NodeInventory), Some(v(1, 81))),
            ("GET", "/v1/nodes/n1/children", Some(P::NodeChildren), Some(v(1, 83))),
            ("GET", "/v1/nodes/n1/firmware", Some(P::NodeFirmware), Some(v(1, 86))),
            ("POST", "/v1/nodes/n1/vmedia", Some(P::NodeVmedia), Some(v(1, 89))),
            ("GET", "/v1/nodes/n1/vmedia", Some(P::NodeVmediaGet), Some(v(1, 93))),
            ("GET", "/v1/portgroups", Some(P::Portgroups), Some(v(1, 23))),
            ("GET", "/v1/portgroups/pg/ports", Some(P::NodePortgroups), Some(v(1, 24))),
            (
                "GET",
                "/v1/drivers/ipmi/raid/logical_disk_properties",
                Some(P::DriverRaidLogicalDiskProperties),
                Some(v(1, 12)),
            ),
            ("GET", "/v1/drivers/ipmi/properties", Some(P::Drivers), Some(v(1, 1))),
            ("POST", "/v1/heartbeat/n1", Some(P::Heartbeat), Some(v(1, 22))),
            ("GET", "/v1/lookup", Some(P::Lookup), Some(v(1, 22))),
            ("GET", "/v1/conductors/c1", Some(P::Conductors), Some(v(1, 49))),
            ("GET", "/v1/allocations", Some(P::Allocations), Some(v(1, 52))),
            ("POST", "/v1/events", Some(P::Events), Some(v(1, 54))),
            ("GET", "/v1/deploy_templates/t", Some(P::DeployTemplates), Some(v(1, 55))),
            ("GET", "/v1/shards", Some(P::Shards), Some(v(1, 82))),
            ("POST", "/v1/continue_inspection", Some(P::ContinueInspection), Some(v(1, 84))),
            ("GET", "/v1/runbooks/r", Some(P::Runbooks), Some(v(1, 92))),
            ("PUT", "/v1/runbooks/r/traits/CUSTOM_A", Some(P::RunbookTraits), Some(v(1, 112))),
            ("GET", "/v1/inspection_rules", Some(P::InspectionRules), Some(v(1, 96))),
            ("GET", "/v1/volume/targets", Some(P::Volume), Some(v(1, 32))),
            ("GET", "/v1/chassis/c/nodes", Some(P::Chassis), Some(v(1, 1))),
            ("GET", "/v1/", None, None),
            ("GET", "/", None, None),
            ("GET", "/v1/bogus", None, None),
            ("GET", "/v2/nodes", None, None),
        ];
        for (method, path, endpoint, since) in cases {
            assert_eq!(endpoint_for_path(method, path), *endpoint, "{method} {path}");
            assert_eq!(endpoint_min_version(method, path), *since, "{method} {path}");
        }
    }
}
