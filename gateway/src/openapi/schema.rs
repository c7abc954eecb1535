//! Component schemas, derived from the model: each resource's fields (from
//! the microversion field tables, so every field Ironic may return is there)
//! typed by what a freshly made resource serializes to.

use chrono::Utc;
use ferric_model::microversion::fields::Resource;
use ferric_model::{Chassis, Node, Port, Portgroup, ProvisionState};
use serde_json::{Map, Value, json};

/// The JSON type of a sample value as a schema; nulls and unknowns allow any.
fn typed(sample: Option<&Value>) -> Value {
    match sample {
        Some(Value::String(_)) => json!({"type": "string", "nullable": true}),
        Some(Value::Bool(_)) => json!({"type": "boolean", "nullable": true}),
        Some(Value::Number(_)) => json!({"type": "number", "nullable": true}),
        Some(Value::Object(_)) => json!({"type": "object", "nullable": true}),
        Some(Value::Array(_)) => json!({"type": "array", "nullable": true}),
        _ => json!({}),
    }
}

/// A resource's schema: every data field typed from `sample`, every link key an
/// array; nothing required, since `?fields=` may trim any of them.
fn resource(resource: Resource, sample: Value) -> Value {
    let mut properties = Map::new();
    for field in resource.fields() {
        properties.insert(field.name.to_owned(), typed(sample.get(field.name)));
    }
    for link in resource.link_fields() {
        properties.insert(
            link.name.to_owned(),
            json!({"type": "array", "items": {"$ref": "#/components/schemas/Link"}}),
        );
    }
    json!({"type": "object", "properties": properties})
}

fn sample<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A request body schema from `(key, type)` pairs; `required` keys must be there.
fn body(keys: &[(&str, &str)], required: &[&str], closed: bool) -> Value {
    let mut properties = Map::new();
    for (key, kind) in keys {
        let schema = match *kind {
            "any" => json!({}),
            kind => json!({"type": kind, "nullable": true}),
        };
        properties.insert((*key).to_owned(), schema);
    }
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": !closed})
}

/// Every component schema the operations refer to.
pub fn components() -> Map<String, Value> {
    let now = Utc::now();
    let id = uuid::Uuid::nil();
    let node = sample(&Node::new(id, "fake-hardware", now, ProvisionState::Enroll));
    let mut out = Map::new();
    out.insert(
        "Link".into(),
        json!({"type": "object", "properties": {"href": {"type": "string"}, "rel": {"type": "string"}}}),
    );
    out.insert(
        "Error".into(),
        json!({"type": "object", "properties": {"error_message": {"type": "string"}}, "required": ["error_message"]}),
    );
    out.insert("Node".into(), resource(Resource::Node, node));
    out.insert("Port".into(), resource(Resource::Port, sample(&Port::new(id, id, "52:54:00:00:00:01", now))));
    out.insert("Portgroup".into(), resource(Resource::Portgroup, sample(&Portgroup::new(id, id, now))));
    out.insert("Chassis".into(), resource(Resource::Chassis, sample(&Chassis::new(id, now))));
    out.insert(
        "Conductor".into(),
        resource(
            Resource::Conductor,
            json!({"created_at": "", "updated_at": "", "hostname": "", "conductor_group": "", "drivers": [], "alive": true}),
        ),
    );
    out.insert(
        "DeployTemplate".into(),
        resource(Resource::DeployTemplate, json!({"uuid": "", "name": "", "extra": {}, "steps": []})),
    );
    out.insert(
        "Runbook".into(),
        resource(
            Resource::Runbook,
            json!({"uuid": "", "name": "", "extra": {}, "steps": [], "public": false}),
        ),
    );
    out.insert(
        "Driver".into(),
        json!({"type": "object", "properties": {
            "name": {"type": "string"}, "hosts": {"type": "array", "items": {"type": "string"}},
            "type": {"type": "string"},
            "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}},
            "properties": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}
        }}),
    );
    out.insert(
        "VolumeConnector".into(),
        resource(
            Resource::VolumeConnector,
            json!({"uuid": "", "connector_id": "", "type": "", "extra": {}, "node_uuid": ""}),
        ),
    );
    out.insert(
        "VolumeTarget".into(),
        resource(
            Resource::VolumeTarget,
            json!({"uuid": "", "boot_index": 0, "extra": {}, "properties": {}, "volume_id": "", "volume_type": "", "node_uuid": ""}),
        ),
    );
    let link_list = json!({"type": "array", "items": {"$ref": "#/components/schemas/Link"}});
    out.insert(
        "VolumeIndex".into(),
        json!({"type": "object", "properties": {"connectors": link_list, "links": link_list, "targets": link_list}}),
    );
    let connector_keys = [
        ("connector_id", "string"),
        ("extra", "object"),
        ("node_uuid", "string"),
        ("type", "string"),
        ("uuid", "string"),
    ];
    out.insert(
        "VolumeConnectorCreate".into(),
        body(&connector_keys, &["connector_id", "node_uuid", "type"], true),
    );
    let target_keys = [
        ("boot_index", "integer"),
        ("extra", "object"),
        ("node_uuid", "string"),
        ("properties", "object"),
        ("uuid", "string"),
        ("volume_id", "string"),
        ("volume_type", "string"),
    ];
    out.insert(
        "VolumeTargetCreate".into(),
        body(&target_keys, &["boot_index", "node_uuid", "volume_id", "volume_type"], true),
    );
    out.insert(
        "Allocation".into(),
        resource(
            Resource::Allocation,
            json!({"uuid": "", "candidate_nodes": [], "extra": {}, "name": "", "owner": "", "resource_class": "", "state": "", "traits": [], "node_uuid": ""}),
        ),
    );
    let allocation_keys = [
        ("resource_class", "string"),
        ("traits", "array"),
        ("candidate_nodes", "array"),
        ("name", "string"),
        ("uuid", "string"),
        ("extra", "object"),
        ("owner", "string"),
        ("node", "string"),
    ];
    out.insert("AllocationCreate".into(), body(&allocation_keys, &[], true));
    out.insert(
        "InspectionRule".into(),
        resource(
            Resource::InspectionRule,
            json!({"uuid": "", "description": "", "phase": "", "priority": 0, "sensitive": false, "conditions": [], "actions": []}),
        ),
    );
    let rule_keys = [
        ("uuid", "string"),
        ("description", "string"),
        ("phase", "string"),
        ("priority", "integer"),
        ("sensitive", "boolean"),
        ("conditions", "array"),
        ("actions", "array"),
    ];
    out.insert("InspectionRuleCreate".into(), body(&rule_keys, &["actions"], true));
    let node_keys: Vec<(&str, &str)> = crate::nodes::input::create_key_types().collect();
    out.insert("NodeCreate".into(), body(&node_keys, &["driver"], true));
    let port_keys = [
        ("address", "string"),
        ("node_uuid", "string"),
        ("extra", "object"),
        ("local_link_connection", "object"),
        ("pxe_enabled", "boolean"),
        ("physical_network", "string"),
        ("is_smartnic", "boolean"),
        ("portgroup_uuid", "string"),
        ("name", "string"),
        ("description", "string"),
        ("uuid", "string"),
    ];
    out.insert("PortCreate".into(), body(&port_keys, &["address", "node_uuid"], true));
    let group_keys = [
        ("address", "string"),
        ("node_uuid", "string"),
        ("extra", "object"),
        ("mode", "string"),
        ("name", "string"),
        ("properties", "object"),
        ("standalone_ports_supported", "boolean"),
        ("uuid", "string"),
    ];
    out.insert("PortgroupCreate".into(), body(&group_keys, &["node_uuid"], true));
    out.insert(
        "StepSetCreate".into(),
        body(
            &[
                ("name", "string"),
                ("steps", "array"),
                ("extra", "object"),
                ("uuid", "string"),
                ("description", "string"),
            ],
            &["name", "steps"],
            false,
        ),
    );
    out.insert(
        "ChassisCreate".into(),
        body(&[("description", "string"), ("extra", "object"), ("uuid", "string")], &[], true),
    );
    let provision = [
        ("target", "string"),
        ("clean_steps", "array"),
        ("deploy_steps", "array"),
        ("service_steps", "array"),
        ("configdrive", "any"),
        ("rescue_password", "string"),
        ("disable_ramdisk", "boolean"),
    ];
    out.insert("ProvisionTarget".into(), body(&provision, &["target"], false));
    out.insert(
        "PowerTarget".into(),
        body(&[("target", "string"), ("timeout", "integer")], &["target"], false),
    );
    out.insert(
        "BootDevice".into(),
        body(&[("boot_device", "string"), ("persistent", "boolean")], &["boot_device"], false),
    );
    out.insert("Traits".into(), json!({"type": "object", "properties": {"traits": {"type": "array", "items": {"type": "string"}}}, "required": ["traits"]}));
    out.insert("BootModeTarget".into(), body(&[("target", "string")], &["target"], false));
    out.insert("SecureBootTarget".into(), body(&[("target", "boolean")], &["target"], false));
    out.insert("IndicatorTarget".into(), body(&[("state", "string")], &["state"], false));
    out.insert("ConsoleTarget".into(), body(&[("enabled", "boolean")], &["enabled"], false));
    out.insert("Maintenance".into(), body(&[("reason", "string")], &[], false));
    let heartbeat = [
        ("callback_url", "string"),
        ("agent_token", "string"),
        ("agent_version", "string"),
        ("agent_verify_ca", "string"),
    ];
    out.insert("Heartbeat".into(), body(&heartbeat, &["callback_url"], false));
    out.insert(
        "Patch".into(),
        json!({"type": "array", "items": {"type": "object", "properties": {
            "op": {"type": "string", "enum": ["add", "replace", "remove", "copy", "move", "test"]},
            "path": {"type": "string"}, "value": {}, "from": {"type": "string"}
        }, "required": ["op", "path"]}}),
    );
    out
}
