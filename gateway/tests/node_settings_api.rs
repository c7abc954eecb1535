//! RAID configuration, vendor passthru and the detail sub-lists, as Ironic's
//! fake-hardware answers them.

mod common;

use axum::http::{Method, StatusCode};
use common::Api;
use serde_json::json;

#[tokio::test]
async fn raid_config_is_checked_and_stored_as_target() {
    let api = Api::start().await;
    api.latest(Method::POST, "/v1/nodes", Some(json!({"name": "raided", "driver": "fake-hardware"}))).await;
    let config = json!({"logical_disks": [{"size_gb": 100, "raid_level": "1", "is_root_volume": true}]});
    let set = api.latest(Method::PUT, "/v1/nodes/raided/states/raid", Some(config.clone())).await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{:?}", set.body);
    let states = api.latest(Method::GET, "/v1/nodes/raided/states", None).await;
    assert_eq!(states.body["target_raid_config"], config);
    let bad = api
        .latest(
            Method::PUT,
            "/v1/nodes/raided/states/raid",
            Some(json!({"logical_disks": [{"size_gb": 1, "raid_level": "7"}]})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.fault().starts_with("Invalid RAID configuration"), "{}", bad.fault());
    let old = api.call(Method::PUT, "/v1/nodes/raided/states/raid", Some("1.11"), Some(config)).await;
    assert_eq!(old.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn fake_vendor_passthru_matches_ironics_fake_vendor() {
    let api = Api::start().await;
    api.latest(Method::POST, "/v1/nodes", Some(json!({"name": "vendored", "driver": "fake-hardware"}))).await;
    let methods = api.latest(Method::GET, "/v1/nodes/vendored/vendor_passthru/methods", None).await;
    assert_eq!(methods.body["third_method_sync"]["async"], false);
    assert_eq!(methods.body["second_method"]["http_methods"], json!(["POST"]));
    let sync = api
        .latest(
            Method::POST,
            "/v1/nodes/vendored/vendor_passthru?method=third_method_sync",
            Some(json!({"bar": "meow"})),
        )
        .await;
    assert_eq!((sync.status, sync.body.clone()), (StatusCode::OK, json!(true)));
    let async_call = api
        .latest(
            Method::POST,
            "/v1/nodes/vendored/vendor_passthru?method=second_method",
            Some(json!({"bar": "x"})),
        )
        .await;
    assert_eq!(async_call.status, StatusCode::ACCEPTED);
    let missing =
        api.latest(Method::POST, "/v1/nodes/vendored/vendor_passthru?method=second_method", None).await;
    assert_eq!(missing.fault(), "Parameter 'bar' not passed to method 'second_method'.");
    let unknown = api.latest(Method::POST, "/v1/nodes/vendored/vendor_passthru?method=nope", None).await;
    assert_eq!(unknown.fault(), "Unsupported method (nope) passed through to vendor extension.");
    let driver = api.latest(Method::GET, "/v1/drivers/fake-hardware/vendor_passthru/methods", None).await;
    assert_eq!(driver.body, json!({}));
}

#[tokio::test]
async fn detail_sub_lists_carry_every_field() {
    let api = Api::start().await;
    let node = api
        .latest(Method::POST, "/v1/nodes", Some(json!({"name": "d", "driver": "fake-hardware"})))
        .await
        .body;
    api.latest(Method::POST, "/v1/portgroups", Some(json!({"node_uuid": node["uuid"], "name": "bond9"})))
        .await;
    api.latest(
        Method::POST,
        "/v1/ports",
        Some(json!({"node_uuid": node["uuid"], "address": "52:54:00:00:99:01", "portgroup_uuid": "bond9"})),
    )
    .await;
    let groups = api.latest(Method::GET, "/v1/nodes/d/portgroups/detail", None).await;
    assert!(groups.body["portgroups"][0].get("mode").is_some(), "{:?}", groups.body);
    let ports = api.latest(Method::GET, "/v1/portgroups/bond9/ports/detail", None).await;
    assert!(ports.body["ports"][0].get("pxe_enabled").is_some(), "{:?}", ports.body);
}

#[tokio::test]
async fn vmedia_requests_are_checked_before_the_conductor() {
    let api = Api::start().await;
    api.latest(Method::POST, "/v1/nodes", Some(json!({"name": "vm", "driver": "fake-hardware"}))).await;
    let no_scheme = api
        .latest(
            Method::POST,
            "/v1/nodes/vm/vmedia",
            Some(json!({"device_type": "cdrom", "image_url": "boot.iso"})),
        )
        .await;
    assert_eq!(no_scheme.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_scheme.fault(), "Unsupported or missing URL scheme: ");
    let missing = api
        .latest(Method::POST, "/v1/nodes/vm/vmedia", Some(json!({"image_url": "http://x/boot.iso"})))
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        api.call(Method::POST, "/v1/nodes/vm/vmedia", Some("1.88"), Some(json!({}))).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(api.latest(Method::GET, "/v1/nodes/vm/vmedia", None).await.body, json!({"vmedia": []}));
}
