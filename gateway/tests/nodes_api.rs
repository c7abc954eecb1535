//! The node API against the transcripts of a real Ironic 39: shapes, defaults,
//! validation messages and status codes.

mod common;

use axum::http::{Method, StatusCode};
use common::{Api, sorted_keys, transcript_keys};
use serde_json::json;

async fn create(api: &Api, name: &str) -> serde_json::Value {
    let reply = api
        .latest(
            Method::POST,
            "/v1/nodes",
            Some(json!({"name": name, "driver": "fake-hardware", "properties": {"cpus": 4, "memory_mb": 8192}})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body
}

#[tokio::test]
async fn create_returns_ironics_node_shape_and_defaults() {
    let api = Api::start().await;
    let reply = api
        .latest(
            Method::POST,
            "/v1/nodes",
            Some(
                json!({"name": "n0", "driver": "fake-hardware", "driver_info": {"ipmi_password": "hunter2"}}),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let node = &reply.body;
    let mut expected = transcript_keys("13-node-create.txt");
    expected.sort();
    assert_eq!(sorted_keys(node), expected);
    assert_eq!(node["provision_state"], "enroll");
    assert_eq!(node["deploy_interface"], "fake");
    assert_eq!(node["network_interface"], "noop");
    assert_eq!(node["storage_interface"], "noop");
    assert_eq!(node["conductor"], "test-conductor");
    assert_eq!(node["driver_info"]["ipmi_password"], "******", "secrets never leave the API");
    let uuid = node["uuid"].as_str().unwrap();
    assert_eq!(reply.headers["location"], format!("http://127.0.0.1:6385/v1/nodes/{uuid}").as_str());
    assert_eq!(node["links"][0]["href"], format!("http://127.0.0.1:6385/v1/nodes/{uuid}").as_str());
    assert_eq!(node["ports"][1]["href"], format!("http://127.0.0.1:6385/nodes/{uuid}/ports").as_str());
}

#[tokio::test]
async fn old_clients_get_available_nodes_and_old_shapes() {
    let api = Api::start().await;
    let reply =
        api.call(Method::POST, "/v1/nodes", Some("1.1"), Some(json!({"driver": "fake-hardware"}))).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    // Before 1.2 `available` was NOSTATE, shown as null (transcript 14).
    assert_eq!(reply.body["provision_state"], serde_json::Value::Null);
    assert!(reply.body.get("deploy_interface").is_none(), "interfaces arrive at 1.31");
    assert!(reply.body.get("name").is_none(), "names arrive at 1.5");
    // Naming a node needs 1.5 (transcript 14).
    let named = api
        .call(
            Method::POST,
            "/v1/nodes",
            Some("1.1"),
            Some(json!({"name": "curl-node-old", "driver": "fake-hardware"})),
        )
        .await;
    assert_eq!(named.status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(named.fault(), "Request not acceptable.");
}

#[tokio::test]
async fn creation_errors_match_ironic() {
    let api = Api::start().await;
    create(&api, "dup").await;
    let dup =
        api.latest(Method::POST, "/v1/nodes", Some(json!({"name": "dup", "driver": "fake-hardware"}))).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.fault(), "A node with name dup already exists.");

    let bad_driver =
        api.latest(Method::POST, "/v1/nodes", Some(json!({"name": "x", "driver": "no-such-driver"}))).await;
    assert_eq!(bad_driver.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_driver.fault(),
        "No valid host was found. Reason: No conductor service registered which supports driver no-such-driver for conductor group \"\". Ensure the driver is valid and enabled."
    );

    let bad_iface = api
        .latest(
            Method::POST,
            "/v1/nodes",
            Some(json!({"name": "bad-iface", "driver": "fake-hardware", "deploy_interface": "nope"})),
        )
        .await;
    assert_eq!(bad_iface.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_iface.fault(),
        "Could not find the following interface in the 'ironic.hardware.interfaces.deploy' entrypoint: nope. Valid interfaces are ['direct', 'fake', 'ramdisk']."
    );

    let unknown =
        api.latest(Method::POST, "/v1/nodes", Some(json!({"driver": "fake-hardware", "flavor": "x"}))).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        unknown.fault(),
        "Schema error for node: Additional properties are not allowed ('flavor' was unexpected)"
    );
}

#[tokio::test]
async fn malformed_json_is_a_clean_client_error() {
    let api = Api::start().await;
    let request = axum::http::Request::post("/v1/nodes")
        .header("X-OpenStack-Ironic-API-Version", "1.115")
        .body(axum::body::Body::from(r#"{"name": "x", "driver": "#))
        .unwrap();
    let response = tower::ServiceExt::oneshot(api.app.clone(), request).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn show_by_name_or_uuid_with_fields() {
    let api = Api::start().await;
    let node = create(&api, "shown").await;
    let uuid = node["uuid"].as_str().unwrap();
    let by_name = api.latest(Method::GET, "/v1/nodes/shown", None).await;
    assert_eq!(by_name.status, StatusCode::OK);
    assert_eq!(by_name.body["uuid"], uuid);
    let by_uuid = api.latest(Method::GET, &format!("/v1/nodes/{uuid}"), None).await;
    assert_eq!(by_uuid.body["name"], "shown");

    let fields =
        api.latest(Method::GET, "/v1/nodes/shown?fields=uuid,name,provision_state,power_state", None).await;
    let keys: Vec<_> = fields.body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, transcript_keys("18-node-get-fields.txt"));

    let bogus = api.latest(Method::GET, "/v1/nodes/shown?fields=uuid,bogus", None).await;
    assert_eq!(bogus.status, StatusCode::BAD_REQUEST);
    assert_eq!(bogus.fault(), "Field bogus is not a valid field.");

    let missing = api.latest(Method::GET, "/v1/nodes/no-such-node", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.fault(), "Node no-such-node could not be found.");
    let missing_uuid = api.latest(Method::GET, "/v1/nodes/1be26c0b-03f2-4d2e-ae87-c02d7f33c123", None).await;
    assert_eq!(missing_uuid.fault(), "Node 1be26c0b-03f2-4d2e-ae87-c02d7f33c123 could not be found.");
}

#[tokio::test]
async fn patch_applies_rfc6902_and_refuses_read_only_fields() {
    let api = Api::start().await;
    create(&api, "patched").await;
    let patch = json!([
        {"op": "add", "path": "/extra/foo", "value": "bar"},
        {"op": "replace", "path": "/description", "value": "anchor node"},
        {"op": "add", "path": "/driver_info/ipmi_password", "value": "s3cret"}
    ]);
    let reply = api.latest(Method::PATCH, "/v1/nodes/patched", Some(patch)).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["extra"]["foo"], "bar");
    assert_eq!(reply.body["description"], "anchor node");
    assert_eq!(reply.body["driver_info"]["ipmi_password"], "******");
    assert!(reply.body["updated_at"].is_string());

    let removed = api
        .latest(Method::PATCH, "/v1/nodes/patched", Some(json!([{"op": "remove", "path": "/description"}])))
        .await;
    assert_eq!(removed.body["description"], serde_json::Value::Null);

    let uuid_patch =
        json!([{"op": "replace", "path": "/uuid", "value": "1be26c0b-03f2-4d2e-ae87-c02d7f33c123"}]);
    let refused = api.latest(Method::PATCH, "/v1/nodes/patched", Some(uuid_patch)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.fault().starts_with(
        "Cannot patch /uuid. Only the following can be updated: automated_clean, bios_interface,"
    ));

    let bad_iface = api
        .latest(
            Method::PATCH,
            "/v1/nodes/patched",
            Some(json!([{"op": "replace", "path": "/power_interface", "value": "ipmitool"}])),
        )
        .await;
    assert_eq!(bad_iface.status, StatusCode::BAD_REQUEST, "fake-hardware cannot use ipmitool");

    let switched = api
        .latest(
            Method::PATCH,
            "/v1/nodes/patched",
            Some(json!([{"op": "replace", "path": "/driver", "value": "ipmi"}])),
        )
        .await;
    assert_eq!(switched.status, StatusCode::OK, "{:?}", switched.body);
    assert_eq!(switched.body["power_interface"], "ipmitool", "interfaces follow the new hardware type");
}

#[tokio::test]
async fn list_pages_filters_and_details() {
    let api = Api::start().await;
    for i in 0..3 {
        create(&api, &format!("node-{i}")).await;
    }
    let list = api.latest(Method::GET, "/v1/nodes", None).await;
    let nodes = list.body["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    let mut keys = sorted_keys(&nodes[0]);
    keys.sort();
    assert_eq!(
        keys,
        ["instance_uuid", "links", "maintenance", "name", "power_state", "provision_state", "uuid"]
    );
    assert_eq!(
        nodes.iter().map(|n| n["name"].as_str().unwrap()).collect::<Vec<_>>(),
        ["node-0", "node-1", "node-2"]
    );

    let page = api.latest(Method::GET, "/v1/nodes?limit=2", None).await;
    assert_eq!(page.body["nodes"].as_array().unwrap().len(), 2);
    let next = page.body["next"].as_str().unwrap();
    let last = page.body["nodes"][1]["uuid"].as_str().unwrap();
    assert!(next.ends_with(&format!("limit=2&marker={last}")), "{next}");
    let rest = api.latest(Method::GET, &next.replace("http://127.0.0.1:6385", ""), None).await;
    assert_eq!(rest.body["nodes"].as_array().unwrap().len(), 1);
    assert!(rest.body.get("next").is_none());

    let desc = api.latest(Method::GET, "/v1/nodes?sort_key=name&sort_dir=desc", None).await;
    assert_eq!(desc.body["nodes"][0]["name"], "node-2");
    assert_eq!(api.latest(Method::GET, "/v1/nodes?sort_dir=up", None).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(api.latest(Method::GET, "/v1/nodes?limit=0", None).await.fault(), "Limit must be positive");

    let detail = api.latest(Method::GET, "/v1/nodes/detail", None).await;
    assert!(detail.body["nodes"][0].get("driver_info").is_some());
    let detail_arg = api.latest(Method::GET, "/v1/nodes?detail=True", None).await;
    assert_eq!(detail_arg.body["nodes"].as_array().unwrap().len(), 3);
    assert!(detail_arg.body["nodes"][0].get("properties").is_some());

    let fields = api.latest(Method::GET, "/v1/nodes?fields=uuid,name", None).await;
    assert_eq!(sorted_keys(&fields.body["nodes"][0]), ["links", "name", "uuid"]);

    let filtered = api
        .latest(Method::GET, "/v1/nodes?provision_state=enroll&driver=fake-hardware&maintenance=false", None)
        .await;
    assert_eq!(filtered.body["nodes"].as_array().unwrap().len(), 3);
    let none = api.latest(Method::GET, "/v1/nodes?provision_state=active", None).await;
    assert!(none.body["nodes"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn traits_follow_the_transcripts() {
    let api = Api::start().await;
    create(&api, "traited").await;
    assert_eq!(
        api.latest(Method::PUT, "/v1/nodes/traited/traits/CUSTOM_GOLD", None).await.status,
        StatusCode::NO_CONTENT
    );
    let set = api
        .latest(
            Method::PUT,
            "/v1/nodes/traited/traits",
            Some(json!({"traits": ["CUSTOM_GOLD", "CUSTOM_SILVER", "HW_CPU_X86_VMX"]})),
        )
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT);
    let listed = api.latest(Method::GET, "/v1/nodes/traited/traits", None).await;
    assert_eq!(listed.body, json!({"traits": ["CUSTOM_GOLD", "CUSTOM_SILVER", "HW_CPU_X86_VMX"]}));
    let bad = api.latest(Method::PUT, "/v1/nodes/traited/traits/not_a_valid_trait", None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.fault(),
        "Schema error for trait: 'not_a_valid_trait' is not valid under any of the given schemas. Possible root cause: 'not_a_valid_trait' does not match '^CUSTOM_[A-Z0-9_]+$'"
    );
    let missing = api.latest(Method::DELETE, "/v1/nodes/traited/traits/CUSTOM_NOPE", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.fault().ends_with("doesn't have a trait 'CUSTOM_NOPE'"));
    assert_eq!(
        api.latest(Method::DELETE, "/v1/nodes/traited/traits", None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(api.latest(Method::GET, "/v1/nodes/traited/traits", None).await.body, json!({"traits": []}));
    assert_eq!(
        api.call(Method::GET, "/v1/nodes/traited/traits", Some("1.36"), None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn maintenance_and_delete() {
    let api = Api::start().await;
    create(&api, "doomed").await;
    let on = api.latest(Method::PUT, "/v1/nodes/doomed/maintenance", Some(json!({"reason": "fan"}))).await;
    assert_eq!(on.status, StatusCode::ACCEPTED);
    let node = api.latest(Method::GET, "/v1/nodes/doomed", None).await.body;
    assert_eq!(node["maintenance"], true);
    assert_eq!(node["maintenance_reason"], "fan");
    assert_eq!(
        api.latest(Method::DELETE, "/v1/nodes/doomed/maintenance", None).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(api.latest(Method::GET, "/v1/nodes/doomed", None).await.body["maintenance"], false);
    assert_eq!(api.latest(Method::DELETE, "/v1/nodes/doomed", None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(api.latest(Method::GET, "/v1/nodes/doomed", None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_locked_node_is_refused_with_its_holder() {
    let api = Api::start().await;
    let node = create(&api, "held").await;
    let uuid = node["uuid"].as_str().unwrap();
    let lease = api.store.lease_grant(std::time::Duration::from_secs(30)).await.unwrap();
    let locks = ferric_store::lock::Locks::new(api.store.clone());
    locks.lock_exclusive(&ferric_catalog::node_lock(uuid), "conductor-7", lease).await.unwrap();
    let shown = api.latest(Method::GET, "/v1/nodes/held", None).await;
    assert_eq!(shown.body["reservation"], "conductor-7");
    let patch = api
        .latest(Method::PATCH, "/v1/nodes/held", Some(json!([{"op": "add", "path": "/extra/a", "value": 1}])))
        .await;
    assert_eq!(patch.status, StatusCode::CONFLICT);
    assert_eq!(
        patch.fault(),
        format!(
            "Node {uuid} is locked by host conductor-7, please retry after the current operation is completed."
        )
    );
    assert_eq!(api.latest(Method::DELETE, "/v1/nodes/held", None).await.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn trailing_slashes_are_accepted_as_clients_send_them() {
    let api = Api::start().await;
    create(&api, "slash").await;
    let list = api.latest(Method::GET, "/v1/nodes/?fields=uuid,name", None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["nodes"][0]["name"], "slash");
    assert_eq!(api.latest(Method::GET, "/v1/ports/?node=slash", None).await.status, StatusCode::OK);
}
