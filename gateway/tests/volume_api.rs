//! Volume connectors and targets (1.32) against Ironic's rules and samples.

mod common;

use axum::http::{Method, StatusCode};
use common::{Api, sorted_keys};
use ferric_catalog::NodeRecord;
use ferric_model::PowerState;
use ferric_store::records::Collection;
use serde_json::{Value, json};

/// A node through the API, then given `power` in the store as a conductor would.
async fn node(api: &Api, name: &str, power: Option<PowerState>) -> String {
    let created =
        api.latest(Method::POST, "/v1/nodes", Some(json!({"name": name, "driver": "fake-hardware"}))).await;
    let uuid = created.body["uuid"].as_str().unwrap().to_owned();
    let nodes = Collection::<NodeRecord>::new(api.store.clone());
    let stored = nodes.get(&uuid).await.unwrap().unwrap();
    let mut record = stored.record;
    record.power_state = power;
    nodes.update(&record, stored.mod_revision).await.unwrap();
    uuid
}

fn connector(node: &str) -> Value {
    json!({"node_uuid": node, "type": "iqn", "connector_id": "iqn.2017-07.org.openstack:01:d9a51732c3f"})
}

#[tokio::test]
async fn index_documents_link_connectors_and_targets() {
    let api = Api::start().await;
    let index = api.latest(Method::GET, "/v1/volume", None).await;
    assert_eq!(index.status, StatusCode::OK);
    assert_eq!(sorted_keys(&index.body), ["connectors", "links", "targets"]);
    assert_eq!(index.body["connectors"][0]["href"], "http://127.0.0.1:6385/v1/volume/connectors");
    assert_eq!(index.body["links"][0]["href"], "http://127.0.0.1:6385/v1/volume/");
    assert_eq!(api.call(Method::GET, "/v1/volume", Some("1.31"), None).await.status, StatusCode::NOT_FOUND);
    let uuid = node(&api, "n1", None).await;
    let of_node = api.latest(Method::GET, "/v1/nodes/n1/volume", None).await;
    assert_eq!(
        of_node.body["targets"][0]["href"],
        format!("http://127.0.0.1:6385/v1/nodes/{uuid}/volume/targets")
    );
    assert_eq!(api.latest(Method::GET, "/v1/nodes/nope/volume", None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn connectors_are_created_listed_and_unique_per_type_and_id() {
    let api = Api::start().await;
    let uuid = node(&api, "n1", Some(PowerState::Off)).await;
    let created = api.latest(Method::POST, "/v1/volume/connectors", Some(connector(&uuid))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(
        sorted_keys(&created.body),
        ["connector_id", "created_at", "extra", "links", "node_uuid", "type", "updated_at", "uuid"]
    );
    let id = created.body["uuid"].as_str().unwrap();
    assert!(created.headers["location"].to_str().unwrap().ends_with(&format!("/v1/volume/connectors/{id}")));

    let dup = api.latest(Method::POST, "/v1/volume/connectors", Some(connector(&uuid))).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(
        dup.fault(),
        "A volume connector with type iqn and connector ID iqn.2017-07.org.openstack:01:d9a51732c3f already exists."
    );

    let list = api.latest(Method::GET, "/v1/volume/connectors", None).await;
    assert_eq!(
        sorted_keys(&list.body["connectors"][0]),
        ["connector_id", "links", "node_uuid", "type", "uuid"]
    );
    let detail = api.latest(Method::GET, "/v1/volume/connectors?detail=True", None).await;
    assert!(detail.body["connectors"][0].get("extra").is_some());
    let by_node = api.latest(Method::GET, "/v1/nodes/n1/volume/connectors", None).await;
    assert_eq!(by_node.body["connectors"].as_array().unwrap().len(), 1);
    let fields = api.latest(Method::GET, &format!("/v1/volume/connectors/{id}?fields=type"), None).await;
    assert_eq!(sorted_keys(&fields.body), ["links", "type"]);
    let both = api.latest(Method::GET, "/v1/volume/connectors?detail=True&fields=type", None).await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        api.call(Method::GET, &format!("/v1/volume/connectors/{id}"), Some("1.31"), None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn creates_are_validated_against_the_schema_and_the_node() {
    let api = Api::start().await;
    let uuid = node(&api, "n1", None).await;
    let mut bad_type = connector(&uuid);
    bad_type["type"] = json!("nvme");
    let reply = api.latest(Method::POST, "/v1/volume/connectors", Some(bad_type)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.fault().contains("'nvme' is not one of"), "{}", reply.fault());
    let missing = api.latest(Method::POST, "/v1/volume/targets", Some(json!({"node_uuid": uuid}))).await;
    assert_eq!(missing.fault(), "Schema error for volume_target: 'boot_index' is a required property");
    let unknown = connector("6d85703a-565d-469a-96ce-30b6de53079d");
    let reply = api.latest(Method::POST, "/v1/volume/connectors", Some(unknown)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.fault(), "Node 6d85703a-565d-469a-96ce-30b6de53079d could not be found.");
    let mut extra_key = connector(&uuid);
    extra_key["bogus"] = json!(1);
    let reply = api.latest(Method::POST, "/v1/volume/connectors", Some(extra_key)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn targets_have_unique_boot_indexes_and_change_only_when_powered_off() {
    let api = Api::start().await;
    let on = node(&api, "on", Some(PowerState::On)).await;
    let target = json!({"node_uuid": on, "volume_type": "iscsi", "boot_index": 0, "volume_id": "v1"});
    let created = api.latest(Method::POST, "/v1/volume/targets", Some(target.clone())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["properties"], json!({}));
    let mut second = target.clone();
    second["volume_id"] = json!("v2");
    let dup = api.latest(Method::POST, "/v1/volume/targets", Some(second)).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.fault(), "A volume target with boot index '0' for the same node already exists.");

    let id = created.body["uuid"].as_str().unwrap().to_owned();
    let path = format!("/v1/volume/targets/{id}");
    let change = json!([{"op": "replace", "path": "/volume_id", "value": "v3"}]);
    let refused = api.latest(Method::PATCH, &path, Some(change.clone())).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.fault(),
        format!(
            "The requested action \"volume target update\" can not be performed on node \"{on}\" while it is in state \"power on\"."
        )
    );
    let refused = api.latest(Method::DELETE, &path, None).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.fault().contains("volume target deletion"));
    let bad_root = api
        .latest(Method::PATCH, &path, Some(json!([{"op": "replace", "path": "/uuid", "value": "x"}])))
        .await;
    assert_eq!(bad_root.status, StatusCode::BAD_REQUEST);

    // Moved to a powered-off node, it may change.
    let off = node(&api, "off", Some(PowerState::Off)).await;
    let nodes = Collection::<NodeRecord>::new(api.store.clone());
    let stored = nodes.get(&on).await.unwrap().unwrap();
    let mut record = stored.record;
    record.power_state = Some(PowerState::Off);
    nodes.update(&record, stored.mod_revision).await.unwrap();
    let moved = api
        .latest(Method::PATCH, &path, Some(json!([{"op": "replace", "path": "/node_uuid", "value": off}])))
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.body);
    assert_eq!(moved.body["node_uuid"], json!(off));
    assert!(moved.body["updated_at"].is_string());
    assert_eq!(
        api.latest(Method::GET, "/v1/nodes/off/volume/targets", None).await.body["targets"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(api.latest(Method::DELETE, &path, None).await.status, StatusCode::NO_CONTENT);
    let gone = api.latest(Method::GET, &path, None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.fault(), format!("Volume target {id} could not be found."));
}

#[tokio::test]
async fn deleting_a_node_deletes_its_volume_records() {
    let api = Api::start().await;
    let uuid = node(&api, "n1", Some(PowerState::Off)).await;
    api.latest(Method::POST, "/v1/volume/connectors", Some(connector(&uuid))).await;
    assert_eq!(api.latest(Method::DELETE, "/v1/nodes/n1", None).await.status, StatusCode::NO_CONTENT);
    let list = api.latest(Method::GET, "/v1/volume/connectors", None).await;
    assert!(list.body["connectors"].as_array().unwrap().is_empty());
}
