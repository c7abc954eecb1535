//! The agent protocol against a scripted agent: lookup hands out the token once,
//! heartbeats need it and resume the waiting node, and the conductor drives the
//! deploy and clean steps through the agent's command API.

mod common;

use std::time::Duration;

use common::Conductor;
use common::agent::ScriptedAgent;
use ferric_deploy::{DeployError, Settings};
use ferric_model::{ProvisionState as S, ProvisionVerb as V};
use serde_json::{Value, json};

const MAC: &str = "52:54:00:12:34:56";

fn settings() -> Settings {
    Settings { agent_command_poll: Duration::from_millis(20), ..Settings::default() }
}

async fn agent_node(c: &Conductor, state: S) -> uuid::Uuid {
    let node = c
        .node(state, |n| {
            n.deploy_interface = Some("direct".into());
            n.instance_info.insert("image_source".into(), json!("http://images/disk.img"));
            n.instance_info.insert("image_os_hash_algo".into(), json!("sha256"));
            n.instance_info.insert("image_os_hash_value".into(), json!("abc"));
        })
        .await;
    c.port(node, MAC).await;
    node
}

/// Looks the node up as the agent does and heartbeats from `url`; returns the token.
async fn call_back(c: &Conductor, agent: &ScriptedAgent, url: &str) -> String {
    let first = c.engine.lookup(&[MAC.to_uppercase()], None).await.expect("lookup");
    let token = first.config["agent_token"].as_str().unwrap_or_default().to_owned();
    assert_eq!(token.len(), 43, "a fresh token on first lookup");
    assert_eq!(first.node.driver_internal_info["agent_secret_token"], "******", "masked in the node");
    let again = c.engine.lookup(&[MAC.into()], None).await.expect("second lookup");
    assert_eq!(again.config["agent_token"], "******", "the token is handed out once");
    agent.set_token(&token);
    let node = first.node.uuid;
    match c.engine.heartbeat(node, url, "wrong-token", "10.0.0").await {
        Err(DeployError::Unauthenticated(_)) => {}
        other => panic!("a wrong token must be refused, got {other:?}"),
    }
    c.engine.heartbeat(node, url, &token, "10.0.0").await.expect("heartbeat");
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_deploy_runs_the_agents_steps_and_ends_active() {
    let c = Conductor::start(settings()).await;
    let (agent, url) = ScriptedAgent::start(3).await;
    let node = agent_node(&c, S::Available).await;
    assert!(c.engine.lookup(&[MAC.into()], None).await.is_err(), "no lookup while available");

    assert_eq!(c.verb(node, V::Active).await.unwrap(), (S::Deploying, Some(S::Active)));
    let waiting = c.settle(node, S::DeployWait).await;
    assert_eq!(waiting.power_state, Some(ferric_model::PowerState::On), "rebooted into the ramdisk");
    assert_eq!(waiting.deploy_step["step"], "deploy");

    call_back(&c, &agent, &url).await;
    let active = c.settle(node, S::Active).await;
    assert_eq!(
        agent.names(),
        ["deploy.get_deploy_steps", "deploy.execute_deploy_step", "standby.sync", "standby.power_off"]
    );
    let write = &agent.received()[1].params["step"];
    assert_eq!(write["step"], "write_image");
    assert_eq!(write["args"]["image_info"]["urls"][0], "http://images/disk.img");
    assert_eq!(active.power_state, Some(ferric_model::PowerState::On), "boot_instance powered it on");
    assert!(!active.driver_internal_info.contains_key("agent_secret_token"), "token wiped after deploy");
    assert!(!active.driver_internal_info.contains_key("agent_url"));
    assert_eq!(c.trail(node).await, ["deploying", "wait call-back", "deploying", "active"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automated_cleaning_runs_the_agents_clean_steps() {
    let c = Conductor::start(settings()).await;
    let (agent, url) = ScriptedAgent::start(2).await;
    let node = agent_node(&c, S::Manageable).await;
    c.verb(node, V::Provide).await.unwrap();
    c.settle(node, S::CleanWait).await;
    call_back(&c, &agent, &url).await;
    let available = c.settle(node, S::Available).await;
    assert_eq!(
        agent.names(),
        ["clean.get_clean_steps", "clean.execute_clean_step", "standby.sync", "standby.power_off"]
    );
    assert_eq!(
        agent.received()[1].params["step"]["step"],
        "erase_devices_metadata",
        "priority 0 steps are skipped"
    );
    assert_eq!(available.power_state, Some(ferric_model::PowerState::Off));
    assert_eq!(available.driver_internal_info["clean_steps"], Value::Null);
    assert_eq!(c.trail(node).await, ["cleaning", "clean wait", "cleaning", "available"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conductor_taking_over_reattaches_to_the_running_command() {
    let c = Conductor::start(settings()).await;
    let (agent, url) = ScriptedAgent::start(3).await;
    agent.set_token("token-of-the-dead-conductors-agent-boot-000");
    // The agent runs write_image for a conductor that died mid-step.
    let running = reqwest::Client::new()
        .post(format!("{url}/v1/commands/"))
        .query(&[("wait", "false"), ("agent_token", "token-of-the-dead-conductors-agent-boot-000")])
        .json(&json!({"name": "deploy.execute_deploy_step", "params": {"step": {"step": "write_image"}}}))
        .send()
        .await
        .expect("start the command")
        .json::<Value>()
        .await
        .expect("command json");
    assert_eq!(running["command_status"], "RUNNING");
    // What the dead conductor left in the record: position, agent, command in flight; no lock.
    let node = c
        .node(S::Deploying, |n| {
            n.deploy_interface = Some("direct".into());
            n.target_provision_state = Some(S::Active);
            let info = &mut n.driver_internal_info;
            info.insert(
                "deploy_steps".into(),
                json!([
                    {"interface": "deploy", "step": "deploy", "args": {}, "priority": 100},
                    {"interface": "deploy", "step": "write_image", "args": {}, "priority": 80},
                    {"interface": "deploy", "step": "tear_down_agent", "args": {}, "priority": 40},
                    {"interface": "deploy", "step": "boot_instance", "args": {}, "priority": 20}
                ]),
            );
            info.insert("deploy_step_index".into(), json!(1));
            info.insert("agent_cached_deploy_steps_fetched".into(), json!(true));
            info.insert("steps_require_ramdisk".into(), json!(true));
            info.insert("agent_url".into(), json!(url));
            info.insert("agent_secret_token".into(), json!("token-of-the-dead-conductors-agent-boot-000"));
            info.insert(
                "agent_command".into(),
                json!({"id": running["id"], "name": "deploy.execute_deploy_step", "step": "deploy.write_image"}),
            );
        })
        .await;
    c.engine.check_nodes().await.expect("periodic check");
    c.settle(node, S::Active).await;
    assert_eq!(
        agent.names(),
        ["deploy.execute_deploy_step", "standby.sync", "standby.power_off"],
        "write_image was followed, not sent again"
    );
}
