//! Ports, drivers and conductors against the transcripts of a real Ironic 39.

mod common;

use axum::http::{Method, StatusCode};
use common::{Api, sorted_keys, transcript_keys};
use serde_json::json;

#[tokio::test]
async fn ports_create_list_find_and_refuse_duplicates() {
    let api = Api::start().await;
    let node = api
        .latest(Method::POST, "/v1/nodes", Some(json!({"name": "p", "driver": "fake-hardware"})))
        .await
        .body;
    let uuid = node["uuid"].as_str().unwrap();
    let port = api
        .latest(Method::POST, "/v1/ports", Some(json!({"node_uuid": uuid, "address": "52:54:00:AA:BB:01"})))
        .await;
    assert_eq!(port.status, StatusCode::CREATED, "{:?}", port.body);
    let mut expected = transcript_keys("49-port-create.txt");
    expected.sort();
    assert_eq!(sorted_keys(&port.body), expected);
    assert_eq!(port.body["address"], "52:54:00:aa:bb:01", "MACs are stored lower-case");

    let dup = api
        .latest(Method::POST, "/v1/ports", Some(json!({"node_uuid": uuid, "address": "52:54:00:aa:bb:01"})))
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.fault(), "A port with MAC address 52:54:00:aa:bb:01 already exists.");
    let bad =
        api.latest(Method::POST, "/v1/ports", Some(json!({"node_uuid": uuid, "address": "not-a-mac"}))).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.fault(), "Expected valid MAC address for address: not-a-mac");

    let list = api.latest(Method::GET, "/v1/ports", None).await;
    assert_eq!(sorted_keys(&list.body["ports"][0]), ["address", "links", "uuid"]);
    let by_address = api.latest(Method::GET, "/v1/ports?address=52:54:00:aa:bb:01", None).await;
    assert_eq!(by_address.body["ports"].as_array().unwrap().len(), 1);
    let of_node = api.latest(Method::GET, "/v1/nodes/p/ports", None).await;
    assert_eq!(of_node.body["ports"].as_array().unwrap().len(), 1);

    let port_uuid = port.body["uuid"].as_str().unwrap();
    assert_eq!(
        api.latest(Method::DELETE, &format!("/v1/ports/{port_uuid}"), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(api.latest(Method::GET, "/v1/ports", None).await.body["ports"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn deleting_a_node_deletes_its_ports() {
    let api = Api::start().await;
    let node = api.latest(Method::POST, "/v1/nodes", Some(json!({"driver": "fake-hardware"}))).await.body;
    let uuid = node["uuid"].as_str().unwrap();
    api.latest(Method::POST, "/v1/ports", Some(json!({"node_uuid": uuid, "address": "52:54:00:aa:bb:02"})))
        .await;
    assert_eq!(
        api.latest(Method::DELETE, &format!("/v1/nodes/{uuid}"), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(api.latest(Method::GET, "/v1/ports", None).await.body["ports"].as_array().unwrap().is_empty());
    // The MAC is free again.
    let other = api.latest(Method::POST, "/v1/nodes", Some(json!({"driver": "fake-hardware"}))).await.body;
    let again = api
        .latest(
            Method::POST,
            "/v1/ports",
            Some(json!({"node_uuid": other["uuid"], "address": "52:54:00:aa:bb:02"})),
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
}

#[tokio::test]
async fn drivers_list_the_hardware_types_live_conductors_serve() {
    let api = Api::start().await;
    let list = api.latest(Method::GET, "/v1/drivers", None).await;
    let names: Vec<_> =
        list.body["drivers"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["fake-hardware", "ipmi", "manual-management", "redfish"]);
    assert_eq!(list.body["drivers"][0]["hosts"], json!(["test-conductor"]));
    let detail = api.latest(Method::GET, "/v1/drivers/fake-hardware", None).await;
    let mut expected = transcript_keys("08-driver-fake-hardware.txt");
    expected.sort();
    assert_eq!(sorted_keys(&detail.body), expected);
    let properties = api.latest(Method::GET, "/v1/drivers/fake-hardware/properties", None).await;
    assert_eq!(
        properties.body,
        json!({"B1": "B1 description. Required.", "B2": "B2 description. Required."})
    );
    assert_eq!(api.latest(Method::GET, "/v1/drivers/nope", None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn conductors_are_listed_from_membership() {
    let api = Api::start().await;
    let list = api.latest(Method::GET, "/v1/conductors", None).await;
    let mut expected = transcript_keys("10-conductors.txt");
    assert_eq!(expected, ["conductors"]);
    expected = sorted_keys(&list.body["conductors"][0]);
    assert_eq!(expected, ["alive", "conductor_group", "hostname", "links"]);
    assert_eq!(list.body["conductors"][0]["alive"], true);
    let detail = api.latest(Method::GET, "/v1/conductors?detail=True", None).await;
    assert_eq!(
        sorted_keys(&detail.body["conductors"][0]),
        ["alive", "conductor_group", "created_at", "drivers", "hostname", "links", "updated_at"]
    );
    let old = api.call(Method::GET, "/v1/conductors", Some("1.48"), None).await;
    assert_eq!(old.status, StatusCode::NOT_FOUND);
    assert_eq!(old.fault(), "The API is not supported for this version");
}

#[tokio::test]
async fn portgroups_group_ports_and_guard_their_deletion() {
    let api = Api::start().await;
    let node = api
        .latest(Method::POST, "/v1/nodes", Some(json!({"name": "bonded", "driver": "fake-hardware"})))
        .await
        .body;
    let group = api
        .latest(Method::POST, "/v1/portgroups", Some(json!({"node_uuid": "bonded", "name": "bond0", "address": "52:54:00:AA:00:01", "mode": "802.3ad"})))
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{:?}", group.body);
    assert_eq!(group.body["address"], "52:54:00:aa:00:01");
    assert_eq!(group.body["node_uuid"], node["uuid"]);
    let port = api
        .latest(
            Method::POST,
            "/v1/ports",
            Some(
                json!({"node_uuid": node["uuid"], "address": "52:54:00:aa:00:02", "portgroup_uuid": "bond0"}),
            ),
        )
        .await;
    assert_eq!(port.status, StatusCode::CREATED, "{:?}", port.body);
    assert_eq!(port.body["portgroup_uuid"], group.body["uuid"]);
    let members = api.latest(Method::GET, "/v1/portgroups/bond0/ports", None).await;
    assert_eq!(members.body["ports"].as_array().unwrap().len(), 1);
    let of_node = api.latest(Method::GET, "/v1/nodes/bonded/portgroups", None).await;
    assert_eq!(of_node.body["portgroups"][0]["name"], "bond0");
    assert_eq!(
        api.call(Method::GET, "/v1/portgroups", Some("1.22"), None).await.status,
        StatusCode::NOT_FOUND
    );
    let dup = api
        .latest(Method::POST, "/v1/portgroups", Some(json!({"node_uuid": "bonded", "name": "bond0"})))
        .await;
    assert_eq!(dup.fault(), "A portgroup with name bond0 already exists.");
    let busy = api.latest(Method::DELETE, "/v1/portgroups/bond0", None).await;
    assert_eq!(busy.status, StatusCode::CONFLICT);
    let port_uuid = port.body["uuid"].as_str().unwrap();
    api.latest(Method::DELETE, &format!("/v1/ports/{port_uuid}"), None).await;
    assert_eq!(api.latest(Method::DELETE, "/v1/portgroups/bond0", None).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn chassis_hold_nodes() {
    let api = Api::start().await;
    let chassis = api.latest(Method::POST, "/v1/chassis", Some(json!({"description": "rack 4"}))).await;
    assert_eq!(chassis.status, StatusCode::CREATED);
    let uuid = chassis.body["uuid"].as_str().unwrap();
    assert_eq!(
        chassis.body["nodes"][0]["href"],
        format!("http://127.0.0.1:6385/v1/chassis/{uuid}/nodes").as_str()
    );
    let node = api
        .latest(Method::POST, "/v1/nodes", Some(json!({"driver": "fake-hardware", "chassis_uuid": uuid})))
        .await;
    assert_eq!(node.status, StatusCode::CREATED);
    let missing = api
        .latest(
            Method::POST,
            "/v1/nodes",
            Some(json!({"driver": "fake-hardware", "chassis_uuid": "1be26c0b-03f2-4d2e-ae87-c02d7f33c123"})),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let nodes = api.latest(Method::GET, &format!("/v1/chassis/{uuid}/nodes"), None).await;
    assert_eq!(nodes.body["nodes"].as_array().unwrap().len(), 1);
    let patched = api
        .latest(
            Method::PATCH,
            &format!("/v1/chassis/{uuid}"),
            Some(json!([{"op": "replace", "path": "/description", "value": "rack 5"}])),
        )
        .await;
    assert_eq!(patched.body["description"], "rack 5");
    assert_eq!(
        api.latest(Method::DELETE, &format!("/v1/chassis/{uuid}"), None).await.status,
        StatusCode::BAD_REQUEST
    );
    let listed = api.latest(Method::GET, "/v1/chassis", None).await;
    assert_eq!(sorted_keys(&listed.body["chassis"][0]), ["description", "links", "uuid"]);
}

#[tokio::test]
async fn vifs_attach_to_free_ports_and_shards_count_nodes() {
    let api = Api::start().await;
    let created = api
        .latest(
            Method::POST,
            "/v1/nodes",
            Some(json!({"name": "net", "driver": "fake-hardware", "shard": "rack-1"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let node = created.body;
    let none_free = api.latest(Method::POST, "/v1/nodes/net/vifs", Some(json!({"id": "vif-1"}))).await;
    assert_eq!(none_free.status, StatusCode::BAD_REQUEST, "{:?}", none_free.body);
    assert_eq!(none_free.fault(), "Unable to attach VIF vif-1, not enough free physical ports.");
    api.latest(
        Method::POST,
        "/v1/ports",
        Some(json!({"node_uuid": node["uuid"], "address": "52:54:00:00:10:01"})),
    )
    .await;
    assert_eq!(
        api.latest(Method::POST, "/v1/nodes/net/vifs", Some(json!({"id": "vif-1"}))).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.latest(Method::GET, "/v1/nodes/net/vifs", None).await.body,
        json!({"vifs": [{"id": "vif-1"}]})
    );
    assert_eq!(
        api.latest(Method::POST, "/v1/nodes/net/vifs", Some(json!({"id": "vif-1"}))).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        api.latest(Method::DELETE, "/v1/nodes/net/vifs/vif-1", None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(api.latest(Method::GET, "/v1/nodes/net/vifs", None).await.body, json!({"vifs": []}));
    assert_eq!(
        api.call(Method::GET, "/v1/nodes/net/vifs", Some("1.27"), None).await.status,
        StatusCode::NOT_FOUND
    );

    api.latest(Method::POST, "/v1/nodes", Some(json!({"driver": "fake-hardware", "shard": "rack-1"}))).await;
    api.latest(Method::POST, "/v1/nodes", Some(json!({"driver": "fake-hardware", "shard": "rack-2"}))).await;
    let shards = api.latest(Method::GET, "/v1/shards", None).await;
    assert_eq!(
        shards.body,
        json!({"shards": [{"name": "rack-1", "count": 2}, {"name": "rack-2", "count": 1}]})
    );
}

#[tokio::test]
async fn deploy_templates_and_runbooks_hold_named_steps() {
    let api = Api::start().await;
    let steps = json!([{"interface": "bios", "step": "apply_configuration", "args": {}, "priority": 150}]);
    let template = api
        .latest(
            Method::POST,
            "/v1/deploy_templates",
            Some(json!({"name": "CUSTOM_HYPERTHREADING_ON", "steps": steps})),
        )
        .await;
    assert_eq!(template.status, StatusCode::CREATED, "{:?}", template.body);
    assert_eq!(template.body["steps"][0]["step"], "apply_configuration");
    let bad = api
        .latest(Method::POST, "/v1/deploy_templates", Some(json!({"name": "not-a-trait", "steps": steps})))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let dup = api
        .latest(
            Method::POST,
            "/v1/deploy_templates",
            Some(json!({"name": "CUSTOM_HYPERTHREADING_ON", "steps": steps})),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let listed = api.latest(Method::GET, "/v1/deploy_templates", None).await;
    assert_eq!(sorted_keys(&listed.body["deploy_templates"][0]), ["links", "name", "uuid"]);
    let patched = api
        .latest(
            Method::PATCH,
            "/v1/deploy_templates/CUSTOM_HYPERTHREADING_ON",
            Some(json!([{"op": "add", "path": "/extra/team", "value": "a"}])),
        )
        .await;
    assert_eq!(patched.body["extra"]["team"], "a");
    assert_eq!(
        api.call(Method::GET, "/v1/deploy_templates", Some("1.54"), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.latest(Method::DELETE, "/v1/deploy_templates/CUSTOM_HYPERTHREADING_ON", None).await.status,
        StatusCode::NO_CONTENT
    );

    let runbook_steps =
        json!([{"interface": "deploy", "step": "erase_devices_metadata", "args": {}, "order": 1}]);
    let runbook = api
        .latest(Method::POST, "/v1/runbooks", Some(json!({"name": "CUSTOM_WIPE", "steps": runbook_steps})))
        .await;
    assert_eq!(runbook.status, StatusCode::CREATED, "{:?}", runbook.body);
    assert_eq!(runbook.body["public"], false);
    assert_eq!(api.call(Method::GET, "/v1/runbooks", Some("1.91"), None).await.status, StatusCode::NOT_FOUND);
}
