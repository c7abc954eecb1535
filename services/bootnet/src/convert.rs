//! proto ↔ model, once, at the edge: requests become [`BootNode`]s (validated)
//! and leases become `ferric.v1.Lease`s.

use std::time::{Duration, UNIX_EPOCH};

use ferric_proto::v1::{BootMode, Lease, NetbootConfig, NetbootMode, NodeRef};

use crate::dhcp::lease::LeaseInfo;
use crate::error::BootnetError;
use crate::registry::{BootNode, BootTarget, Firmware, normalize_mac};

/// A validated node from a request's node reference and configuration.
pub fn node_from_proto(
    node: Option<NodeRef>,
    config: Option<NetbootConfig>,
) -> Result<BootNode, BootnetError> {
    let uuid = node_uuid(node)?;
    let config = config.ok_or_else(|| BootnetError::InvalidRequest("config is required".into()))?;
    if config.macs.is_empty() {
        return Err(BootnetError::InvalidRequest("config.macs must list at least one MAC".into()));
    }
    let mut macs = Vec::with_capacity(config.macs.len());
    for mac in &config.macs {
        let normalized = normalize_mac(mac)
            .ok_or_else(|| BootnetError::InvalidRequest(format!("{mac:?} is not a MAC")))?;
        if macs.contains(&normalized) {
            return Err(BootnetError::InvalidRequest(format!("MAC {normalized} is listed twice")));
        }
        macs.push(normalized);
    }
    let target = match NetbootMode::try_from(config.mode) {
        Ok(NetbootMode::Deploy) => BootTarget::Deploy,
        Ok(NetbootMode::Rescue) => BootTarget::Rescue,
        Ok(NetbootMode::Inspect) => BootTarget::Inspect,
        Ok(NetbootMode::Local) => BootTarget::Local,
        _ => return Err(BootnetError::InvalidRequest("config.mode must be set".into())),
    };
    if target != BootTarget::Local {
        for (field, url) in [("kernel_url", &config.kernel_url), ("ramdisk_url", &config.ramdisk_url)] {
            if !is_boot_url(url) {
                return Err(BootnetError::InvalidRequest(format!(
                    "config.{field} {url:?} must be an http(s):// or tftp:// URL"
                )));
            }
        }
    }
    if config.kernel_args.contains(['\n', '\r']) {
        return Err(BootnetError::InvalidRequest("config.kernel_args must be one line".into()));
    }
    let firmware = match BootMode::try_from(config.boot_mode) {
        Ok(BootMode::Bios) => Firmware::Bios,
        Ok(BootMode::Uefi) => Firmware::Uefi,
        _ => Firmware::Any,
    };
    Ok(BootNode {
        uuid,
        macs,
        target,
        kernel_url: config.kernel_url,
        ramdisk_url: config.ramdisk_url,
        kernel_args: config.kernel_args,
        firmware,
    })
}

/// The UUID of a node reference, validated as one store path segment.
pub fn node_uuid(node: Option<NodeRef>) -> Result<String, BootnetError> {
    let uuid = node.map(|n| n.uuid.trim().to_ascii_lowercase()).unwrap_or_default();
    let valid = !uuid.is_empty()
        && uuid.len() <= 64
        && uuid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(BootnetError::InvalidRequest(format!("node.uuid {uuid:?} is not a node UUID")));
    }
    Ok(uuid)
}

/// URLs iPXE fetches, written into its script: no spaces or line breaks that could
/// inject commands.
fn is_boot_url(url: &str) -> bool {
    let scheme_ok = ["http://", "https://", "tftp://"].iter().any(|s| url.starts_with(s));
    scheme_ok && url.len() > 8 && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The proto mode of a boot target.
pub fn mode_to_proto(target: BootTarget) -> NetbootMode {
    match target {
        BootTarget::Deploy => NetbootMode::Deploy,
        BootTarget::Rescue => NetbootMode::Rescue,
        BootTarget::Inspect => NetbootMode::Inspect,
        BootTarget::Local => NetbootMode::Local,
    }
}

/// A lease as the contract shows it.
pub fn lease_to_proto(lease: &LeaseInfo, node: Option<&BootNode>) -> Lease {
    let expires = UNIX_EPOCH + Duration::from_secs(lease.expires_at);
    Lease {
        mac: lease.client.clone(),
        ip_address: lease.ip.to_string(),
        node: node.map(|n| NodeRef { uuid: n.uuid.clone() }),
        expires_at: Some(prost_types::Timestamp::from(expires)),
        mode: node.map(|n| mode_to_proto(n.target)).unwrap_or(NetbootMode::Unspecified) as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(macs: &[&str], mode: NetbootMode, kernel: &str) -> NetbootConfig {
        NetbootConfig {
            macs: macs.iter().map(|m| m.to_string()).collect(),
            mode: mode as i32,
            kernel_url: kernel.into(),
            ramdisk_url: "http://10.0.0.1/initrd".into(),
            kernel_args: "ipa-api-url=http://10.0.0.1:6385".into(),
            boot_mode: 0,
        }
    }

    #[test]
    fn requests_are_checked_before_they_reach_the_store() {
        let uuid = Some(NodeRef::new("1be26c0b-03f2-4d2e-ae87-c02d7f33c123"));
        let ok = node_from_proto(
            uuid.clone(),
            Some(config(&["52:54:00:AA:00:01"], NetbootMode::Deploy, "http://x/k")),
        );
        assert_eq!(ok.unwrap().macs, vec!["52:54:00:aa:00:01"]);
        let bad = [
            (uuid.clone(), Some(config(&[], NetbootMode::Deploy, "http://x/k"))),
            (uuid.clone(), Some(config(&["nope"], NetbootMode::Deploy, "http://x/k"))),
            (
                uuid.clone(),
                Some(config(&["52:54:00:00:00:01", "52-54-00-00-00-01"], NetbootMode::Deploy, "http://x/k")),
            ),
            (uuid.clone(), Some(config(&["52:54:00:00:00:01"], NetbootMode::Unspecified, "http://x/k"))),
            (uuid.clone(), Some(config(&["52:54:00:00:00:01"], NetbootMode::Deploy, "http://x/k\nshell"))),
            (uuid.clone(), Some(config(&["52:54:00:00:00:01"], NetbootMode::Deploy, "file:///etc/passwd"))),
            (
                Some(NodeRef::new("../x")),
                Some(config(&["52:54:00:00:00:01"], NetbootMode::Deploy, "http://x/k")),
            ),
            (None, Some(config(&["52:54:00:00:00:01"], NetbootMode::Deploy, "http://x/k"))),
            (uuid.clone(), None),
        ];
        for (node, config) in bad {
            assert!(node_from_proto(node.clone(), config.clone()).is_err(), "{node:?} {config:?}");
        }
        // Local boot needs no kernel.
        assert!(node_from_proto(uuid, Some(config(&["52:54:00:00:00:01"], NetbootMode::Local, ""))).is_ok());
    }
}
