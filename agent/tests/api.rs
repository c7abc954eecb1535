//! The agent's HTTP API as the conductor meets it: lookup and heartbeat with the
//! token, token checks, IPA's error shapes for busy, unknown and malformed
//! commands, result shapes, and shutdown.

mod common;

use common::{Harness, MAC, NODE, TOKEN};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn looks_up_by_mac_and_heartbeats_with_the_token_and_a_reachable_callback() {
    let agent = Harness::start().await;
    let beat = agent.ironic.seen.lock().expect("seen").heartbeats[0].clone();
    assert_eq!(beat["agent_token"], TOKEN);
    assert_eq!(beat["agent_version"], ferric_agent::VERSION);
    assert!(agent.ironic.seen.lock().expect("seen").lookups.iter().any(|l| l.contains(MAC)));
    let status: Value =
        reqwest::get(format!("{}/v1/status", agent.url)).await.expect("status").json().await.expect("json");
    assert!(status["started_at"].as_f64().is_some_and(|t| t > 1.7e9), "{status}");
    assert_eq!(status["version"], ferric_agent::VERSION);
    let root: Value =
        reqwest::get(format!("{}/", agent.url)).await.expect("root").json().await.expect("json");
    assert_eq!(root["name"], "OpenStack Ironic Python Agent API");
    assert_eq!(root["default_version"]["id"], "v1");
    agent.shutdown().await.expect("a clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_sends_the_agent_back_to_lookup() {
    let agent = Harness::with(&[("/dev/vda", 64 << 20)], 0, 2).await;
    let seen = agent.ironic.seen.lock().expect("seen");
    assert_eq!(seen.refused, 2);
    assert!(seen.lookups.len() >= 3, "a lookup before each heartbeat attempt: {:?}", seen.lookups);
    assert_eq!(seen.heartbeats[0]["agent_token"], TOKEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_need_this_boots_token() {
    let agent = Harness::start().await;
    let body = json!({"name": "standby.sync", "params": {}}).to_string();
    for token in [None, Some("wrong"), Some("")] {
        let (status, fault) = agent.send_raw(&body, true, token).await;
        assert_eq!(status, 401, "token {token:?}");
        assert_eq!(fault, json!({"faultcode": "Client", "faultstring": "401 Unauthorized: Token invalid."}));
    }
    let listed = agent.http.get(format!("{}/v1/commands/", agent.url)).send().await.expect("list");
    assert_eq!(listed.status(), 401);
    let (status, list) = agent.get("/v1/commands/").await;
    assert_eq!((status, list), (200, json!({"commands": []})), "nothing ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_commands_get_ipas_error_shapes_and_never_run() {
    let agent = Harness::start().await;
    let cases = [
        ("{not json", 400, "400 Bad Request: Failed to decode JSON object"),
        (r#"{"name": "standby.sync"}"#, 400, "400 Bad Request: Missing or invalid name or params"),
        (
            r#"{"name": "standby.sync", "params": []}"#,
            400,
            "400 Bad Request: Missing or invalid name or params",
        ),
        (r#"{"name": 7, "params": {}}"#, 400, "400 Bad Request: Missing or invalid name or params"),
        (r#"{"name": "nodot", "params": {}}"#, 400, "Invalid command: Command name must be of the form"),
        (r#"{"name": "standby.fly", "params": {}}"#, 400, "Invalid command: Unknown command: fly"),
        (r#"{"name": "rocket.launch", "params": {}}"#, 404, "Not found: Extension with id rocket not found."),
    ];
    for (body, code, text) in cases {
        let (status, fault) = agent.send_raw(body, true, Some(TOKEN)).await;
        assert_eq!(status, code, "{body}: {fault}");
        assert_eq!(fault["faultcode"], "Client", "{body}");
        assert!(fault["faultstring"].as_str().is_some_and(|f| f.starts_with(text)), "{body}: {fault}");
    }
    let (status, fault) = agent.get("/v1/commands/no-such-id").await;
    assert_eq!(status, 404);
    assert_eq!(fault["faultstring"], "Not found: Command with id no-such-id not found.");
    assert_eq!(agent.get("/v1/commands/").await.1, json!({"commands": []}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_command_while_one_runs_is_refused_as_busy() {
    let agent = Harness::start().await;
    let stall = format!("{}/stall", agent.origin.url);
    let params = json!({"step": {"interface": "deploy", "step": "write_image", "args": {"image_info": common::image_info(&stall, "00")}},
                        "node": {"uuid": NODE}, "ports": []});
    let (status, running) = agent.send("deploy.execute_deploy_step", params, false).await;
    assert_eq!(status, 200);
    assert_eq!(running["command_status"], "RUNNING");
    assert_eq!(running["command_name"], "execute_deploy_step");
    let (status, fault) = agent.send("standby.sync", json!({}), true).await;
    assert_eq!(status, 409);
    assert_eq!(
        fault,
        json!({"faultcode": "Client", "faultstring": "Agent is busy: executing command execute_deploy_step"})
    );
    let (_, list) = agent.get("/v1/commands/").await;
    assert_eq!(list["commands"].as_array().map(Vec::len), Some(1), "the refused command is not recorded");
    agent.shutdown().await.expect("shutdown stops the stalled command too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_lists_and_simple_commands_answer_as_ipa_does() {
    let agent = Harness::start().await;
    let node = json!({"uuid": NODE, "properties": {}, "instance_info": {}, "driver_internal_info": {}});
    let (status, steps) =
        agent.send("deploy.get_deploy_steps", json!({"node": node, "ports": []}), false).await;
    assert_eq!(status, 200);
    assert_eq!(steps["command_status"], "SUCCEEDED", "a sync command is done at once");
    assert_eq!(steps["command_name"], "get_deploy_steps");
    assert_eq!(steps["command_error"], Value::Null);
    let result = &steps["command_result"];
    assert_eq!(result["hardware_manager_version"], json!({"generic_hardware_manager": "1.2"}));
    let write = &result["deploy_steps"]["GenericHardwareManager"][0];
    assert_eq!(write["step"], "write_image");
    assert_eq!(write["interface"], "deploy");
    assert!(write["priority"].as_u64().is_some_and(|p| p > 0), "Ferric's conductor skips priority 0");

    let (_, clean) = agent.send("clean.get_clean_steps", json!({"node": node, "ports": []}), true).await;
    let steps = clean["command_result"]["clean_steps"]["GenericHardwareManager"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let priority = |name: &str| steps.iter().find(|s| s["step"] == name).map(|s| s["priority"].clone());
    assert_eq!(priority("erase_devices"), Some(json!(10)));
    assert_eq!(priority("erase_devices_metadata"), Some(json!(99)));
    assert!(
        steps
            .iter()
            .all(|s| s["interface"] == "deploy" && s["abortable"] == true && s["reboot_requested"] == false)
    );

    let (_, sync) = agent.send("standby.sync", json!({}), true).await;
    assert_eq!(sync["command_status"], "SUCCEEDED");
    let (_, uuids) = agent.send("standby.get_partition_uuids", json!({}), true).await;
    assert_eq!(uuids["command_result"], json!({}));
    let (_, boot) = agent.send("image.install_bootloader", json!({"root_uuid": null}), true).await;
    assert_eq!(boot["command_status"], "FAILED");
    assert!(boot["command_error"]["details"].as_str().is_some_and(|d| d.contains("whole-disk")), "{boot}");

    let (_, logs) = agent.send("log.collect_system_logs", json!({}), true).await;
    assert_eq!(logs["command_status"], "SUCCEEDED");
    let encoded = logs["command_result"]["system_logs"].as_str().expect("system_logs");
    let gzip = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded).expect("base64");
    assert_eq!(&gzip[..2], &[0x1f, 0x8b], "gzip");

    let (_, off) = agent.send("standby.power_off", json!({}), true).await;
    assert_eq!(off["command_status"], "SUCCEEDED");
    assert_eq!(*agent.power.lock().expect("power"), [ferric_agent::PowerAction::PowerOff]);
    let (_, list) = agent.get("/v1/commands/").await;
    let names: Vec<&str> = list["commands"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["command_name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "get_deploy_steps",
            "get_clean_steps",
            "sync",
            "get_partition_uuids",
            "install_bootloader",
            "collect_system_logs",
            "power_off"
        ]
    );
}
