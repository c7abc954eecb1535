//! Which JSON field of which resource appears at which microversion.
//!
//! One table per resource, in the order Ironic writes the fields (so a renderer
//! walking the table reproduces Ironic's key order), each field with the version it
//! appears at. Sources: `VERSIONED_FIELDS` and the `hide_fields_in_newer_versions`
//! functions of Ironic's API controllers; the 1.115 node shape is checked against
//! the live transcript `13-node-create` in this crate's tests.
//!
//! Link-valued keys (`links`, `ports`, `states`, ...) are rendered by the gateway;
//! they are listed separately in [`Resource::link_fields`].

use super::Version;
use super::known as k;

/// A resource whose JSON shape depends on the microversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// `/v1/nodes`.
    Node,
    /// `/v1/ports`.
    Port,
    /// `/v1/portgroups` (1.23).
    Portgroup,
    /// `/v1/chassis`.
    Chassis,
    /// `/v1/conductors` (1.49).
    Conductor,
    /// `/v1/allocations` (1.52).
    Allocation,
    /// `/v1/deploy_templates` (1.55).
    DeployTemplate,
    /// `/v1/runbooks` (1.92).
    Runbook,
    /// `/v1/volume/connectors` (1.32).
    VolumeConnector,
    /// `/v1/volume/targets` (1.32).
    VolumeTarget,
    /// `/v1/nodes/{node}/history` (1.78).
    NodeHistory,
    /// `/v1/inspection_rules` (1.96).
    InspectionRule,
}

/// A field and the version it appears at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The JSON key.
    pub name: &'static str,
    /// The first version whose responses carry it.
    pub since: Version,
}

const fn f(name: &'static str, since: Version) -> Field {
    Field { name, since }
}

const V1: Version = k::INITIAL_VERSION;

/// Node fields in Ironic's key order (a 1.115 GET has these 64 plus 5 link keys).
const NODE: &[Field] = &[
    f("uuid", V1),
    f("created_at", V1),
    f("updated_at", V1),
    f("automated_clean", k::NODE_AUTOMATED_CLEAN),
    f("bios_interface", k::BIOS_INTERFACE),
    f("boot_interface", k::DYNAMIC_INTERFACES),
    f("boot_mode", k::NODE_BOOT_MODE),
    f("clean_step", k::NODE_CLEAN),
    f("conductor_group", k::NODE_CONDUCTOR_GROUP),
    f("console_enabled", V1),
    f("console_interface", k::DYNAMIC_INTERFACES),
    f("disable_power_off", k::DISABLE_POWER_OFF),
    f("deploy_interface", k::DYNAMIC_INTERFACES),
    f("deploy_step", k::NODE_DEPLOY_STEP),
    f("description", k::NODE_DESCRIPTION),
    f("driver", V1),
    f("driver_info", V1),
    f("driver_internal_info", k::DRIVER_INTERNAL_INFO),
    f("extra", V1),
    f("fault", k::FAULT),
    f("firmware_interface", k::FIRMWARE_INTERFACE),
    f("health", k::NODE_HEALTH),
    f("inspection_finished_at", k::INSPECT_STATE),
    f("inspection_started_at", k::INSPECT_STATE),
    f("inspect_interface", k::DYNAMIC_INTERFACES),
    f("instance_info", V1),
    f("instance_name", k::NODE_INSTANCE_NAME),
    f("instance_uuid", V1),
    f("last_error", V1),
    f("lessee", k::NODE_LESSEE),
    f("maintenance", V1),
    f("maintenance_reason", V1),
    f("management_interface", k::DYNAMIC_INTERFACES),
    f("name", k::NODE_NAME),
    f("network_data", k::NODE_NETWORK_DATA),
    f("network_interface", k::NETWORK_INTERFACE),
    f("owner", k::NODE_OWNER),
    f("parent_node", k::PARENT_CHILD_NODES),
    f("power_interface", k::DYNAMIC_INTERFACES),
    f("power_state", V1),
    f("properties", V1),
    f("protected", k::NODE_PROTECTED),
    f("protected_reason", k::NODE_PROTECTED),
    f("provision_state", V1),
    f("provision_updated_at", V1),
    f("raid_config", k::RAID_CONFIG),
    f("raid_interface", k::DYNAMIC_INTERFACES),
    f("rescue_interface", k::RESCUE_INTERFACE),
    f("reservation", V1),
    f("resource_class", k::RESOURCE_CLASS),
    f("retired", k::NODE_RETIRED),
    f("retired_reason", k::NODE_RETIRED),
    f("secure_boot", k::NODE_BOOT_MODE),
    f("service_step", k::SERVICE),
    f("shard", k::NODE_SHARD),
    f("storage_interface", k::STORAGE_INTERFACE),
    f("target_power_state", V1),
    f("target_provision_state", V1),
    f("target_raid_config", k::RAID_CONFIG),
    f("traits", k::NODE_TRAITS),
    f("vendor_interface", k::DYNAMIC_INTERFACES),
    f("conductor", k::CONDUCTORS),
    f("allocation_uuid", k::ALLOCATION),
    f("chassis_uuid", V1),
];

const NODE_LINKS: &[Field] = &[
    f("links", V1),
    f("ports", V1),
    f("states", k::LINKS_NODESTATES_DRIVERPROPERTIES),
    f("portgroups", k::PORTGROUPS_SUBCONTROLLERS),
    f("volume", k::VOLUME),
];

/// Port fields in Ironic's key order (transcript `49-port-create`).
const PORT: &[Field] = &[
    f("uuid", V1),
    f("created_at", V1),
    f("updated_at", V1),
    f("address", V1),
    f("extra", V1),
    f("internal_info", k::PORT_INTERNAL_INFO),
    f("is_smartnic", k::PORT_SMARTNIC),
    f("local_link_connection", k::PORT_ADVANCED_NET_FIELDS),
    f("physical_network", k::PORT_PHYSICAL_NETWORK),
    f("pxe_enabled", k::PORT_ADVANCED_NET_FIELDS),
    f("node_uuid", V1),
    f("name", k::PORT_NAME),
    f("description", k::PORT_DESCRIPTION),
    f("vendor", k::PORT_VENDOR),
    f("category", k::PORT_CATEGORY),
    f("available_for_dynamic_portgroup", k::DYNAMIC_PORTGROUP),
    f("portgroup_uuid", k::PORTGROUPS_SUBCONTROLLERS),
];

const PG: Version = k::PORTGROUPS;

/// Portgroup fields in Ironic's key order.
const PORTGROUP: &[Field] = &[
    f("uuid", PG),
    f("created_at", PG),
    f("updated_at", PG),
    f("address", PG),
    f("extra", PG),
    f("internal_info", PG),
    f("mode", k::PORTGROUP_MODE_PROPERTIES),
    f("name", PG),
    f("properties", k::PORTGROUP_MODE_PROPERTIES),
    f("standalone_ports_supported", PG),
    f("node_uuid", PG),
    f("physical_network", k::PORTGROUP_PHYSICAL_NETWORK),
    f("category", k::PORTGROUP_CATEGORY),
    f("dynamic_portgroup", k::DYNAMIC_PORTGROUP),
];

const PORTGROUP_LINKS: &[Field] = &[f("links", PG), f("ports", PG)];

const CHASSIS: &[Field] =
    &[f("uuid", V1), f("created_at", V1), f("updated_at", V1), f("description", V1), f("extra", V1)];

const CHASSIS_LINKS: &[Field] = &[f("links", V1), f("nodes", V1)];

const C: Version = k::CONDUCTORS;

/// Conductor fields in Ironic's key order (transcript `11-conductor-detail`); it
/// has no UUID and is addressed by hostname.
const CONDUCTOR: &[Field] = &[
    f("created_at", C),
    f("updated_at", C),
    f("hostname", C),
    f("conductor_group", C),
    f("drivers", C),
    f("alive", C),
];

const A: Version = k::ALLOCATION;

/// Allocation fields in Ironic's key order (`links` sits before `node_uuid`).
const ALLOCATION: &[Field] = &[
    f("uuid", A),
    f("created_at", A),
    f("updated_at", A),
    f("candidate_nodes", A),
    f("extra", A),
    f("last_error", A),
    f("name", A),
    f("owner", k::ALLOCATION_OWNER),
    f("resource_class", A),
    f("state", A),
    f("traits", A),
    f("node_uuid", A),
];

const DT: Version = k::DEPLOY_TEMPLATES;

const DEPLOY_TEMPLATE: &[Field] =
    &[f("uuid", DT), f("created_at", DT), f("updated_at", DT), f("name", DT), f("extra", DT), f("steps", DT)];

const RB: Version = k::RUNBOOKS;

/// Runbook fields; `description` and `traits` arrived with 1.112.
const RUNBOOK: &[Field] = &[
    f("uuid", RB),
    f("created_at", RB),
    f("updated_at", RB),
    f("name", RB),
    f("extra", RB),
    f("public", RB),
    f("owner", RB),
    f("disable_ramdisk", RB),
    f("description", k::RUNBOOK_TRAITS),
    f("steps", RB),
    f("traits", k::RUNBOOK_TRAITS),
];

const VOL: Version = k::VOLUME;

const VOLUME_CONNECTOR: &[Field] = &[
    f("uuid", VOL),
    f("created_at", VOL),
    f("updated_at", VOL),
    f("connector_id", VOL),
    f("extra", VOL),
    f("type", VOL),
    f("node_uuid", VOL),
];

const VOLUME_TARGET: &[Field] = &[
    f("uuid", VOL),
    f("created_at", VOL),
    f("updated_at", VOL),
    f("boot_index", VOL),
    f("extra", VOL),
    f("properties", VOL),
    f("volume_id", VOL),
    f("volume_type", VOL),
    f("node_uuid", VOL),
];

const H: Version = k::NODE_HISTORY;

/// History event fields (the detailed form; see [`Resource::default_list_fields`]).
const NODE_HISTORY: &[Field] = &[
    f("uuid", H),
    f("created_at", H),
    f("severity", H),
    f("event_type", H),
    f("event", H),
    f("conductor", H),
    f("user", H),
    f("project", k::NODE_HISTORY_PROJECT),
    f("state", k::NODE_HISTORY_FIELDS),
    f("target_provision_state", k::NODE_HISTORY_FIELDS),
    f("duration_seconds", k::NODE_HISTORY_FIELDS),
];

const IR: Version = k::INSPECTION_RULES;

/// Inspection rule fields (`conditions` and `actions` are null when sensitive).
const INSPECTION_RULE: &[Field] = &[
    f("uuid", IR),
    f("created_at", IR),
    f("updated_at", IR),
    f("description", IR),
    f("phase", IR),
    f("priority", IR),
    f("sensitive", IR),
    f("conditions", IR),
    f("actions", IR),
];

const LINKS_ONLY_V1: &[Field] = &[f("links", V1)];

impl Resource {
    /// Every resource, for exhaustive tests.
    pub const ALL: &'static [Resource] = &[
        Resource::Node,
        Resource::Port,
        Resource::Portgroup,
        Resource::Chassis,
        Resource::Conductor,
        Resource::Allocation,
        Resource::DeployTemplate,
        Resource::Runbook,
        Resource::VolumeConnector,
        Resource::VolumeTarget,
        Resource::NodeHistory,
        Resource::InspectionRule,
    ];

    /// The version the resource's endpoints appear at.
    pub fn since(self) -> Version {
        match self {
            Self::Node | Self::Port | Self::Chassis => V1,
            Self::Portgroup => PG,
            Self::Conductor => C,
            Self::Allocation => A,
            Self::DeployTemplate => DT,
            Self::Runbook => RB,
            Self::VolumeConnector | Self::VolumeTarget => VOL,
            Self::NodeHistory => H,
            Self::InspectionRule => IR,
        }
    }

    /// Data fields in Ironic's key order, each with its version.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Self::Node => NODE,
            Self::Port => PORT,
            Self::Portgroup => PORTGROUP,
            Self::Chassis => CHASSIS,
            Self::Conductor => CONDUCTOR,
            Self::Allocation => ALLOCATION,
            Self::DeployTemplate => DEPLOY_TEMPLATE,
            Self::Runbook => RUNBOOK,
            Self::VolumeConnector => VOLUME_CONNECTOR,
            Self::VolumeTarget => VOLUME_TARGET,
            Self::NodeHistory => NODE_HISTORY,
            Self::InspectionRule => INSPECTION_RULE,
        }
    }

    /// Link-valued keys the gateway renders, each with its version.
    pub fn link_fields(self) -> &'static [Field] {
        match self {
            Self::Node => NODE_LINKS,
            Self::Portgroup => PORTGROUP_LINKS,
            Self::Chassis => CHASSIS_LINKS,
            _ => LINKS_ONLY_V1,
        }
    }

    /// The fields a plain list (no `detail`, no `fields`) returns, or `None` when a
    /// list returns whole records (allocations).
    pub fn default_list_fields(self) -> Option<&'static [&'static str]> {
        Some(match self {
            Self::Node => &["instance_uuid", "maintenance", "power_state", "provision_state", "uuid", "name"],
            Self::Port => &["uuid", "address"],
            Self::Portgroup => &["uuid", "address", "name"],
            Self::Chassis => &["uuid", "description"],
            Self::Conductor => &["hostname", "conductor_group", "alive"],
            Self::DeployTemplate | Self::Runbook => &["uuid", "name"],
            Self::VolumeConnector => &["uuid", "node_uuid", "type", "connector_id"],
            Self::VolumeTarget => &["uuid", "node_uuid", "volume_type", "boot_index", "volume_id"],
            Self::NodeHistory => &["uuid", "created_at", "severity", "event"],
            Self::InspectionRule => &["uuid", "description", "phase", "priority", "sensitive"],
            Self::Allocation => return None,
        })
    }
}

/// The version `field` of `resource` appears at, or `None` if Ironic has no such
/// field (the gateway answers `fields=bogus` with 400).
pub fn field_min_version(resource: Resource, field: &str) -> Option<Version> {
    resource.fields().iter().find(|f| f.name == field).map(|f| f.since)
}

/// The data fields of `resource` a client speaking `version` sees, in Ironic's order.
pub fn fields_visible(resource: Resource, version: Version) -> impl Iterator<Item = &'static str> {
    resource.fields().iter().filter(move |f| version >= f.since).map(|f| f.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_resource_lists_a_field_twice() {
        for resource in Resource::ALL {
            let fields = resource.fields();
            for (i, a) in fields.iter().enumerate() {
                assert!(!fields[i + 1..].iter().any(|b| b.name == a.name), "{resource:?}.{}", a.name);
                assert!(a.since >= resource.since(), "{resource:?}.{} before its resource", a.name);
            }
            if let Some(defaults) = resource.default_list_fields() {
                for name in defaults {
                    assert!(field_min_version(*resource, name).is_some(), "{resource:?}.{name}");
                }
            }
        }
    }

    #[test]
    fn brief_examples() {
        let v = Version::new;
        let node = |name| field_min_version(Resource::Node, name);
        assert_eq!(node("fault"), Some(v(1, 42)));
        assert_eq!(node("driver_internal_info"), Some(v(1, 3)));
        assert_eq!(node("storage_interface"), Some(v(1, 33)));
        assert_eq!(node("health"), Some(v(1, 109)));
        assert_eq!(node("bogus"), None);
        assert_eq!(field_min_version(Resource::Port, "category"), Some(v(1, 101)));
        assert_eq!(field_min_version(Resource::Portgroup, "mode"), Some(v(1, 26)));
        assert_eq!(field_min_version(Resource::Allocation, "owner"), Some(v(1, 60)));
        assert_eq!(field_min_version(Resource::NodeHistory, "duration_seconds"), Some(v(1, 115)));
    }

    #[test]
    fn node_fields_match_the_reference_history() {
        // Each pair is a field and the version microversions.txt / features.md
        // give for it.
        let v = Version::new;
        let cases = [
            ("uuid", v(1, 1)),
            ("chassis_uuid", v(1, 1)),
            ("driver_internal_info", v(1, 3)),
            ("name", v(1, 5)),
            ("inspection_started_at", v(1, 6)),
            ("inspection_finished_at", v(1, 6)),
            ("clean_step", v(1, 7)),
            ("raid_config", v(1, 12)),
            ("target_raid_config", v(1, 12)),
            ("network_interface", v(1, 20)),
            ("resource_class", v(1, 21)),
            ("boot_interface", v(1, 31)),
            ("vendor_interface", v(1, 31)),
            ("storage_interface", v(1, 33)),
            ("traits", v(1, 37)),
            ("rescue_interface", v(1, 38)),
            ("bios_interface", v(1, 40)),
            ("fault", v(1, 42)),
            ("deploy_step", v(1, 44)),
            ("conductor_group", v(1, 46)),
            ("automated_clean", v(1, 47)),
            ("protected", v(1, 48)),
            ("protected_reason", v(1, 48)),
            ("conductor", v(1, 49)),
            ("owner", v(1, 50)),
            ("description", v(1, 51)),
            ("allocation_uuid", v(1, 52)),
            ("retired", v(1, 61)),
            ("retired_reason", v(1, 61)),
            ("lessee", v(1, 65)),
            ("network_data", v(1, 66)),
            ("boot_mode", v(1, 75)),
            ("secure_boot", v(1, 75)),
            ("shard", v(1, 82)),
            ("parent_node", v(1, 83)),
            ("firmware_interface", v(1, 86)),
            ("service_step", v(1, 87)),
            ("disable_power_off", v(1, 95)),
            ("instance_name", v(1, 104)),
            ("health", v(1, 109)),
        ];
        for (field, since) in cases {
            assert_eq!(field_min_version(Resource::Node, field), Some(since), "node.{field}");
            assert!(fields_visible(Resource::Node, since).any(|f| f == field), "node.{field} at {since}");
            let before = Version::new(1, since.minor - 1);
            assert!(!fields_visible(Resource::Node, before).any(|f| f == field), "node.{field} at {before}");
        }
    }

    #[test]
    fn other_resources_match_the_reference_history() {
        let v = Version::new;
        let cases = [
            (Resource::Port, "internal_info", v(1, 18)),
            (Resource::Port, "local_link_connection", v(1, 19)),
            (Resource::Port, "pxe_enabled", v(1, 19)),
            (Resource::Port, "portgroup_uuid", v(1, 24)),
            (Resource::Port, "physical_network", v(1, 34)),
            (Resource::Port, "is_smartnic", v(1, 53)),
            (Resource::Port, "name", v(1, 88)),
            (Resource::Port, "description", v(1, 97)),
            (Resource::Port, "vendor", v(1, 100)),
            (Resource::Port, "available_for_dynamic_portgroup", v(1, 111)),
            (Resource::Portgroup, "properties", v(1, 26)),
            (Resource::Portgroup, "physical_network", v(1, 102)),
            (Resource::Portgroup, "category", v(1, 103)),
            (Resource::Portgroup, "dynamic_portgroup", v(1, 111)),
            (Resource::Runbook, "traits", v(1, 112)),
            (Resource::Runbook, "description", v(1, 112)),
            (Resource::NodeHistory, "project", v(1, 113)),
            (Resource::NodeHistory, "state", v(1, 115)),
            (Resource::VolumeTarget, "boot_index", v(1, 32)),
            (Resource::Conductor, "alive", v(1, 49)),
            (Resource::DeployTemplate, "steps", v(1, 55)),
        ];
        for (resource, field, since) in cases {
            assert_eq!(field_min_version(resource, field), Some(since), "{resource:?}.{field}");
        }
    }

    #[test]
    fn node_shape_at_old_versions() {
        let v = Version::new;
        let at_1_1: Vec<_> = fields_visible(Resource::Node, v(1, 1)).collect();
        // features.md: "Always present (1.1)", minus the link keys.
        let mut always = vec![
            "uuid",
            "chassis_uuid",
            "instance_uuid",
            "driver",
            "driver_info",
            "instance_info",
            "properties",
            "extra",
            "power_state",
            "target_power_state",
            "provision_state",
            "target_provision_state",
            "provision_updated_at",
            "maintenance",
            "maintenance_reason",
            "console_enabled",
            "last_error",
            "reservation",
            "created_at",
            "updated_at",
        ];
        always.sort_unstable();
        let mut sorted = at_1_1.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, always);
        assert!(!at_1_1.contains(&"name") && !at_1_1.contains(&"driver_internal_info"));
        // A 1.115 GET has 69 keys: 64 data fields and 5 link keys.
        assert_eq!(fields_visible(Resource::Node, k::MAX).count(), 64);
        assert_eq!(Resource::Node.link_fields().len(), 5);
    }
}
