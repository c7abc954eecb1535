//! Allocations (1.52): picking and reserving a node, backfilling, releasing.

mod common;

use axum::http::{Method, StatusCode};
use common::Api;
use ferric_catalog::NodeRecord;
use ferric_model::{PowerState, ProvisionState};
use ferric_store::records::Collection;
use serde_json::json;

/// A node through the API, then brought to `state` with power and a resource
/// class in the store, as the conductor would leave it.
async fn node(api: &Api, name: &str, class: &str, state: ProvisionState, traits: &[&str]) -> String {
    let created = api
        .latest(
            Method::POST,
            "/v1/nodes",
            Some(json!({"name": name, "driver": "fake-hardware", "resource_class": class})),
        )
        .await;
    let uuid = created.body["uuid"].as_str().unwrap().to_owned();
    let nodes = Collection::<NodeRecord>::new(api.store.clone());
    let stored = nodes.get(&uuid).await.unwrap().unwrap();
    let mut record = stored.record;
    record.provision_state = state;
    record.power_state = Some(PowerState::Off);
    record.traits = traits.iter().map(|t| t.to_string()).collect();
    nodes.update(&record, stored.mod_revision).await.unwrap();
    uuid
}

#[tokio::test]
async fn an_allocation_reserves_a_matching_available_node() {
    let api = Api::start().await;
    node(&api, "small", "bm-small", ProvisionState::Available, &[]).await;
    node(&api, "plain", "bm-large", ProvisionState::Available, &[]).await;
    let gold = node(&api, "gold", "bm-large", ProvisionState::Available, &["CUSTOM_GOLD"]).await;
    let request = json!({"name": "allocation-2", "resource_class": "bm-large", "traits": ["CUSTOM_GOLD"]});
    let created = api.latest(Method::POST, "/v1/allocations", Some(request)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["state"], "active");
    assert_eq!(created.body["node_uuid"], json!(gold));
    let uuid = created.body["uuid"].as_str().unwrap().to_owned();
    assert!(created.headers["location"].to_str().unwrap().ends_with(&format!("/v1/allocations/{uuid}")));

    let shown = api.latest(Method::GET, "/v1/nodes/gold", None).await.body;
    assert_eq!(shown["allocation_uuid"], json!(uuid));
    assert_eq!(shown["instance_uuid"], json!(uuid));
    let by_node = api.latest(Method::GET, "/v1/nodes/gold/allocation", None).await;
    assert_eq!(by_node.body["uuid"], json!(uuid));
    let by_name = api.latest(Method::GET, "/v1/allocations/allocation-2?fields=state", None).await;
    assert_eq!(common::sorted_keys(&by_name.body), ["links", "state"]);

    let list = api.latest(Method::GET, "/v1/allocations?state=active", None).await;
    assert_eq!(list.body["allocations"].as_array().unwrap().len(), 1);
    assert!(list.body["allocations"][0].get("candidate_nodes").is_some(), "lists carry whole records");
    assert_eq!(
        api.call(Method::GET, "/v1/allocations", Some("1.51"), None).await.status,
        StatusCode::NOT_FOUND
    );
    let old = api.call(Method::GET, &format!("/v1/allocations/{uuid}"), Some("1.59"), None).await;
    assert!(old.body.get("owner").is_none(), "owner appears at 1.60");

    // Deleting releases the node.
    assert_eq!(
        api.latest(Method::DELETE, "/v1/nodes/gold/allocation", None).await.status,
        StatusCode::NO_CONTENT
    );
    let shown = api.latest(Method::GET, "/v1/nodes/gold", None).await.body;
    assert_eq!(shown["allocation_uuid"], json!(null));
    assert_eq!(shown["instance_uuid"], json!(null));
    let none = api.latest(Method::GET, "/v1/nodes/gold/allocation", None).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert_eq!(none.fault(), "Allocation for node gold was not found");
}

#[tokio::test]
async fn an_allocation_without_a_match_ends_in_error() {
    let api = Api::start().await;
    node(&api, "busy", "bm-large", ProvisionState::Manageable, &[]).await;
    let created = api
        .latest(Method::POST, "/v1/allocations", Some(json!({"name": "a1", "resource_class": "bm-large"})))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.body["state"], "error");
    let uuid = created.body["uuid"].as_str().unwrap();
    assert_eq!(
        created.body["last_error"],
        json!(format!(
            "Failed to process allocation {uuid}: no available nodes match the resource class bm-large."
        ))
    );
    node(&api, "plain", "bm-large", ProvisionState::Available, &[]).await;
    let traits = api
        .latest(
            Method::POST,
            "/v1/allocations",
            Some(json!({"resource_class": "bm-large", "traits": ["CUSTOM_X"]})),
        )
        .await;
    assert!(
        traits.body["last_error"]
            .as_str()
            .unwrap()
            .ends_with("no suitable nodes have the requested traits CUSTOM_X.")
    );
    let candidates = api
        .latest(
            Method::POST,
            "/v1/allocations",
            Some(json!({"resource_class": "bm-large", "candidate_nodes": ["busy"]})),
        )
        .await;
    assert!(
        candidates.body["last_error"].as_str().unwrap().contains("none of the requested nodes are available")
    );
    let dup =
        api.latest(Method::POST, "/v1/allocations", Some(json!({"name": "a1", "resource_class": "x"}))).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.fault(), "An allocation with name a1 already exists.");
}

#[tokio::test]
async fn create_requests_are_validated() {
    let api = Api::start().await;
    let reply = api.latest(Method::POST, "/v1/allocations", Some(json!({"name": "x"}))).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.fault(), "The resource_class field is mandatory when not backfilling");
    let reply = api
        .latest(
            Method::POST,
            "/v1/allocations",
            Some(json!({"resource_class": "x", "candidate_nodes": ["nope"]})),
        )
        .await;
    assert_eq!(reply.fault(), "Nodes cannot be found: nope");
    let reply = api
        .latest(Method::POST, "/v1/allocations", Some(json!({"resource_class": "x", "name": "a b"})))
        .await;
    assert_eq!(reply.fault(), "Cannot create allocation with invalid name 'a b'");
    let reply = api
        .call(
            Method::POST,
            "/v1/allocations",
            Some("1.57"),
            Some(json!({"resource_class": "x", "node": "n"})),
        )
        .await;
    assert_eq!(reply.fault(), "Cannot set node when creating an allocation in this API version");
    let reply = api.latest(Method::POST, "/v1/allocations", Some(json!({"node": "nope"}))).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.fault(), "Node nope could not be found.");
}

#[tokio::test]
async fn backfilling_records_an_active_node() {
    let api = Api::start().await;
    let deployed = node(&api, "deployed", "bm", ProvisionState::Active, &[]).await;
    let reply = api.latest(Method::POST, "/v1/allocations", Some(json!({"node": "deployed"}))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.body["state"], "active");
    assert_eq!(reply.body["resource_class"], "bm");
    assert_eq!(reply.body["node_uuid"], json!(deployed));
    // An active node keeps its allocation unless in maintenance.
    let refused = api
        .latest(Method::DELETE, &format!("/v1/allocations/{}", reply.body["uuid"].as_str().unwrap()), None)
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.fault().contains("because the node is active (and maintenance mode is off)"));

    node(&api, "idle", "bm", ProvisionState::Available, &[]).await;
    let refused = api.latest(Method::POST, "/v1/allocations", Some(json!({"node": "idle"}))).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.fault().contains("Node must be in the \"active\" state"), "{}", refused.fault());
}

#[tokio::test]
async fn patch_changes_only_name_and_extra() {
    let api = Api::start().await;
    let created =
        api.latest(Method::POST, "/v1/allocations", Some(json!({"name": "a1", "resource_class": "x"}))).await;
    let path = format!("/v1/allocations/{}", created.body["uuid"].as_str().unwrap());
    let change = json!([{"op": "add", "path": "/extra/foo", "value": "bar"}]);
    let old = api.call(Method::PATCH, &path, Some("1.56"), Some(change.clone())).await;
    assert_eq!(old.status, StatusCode::METHOD_NOT_ALLOWED);
    let patched = api.latest(Method::PATCH, &path, Some(change)).await;
    assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.body);
    assert_eq!(patched.body["extra"], json!({"foo": "bar"}));
    let refused = api
        .latest(
            Method::PATCH,
            &path,
            Some(json!([{"op": "replace", "path": "/resource_class", "value": "y"}])),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(api.latest(Method::DELETE, "/v1/allocations/a1", None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.latest(Method::GET, "/v1/allocations/a1", None).await.fault(),
        "Allocation a1 could not be found."
    );
}
