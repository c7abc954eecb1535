//! Boot source override on a ComputerSystem: read `Boot`, PATCH the target, the
//! frequency (Once/Continuous) and the mode (UEFI/Legacy) with `If-Match` set to
//! the ETag just read, so a concurrent change on the BMC is not overwritten
//! silently. A 412 (stale ETag) is retried once with a fresh read.

use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::client::Client;
use crate::driver::{BootDevice, BootMode, BootSetting};
use crate::error::PowerError;

/// Redfish `BootSourceOverrideTarget` for a device; None when Redfish has none.
pub fn target_name(device: BootDevice) -> Option<&'static str> {
    match device {
        BootDevice::Pxe => Some("Pxe"),
        BootDevice::Disk => Some("Hdd"),
        BootDevice::Cdrom => Some("Cd"),
        BootDevice::Bios => Some("BiosSetup"),
        BootDevice::UefiHttp => Some("UefiHttp"),
        BootDevice::Floppy => Some("Floppy"),
        BootDevice::Safe => None,
    }
}

fn device_of(name: &str) -> Option<BootDevice> {
    match name {
        "Pxe" => Some(BootDevice::Pxe),
        "Hdd" => Some(BootDevice::Disk),
        "Cd" => Some(BootDevice::Cdrom),
        "BiosSetup" => Some(BootDevice::Bios),
        "UefiHttp" => Some(BootDevice::UefiHttp),
        "Floppy" => Some(BootDevice::Floppy),
        _ => None,
    }
}

/// Reads the override from a ComputerSystem body.
pub fn read(system: &Value) -> BootSetting {
    let boot = system.get("Boot");
    let field = |name: &str| boot.and_then(|b| b.get(name)).and_then(Value::as_str);
    let enabled = field("BootSourceOverrideEnabled");
    BootSetting {
        device: if enabled == Some("Disabled") {
            None
        } else {
            field("BootSourceOverrideTarget").and_then(device_of)
        },
        persistent: enabled.and_then(|e| match e {
            "Continuous" => Some(true),
            "Once" => Some(false),
            _ => None,
        }),
        mode: field("BootSourceOverrideMode").and_then(|m| match m {
            "UEFI" => Some(BootMode::Uefi),
            "Legacy" => Some(BootMode::Bios),
            _ => None,
        }),
    }
}

/// The devices the system allows, or Ironic's default list when it does not say.
pub fn supported(system: &Value) -> Vec<BootDevice> {
    match system.pointer("/Boot/BootSourceOverrideTarget@Redfish.AllowableValues").and_then(Value::as_array) {
        Some(values) => values.iter().filter_map(Value::as_str).filter_map(device_of).collect(),
        None => {
            vec![BootDevice::Pxe, BootDevice::Disk, BootDevice::Cdrom, BootDevice::Bios, BootDevice::UefiHttp]
        }
    }
}

/// The PATCH body for a boot override.
pub fn patch_body(device: BootDevice, persistent: bool, mode: Option<BootMode>) -> Option<Value> {
    let mut boot = Map::new();
    boot.insert("BootSourceOverrideTarget".into(), json!(target_name(device)?));
    boot.insert("BootSourceOverrideEnabled".into(), json!(if persistent { "Continuous" } else { "Once" }));
    if let Some(mode) = mode {
        boot.insert(
            "BootSourceOverrideMode".into(),
            json!(if mode == BootMode::Uefi { "UEFI" } else { "Legacy" }),
        );
    }
    Some(json!({ "Boot": boot }))
}

/// Sets the override on `system` (a path), honouring ETags.
pub async fn set(
    client: &Client,
    system: &str,
    device: BootDevice,
    persistent: bool,
    mode: Option<BootMode>,
) -> Result<(), PowerError> {
    let body = patch_body(device, persistent, mode).ok_or_else(|| PowerError::Unsupported {
        driver: "redfish",
        operation: format!("boot device {device:?}"),
        address: client.address().to_owned(),
    })?;
    let mut retried = false;
    loop {
        let current = client.get(system).await?;
        if let Some(target) = target_name(device) {
            let allowed = supported(&current.body);
            if !allowed.contains(&device) {
                return Err(PowerError::Unsupported {
                    driver: "redfish",
                    operation: format!("boot device {target} (allowed: {allowed:?})"),
                    address: client.address().to_owned(),
                });
            }
        }
        match client.request(Method::PATCH, system, Some(&body), current.etag.as_deref()).await {
            Err(PowerError::BmcError { detail, .. })
                if detail.starts_with(&format!("HTTP {}", StatusCode::PRECONDITION_FAILED)) && !retried =>
            {
                retried = true;
            }
            other => return other.map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_follow_ironic_names() {
        assert_eq!(
            patch_body(BootDevice::Pxe, false, Some(BootMode::Uefi)).unwrap(),
            json!({"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once", "BootSourceOverrideMode": "UEFI"}})
        );
        assert_eq!(
            patch_body(BootDevice::Disk, true, Some(BootMode::Bios)).unwrap(),
            json!({"Boot": {"BootSourceOverrideTarget": "Hdd", "BootSourceOverrideEnabled": "Continuous", "BootSourceOverrideMode": "Legacy"}})
        );
        assert!(patch_body(BootDevice::Safe, true, None).is_none());
    }

    #[test]
    fn reads_override_and_allowed_values() {
        let system = json!({"Boot": {"BootSourceOverrideTarget": "Cd", "BootSourceOverrideEnabled": "Continuous",
            "BootSourceOverrideMode": "Legacy", "BootSourceOverrideTarget@Redfish.AllowableValues": ["Pxe", "Cd", "Hdd", "Usb"]}});
        assert_eq!(
            read(&system),
            BootSetting {
                device: Some(BootDevice::Cdrom),
                persistent: Some(true),
                mode: Some(BootMode::Bios)
            }
        );
        assert_eq!(supported(&system), vec![BootDevice::Pxe, BootDevice::Cdrom, BootDevice::Disk]);
        assert_eq!(read(&json!({})), BootSetting::default());
        assert_eq!(supported(&json!({})).len(), 5);
    }
}
