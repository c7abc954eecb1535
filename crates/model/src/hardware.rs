//! Hardware types and their interfaces, as Ironic models drivers.
//!
//! A node names a hardware type (`driver`) and, per interface kind, an
//! implementation (`deploy_interface = "direct"`). Which implementations a
//! hardware type supports, and which it picks when the node names none, is
//! static knowledge: the gateway validates node creates and updates against it,
//! `GET /v1/drivers` reports it, and the conductor dispatches on it. The table is
//! Ironic 39's defaults as its API reports them (transcript `07-drivers-detail`),
//! plus the `agent` inspect interface Ferric implements.

use crate::error::InterfaceError;

/// The interface kinds of a node, in the order Ironic lists them for drivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InterfaceKind {
    /// How the node boots its deploy ramdisk (`pxe`, `ipxe`, virtual media).
    Boot,
    /// How the node's ports are wired (`noop`, `flat`).
    Network,
    /// Serial console access.
    Console,
    /// Rescue mode.
    Rescue,
    /// BIOS settings.
    Bios,
    /// Hardware introspection.
    Inspect,
    /// RAID configuration.
    Raid,
    /// Vendor passthru methods.
    Vendor,
    /// Remote volumes.
    Storage,
    /// How the image reaches the disk (`direct`, `ramdisk`).
    Deploy,
    /// Power control through the BMC.
    Power,
    /// Firmware updates.
    Firmware,
    /// Boot device and other BMC management.
    Management,
}

impl InterfaceKind {
    /// Every kind, in Ironic's driver-listing order.
    pub const ALL: [InterfaceKind; 13] = [
        Self::Boot,
        Self::Network,
        Self::Console,
        Self::Rescue,
        Self::Bios,
        Self::Inspect,
        Self::Raid,
        Self::Vendor,
        Self::Storage,
        Self::Deploy,
        Self::Power,
        Self::Firmware,
        Self::Management,
    ];

    /// The kind's name: `deploy` in `deploy_interface`, `default_deploy_interface`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Boot => "boot",
            Self::Network => "network",
            Self::Console => "console",
            Self::Rescue => "rescue",
            Self::Bios => "bios",
            Self::Inspect => "inspect",
            Self::Raid => "raid",
            Self::Vendor => "vendor",
            Self::Storage => "storage",
            Self::Deploy => "deploy",
            Self::Power => "power",
            Self::Firmware => "firmware",
            Self::Management => "management",
        }
    }

    /// The node field naming this kind's implementation, e.g. `deploy_interface`.
    pub fn node_field(self) -> String {
        format!("{}_interface", self.name())
    }

    /// The kind whose node field is `field`, if any.
    pub fn from_node_field(field: &str) -> Option<Self> {
        let name = field.strip_suffix("_interface")?;
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// Every implementation of this kind that any hardware type enables, sorted:
    /// what Ironic's "Valid interfaces are [...]" message lists.
    pub fn known_implementations(self) -> Vec<&'static str> {
        let mut all: Vec<&'static str> =
            HARDWARE_TYPES.iter().flat_map(|hw| hw.slot(self).enabled.iter().copied()).collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// One interface kind of a hardware type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Which kind.
    pub kind: InterfaceKind,
    /// Chosen when the node names none.
    pub default: &'static str,
    /// Accepted, in Ironic's order.
    pub enabled: &'static [&'static str],
}

/// A hardware type: a name and one slot per interface kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HardwareType {
    /// The `driver` value of nodes of this type.
    pub name: &'static str,
    /// One per [`InterfaceKind`], in [`InterfaceKind::ALL`] order.
    pub slots: &'static [Slot],
}

impl HardwareType {
    /// The hardware type called `name`.
    pub fn find(name: &str) -> Option<&'static HardwareType> {
        HARDWARE_TYPES.iter().find(|hw| hw.name == name)
    }

    /// The slot of `kind`. Every table entry has all kinds (a unit test checks),
    /// so this falls back to an empty slot only for a malformed table.
    pub fn slot(&self, kind: InterfaceKind) -> Slot {
        self.slots.iter().copied().find(|slot| slot.kind == kind).unwrap_or(Slot {
            kind,
            default: "",
            enabled: &[],
        })
    }

    /// Checks that `implementation` may serve `kind` on this hardware type, with
    /// Ironic's messages for an unknown implementation and an unsupported one.
    pub fn check(&self, kind: InterfaceKind, implementation: &str) -> Result<(), InterfaceError> {
        let known = kind.known_implementations();
        if !known.contains(&implementation) {
            return Err(InterfaceError::Unknown {
                kind: kind.name(),
                implementation: implementation.to_owned(),
                valid: known,
            });
        }
        if !self.slot(kind).enabled.contains(&implementation) {
            return Err(InterfaceError::Unsupported {
                kind: kind.name(),
                implementation: implementation.to_owned(),
                hardware_type: self.name,
            });
        }
        Ok(())
    }
}

/// `fake-hardware`, as Ironic 39 enables it by default.
const FAKE_HARDWARE: HardwareType = HardwareType {
    name: "fake-hardware",
    slots: &[
        Slot { kind: InterfaceKind::Boot, default: "fake", enabled: &["fake", "pxe", "ipxe"] },
        Slot { kind: InterfaceKind::Network, default: "noop", enabled: &["noop", "flat"] },
        Slot { kind: InterfaceKind::Console, default: "fake", enabled: &["fake", "no-console"] },
        Slot { kind: InterfaceKind::Rescue, default: "fake", enabled: &["no-rescue", "fake"] },
        Slot { kind: InterfaceKind::Bios, default: "fake", enabled: &["fake", "no-bios"] },
        Slot { kind: InterfaceKind::Inspect, default: "fake", enabled: &["fake", "agent", "no-inspect"] },
        Slot { kind: InterfaceKind::Raid, default: "fake", enabled: &["agent", "fake", "no-raid"] },
        Slot { kind: InterfaceKind::Vendor, default: "fake", enabled: &["fake", "no-vendor"] },
        Slot { kind: InterfaceKind::Storage, default: "noop", enabled: &["fake", "noop"] },
        Slot { kind: InterfaceKind::Deploy, default: "fake", enabled: &["fake", "ramdisk", "direct"] },
        Slot { kind: InterfaceKind::Power, default: "fake", enabled: &["fake"] },
        Slot { kind: InterfaceKind::Firmware, default: "fake", enabled: &["fake", "no-firmware"] },
        Slot { kind: InterfaceKind::Management, default: "fake", enabled: &["fake"] },
    ],
};

/// `ipmi`, as Ironic 39 enables it by default.
const IPMI: HardwareType = HardwareType {
    name: "ipmi",
    slots: &[
        Slot { kind: InterfaceKind::Boot, default: "ipxe", enabled: &["ipxe", "pxe"] },
        Slot { kind: InterfaceKind::Network, default: "noop", enabled: &["noop", "flat"] },
        Slot { kind: InterfaceKind::Console, default: "no-console", enabled: &["no-console"] },
        Slot { kind: InterfaceKind::Rescue, default: "no-rescue", enabled: &["no-rescue"] },
        Slot { kind: InterfaceKind::Bios, default: "no-bios", enabled: &["no-bios"] },
        Slot { kind: InterfaceKind::Inspect, default: "no-inspect", enabled: &["agent", "no-inspect"] },
        Slot { kind: InterfaceKind::Raid, default: "no-raid", enabled: &["agent", "no-raid"] },
        Slot { kind: InterfaceKind::Vendor, default: "ipmitool", enabled: &["ipmitool", "no-vendor"] },
        Slot { kind: InterfaceKind::Storage, default: "noop", enabled: &["noop"] },
        Slot { kind: InterfaceKind::Deploy, default: "direct", enabled: &["ramdisk", "direct"] },
        Slot { kind: InterfaceKind::Power, default: "ipmitool", enabled: &["ipmitool"] },
        Slot { kind: InterfaceKind::Firmware, default: "no-firmware", enabled: &["no-firmware"] },
        Slot { kind: InterfaceKind::Management, default: "ipmitool", enabled: &["ipmitool", "noop"] },
    ],
};

/// `manual-management`, as Ironic 39 enables it by default.
const MANUAL_MANAGEMENT: HardwareType = HardwareType {
    name: "manual-management",
    slots: &[
        Slot { kind: InterfaceKind::Boot, default: "ipxe", enabled: &["ipxe", "pxe"] },
        Slot { kind: InterfaceKind::Network, default: "noop", enabled: &["noop", "flat"] },
        Slot { kind: InterfaceKind::Console, default: "no-console", enabled: &["no-console"] },
        Slot { kind: InterfaceKind::Rescue, default: "no-rescue", enabled: &["no-rescue"] },
        Slot { kind: InterfaceKind::Bios, default: "no-bios", enabled: &["no-bios"] },
        Slot { kind: InterfaceKind::Inspect, default: "no-inspect", enabled: &["agent", "no-inspect"] },
        Slot { kind: InterfaceKind::Raid, default: "no-raid", enabled: &["agent", "no-raid"] },
        Slot { kind: InterfaceKind::Vendor, default: "no-vendor", enabled: &["no-vendor"] },
        Slot { kind: InterfaceKind::Storage, default: "noop", enabled: &["noop"] },
        Slot { kind: InterfaceKind::Deploy, default: "direct", enabled: &["ramdisk", "direct"] },
        Slot { kind: InterfaceKind::Power, default: "fake", enabled: &["fake"] },
        Slot { kind: InterfaceKind::Firmware, default: "no-firmware", enabled: &["no-firmware"] },
        Slot { kind: InterfaceKind::Management, default: "noop", enabled: &["fake", "noop"] },
    ],
};

/// `redfish`, as Ironic 39 enables it by default.
const REDFISH: HardwareType = HardwareType {
    name: "redfish",
    slots: &[
        Slot {
            kind: InterfaceKind::Boot,
            default: "ipxe",
            enabled: &["ipxe", "pxe", "redfish-virtual-media"],
        },
        Slot { kind: InterfaceKind::Network, default: "noop", enabled: &["noop", "flat"] },
        Slot { kind: InterfaceKind::Console, default: "no-console", enabled: &["no-console"] },
        Slot { kind: InterfaceKind::Rescue, default: "no-rescue", enabled: &["no-rescue"] },
        Slot { kind: InterfaceKind::Bios, default: "redfish", enabled: &["redfish", "no-bios"] },
        Slot {
            kind: InterfaceKind::Inspect,
            default: "redfish",
            enabled: &["redfish", "agent", "no-inspect"],
        },
        Slot { kind: InterfaceKind::Raid, default: "redfish", enabled: &["agent", "no-raid", "redfish"] },
        Slot { kind: InterfaceKind::Vendor, default: "redfish", enabled: &["redfish", "no-vendor"] },
        Slot { kind: InterfaceKind::Storage, default: "noop", enabled: &["noop"] },
        Slot { kind: InterfaceKind::Deploy, default: "direct", enabled: &["ramdisk", "direct"] },
        Slot { kind: InterfaceKind::Power, default: "redfish", enabled: &["redfish"] },
        Slot { kind: InterfaceKind::Firmware, default: "redfish", enabled: &["redfish", "no-firmware"] },
        Slot { kind: InterfaceKind::Management, default: "redfish", enabled: &["redfish", "noop"] },
    ],
};

/// Every hardware type Ferric implements, sorted by name as `GET /v1/drivers`
/// lists them.
pub const HARDWARE_TYPES: &[HardwareType] = &[FAKE_HARDWARE, IPMI, MANUAL_MANAGEMENT, REDFISH];

/// The properties `GET /v1/drivers/{name}/properties` documents: the
/// `driver_info` keys each hardware type reads.
pub fn driver_properties(name: &str) -> Option<&'static [(&'static str, &'static str)]> {
    let properties: &'static [(&'static str, &'static str)] = match name {
        "fake-hardware" => &[("B1", "B1 description. Required."), ("B2", "B2 description. Required.")],
        "ipmi" => &[
            ("ipmi_address", "IP address or hostname of the node. Required."),
            ("ipmi_password", "password. Optional."),
            ("ipmi_port", "remote IPMI RMCP port. Optional."),
            (
                "ipmi_priv_level",
                "privilege level; default is ADMINISTRATOR. One of ADMINISTRATOR, CALLBACK, OPERATOR, USER. Optional.",
            ),
            ("ipmi_username", "username; default is NULL user. Optional."),
            (
                "ipmi_bridging",
                "bridging_type; default is \"no\". One of \"single\", \"dual\", \"no\". Optional.",
            ),
            (
                "ipmi_transit_channel",
                "transit channel for bridged request. Required only if ipmi_bridging is set to \"dual\".",
            ),
            (
                "ipmi_transit_address",
                "transit address for bridged request. Required only if ipmi_bridging is set to \"dual\".",
            ),
            (
                "ipmi_target_channel",
                "destination channel for bridged request. Required only if ipmi_bridging is set to \"single\" or \"dual\".",
            ),
            (
                "ipmi_target_address",
                "destination address for bridged request. Required only if ipmi_bridging is set to \"single\" or \"dual\".",
            ),
            (
                "ipmi_local_address",
                "local IPMB address for bridged requests. Used only if ipmi_bridging is set to \"single\" or \"dual\". Optional.",
            ),
            (
                "ipmi_protocol_version",
                "the version of the IPMI protocol; default is \"2.0\". One of \"1.5\", \"2.0\". Optional.",
            ),
            (
                "ipmi_cipher_suite",
                "The number of a cipher suite to use. Only 3 (AES-128 with SHA1) or 17 (AES-128 with SHA256) should ever be used; 17 is preferred. The default value depends on the ipmitool version, some recent versions have switched from 3 to 17. Optional.",
            ),
            ("deploy_kernel", "UUID (from Glance) of the deployment kernel. Required."),
            (
                "deploy_ramdisk",
                "UUID (from Glance) of the ramdisk with agent that is used at deploy time. Required.",
            ),
        ],
        "redfish" => &[
            (
                "redfish_address",
                "The URL address to the Redfish controller. It must include the authority portion of the URL. If the scheme is missing, https is assumed. For example: https://mgmt.vendor.com. Required.",
            ),
            (
                "redfish_system_id",
                "The canonical path to the ComputerSystem resource that the driver will interact with. It should include the root service, version and the unique resource path to the ComputerSystem within the same authority as the redfish_address property. For example: /redfish/v1/Systems/1. This property is only required if target BMC manages more than one ComputerSystem. Otherwise ironic will pick the only available ComputerSystem automatically. Optional.",
            ),
            (
                "redfish_username",
                "User account with admin/server-profile access privilege. Although this property is not mandatory it's highly recommended to set a username. Optional.",
            ),
            (
                "redfish_password",
                "User account password. Although this property is not mandatory, it's highly recommended to set a password. Optional.",
            ),
            (
                "redfish_verify_ca",
                "Either a Boolean value, a path to a CA_BUNDLE file or directory with certificates of trusted CAs. If set to True the driver will verify the host certificates; if False the driver will ignore verifying the SSL certificate. If it's a path the driver will use the specified certificate or one of the certificates in the directory. Defaults to True. Optional.",
            ),
            (
                "redfish_auth_type",
                "Redfish HTTP client authentication method. Can be \"basic\", \"session\" or \"auto\". The \"auto\" mode first tries \"session\" and falls back to \"basic\" if session authentication is not supported by the Redfish BMC. Default is set in ironic config file. Optional.",
            ),
            ("deploy_kernel", "UUID (from Glance) of the deployment kernel. Required."),
            (
                "deploy_ramdisk",
                "UUID (from Glance) of the ramdisk with agent that is used at deploy time. Required.",
            ),
        ],
        "manual-management" => &[
            ("deploy_kernel", "UUID (from Glance) of the deployment kernel. Required."),
            (
                "deploy_ramdisk",
                "UUID (from Glance) of the ramdisk with agent that is used at deploy time. Required.",
            ),
        ],
        _ => return None,
    };
    Some(properties)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hardware_type_has_every_kind_with_its_default_enabled() {
        for hw in HARDWARE_TYPES {
            for kind in InterfaceKind::ALL {
                let slot = hw.slot(kind);
                assert!(!slot.enabled.is_empty(), "{} lacks {}", hw.name, kind.name());
                assert!(
                    slot.enabled.contains(&slot.default),
                    "{} default {} not enabled",
                    hw.name,
                    kind.name()
                );
            }
            assert!(driver_properties(hw.name).is_some(), "{} has no properties", hw.name);
        }
    }

    #[test]
    fn unknown_interface_is_refused_with_ironic_message() {
        let fake = HardwareType::find("fake-hardware").unwrap();
        let error = fake.check(InterfaceKind::Deploy, "nope").unwrap_err();
        assert_eq!(
            error.to_string(),
            "Could not find the following interface in the 'ironic.hardware.interfaces.deploy' entrypoint: nope. \
             Valid interfaces are ['direct', 'fake', 'ramdisk']."
        );
    }

    #[test]
    fn interface_of_another_type_is_unsupported() {
        let ipmi = HardwareType::find("ipmi").unwrap();
        assert!(ipmi.check(InterfaceKind::Power, "ipmitool").is_ok());
        let error = ipmi.check(InterfaceKind::Power, "redfish").unwrap_err();
        assert!(matches!(error, InterfaceError::Unsupported { .. }), "{error}");
        assert_eq!(InterfaceKind::from_node_field("deploy_interface"), Some(InterfaceKind::Deploy));
        assert_eq!(InterfaceKind::from_node_field("driver"), None);
    }
}
