//! In-band inspection through Ironic's callback (`POST /v1/continue_inspection`,
//! 1.84) on a real all-in-one: a node booted for inspection by the `agent`
//! inspect interface waits in `inspect wait` until its ramdisk posts the
//! inventory; then the inventory is served at `/v1/nodes/{node}/inventory`, the
//! scheduling properties are derived from it, and the node is `manageable`.

mod conductor;

use conductor::{Api, expect};
use reqwest::Method;
use serde_json::{Value, json};

const MAC: &str = "52:54:00:ab:cd:01";

fn inventory() -> Value {
    json!({
        "cpu": {"count": 4, "architecture": "x86_64", "model_name": "QEMU Virtual CPU"},
        "memory": {"total": 8589934592u64, "physical_mb": 8192},
        "disks": [{"name": "/dev/vda", "size": 21474836480u64, "rotational": false}],
        "interfaces": [{"name": "eth0", "mac_address": MAC, "ipv4_address": "10.250.0.100"}],
        "system_vendor": {"manufacturer": "QEMU", "product_name": "Standard PC", "serial_number": "S1"},
        "boot": {"current_boot_mode": "bios", "pxe_interface": MAC}
    })
}

async fn callback(api: &Api, body: Value) -> (u16, Value) {
    let response =
        api.request(Method::POST, "/v1/continue_inspection").json(&body).send().await.expect("callback");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_inventory_posted_in_inspect_wait_finishes_the_inspection() {
    let api = Api::start().await;
    let node = api.create_node(json!({"inspect_interface": "agent"})).await;
    let port = api
        .request(Method::POST, "/v1/ports")
        .json(&json!({"node_uuid": node, "address": MAC}))
        .send()
        .await
        .expect("port");
    assert_eq!(port.status(), 201);
    api.walk(&node, json!({"target": "manage"}), "manageable").await;

    // Not waiting for an inspection: the same 404 a lookup gives.
    let (status, body) = callback(&api, json!({"inventory": inventory()})).await;
    assert_eq!(status, 404, "{body}");

    let seen = api.walk(&node, json!({"target": "inspect"}), "inspect wait").await;
    assert_eq!(seen, expect(&[("inspecting", Some("manageable")), ("inspect wait", Some("manageable"))]));

    // Malformed callbacks are refused in Ironic's error body and change nothing.
    let (status, body) = callback(&api, json!({"interfaces": []})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error_message"].as_str().unwrap_or_default().contains("inventory"), "{body}");
    let (status, _) = callback(&api, json!({"inventory": {"interfaces": [{"name": "eth0"}]}})).await;
    assert_eq!(status, 400);
    assert_eq!(api.node(&node).await["provision_state"], "inspect wait");

    let (status, body) =
        callback(&api, json!({"inventory": inventory(), "root_disk": {"name": "/dev/vda"}})).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["uuid"], node.as_str());
    let inspected = api.node(&node).await;
    assert_eq!(inspected["provision_state"], "manageable");
    assert!(inspected["last_error"].is_null(), "{}", inspected["last_error"]);
    assert!(!inspected["inspection_finished_at"].is_null());
    let properties = &inspected["properties"];
    assert_eq!(
        (&properties["cpus"], &properties["cpu_arch"], &properties["memory_mb"], &properties["local_gb"]),
        (&json!(4), &json!("x86_64"), &json!(8192), &json!(19))
    );

    let stored: Value = api
        .request(Method::GET, &format!("/v1/nodes/{node}/inventory"))
        .send()
        .await
        .expect("inventory")
        .json()
        .await
        .expect("inventory json");
    assert_eq!(stored["inventory"], inventory());
    assert_eq!(stored["plugin_data"], json!({"root_disk": {"name": "/dev/vda"}}));
}
