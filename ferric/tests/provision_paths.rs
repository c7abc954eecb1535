//! Every path of the provision state machine on a `fake-hardware` node, through
//! the REST API of a real all-in-one process: each test asserts every
//! (provision_state, target_provision_state) the API reports on the way.

mod conductor;

use conductor::{Api, expect};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn manage_provide_deploy_rebuild_undeploy() {
    let api = Api::start().await;
    let node = api.create_node(json!({"name": "paths-0"})).await;
    assert_eq!(api.node(&node).await["provision_state"], "enroll");

    let seen = api.walk(&node, json!({"target": "manage"}), "manageable").await;
    assert_eq!(seen, expect(&[("verifying", Some("manageable")), ("manageable", None)]));
    let seen = api.walk(&node, json!({"target": "provide"}), "available").await;
    assert_eq!(seen, expect(&[("cleaning", Some("available")), ("available", None)]));
    let seen = api.walk(&node, json!({"target": "active"}), "active").await;
    assert_eq!(seen, expect(&[("deploying", Some("active")), ("active", None)]));
    let active = api.node(&node).await;
    assert_eq!(active["driver_internal_info"], json!({"clean_steps": null, "deploy_steps": null}));
    assert_eq!(active["deploy_step"], json!({}));
    assert!(active["last_error"].is_null());
    let seen = api.walk(&node, json!({"target": "rebuild"}), "active").await;
    assert_eq!(seen, expect(&[("deploying", Some("active")), ("active", None)]));
    let seen = api.walk(&node, json!({"target": "undeploy"}), "available").await;
    assert_eq!(
        seen,
        expect(&[("deleting", Some("available")), ("cleaning", Some("available")), ("available", None)])
    );
    let seen = api.walk(&node, json!({"target": "manage"}), "manageable").await;
    assert_eq!(seen, expect(&[("manageable", None)]));
}

#[tokio::test(flavor = "multi_thread")]
async fn inspect_adopt_rescue_unrescue_service() {
    let api = Api::start().await;
    let node = api.create_node(json!({})).await;
    api.walk(&node, json!({"target": "manage"}), "manageable").await;
    let seen = api.walk(&node, json!({"target": "inspect"}), "manageable").await;
    assert_eq!(seen, expect(&[("inspecting", Some("manageable")), ("manageable", None)]));
    assert!(!api.node(&node).await["inspection_finished_at"].is_null());
    let seen = api.walk(&node, json!({"target": "adopt"}), "active").await;
    assert_eq!(seen, expect(&[("adopting", Some("active")), ("active", None)]));
    let seen = api.walk(&node, json!({"target": "rescue", "rescue_password": "pw"}), "rescue").await;
    assert_eq!(seen, expect(&[("rescuing", Some("rescue")), ("rescue", None)]));
    let rescued = api.node(&node).await;
    assert_eq!(rescued["instance_info"]["rescue_password"], "******", "the password never leaves unmasked");
    let seen = api.walk(&node, json!({"target": "unrescue"}), "active").await;
    assert_eq!(seen, expect(&[("unrescuing", Some("active")), ("active", None)]));
    let steps = json!([{"interface": "bios", "step": "apply_configuration", "args": {"settings": []}}]);
    let seen = api.walk(&node, json!({"target": "service", "service_steps": steps}), "active").await;
    assert_eq!(seen, expect(&[("servicing", Some("active")), ("active", None)]));
}

#[tokio::test(flavor = "multi_thread")]
async fn manual_clean_with_hold_unhold_and_abort_from_clean_wait() {
    let api = Api::start().await;
    let node = api.create_node(json!({})).await;
    api.walk(&node, json!({"target": "manage"}), "manageable").await;
    let steps = json!([{"interface": "deploy", "step": "hold"}, {"interface": "raid", "step": "delete_configuration"}]);
    let seen = api.walk(&node, json!({"target": "clean", "clean_steps": steps}), "clean hold").await;
    assert_eq!(seen, expect(&[("cleaning", Some("manageable")), ("clean hold", Some("manageable"))]));
    assert_eq!(api.node(&node).await["clean_step"]["step"], "hold");
    let seen = api.walk(&node, json!({"target": "unhold"}), "manageable").await;
    assert_eq!(
        seen,
        expect(&[("clean wait", Some("manageable")), ("cleaning", Some("manageable")), ("manageable", None)])
    );
    assert_eq!(api.node(&node).await["clean_step"], json!({}));

    let steps = json!([{"interface": "deploy", "step": "wait"}]);
    api.walk(&node, json!({"target": "clean", "clean_steps": steps}), "clean wait").await;
    let seen = api.walk(&node, json!({"target": "abort"}), "clean failed").await;
    // Ironic's FSM gives `clean failed` the target `available`, manual or not.
    assert_eq!(seen, expect(&[("clean failed", Some("available"))]));
    let failed = api.node(&node).await;
    assert_eq!(
        failed["last_error"],
        "By request, the clean operation was aborted during or after the completion of step \"wait\""
    );
    let seen = api.walk(&node, json!({"target": "manage"}), "manageable").await;
    assert_eq!(seen, expect(&[("manageable", None)]));
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_hold_unhold_then_abort_from_hold_and_from_wait_call_back() {
    let api = Api::start().await;
    let node = api.create_node(json!({})).await;
    api.walk(&node, json!({"target": "manage"}), "manageable").await;
    api.walk(&node, json!({"target": "provide"}), "available").await;
    let hold = json!([{"interface": "deploy", "step": "hold", "priority": 50}]);
    let seen = api.walk(&node, json!({"target": "active", "deploy_steps": hold}), "deploy hold").await;
    assert_eq!(seen, expect(&[("deploying", Some("active")), ("deploy hold", Some("active"))]));
    let seen = api.walk(&node, json!({"target": "unhold"}), "active").await;
    assert_eq!(
        seen,
        expect(&[("wait call-back", Some("active")), ("deploying", Some("active")), ("active", None)])
    );

    api.walk(&node, json!({"target": "undeploy"}), "available").await;
    api.walk(&node, json!({"target": "active", "deploy_steps": hold}), "deploy hold").await;
    let seen = api.walk(&node, json!({"target": "abort"}), "deploy failed").await;
    assert_eq!(seen, expect(&[("deploy failed", Some("active"))]));
    assert!(api.node(&node).await["last_error"].as_str().unwrap_or_default().contains("aborted"));

    let wait = json!([{"interface": "deploy", "step": "wait", "priority": 50}]);
    let seen = api.walk(&node, json!({"target": "active", "deploy_steps": wait}), "wait call-back").await;
    assert_eq!(seen, expect(&[("deploying", Some("active")), ("wait call-back", Some("active"))]));
    let seen = api.walk(&node, json!({"target": "abort"}), "deploy failed").await;
    assert_eq!(seen, expect(&[("deploy failed", Some("active"))]));
    let seen = api.walk(&node, json!({"target": "undeploy"}), "available").await;
    assert_eq!(
        seen,
        expect(&[("deleting", Some("available")), ("cleaning", Some("available")), ("available", None)])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn service_hold_unhold_and_abort_from_service_wait() {
    let api = Api::start().await;
    let node = api.create_node(json!({})).await;
    api.walk(&node, json!({"target": "manage"}), "manageable").await;
    api.walk(&node, json!({"target": "adopt"}), "active").await;
    let hold = json!([{"interface": "deploy", "step": "hold"}]);
    let seen = api.walk(&node, json!({"target": "service", "service_steps": hold}), "service hold").await;
    assert_eq!(seen, expect(&[("servicing", Some("active")), ("service hold", Some("active"))]));
    let seen = api.walk(&node, json!({"target": "unhold"}), "active").await;
    assert_eq!(
        seen,
        expect(&[("service wait", Some("active")), ("servicing", Some("active")), ("active", None)])
    );
    let wait = json!([{"interface": "deploy", "step": "wait"}]);
    api.walk(&node, json!({"target": "service", "service_steps": wait}), "service wait").await;
    let seen = api.walk(&node, json!({"target": "abort"}), "service failed").await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, "service failed");
    let seen = api.walk(&node, json!({"target": "abort"}), "active").await;
    assert_eq!(seen, expect(&[("active", None)]));
}

#[tokio::test(flavor = "multi_thread")]
async fn rescue_wait_and_inspect_wait_abort() {
    let api = Api::start().await;
    let node =
        api.create_node(json!({"driver_info": {"fake_wait": "rescue"}, "inspect_interface": "agent"})).await;
    api.walk(&node, json!({"target": "manage"}), "manageable").await;
    let seen = api.walk(&node, json!({"target": "inspect"}), "inspect wait").await;
    assert_eq!(seen, expect(&[("inspecting", Some("manageable")), ("inspect wait", Some("manageable"))]));
    let seen = api.walk(&node, json!({"target": "abort"}), "inspect failed").await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(api.node(&node).await["last_error"], "Inspection was aborted by request.");
    api.walk(&node, json!({"target": "manage"}), "manageable").await;
    api.walk(&node, json!({"target": "adopt"}), "active").await;
    let seen = api.walk(&node, json!({"target": "rescue", "rescue_password": "pw"}), "rescue wait").await;
    assert_eq!(seen, expect(&[("rescuing", Some("rescue")), ("rescue wait", Some("rescue"))]));
    let seen = api.walk(&node, json!({"target": "abort"}), "rescue failed").await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    let seen = api.walk(&node, json!({"target": "unrescue"}), "active").await;
    assert_eq!(seen, expect(&[("unrescuing", Some("active")), ("active", None)]));
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_set_last_error_and_recover() {
    let api = Api::start().await;
    let node = api.create_node(json!({"driver_info": {"fake_fail": "deploy"}})).await;
    api.walk(&node, json!({"target": "manage"}), "manageable").await;
    api.walk(&node, json!({"target": "provide"}), "available").await;
    let seen = api.walk(&node, json!({"target": "active"}), "deploy failed").await;
    assert_eq!(seen, expect(&[("deploying", Some("active")), ("deploy failed", Some("active"))]));
    assert_eq!(
        api.node(&node).await["last_error"],
        "Fake deploy failed as requested by driver_info fake_fail"
    );
    let seen = api.walk(&node, json!({"target": "deleted"}), "available").await;
    assert_eq!(
        seen,
        expect(&[("deleting", Some("available")), ("cleaning", Some("available")), ("available", None)])
    );
    assert!(api.node(&node).await["last_error"].is_null(), "a new operation clears last_error");
}

#[tokio::test(flavor = "multi_thread")]
async fn locked_and_invalid_requests_get_ironics_errors() {
    let api = Api::start().await;
    let node = api.create_node(json!({})).await;
    let (status, _) = api.provision(&node, json!({"target": "manage"})).await;
    assert_eq!(status, 202);
    // While verifying (the fake takes its delay), the node is locked.
    let during = api.node(&node).await;
    assert_eq!(during["reservation"], "test-conductor");
    let (status, body) = api.provision(&node, json!({"target": "manage"})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        faultstring(&body),
        format!(
            "Node {node} is locked by host test-conductor, please retry after the current operation is completed."
        )
    );
    api.observe(&node, "manageable").await;
    let (status, body) = api.provision(&node, json!({"target": "active"})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        faultstring(&body),
        format!(
            "The requested action \"active\" can not be performed on node \"{node}\" while it is in state \"manageable\"."
        )
    );
}

/// The message of Ironic's error body (a JSON string inside JSON).
fn faultstring(body: &str) -> String {
    let outer: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let inner: serde_json::Value =
        serde_json::from_str(outer["error_message"].as_str().unwrap_or_default()).unwrap_or_default();
    inner["faultstring"].as_str().unwrap_or_default().to_owned()
}
