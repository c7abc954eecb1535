//! Every microversion Ironic defines, by the name Ironic gives it.
//!
//! The names are Ironic's `MINOR_<n>_<NAME>` constants from
//! `ironic/api/controllers/v1/versions.py` without the prefix, so a reader can grep
//! Ironic for the same word. [`HISTORY`] keeps each version's one-line change note
//! (from Ironic's version history) for documents and tests.

use super::Version;

/// 1.0: the Juno API, never served since Kilo; below [`INITIAL_VERSION`].
pub const JUNO: Version = Version::new(1, 0);

/// 1.1: API at the point in time when versioning support was added (Kilo)
pub const INITIAL_VERSION: Version = Version::new(1, 1);
/// 1.2: Renamed NOSTATE ("None") to AVAILABLE ("available")
pub const AVAILABLE_STATE: Version = Version::new(1, 2);
/// 1.3: Add node.driver_internal_info
pub const DRIVER_INTERNAL_INFO: Version = Version::new(1, 3);
/// 1.4: Add MANAGEABLE state
pub const MANAGEABLE_STATE: Version = Version::new(1, 4);
/// 1.5: Add logical node names
pub const NODE_NAME: Version = Version::new(1, 5);
/// 1.6: Add INSPECT* states
pub const INSPECT_STATE: Version = Version::new(1, 6);
/// 1.7: Add node.clean_step
pub const NODE_CLEAN: Version = Version::new(1, 7);
/// 1.8: Add ability to return a subset of resource fields
pub const FETCHING_SUBSET_OF_FIELDS: Version = Version::new(1, 8);
/// 1.9: Add ability to filter nodes by provision state
pub const PROVISION_STATE_FILTER: Version = Version::new(1, 9);
/// 1.10: Logical node names support RFC 3986 unreserved characters
pub const UNRESTRICTED_NODE_NAME: Version = Version::new(1, 10);
/// 1.11: Nodes appear in ENROLL state by default
pub const ENROLL_STATE: Version = Version::new(1, 11);
/// 1.12: Add support for RAID
pub const RAID_CONFIG: Version = Version::new(1, 12);
/// 1.13: Add 'abort' verb to CLEANWAIT
pub const ABORT_VERB: Version = Version::new(1, 13);
/// 1.14: Make the following endpoints discoverable via API: 1. `/v1/nodes/<uuid>/states` 2. `/v1/drivers/<driver-name>/properties`
pub const LINKS_NODESTATES_DRIVERPROPERTIES: Version = Version::new(1, 14);
/// 1.15: Add ability to do manual cleaning of nodes
pub const MANUAL_CLEAN: Version = Version::new(1, 15);
/// 1.16: Add ability to filter nodes by driver.
pub const DRIVER_FILTER: Version = Version::new(1, 16);
/// 1.17: Add 'adopt' verb for ADOPTING active nodes.
pub const ADOPT_VERB: Version = Version::new(1, 17);
/// 1.18: Add port.internal_info.
pub const PORT_INTERNAL_INFO: Version = Version::new(1, 18);
/// 1.19: Add port.local_link_connection and port.pxe_enabled.
pub const PORT_ADVANCED_NET_FIELDS: Version = Version::new(1, 19);
/// 1.20: Add node.network_interface
pub const NETWORK_INTERFACE: Version = Version::new(1, 20);
/// 1.21: Add node.resource_class
pub const RESOURCE_CLASS: Version = Version::new(1, 21);
/// 1.22: Ramdisk lookup and heartbeat endpoints.
pub const LOOKUP_HEARTBEAT: Version = Version::new(1, 22);
/// 1.23: Add portgroup support.
pub const PORTGROUPS: Version = Version::new(1, 23);
/// 1.24: Add subcontrollers: node.portgroup, portgroup.ports. Add port.portgroup_uuid field.
pub const PORTGROUPS_SUBCONTROLLERS: Version = Version::new(1, 24);
/// 1.25: Add possibility to unset chassis_uuid from node.
pub const UNSET_CHASSIS_UUID: Version = Version::new(1, 25);
/// 1.26: Add portgroup.mode and portgroup.properties.
pub const PORTGROUP_MODE_PROPERTIES: Version = Version::new(1, 26);
/// 1.27: Add soft reboot, soft power off and timeout.
pub const SOFT_POWER_OFF: Version = Version::new(1, 27);
/// 1.28: Add vifs subcontroller to node
pub const VIFS_SUBCONTROLLER: Version = Version::new(1, 28);
/// 1.29: Add inject nmi.
pub const INJECT_NMI: Version = Version::new(1, 29);
/// 1.30: Add dynamic driver interactions.
pub const DYNAMIC_DRIVERS: Version = Version::new(1, 30);
/// 1.31: Add dynamic interfaces fields to node.
pub const DYNAMIC_INTERFACES: Version = Version::new(1, 31);
/// 1.32: Add volume support.
pub const VOLUME: Version = Version::new(1, 32);
/// 1.33: Add node storage interface
pub const STORAGE_INTERFACE: Version = Version::new(1, 33);
/// 1.34: Add physical network field to port.
pub const PORT_PHYSICAL_NETWORK: Version = Version::new(1, 34);
/// 1.35: Add ability to provide configdrive when rebuilding node.
pub const REBUILD_CONFIG_DRIVE: Version = Version::new(1, 35);
/// 1.36: Add Ironic Python Agent version support.
pub const AGENT_VERSION_HEARTBEAT: Version = Version::new(1, 36);
/// 1.37: Add node traits.
pub const NODE_TRAITS: Version = Version::new(1, 37);
/// 1.38: Add rescue and unrescue provision states
pub const RESCUE_INTERFACE: Version = Version::new(1, 38);
/// 1.39: Add inspect wait provision state.
pub const INSPECT_WAIT: Version = Version::new(1, 39);
/// 1.40: Add bios.properties. Add bios_interface to the node object.
pub const BIOS_INTERFACE: Version = Version::new(1, 40);
/// 1.41: Add inspection abort support.
pub const INSPECTION_ABORT: Version = Version::new(1, 41);
/// 1.42: Expose fault field to node.
pub const FAULT: Version = Version::new(1, 42);
/// 1.43: Add detail=True flag to all API endpoints
pub const ENABLE_DETAIL_QUERY: Version = Version::new(1, 43);
/// 1.44: Add node deploy_step field
pub const NODE_DEPLOY_STEP: Version = Version::new(1, 44);
/// 1.45: reset_interfaces parameter to node's PATCH
pub const RESET_INTERFACES: Version = Version::new(1, 45);
/// 1.46: Add conductor_group to the node object.
pub const NODE_CONDUCTOR_GROUP: Version = Version::new(1, 46);
/// 1.47: Add automated_clean to the node object.
pub const NODE_AUTOMATED_CLEAN: Version = Version::new(1, 47);
/// 1.48: Add protected to the node object.
pub const NODE_PROTECTED: Version = Version::new(1, 48);
/// 1.49: Add conductor to the node object and /v1/conductors.
pub const CONDUCTORS: Version = Version::new(1, 49);
/// 1.50: Add owner to the node object.
pub const NODE_OWNER: Version = Version::new(1, 50);
/// 1.51: Add description to the node object.
pub const NODE_DESCRIPTION: Version = Version::new(1, 51);
/// 1.52: Add allocation API.
pub const ALLOCATION: Version = Version::new(1, 52);
/// 1.53: Add support for Smart NIC port
pub const PORT_SMARTNIC: Version = Version::new(1, 53);
/// 1.54: Add events support.
pub const EVENTS: Version = Version::new(1, 54);
/// 1.55: Add deploy templates API.
pub const DEPLOY_TEMPLATES: Version = Version::new(1, 55);
/// 1.56: Add support for building configdrives.
pub const BUILD_CONFIGDRIVE: Version = Version::new(1, 56);
/// 1.57: Add support for updating an existing allocation.
pub const ALLOCATION_UPDATE: Version = Version::new(1, 57);
/// 1.58: Add support for backfilling allocations.
pub const ALLOCATION_BACKFILL: Version = Version::new(1, 58);
/// 1.59: Add support vendor data in configdrives.
pub const CONFIGDRIVE_VENDOR_DATA: Version = Version::new(1, 59);
/// 1.60: Add owner to the allocation object.
pub const ALLOCATION_OWNER: Version = Version::new(1, 60);
/// 1.61: Add retired and retired_reason to the node object.
pub const NODE_RETIRED: Version = Version::new(1, 61);
/// 1.62: Add agent_token support for agent communication.
pub const AGENT_TOKEN: Version = Version::new(1, 62);
/// 1.63: Add support for indicators
pub const INDICATORS: Version = Version::new(1, 63);
/// 1.64: Add network_type to port.local_link_connection
pub const LOCAL_LINK_CONNECTION_NETWORK_TYPE: Version = Version::new(1, 64);
/// 1.65: Add lessee to the node object.
pub const NODE_LESSEE: Version = Version::new(1, 65);
/// 1.66: Add support for node network_data field.
pub const NODE_NETWORK_DATA: Version = Version::new(1, 66);
/// 1.67: Add support for port_uuid/portgroup_uuid in node vif_attach
pub const NODE_VIF_ATTACH_PORT: Version = Version::new(1, 67);
/// 1.68: Add agent_verify_ca to heartbeat.
pub const HEARTBEAT_VERIFY_CA: Version = Version::new(1, 68);
/// 1.69: Add deploy_steps to provisioning
pub const DEPLOY_STEPS: Version = Version::new(1, 69);
/// 1.70: Add disable_ramdisk to manual cleaning.
pub const CLEAN_DISABLE_RAMDISK: Version = Version::new(1, 70);
/// 1.71: Add signifier for Scope based roles.
pub const RBAC_SCOPES: Version = Version::new(1, 71);
/// 1.72: Add agent_status and agent_status_message to /v1/heartbeat
pub const HEARTBEAT_STATUS: Version = Version::new(1, 72);
/// 1.73: Add support for deploy and undeploy verbs
pub const DEPLOY_UNDEPLOY_VERBS: Version = Version::new(1, 73);
/// 1.74: Add bios registry to /v1/nodes/{node}/bios/{setting}
pub const BIOS_REGISTRY: Version = Version::new(1, 74);
/// 1.75: Add boot_mode, secure_boot fields to node object.
pub const NODE_BOOT_MODE: Version = Version::new(1, 75);
/// 1.76: Add support for changing boot_mode and secure_boot state
pub const NODE_CHANGE_BOOT_MODE: Version = Version::new(1, 76);
/// 1.77: Add fields selector to drivers list and driver detail.
pub const DRIVER_FIELDS_SELECTOR: Version = Version::new(1, 77);
/// 1.78: Add node history endpoint
pub const NODE_HISTORY: Version = Version::new(1, 78);
/// 1.79: Change allocation behaviour to prefer node name match
pub const ALLOCATION_NODE_NAME: Version = Version::new(1, 79);
/// 1.80: Marker to represent self service node creation/deletion
pub const PROJECT_CREATE_DELETE_NODE: Version = Version::new(1, 80);
/// 1.81: Add node inventory
pub const NODE_INVENTORY: Version = Version::new(1, 81);
/// 1.82: Add node sharding capability
pub const NODE_SHARD: Version = Version::new(1, 82);
/// 1.83: Add child node modeling
pub const PARENT_CHILD_NODES: Version = Version::new(1, 83);
/// 1.84: Add ramdisk callback to continue inspection.
pub const CONTINUE_INSPECTION: Version = Version::new(1, 84);
/// 1.85: Add unhold verb
pub const UNHOLD_VERB: Version = Version::new(1, 85);
/// 1.86: Add firmware interface
pub const FIRMWARE_INTERFACE: Version = Version::new(1, 86);
/// 1.87: Add service verb
pub const SERVICE: Version = Version::new(1, 87);
/// 1.88: Add name field to port.
pub const PORT_NAME: Version = Version::new(1, 88);
/// 1.89: Add API for attaching/detaching virtual media
pub const ATTACH_DETACH_VMEDIA: Version = Version::new(1, 89);
/// 1.90: Accept ovn vtep switch metadata schema to port.local_link_connection
pub const OVN_VTEP: Version = Version::new(1, 90);
/// 1.91: Remove special treatment of .json for API objects
pub const DOT_JSON: Version = Version::new(1, 91);
/// 1.92: Add runbooks API
pub const RUNBOOKS: Version = Version::new(1, 92);
/// 1.93: Add GET API for virtual media
pub const GET_VMEDIA: Version = Version::new(1, 93);
/// 1.94: Add node name support for port creation
pub const PORT_NODENAME: Version = Version::new(1, 94);
/// 1.95: Add node support for disable_power_off
pub const DISABLE_POWER_OFF: Version = Version::new(1, 95);
/// 1.96: Migrate inspection rules from Inspector
pub const INSPECTION_RULES: Version = Version::new(1, 96);
/// 1.97: Add description field to port.
pub const PORT_DESCRIPTION: Version = Version::new(1, 97);
/// 1.98: Add support for object attributes with keys containing ~ or /.
pub const SUPPORT_SPECIAL_CHAR_IN_ATTRIBUTES: Version = Version::new(1, 98);
/// 1.99: Add conductor group filtering to port and portgroup list
pub const PORT_PORTGROUP_CONDUCTOR_GROUP_FILTER: Version = Version::new(1, 99);
/// 1.100: Add vendor field to port.
pub const PORT_VENDOR: Version = Version::new(1, 100);
/// 1.101: Add category field to port.
pub const PORT_CATEGORY: Version = Version::new(1, 101);
/// 1.102: Add physical_network field to portgroup.
pub const PORTGROUP_PHYSICAL_NETWORK: Version = Version::new(1, 102);
/// 1.103: Add category field to portgroup
pub const PORTGROUP_CATEGORY: Version = Version::new(1, 103);
/// 1.104: Add instance_name to node
pub const NODE_INSTANCE_NAME: Version = Version::new(1, 104);
/// 1.105: Remove broken ovn vtep metadata support
pub const REMOVE_OVN_VTEP: Version = Version::new(1, 105);
/// 1.106: Add shard filtering support for portgroups
pub const PORTGROUP_SHARD: Version = Version::new(1, 106);
/// 1.107: Add X-OpenStack-Request-Id header.
pub const X_OPENSTACK_REQUEST_ID: Version = Version::new(1, 107);
/// 1.108: Add disable_ramdisk support for servicing
pub const SERVICE_DISABLE_RAMDISK: Version = Version::new(1, 108);
/// 1.109: Add health field to node object.
pub const NODE_HEALTH: Version = Version::new(1, 109);
/// 1.110: Add support for aborting deployment in DEPLOYWAIT state
pub const DEPLOYWAIT_ABORT: Version = Version::new(1, 110);
/// 1.111: Add available_for_dynamic_portgroup to port, dynamic_portgroup to portgroup
pub const DYNAMIC_PORTGROUP: Version = Version::new(1, 111);
/// 1.112: Add runbook traits: traits set on runbooks (replaces name-as-trait matching), relaxed runbook name validation, description field, and /v1/runbooks/{ident}/traits sub-resource endpoints.
pub const RUNBOOK_TRAITS: Version = Version::new(1, 112);
/// 1.113: Add project to node history.
pub const NODE_HISTORY_PROJECT: Version = Version::new(1, 113);
/// 1.114: Add vendor, model, serial_number to firmware component response.
pub const FIRMWARE_IDENTITY: Version = Version::new(1, 114);
/// 1.115: Add state, target_provision_state, and duration_seconds to node history.
pub const NODE_HISTORY_FIELDS: Version = Version::new(1, 115);

/// The oldest version Ironic serves, and what a request without a version gets.
pub const MIN: Version = INITIAL_VERSION;

/// The newest version Ironic defines (its `MINOR_MAX_VERSION`, 1.115 on the
/// reference server). A Ferric deployment serves a maximum it chooses, at most this.
pub const MAX: Version = NODE_HISTORY_FIELDS;

/// One microversion: its number, Ironic's name for it, and what it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Microversion {
    /// The version.
    pub version: Version,
    /// Ironic's constant name without `MINOR_<n>_`.
    pub name: &'static str,
    /// Ironic's one-line change note.
    pub change: &'static str,
}

const fn mv(version: Version, name: &'static str, change: &'static str) -> Microversion {
    Microversion { version, name, change }
}

/// Every version from 1.1 to [`MAX`], in order.
pub const HISTORY: &[Microversion] = &[
    mv(
        INITIAL_VERSION,
        "INITIAL_VERSION",
        "API at the point in time when versioning support was added (Kilo)",
    ),
    mv(AVAILABLE_STATE, "AVAILABLE_STATE", "Renamed NOSTATE (\"None\") to AVAILABLE (\"available\")"),
    mv(DRIVER_INTERNAL_INFO, "DRIVER_INTERNAL_INFO", "Add node.driver_internal_info"),
    mv(MANAGEABLE_STATE, "MANAGEABLE_STATE", "Add MANAGEABLE state"),
    mv(NODE_NAME, "NODE_NAME", "Add logical node names"),
    mv(INSPECT_STATE, "INSPECT_STATE", "Add INSPECT* states"),
    mv(NODE_CLEAN, "NODE_CLEAN", "Add node.clean_step"),
    mv(
        FETCHING_SUBSET_OF_FIELDS,
        "FETCHING_SUBSET_OF_FIELDS",
        "Add ability to return a subset of resource fields",
    ),
    mv(PROVISION_STATE_FILTER, "PROVISION_STATE_FILTER", "Add ability to filter nodes by provision state"),
    mv(
        UNRESTRICTED_NODE_NAME,
        "UNRESTRICTED_NODE_NAME",
        "Logical node names support RFC 3986 unreserved characters",
    ),
    mv(ENROLL_STATE, "ENROLL_STATE", "Nodes appear in ENROLL state by default"),
    mv(RAID_CONFIG, "RAID_CONFIG", "Add support for RAID"),
    mv(ABORT_VERB, "ABORT_VERB", "Add 'abort' verb to CLEANWAIT"),
    mv(
        LINKS_NODESTATES_DRIVERPROPERTIES,
        "LINKS_NODESTATES_DRIVERPROPERTIES",
        "Make the following endpoints discoverable via API: 1. '/v1/nodes/<uuid>/states' 2. '/v1/drivers/<driver-name>/properties'",
    ),
    mv(MANUAL_CLEAN, "MANUAL_CLEAN", "Add ability to do manual cleaning of nodes"),
    mv(DRIVER_FILTER, "DRIVER_FILTER", "Add ability to filter nodes by driver."),
    mv(ADOPT_VERB, "ADOPT_VERB", "Add 'adopt' verb for ADOPTING active nodes."),
    mv(PORT_INTERNAL_INFO, "PORT_INTERNAL_INFO", "Add port.internal_info."),
    mv(
        PORT_ADVANCED_NET_FIELDS,
        "PORT_ADVANCED_NET_FIELDS",
        "Add port.local_link_connection and port.pxe_enabled.",
    ),
    mv(NETWORK_INTERFACE, "NETWORK_INTERFACE", "Add node.network_interface"),
    mv(RESOURCE_CLASS, "RESOURCE_CLASS", "Add node.resource_class"),
    mv(LOOKUP_HEARTBEAT, "LOOKUP_HEARTBEAT", "Ramdisk lookup and heartbeat endpoints."),
    mv(PORTGROUPS, "PORTGROUPS", "Add portgroup support."),
    mv(
        PORTGROUPS_SUBCONTROLLERS,
        "PORTGROUPS_SUBCONTROLLERS",
        "Add subcontrollers: node.portgroup, portgroup.ports. Add port.portgroup_uuid field.",
    ),
    mv(UNSET_CHASSIS_UUID, "UNSET_CHASSIS_UUID", "Add possibility to unset chassis_uuid from node."),
    mv(
        PORTGROUP_MODE_PROPERTIES,
        "PORTGROUP_MODE_PROPERTIES",
        "Add portgroup.mode and portgroup.properties.",
    ),
    mv(SOFT_POWER_OFF, "SOFT_POWER_OFF", "Add soft reboot, soft power off and timeout."),
    mv(VIFS_SUBCONTROLLER, "VIFS_SUBCONTROLLER", "Add vifs subcontroller to node"),
    mv(INJECT_NMI, "INJECT_NMI", "Add inject nmi."),
    mv(DYNAMIC_DRIVERS, "DYNAMIC_DRIVERS", "Add dynamic driver interactions."),
    mv(DYNAMIC_INTERFACES, "DYNAMIC_INTERFACES", "Add dynamic interfaces fields to node."),
    mv(VOLUME, "VOLUME", "Add volume support."),
    mv(STORAGE_INTERFACE, "STORAGE_INTERFACE", "Add node storage interface"),
    mv(PORT_PHYSICAL_NETWORK, "PORT_PHYSICAL_NETWORK", "Add physical network field to port."),
    mv(
        REBUILD_CONFIG_DRIVE,
        "REBUILD_CONFIG_DRIVE",
        "Add ability to provide configdrive when rebuilding node.",
    ),
    mv(AGENT_VERSION_HEARTBEAT, "AGENT_VERSION_HEARTBEAT", "Add Ironic Python Agent version support."),
    mv(NODE_TRAITS, "NODE_TRAITS", "Add node traits."),
    mv(RESCUE_INTERFACE, "RESCUE_INTERFACE", "Add rescue and unrescue provision states"),
    mv(INSPECT_WAIT, "INSPECT_WAIT", "Add inspect wait provision state."),
    mv(BIOS_INTERFACE, "BIOS_INTERFACE", "Add bios.properties. Add bios_interface to the node object."),
    mv(INSPECTION_ABORT, "INSPECTION_ABORT", "Add inspection abort support."),
    mv(FAULT, "FAULT", "Expose fault field to node."),
    mv(ENABLE_DETAIL_QUERY, "ENABLE_DETAIL_QUERY", "Add detail=True flag to all API endpoints"),
    mv(NODE_DEPLOY_STEP, "NODE_DEPLOY_STEP", "Add node deploy_step field"),
    mv(RESET_INTERFACES, "RESET_INTERFACES", "reset_interfaces parameter to node's PATCH"),
    mv(NODE_CONDUCTOR_GROUP, "NODE_CONDUCTOR_GROUP", "Add conductor_group to the node object."),
    mv(NODE_AUTOMATED_CLEAN, "NODE_AUTOMATED_CLEAN", "Add automated_clean to the node object."),
    mv(NODE_PROTECTED, "NODE_PROTECTED", "Add protected to the node object."),
    mv(CONDUCTORS, "CONDUCTORS", "Add conductor to the node object and /v1/conductors."),
    mv(NODE_OWNER, "NODE_OWNER", "Add owner to the node object."),
    mv(NODE_DESCRIPTION, "NODE_DESCRIPTION", "Add description to the node object."),
    mv(ALLOCATION, "ALLOCATION", "Add allocation API."),
    mv(PORT_SMARTNIC, "PORT_SMARTNIC", "Add support for Smart NIC port"),
    mv(EVENTS, "EVENTS", "Add events support."),
    mv(DEPLOY_TEMPLATES, "DEPLOY_TEMPLATES", "Add deploy templates API."),
    mv(BUILD_CONFIGDRIVE, "BUILD_CONFIGDRIVE", "Add support for building configdrives."),
    mv(ALLOCATION_UPDATE, "ALLOCATION_UPDATE", "Add support for updating an existing allocation."),
    mv(ALLOCATION_BACKFILL, "ALLOCATION_BACKFILL", "Add support for backfilling allocations."),
    mv(CONFIGDRIVE_VENDOR_DATA, "CONFIGDRIVE_VENDOR_DATA", "Add support vendor data in configdrives."),
    mv(ALLOCATION_OWNER, "ALLOCATION_OWNER", "Add owner to the allocation object."),
    mv(NODE_RETIRED, "NODE_RETIRED", "Add retired and retired_reason to the node object."),
    mv(AGENT_TOKEN, "AGENT_TOKEN", "Add agent_token support for agent communication."),
    mv(INDICATORS, "INDICATORS", "Add support for indicators"),
    mv(
        LOCAL_LINK_CONNECTION_NETWORK_TYPE,
        "LOCAL_LINK_CONNECTION_NETWORK_TYPE",
        "Add network_type to port.local_link_connection",
    ),
    mv(NODE_LESSEE, "NODE_LESSEE", "Add lessee to the node object."),
    mv(NODE_NETWORK_DATA, "NODE_NETWORK_DATA", "Add support for node network_data field."),
    mv(
        NODE_VIF_ATTACH_PORT,
        "NODE_VIF_ATTACH_PORT",
        "Add support for port_uuid/portgroup_uuid in node vif_attach",
    ),
    mv(HEARTBEAT_VERIFY_CA, "HEARTBEAT_VERIFY_CA", "Add agent_verify_ca to heartbeat."),
    mv(DEPLOY_STEPS, "DEPLOY_STEPS", "Add deploy_steps to provisioning"),
    mv(CLEAN_DISABLE_RAMDISK, "CLEAN_DISABLE_RAMDISK", "Add disable_ramdisk to manual cleaning."),
    mv(RBAC_SCOPES, "RBAC_SCOPES", "Add signifier for Scope based roles."),
    mv(HEARTBEAT_STATUS, "HEARTBEAT_STATUS", "Add agent_status and agent_status_message to /v1/heartbeat"),
    mv(DEPLOY_UNDEPLOY_VERBS, "DEPLOY_UNDEPLOY_VERBS", "Add support for deploy and undeploy verbs"),
    mv(BIOS_REGISTRY, "BIOS_REGISTRY", "Add bios registry to /v1/nodes/{node}/bios/{setting}"),
    mv(NODE_BOOT_MODE, "NODE_BOOT_MODE", "Add boot_mode, secure_boot fields to node object."),
    mv(
        NODE_CHANGE_BOOT_MODE,
        "NODE_CHANGE_BOOT_MODE",
        "Add support for changing boot_mode and secure_boot state",
    ),
    mv(
        DRIVER_FIELDS_SELECTOR,
        "DRIVER_FIELDS_SELECTOR",
        "Add fields selector to drivers list and driver detail.",
    ),
    mv(NODE_HISTORY, "NODE_HISTORY", "Add node history endpoint"),
    mv(ALLOCATION_NODE_NAME, "ALLOCATION_NODE_NAME", "Change allocation behaviour to prefer node name match"),
    mv(
        PROJECT_CREATE_DELETE_NODE,
        "PROJECT_CREATE_DELETE_NODE",
        "Marker to represent self service node creation/deletion",
    ),
    mv(NODE_INVENTORY, "NODE_INVENTORY", "Add node inventory"),
    mv(NODE_SHARD, "NODE_SHARD", "Add node sharding capability"),
    mv(PARENT_CHILD_NODES, "PARENT_CHILD_NODES", "Add child node modeling"),
    mv(CONTINUE_INSPECTION, "CONTINUE_INSPECTION", "Add ramdisk callback to continue inspection."),
    mv(UNHOLD_VERB, "UNHOLD_VERB", "Add unhold verb"),
    mv(FIRMWARE_INTERFACE, "FIRMWARE_INTERFACE", "Add firmware interface"),
    mv(SERVICE, "SERVICE", "Add service verb"),
    mv(PORT_NAME, "PORT_NAME", "Add name field to port."),
    mv(ATTACH_DETACH_VMEDIA, "ATTACH_DETACH_VMEDIA", "Add API for attaching/detaching virtual media"),
    mv(OVN_VTEP, "OVN_VTEP", "Accept ovn vtep switch metadata schema to port.local_link_connection"),
    mv(DOT_JSON, "DOT_JSON", "Remove special treatment of .json for API objects"),
    mv(RUNBOOKS, "RUNBOOKS", "Add runbooks API"),
    mv(GET_VMEDIA, "GET_VMEDIA", "Add GET API for virtual media"),
    mv(PORT_NODENAME, "PORT_NODENAME", "Add node name support for port creation"),
    mv(DISABLE_POWER_OFF, "DISABLE_POWER_OFF", "Add node support for disable_power_off"),
    mv(INSPECTION_RULES, "INSPECTION_RULES", "Migrate inspection rules from Inspector"),
    mv(PORT_DESCRIPTION, "PORT_DESCRIPTION", "Add description field to port."),
    mv(
        SUPPORT_SPECIAL_CHAR_IN_ATTRIBUTES,
        "SUPPORT_SPECIAL_CHAR_IN_ATTRIBUTES",
        "Add support for object attributes with keys containing ~ or /.",
    ),
    mv(
        PORT_PORTGROUP_CONDUCTOR_GROUP_FILTER,
        "PORT_PORTGROUP_CONDUCTOR_GROUP_FILTER",
        "Add conductor group filtering to port and portgroup list",
    ),
    mv(PORT_VENDOR, "PORT_VENDOR", "Add vendor field to port."),
    mv(PORT_CATEGORY, "PORT_CATEGORY", "Add category field to port."),
    mv(PORTGROUP_PHYSICAL_NETWORK, "PORTGROUP_PHYSICAL_NETWORK", "Add physical_network field to portgroup."),
    mv(PORTGROUP_CATEGORY, "PORTGROUP_CATEGORY", "Add category field to portgroup"),
    mv(NODE_INSTANCE_NAME, "NODE_INSTANCE_NAME", "Add instance_name to node"),
    mv(REMOVE_OVN_VTEP, "REMOVE_OVN_VTEP", "Remove broken ovn vtep metadata support"),
    mv(PORTGROUP_SHARD, "PORTGROUP_SHARD", "Add shard filtering support for portgroups"),
    mv(X_OPENSTACK_REQUEST_ID, "X_OPENSTACK_REQUEST_ID", "Add X-OpenStack-Request-Id header."),
    mv(SERVICE_DISABLE_RAMDISK, "SERVICE_DISABLE_RAMDISK", "Add disable_ramdisk support for servicing"),
    mv(NODE_HEALTH, "NODE_HEALTH", "Add health field to node object."),
    mv(DEPLOYWAIT_ABORT, "DEPLOYWAIT_ABORT", "Add support for aborting deployment in DEPLOYWAIT state"),
    mv(
        DYNAMIC_PORTGROUP,
        "DYNAMIC_PORTGROUP",
        "Add available_for_dynamic_portgroup to port, dynamic_portgroup to portgroup",
    ),
    mv(
        RUNBOOK_TRAITS,
        "RUNBOOK_TRAITS",
        "Add runbook traits: traits set on runbooks (replaces name-as-trait matching), relaxed runbook name validation, description field, and /v1/runbooks/{ident}/traits sub-resource endpoints.",
    ),
    mv(NODE_HISTORY_PROJECT, "NODE_HISTORY_PROJECT", "Add project to node history."),
    mv(
        FIRMWARE_IDENTITY,
        "FIRMWARE_IDENTITY",
        "Add vendor, model, serial_number to firmware component response.",
    ),
    mv(
        NODE_HISTORY_FIELDS,
        "NODE_HISTORY_FIELDS",
        "Add state, target_provision_state, and duration_seconds to node history.",
    ),
];
