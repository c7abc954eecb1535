//! Power, boot device and validation of a `fake-hardware` node through the REST
//! API of a real all-in-one process, compared with Ironic's transcripts
//! (`39`–`47`, `20`).

mod conductor;

use conductor::{Api, PATIENCE};
use ferric_integration::wait_for;
use reqwest::Method;
use serde_json::{Value, json};

async fn states(api: &Api, node: &str) -> Value {
    api.request(Method::GET, &format!("/v1/nodes/{node}/states")).send().await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn power_changes_show_their_target_then_the_new_state() {
    let api = Api::start().await;
    let node = api.create_node(json!({})).await;
    assert!(states(&api, &node).await["power_state"].is_null(), "fake power starts unknown, as in Ironic");
    let response = api
        .request(Method::PUT, &format!("/v1/nodes/{node}/states/power"))
        .json(&json!({"target": "power on"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    // Transcript curl-locked/00: while the change runs, the target shows and the node is reserved.
    let during = api.node(&node).await;
    assert_eq!(during["target_power_state"], "power on");
    assert_eq!(during["reservation"], "test-conductor");
    let after = wait_for(PATIENCE, "power on", || async {
        let s = states(&api, &node).await;
        (s["power_state"] == "power on" && s["target_power_state"].is_null()).then_some(s)
    })
    .await;
    assert!(after["last_error"].is_null());
    for (target, state) in [("power off", "power off"), ("rebooting", "power on")] {
        wait_for(PATIENCE, "the node lock to be free", || async {
            let response = api
                .request(Method::PUT, &format!("/v1/nodes/{node}/states/power"))
                .json(&json!({"target": target}))
                .send()
                .await
                .ok()?;
            (response.status() == 202).then_some(())
        })
        .await;
        wait_for(PATIENCE, target, || async {
            let s = states(&api, &node).await;
            (s["power_state"] == state && s["target_power_state"].is_null()).then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn boot_device_and_validate_match_ironics_fake() {
    let api = Api::start_with(&[("FERRIC_DEPLOY__FAKE_DELAY_MS", "0")]).await;
    let node = api.create_node(json!({})).await;
    let set = api
        .request(Method::PUT, &format!("/v1/nodes/{node}/management/boot_device"))
        .json(&json!({"boot_device": "pxe", "persistent": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204);
    let got: Value = api
        .request(Method::GET, &format!("/v1/nodes/{node}/management/boot_device"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got, json!({"boot_device": "pxe", "persistent": false}));
    let supported: Value = api
        .request(Method::GET, &format!("/v1/nodes/{node}/management/boot_device/supported"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(supported, json!({"supported_boot_devices": ["pxe"]}));
    let validate: Value = api
        .request(Method::GET, &format!("/v1/nodes/{node}/validate"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let interfaces = validate.as_object().expect("object");
    assert_eq!(interfaces.len(), 12, "{validate}");
    for (name, result) in interfaces {
        assert_eq!(result, &json!({"result": true}), "{name}");
    }
}
