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
