//! Proto to domain at the edge of the service, once: node references, steps,
//! config drives, history events. Enum conversions are the contract crate's
//! (`ferric_proto::convert`), shared with the gateway.

use ferric_model::json::Object;
use ferric_model::{HistoryEvent, ProvisionState};
use ferric_proto::v1;
use serde_json::Value;
use uuid::Uuid;

use crate::error::{DeployError, Result};

/// The node a request names.
pub fn node_uuid(node: Option<&v1::NodeRef>) -> Result<Uuid> {
    let text = node.map(|n| n.uuid.as_str()).unwrap_or_default();
    Uuid::parse_str(text).map_err(|_| DeployError::InvalidArgument(format!("invalid node UUID {text:?}")))
}

/// Steps sent as `Struct`s, as JSON objects.
pub fn steps(raw: Vec<prost_types::Struct>) -> Result<Vec<Object>> {
    raw.into_iter()
        .map(|s| {
            ferric_proto::json::json_from_struct(s)
                .map_err(|e| DeployError::InvalidArgument(format!("invalid step: {e}")))
        })
        .collect()
}

/// The config drive, in either form, as the JSON stored in `instance_info`.
pub fn configdrive(drive: Option<v1::change_provision_state_request::Configdrive>) -> Result<Option<Value>> {
    use v1::change_provision_state_request::Configdrive;
    Ok(match drive {
        None => None,
        Some(Configdrive::ConfigdriveBlob(blob)) => Some(Value::String(blob)),
        Some(Configdrive::ConfigdriveContents(contents)) => Some(Value::Object(
            ferric_proto::json::json_from_struct(contents)
                .map_err(|e| DeployError::InvalidArgument(format!("invalid configdrive: {e}")))?,
        )),
    })
}

/// A node as a `Struct`, for lookup replies.
pub fn object_to_struct(object: Object) -> prost_types::Struct {
    ferric_proto::json::struct_from_map(object)
}

/// A history event as the contract carries it.
pub fn history_event(event: HistoryEvent) -> v1::NodeHistoryEvent {
    let state = |s: Option<ProvisionState>| s.map(|s| s.as_str().to_owned()).unwrap_or_default();
    v1::NodeHistoryEvent {
        uuid: event.uuid.to_string(),
        created_at: Some(prost_types::Timestamp {
            seconds: event.created_at.timestamp(),
            nanos: i32::try_from(event.created_at.timestamp_subsec_nanos()).unwrap_or(0),
        }),
        severity: event.severity.as_str().to_owned(),
        event_type: event.event_type,
        event: event.event,
        conductor: event.conductor.unwrap_or_default(),
        user: event.user.unwrap_or_default(),
        state: state(event.state),
        target_provision_state: state(event.target_provision_state),
        duration_seconds: event.duration_seconds,
        project: event.project.unwrap_or_default(),
    }
}
