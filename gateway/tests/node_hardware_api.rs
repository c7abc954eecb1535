//! Boot mode, secure boot, NMI, console, BIOS and firmware of a `fake-hardware`
//! node: the gateway in front of a real deploy service (in this process, over
//! gRPC on loopback, discovered through the store as in production).

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::{Api, sorted_keys};
use ferric_catalog::{NodeBiosRecord, NodeFirmwareRecord};
use ferric_cluster::{ConductorInfo, Membership};
use ferric_mesh::{ServerOptions, ServiceKind};
use ferric_model::node_settings::{BiosSetting, FirmwareComponent, NodeBios, NodeFirmware};
use ferric_store::DynStore;
use ferric_store::records::Collection;
use serde_json::json;

/// A gateway with a deploy service serving `fake-hardware` behind it.
async fn start() -> (Api, ferric_mesh::Registration) {
    let dir = tempfile::tempdir().unwrap();
    let store: DynStore =
        Arc::new(ferric_store::embedded::EmbeddedStore::open(dir.path().join("s.redb")).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let info = ConductorInfo {
        hostname: "test-conductor".into(),
        conductor_group: String::new(),
        hardware_types: vec!["fake-hardware".into()],
        address: address.clone(),
        ..Default::default()
    };
    let membership = Membership::join(store.clone(), info, Duration::from_secs(10)).await.unwrap();
    let engine = ferric_deploy::Engine::new(
        store.clone(),
        membership.view(),
        ferric_deploy::Settings::default(),
        ferric_deploy::interfaces::Services::offline(),
    );
    let options = ServerOptions { kind: ServiceKind::Deploy, instance_id: "d1".into(), tls: None };
    tokio::spawn(ferric_deploy::serve(options, listener, std::future::pending(), engine));
    let registration =
        ferric_mesh::register(store.clone(), ServiceKind::Deploy, "d1", address, Duration::from_secs(10))
            .await
            .unwrap();
    let state = ferric_gateway::AppState::connect(store.clone(), None, ferric_gateway::auth::Auth::noauth())
        .await
        .unwrap();
    (Api::assemble(state, store, membership, dir), registration)
}

async fn node(api: &Api, name: &str) -> String {
    let reply =
        api.latest(Method::POST, "/v1/nodes", Some(json!({"name": name, "driver": "fake-hardware"}))).await;
    reply.body["uuid"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boot_mode_and_secure_boot_reach_the_node() {
    let (api, _registration) = start().await;
    node(&api, "n1").await;
    let reply =
        api.latest(Method::PUT, "/v1/nodes/n1/states/boot_mode", Some(json!({"target": "uefi"}))).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{:?}", reply.body);
    let reply =
        api.latest(Method::PUT, "/v1/nodes/n1/states/secure_boot", Some(json!({"target": true}))).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{:?}", reply.body);
    let shown = api.latest(Method::GET, "/v1/nodes/n1", None).await.body;
    assert_eq!(shown["boot_mode"], "uefi");
    assert_eq!(shown["secure_boot"], true);

    let bad = api.latest(Method::PUT, "/v1/nodes/n1/states/boot_mode", Some(json!({"target": "efi"}))).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.fault(), "Invalid boot mode efi requested for node.");
    let old = api
        .call(Method::PUT, "/v1/nodes/n1/states/boot_mode", Some("1.75"), Some(json!({"target": "uefi"})))
        .await;
    assert_eq!(old.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nmi_and_console_go_through_the_conductor() {
    let (api, _registration) = start().await;
    node(&api, "n1").await;
    let nmi = api.latest(Method::PUT, "/v1/nodes/n1/management/inject_nmi", Some(json!({}))).await;
    assert_eq!(nmi.status, StatusCode::NO_CONTENT, "{:?}", nmi.body);
    let old =
        api.call(Method::PUT, "/v1/nodes/n1/management/inject_nmi", Some("1.28"), Some(json!({}))).await;
    assert_eq!(old.status, StatusCode::NOT_FOUND);

    let off = api.latest(Method::GET, "/v1/nodes/n1/states/console", None).await;
    assert_eq!(off.body, json!({"console_enabled": false, "console_info": null}));
    let on = api.latest(Method::PUT, "/v1/nodes/n1/states/console", Some(json!({"enabled": true}))).await;
    assert_eq!(on.status, StatusCode::ACCEPTED, "{:?}", on.body);
    let shown = api.latest(Method::GET, "/v1/nodes/n1/states/console", None).await;
    assert_eq!(shown.body, json!({"console_enabled": true, "console_info": {}}));
    let missing = api.latest(Method::PUT, "/v1/nodes/n1/states/console", Some(json!({}))).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);

    let patch = json!([{"op": "replace", "path": "/console_interface", "value": "no-console"}]);
    node(&api, "n2").await;
    assert_eq!(api.latest(Method::PATCH, "/v1/nodes/n2", Some(patch)).await.status, StatusCode::OK);
    // As Ironic: a disabled console is reported before the interface is checked.
    let disabled = api.latest(Method::GET, "/v1/nodes/n2/states/console", None).await;
    assert_eq!(disabled.body, json!({"console_enabled": false, "console_info": null}));
    let refused =
        api.latest(Method::PUT, "/v1/nodes/n2/states/console", Some(json!({"enabled": true}))).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.fault(),
        "Driver fake-hardware does not support console (disabled or not implemented)."
    );
}

#[tokio::test]
async fn bios_and_firmware_show_what_was_cached() {
    let api = Api::start().await;
    let uuid = node(&api, "n1").await;
    let empty = api.latest(Method::GET, "/v1/nodes/n1/bios", None).await;
    assert_eq!(empty.body, json!({"bios": []}));
    assert_eq!(api.latest(Method::GET, "/v1/nodes/n1/firmware", None).await.body, json!({"firmware": []}));
    assert_eq!(
        api.call(Method::GET, "/v1/nodes/n1/bios", Some("1.39"), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.call(Method::GET, "/v1/nodes/n1/firmware", Some("1.85"), None).await.status,
        StatusCode::NOT_FOUND
    );

    let now = chrono::Utc::now();
    let setting = BiosSetting {
        created_at: now,
        updated_at: None,
        name: "Virtualization".into(),
        value: Some("Enabled".into()),
        attribute_type: Some("Enumeration".into()),
        allowable_values: Some(vec!["Enabled".into(), "Disabled".into()]),
        lower_bound: None,
        max_length: None,
        min_length: None,
        read_only: Some(false),
        reset_required: None,
        unique: None,
        upper_bound: None,
    };
    let node_uuid = uuid::Uuid::parse_str(&uuid).unwrap();
    Collection::<NodeBiosRecord>::new(api.store.clone())
        .create(&NodeBiosRecord(NodeBios { uuid: node_uuid, settings: vec![setting] }))
        .await
        .unwrap();
    let list = api.latest(Method::GET, "/v1/nodes/n1/bios", None).await;
    assert_eq!(sorted_keys(&list.body["bios"][0]), ["created_at", "links", "name", "updated_at", "value"]);
    let detail = api.latest(Method::GET, "/v1/nodes/n1/bios?detail=True", None).await;
    assert_eq!(detail.body["bios"][0]["allowable_values"], json!(["Enabled", "Disabled"]));
    let one = api.latest(Method::GET, "/v1/nodes/n1/bios/Virtualization", None).await;
    assert_eq!(one.body["Virtualization"]["value"], "Enabled");
    assert_eq!(
        one.body["Virtualization"]["links"][0]["href"],
        format!("http://127.0.0.1:6385/v1/nodes/{uuid}/bios/Virtualization")
    );
    let missing = api.latest(Method::GET, "/v1/nodes/n1/bios/Nope", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.fault(), format!("Node {uuid} doesn't have a BIOS setting 'Nope'"));

    let component = FirmwareComponent {
        created_at: now,
        updated_at: None,
        component: "BMC".into(),
        initial_version: Some("v1.0.0".into()),
        current_version: Some("v1.0.0".into()),
        last_version_flashed: None,
        vendor: None,
        model: Some("iDRAC 9".into()),
        serial_number: None,
    };
    Collection::<NodeFirmwareRecord>::new(api.store.clone())
        .create(&NodeFirmwareRecord(NodeFirmware { uuid: node_uuid, components: vec![component] }))
        .await
        .unwrap();
    let firmware = api.latest(Method::GET, "/v1/nodes/n1/firmware", None).await;
    assert_eq!(firmware.body["firmware"][0]["model"], "iDRAC 9");
    let older = api.call(Method::GET, "/v1/nodes/n1/firmware", Some("1.113"), None).await;
    assert!(older.body["firmware"][0].get("model").is_none(), "identity fields appear at 1.114");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indicators_are_listed_and_read_as_ironic_fake_management_answers() {
    let (api, _registration) = start().await;
    node(&api, "n1").await;
    let list = api.latest(Method::GET, "/v1/nodes/n1/management/indicators", None).await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    let items = list.body["indicators"].as_array().unwrap();
    let names: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["led-0@chassis", "led@system"]);
    assert_eq!(items[1]["states"], json!(["blinking", "off", "on"]));
    assert_eq!(items[0]["readonly"], true);
    assert_eq!(
        items[1]["links"][0]["href"],
        "http://127.0.0.1:6385/v1/nodes/n1/management/indicators/led@system"
    );
    let state = api.latest(Method::GET, "/v1/nodes/n1/management/indicators/led@system", None).await;
    assert_eq!(state.body, json!({"state": "on"}));
    let unknown = api.latest(Method::GET, "/v1/nodes/n1/management/indicators/led@disk", None).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.fault(), "Invalid component disk specified.");
    let malformed = api.latest(Method::GET, "/v1/nodes/n1/management/indicators/led", None).await;
    assert_eq!(malformed.fault(), "Malformed indicator name \"led\"");
    let set = api
        .latest(Method::PUT, "/v1/nodes/n1/management/indicators/led@system", Some(json!({"state": "off"})))
        .await;
    assert_eq!(set.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        set.fault(),
        "Driver fake-hardware does not support set_indicator_state (disabled or not implemented)."
    );
    let old = api.call(Method::GET, "/v1/nodes/n1/management/indicators", Some("1.62"), None).await;
    assert_eq!(old.status, StatusCode::NOT_FOUND);
}
