//! A node's driver interfaces, as Ironic resolves them: the node's own
//! `*_interface` field, else its hardware type's default.
//!
//! - [`power`]: power and management (boot device) — fake in the record, or the
//!   power service over gRPC for `ipmitool` / `redfish`.
//! - Fake fault knobs for `fake-hardware`, chosen per node in `driver_info` (not by
//!   `cfg(test)`), so any deployment can rehearse failures and waits:
//!   `fake_fail` and `fake_wait` name phases (`verify`, `deploy`, `clean`,
//!   `inspect`, `rescue`, `unrescue`, `adopt`, `service`, `delete`; a string or a
//!   list) that fail, or wait for a callback, instead of succeeding at once.

pub mod images;
pub mod netboot;
pub mod power;

use images::Images;
use netboot::Netboot;
use power::Power;

use ferric_model::Node;
use ferric_model::hardware::{HardwareType, InterfaceKind};
use serde_json::Value;

/// The conductor's ways out to the hardware-facing services, each found
/// through the store and reached over its gRPC contract.
#[derive(Clone)]
pub struct Services {
    /// Power and management (the power service).
    pub power: Power,
    /// Netboot registrations (the boot-network service).
    pub netboot: Netboot,
    /// Instance image staging (the image cache).
    pub images: Images,
}

impl Services {
    /// No mesh at all: only fake interfaces work (unit tests, in-process benches).
    pub fn offline() -> Self {
        Self {
            power: Power::new(None),
            netboot: Netboot::new(None, netboot::RamdiskParams::default()),
            images: Images::new(None, images::DownloadSource::Direct),
        }
    }
}

/// The implementation of `kind` the node uses.
pub fn interface(node: &Node, kind: InterfaceKind) -> String {
    let own = match kind {
        InterfaceKind::Boot => &node.boot_interface,
        InterfaceKind::Network => &node.network_interface,
        InterfaceKind::Console => &node.console_interface,
        InterfaceKind::Rescue => &node.rescue_interface,
        InterfaceKind::Bios => &node.bios_interface,
        InterfaceKind::Inspect => &node.inspect_interface,
        InterfaceKind::Raid => &node.raid_interface,
        InterfaceKind::Vendor => &node.vendor_interface,
        InterfaceKind::Storage => &node.storage_interface,
        InterfaceKind::Deploy => &node.deploy_interface,
        InterfaceKind::Power => &node.power_interface,
        InterfaceKind::Firmware => &node.firmware_interface,
        InterfaceKind::Management => &node.management_interface,
    };
    match own {
        Some(name) if !name.is_empty() => name.clone(),
        _ => HardwareType::find(&node.driver).map(|hw| hw.slot(kind).default.to_owned()).unwrap_or_default(),
    }
}

/// Whether deploys and cleanings of the node go through the ramdisk agent (the
/// `direct` deploy interface), rather than completing in the conductor.
pub fn uses_agent(node: &Node) -> bool {
    interface(node, InterfaceKind::Deploy) == "direct"
}

/// Whether inspection waits for the in-band agent (`agent` inspect interface).
pub fn inspects_in_band(node: &Node) -> bool {
    interface(node, InterfaceKind::Inspect) == "agent"
}

/// Whether the node is `fake-hardware`, whose fake operations take
/// `deploy.fake_delay_ms` each.
pub fn is_fake(node: &Node) -> bool {
    node.driver == "fake-hardware"
}

/// A fake phase's behaviour as the node's `driver_info` knobs ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeBehaviour {
    /// Succeed at once.
    Succeed,
    /// Fail with a clear `last_error`.
    Fail,
    /// Wait for a callback in the phase's wait state.
    Wait,
}

/// What the fake does in `phase` for this node.
pub fn fake_behaviour(node: &Node, phase: &str) -> FakeBehaviour {
    if !is_fake(node) {
        return FakeBehaviour::Succeed;
    }
    let names = |key: &str| -> bool {
        match node.driver_info.get(key) {
            Some(Value::String(text)) => text.split(',').any(|p| p.trim() == phase),
            Some(Value::Array(items)) => items.iter().any(|i| i.as_str() == Some(phase)),
            _ => false,
        }
    };
    if names("fake_fail") {
        FakeBehaviour::Fail
    } else if names("fake_wait") {
        FakeBehaviour::Wait
    } else {
        FakeBehaviour::Succeed
    }
}

/// The `last_error` of a fake failure.
pub fn fake_failure(phase: &str) -> String {
    format!("Fake {phase} failed as requested by driver_info fake_fail")
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use ferric_model::ProvisionState;
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults_come_from_the_hardware_type() {
        let mut node = Node::new(uuid::Uuid::new_v4(), "ipmi", Utc::now(), ProvisionState::Enroll);
        assert_eq!(interface(&node, InterfaceKind::Power), "ipmitool");
        assert!(uses_agent(&node));
        node.deploy_interface = Some("ramdisk".into());
        assert!(!uses_agent(&node));
        let fake = Node::new(uuid::Uuid::new_v4(), "fake-hardware", Utc::now(), ProvisionState::Enroll);
        assert_eq!(interface(&fake, InterfaceKind::Deploy), "fake");
    }

    #[test]
    fn knobs_select_phases() {
        let mut node = Node::new(uuid::Uuid::new_v4(), "fake-hardware", Utc::now(), ProvisionState::Enroll);
        node.driver_info.insert("fake_fail".into(), json!("deploy,clean"));
        node.driver_info.insert("fake_wait".into(), json!(["rescue"]));
        assert_eq!(fake_behaviour(&node, "clean"), FakeBehaviour::Fail);
        assert_eq!(fake_behaviour(&node, "rescue"), FakeBehaviour::Wait);
        assert_eq!(fake_behaviour(&node, "inspect"), FakeBehaviour::Succeed);
    }
}
