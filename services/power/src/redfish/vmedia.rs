//! Virtual media: find the system's VirtualMedia collection (on the system, or
//! on its manager for older services), pick the device whose `MediaTypes` fit
//! the kind, and insert or eject through the VirtualMedia actions (PATCH of
//! `Image`/`Inserted` where a service has no actions). Inserting into a slot
//! that holds media ejects it first, as Ironic does.

use serde_json::{Value, json};

use super::client::{Client, odata_id};
use crate::driver::MediaKind;
use crate::error::PowerError;

fn fits(device: &Value, kind: MediaKind) -> bool {
    let wanted: &[&str] = match kind {
        MediaKind::Cd => &["CD", "DVD"],
        MediaKind::Usb => &["USBStick", "Floppy"],
    };
    device
        .get("MediaTypes")
        .and_then(Value::as_array)
        .is_some_and(|types| types.iter().filter_map(Value::as_str).any(|t| wanted.contains(&t)))
}

/// The devices of `kind` as (path, body).
async fn devices(
    client: &Client,
    system: &Value,
    kind: MediaKind,
) -> Result<Vec<(String, Value)>, PowerError> {
    let collection = match system.get("VirtualMedia").and_then(odata_id) {
        Some(path) => path.to_owned(),
        None => {
            let manager = system.pointer("/Links/ManagedBy/0").and_then(odata_id).ok_or_else(|| {
                PowerError::Unsupported {
                    driver: "redfish",
                    operation: "virtual media".into(),
                    address: client.address().to_owned(),
                }
            })?;
            let manager = client.get(manager).await?;
            manager.body.get("VirtualMedia").and_then(odata_id).map(str::to_owned).ok_or_else(|| {
                PowerError::Unsupported {
                    driver: "redfish",
                    operation: "virtual media".into(),
                    address: client.address().to_owned(),
                }
            })?
        }
    };
    let members = client.get(&collection).await?.body;
    let mut out = Vec::new();
    for member in members.get("Members").and_then(Value::as_array).into_iter().flatten() {
        let Some(path) = odata_id(member) else { continue };
        let device = client.get(path).await?.body;
        if fits(&device, kind) {
            out.push((path.to_owned(), device));
        }
    }
    Ok(out)
}

fn action_target(device: &Value, action: &str) -> Option<String> {
    device
        .pointer(&format!("/Actions/#VirtualMedia.{action}/target"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn is_inserted(device: &Value) -> bool {
    device.get("Inserted").and_then(Value::as_bool).unwrap_or(false)
        || device.get("Image").and_then(Value::as_str).is_some_and(|i| !i.is_empty())
}

async fn eject_one(client: &Client, path: &str, device: &Value) -> Result<(), PowerError> {
    match action_target(device, "EjectMedia") {
        Some(target) => client.post(&target, &json!({})).await.map(drop),
        None => client
            .request(reqwest::Method::PATCH, path, Some(&json!({"Image": null, "Inserted": false})), None)
            .await
            .map(drop),
    }
}

/// Inserts `image_url` into the first device of `kind`.
pub async fn insert(
    client: &Client,
    system: &Value,
    kind: MediaKind,
    image_url: &str,
) -> Result<(), PowerError> {
    let found = devices(client, system, kind).await?;
    let Some((path, device)) = found.into_iter().next() else {
        return Err(PowerError::Unsupported {
            driver: "redfish",
            operation: format!("virtual media of kind {kind:?}"),
            address: client.address().to_owned(),
        });
    };
    if is_inserted(&device) {
        eject_one(client, &path, &device).await?;
    }
    match action_target(&device, "InsertMedia") {
        Some(target) => client
            .post(&target, &json!({"Image": image_url, "Inserted": true, "WriteProtected": true}))
            .await
            .map(drop),
        None => client
            .request(
                reqwest::Method::PATCH,
                &path,
                Some(&json!({"Image": image_url, "Inserted": true})),
                None,
            )
            .await
            .map(drop),
    }
}

/// Ejects every device of `kind` that holds media.
pub async fn eject(client: &Client, system: &Value, kind: MediaKind) -> Result<(), PowerError> {
    for (path, device) in devices(client, system, kind).await? {
        if is_inserted(&device) {
            eject_one(client, &path, &device).await?;
        }
    }
    Ok(())
}

/// What the first device of `kind` holds: (image, inserted), for tests and logs.
pub async fn current(
    client: &Client,
    system: &Value,
    kind: MediaKind,
) -> Result<Option<(String, bool)>, PowerError> {
    Ok(devices(client, system, kind).await?.into_iter().next().map(|(_, d)| {
        (
            d.get("Image").and_then(Value::as_str).unwrap_or_default().to_owned(),
            d.get("Inserted").and_then(Value::as_bool).unwrap_or(false),
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_match_media_types() {
        let cd = json!({"MediaTypes": ["CD", "DVD"]});
        let usb = json!({"MediaTypes": ["Floppy", "USBStick"]});
        assert!(fits(&cd, MediaKind::Cd) && !fits(&cd, MediaKind::Usb));
        assert!(fits(&usb, MediaKind::Usb) && !fits(&usb, MediaKind::Cd));
        assert!(!fits(&json!({}), MediaKind::Cd));
        assert!(is_inserted(&json!({"Inserted": false, "Image": "http://x/a.iso"})));
        assert!(!is_inserted(&json!({"Inserted": false, "Image": ""})));
        assert_eq!(
            action_target(
                &json!({"Actions": {"#VirtualMedia.InsertMedia": {"target": "/a/b"}}}),
                "InsertMedia"
            )
            .as_deref(),
            Some("/a/b")
        );
    }
}
