//! The engine on the embedded store with fake hardware: every path of the state
//! machine, checked through the node's history (which records every state the node
//! entered, so nothing depends on timing), plus refusals, holds, waits, aborts,
//! failures and takeover.

mod common;

use std::time::Duration;

use common::{Conductor, PATIENCE};
use ferric_deploy::engine::start::ProvisionRequest;
use ferric_deploy::{DeployError, Settings};
use ferric_model::{ProvisionState as S, ProvisionVerb as V};
use serde_json::{Value, json};

fn settings() -> Settings {
    Settings { periodic_interval: Duration::from_millis(200), ..Settings::default() }
}

fn obj(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manage_provide_deploy_rebuild_undeploy_walk_the_state_machine() {
    let c = Conductor::start(settings()).await;
    let node = c.node(S::Enroll, |_| {}).await;
    assert_eq!(c.verb(node, V::Manage).await.unwrap(), (S::Verifying, Some(S::Manageable)));
    c.settle(node, S::Manageable).await;
    assert_eq!(c.verb(node, V::Provide).await.unwrap(), (S::Cleaning, Some(S::Available)));
    let available = c.settle(node, S::Available).await;
    assert_eq!(available.target_provision_state, None);
    assert_eq!(available.driver_internal_info["clean_steps"], Value::Null);
    assert_eq!(c.verb(node, V::Active).await.unwrap(), (S::Deploying, Some(S::Active)));
    let active = c.settle(node, S::Active).await;
    assert_eq!(active.deploy_step, serde_json::Map::new());
    assert_eq!(active.driver_internal_info["deploy_steps"], Value::Null);
    assert!(active.provision_updated_at.is_some());
    c.verb(node, V::Rebuild).await.unwrap();
    c.settle(node, S::Active).await;
    c.verb(node, V::Undeploy).await.unwrap();
    c.settle(node, S::Available).await;
    assert_eq!(
        c.trail(node).await,
        [
            "verifying",
            "manageable",
            "cleaning",
            "available",
            "deploying",
            "active",
            "deploying",
            "active",
            "deleting",
            "cleaning",
            "available"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_adopt_rescue_unrescue_and_service() {
    let c = Conductor::start(settings()).await;
    let node = c.node(S::Manageable, |_| {}).await;
    c.verb(node, V::Inspect).await.unwrap();
    let inspected = c.settle(node, S::Manageable).await;
    assert!(inspected.inspection_finished_at.is_some());
    c.verb(node, V::Adopt).await.unwrap();
    c.settle(node, S::Active).await;
    let mut rescue = ProvisionRequest::new(node, V::Rescue);
    rescue.rescue_password = Some("secret".into());
    c.engine.change_provision_state(rescue).await.unwrap();
    let rescued = c.settle(node, S::Rescue).await;
    assert_eq!(rescued.instance_info["rescue_password"], "secret");
    c.verb(node, V::Unrescue).await.unwrap();
    let back = c.settle(node, S::Active).await;
    assert!(!back.instance_info.contains_key("rescue_password"));
    let mut service = ProvisionRequest::new(node, V::Service);
    service.service_steps =
        vec![obj(json!({"interface": "bios", "step": "apply_configuration", "args": {}}))];
    assert_eq!(c.engine.change_provision_state(service).await.unwrap(), (S::Servicing, Some(S::Active)));
    c.settle(node, S::Active).await;
    assert_eq!(
        c.trail(node).await,
        [
            "inspecting",
            "manageable",
            "adopting",
            "active",
            "rescuing",
            "rescue",
            "unrescuing",
            "active",
            "servicing",
            "active"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_and_invalid_requests_are_refused_at_once() {
    let c = Conductor::start(Settings { fake_delay: Duration::from_millis(800), ..settings() }).await;
    let node = c.node(S::Manageable, |_| {}).await;
    c.verb(node, V::Provide).await.unwrap();
    match c.verb(node, V::Manage).await {
        Err(DeployError::NodeLocked { host, .. }) => assert_eq!(host, "c1"),
        other => panic!("expected NodeLocked, got {other:?}"),
    }
    c.settle(node, S::Available).await;
    match c.verb(node, V::Provide).await {
        Err(DeployError::InvalidState(e)) => assert_eq!(
            e.to_string(),
            format!(
                "The requested action \"provide\" can not be performed on node \"{node}\" while it is in state \"available\"."
            )
        ),
        other => panic!("expected InvalidState, got {other:?}"),
    }
    assert!(matches!(c.verb(uuid::Uuid::new_v4(), V::Manage).await, Err(DeployError::NodeNotFound(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_clean_hold_unhold_and_abort_from_clean_wait() {
    let c = Conductor::start(settings()).await;
    let node = c.node(S::Manageable, |_| {}).await;
    let mut clean = ProvisionRequest::new(node, V::Clean);
    clean.clean_steps = vec![
        obj(json!({"interface": "deploy", "step": "hold"})),
        obj(json!({"interface": "raid", "step": "delete_configuration"})),
    ];
    assert_eq!(c.engine.change_provision_state(clean).await.unwrap(), (S::Cleaning, Some(S::Manageable)));
    let held = c.settle(node, S::CleanHold).await;
    assert_eq!(held.clean_step["step"], "hold");
    c.verb(node, V::Unhold).await.unwrap();
    let done = c.settle(node, S::Manageable).await;
    assert_eq!(done.clean_step, serde_json::Map::new());
    assert_eq!(c.trail(node).await, ["cleaning", "clean hold", "clean wait", "cleaning", "manageable"]);

    let mut clean = ProvisionRequest::new(node, V::Clean);
    clean.clean_steps = vec![obj(json!({"interface": "deploy", "step": "wait"}))];
    c.engine.change_provision_state(clean).await.unwrap();
    c.settle(node, S::CleanWait).await;
    c.verb(node, V::Abort).await.unwrap();
    let failed = c.settle(node, S::CleanFailed).await;
    assert_eq!(
        failed.last_error.as_deref(),
        Some("By request, the clean operation was aborted during or after the completion of step \"wait\"")
    );
    c.verb(node, V::Manage).await.unwrap();
    c.settle(node, S::Manageable).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_wait_step_resumes_by_itself() {
    let c = Conductor::start(settings()).await;
    let node = c.node(S::Active, |_| {}).await;
    let mut service = ProvisionRequest::new(node, V::Service);
    service.service_steps = vec![obj(json!({"interface": "deploy", "step": "wait", "args": {"seconds": 1}}))];
    c.engine.change_provision_state(service).await.unwrap();
    c.settle(node, S::Active).await;
    assert_eq!(c.trail(node).await, ["servicing", "service wait", "servicing", "active"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_hold_unhold_and_abort() {
    let c = Conductor::start(settings()).await;
    let node = c.node(S::Available, |_| {}).await;
    let mut deploy = ProvisionRequest::new(node, V::Active);
    deploy.deploy_steps = vec![obj(json!({"interface": "deploy", "step": "hold", "priority": 50}))];
    c.engine.change_provision_state(deploy).await.unwrap();
    let held = c.settle(node, S::DeployHold).await;
    assert_eq!(held.target_provision_state, Some(S::Active));
    c.verb(node, V::Unhold).await.unwrap();
    c.settle(node, S::Active).await;
    assert_eq!(c.trail(node).await, ["deploying", "deploy hold", "wait call-back", "deploying", "active"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_failures_leave_clear_errors_and_history() {
    let c = Conductor::start(settings()).await;
    let node = c
        .node(S::Available, |n| {
            n.driver_info.insert("fake_fail".into(), json!("deploy"));
        })
        .await;
    c.verb(node, V::Active).await.unwrap();
    let failed = c.settle(node, S::DeployFailed).await;
    assert_eq!(
        failed.last_error.as_deref(),
        Some("Fake deploy failed as requested by driver_info fake_fail")
    );
    assert_eq!(failed.target_provision_state, Some(S::Active));
    let history = c.engine.history.list(&node.to_string(), 0, None).await.unwrap();
    assert!(
        history.iter().any(|e| e.severity.as_str() == "ERROR" && e.event_type == "deployment"),
        "{history:?}"
    );

    let enrolled = c
        .node(S::Enroll, |n| {
            n.driver_info.insert("fake_fail".into(), json!("verify"));
        })
        .await;
    c.verb(enrolled, V::Manage).await.unwrap();
    let back = c.settle(enrolled, S::Enroll).await;
    assert_eq!(back.target_provision_state, None);
    assert!(back.last_error.is_some());

    let cleaning = c
        .node(S::Manageable, |n| {
            n.driver_info.insert("fake_fail".into(), json!("clean"));
        })
        .await;
    c.verb(cleaning, V::Provide).await.unwrap();
    let failed = c.settle(cleaning, S::CleanFailed).await;
    assert!(failed.maintenance, "Ironic puts a node whose cleaning failed into maintenance");
    assert_eq!(failed.fault.as_deref(), Some("clean failure"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescue_and_inspect_waits_abort_into_their_failure_states() {
    let c = Conductor::start(settings()).await;
    let node = c
        .node(S::Active, |n| {
            n.driver_info.insert("fake_wait".into(), json!(["rescue"]));
        })
        .await;
    c.verb(node, V::Rescue).await.unwrap();
    c.settle(node, S::RescueWait).await;
    c.verb(node, V::Abort).await.unwrap();
    let failed = c.settle(node, S::RescueFailed).await;
    assert_eq!(failed.last_error.as_deref(), Some("Rescue operation was aborted by request."));

    let inspected = c.node(S::Manageable, |n| n.inspect_interface = Some("agent".into())).await;
    c.verb(inspected, V::Inspect).await.unwrap();
    c.settle(inspected, S::InspectWait).await;
    c.verb(inspected, V::Abort).await.unwrap();
    let failed = c.settle(inspected, S::InspectFailed).await;
    assert_eq!(failed.last_error.as_deref(), Some("Inspection was aborted by request."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_past_its_timeout_fails_with_ironics_message() {
    let c =
        Conductor::start(Settings { deploy_callback_timeout: Duration::from_secs(1), ..settings() }).await;
    let node = c.node(S::Available, |_| {}).await;
    let mut deploy = ProvisionRequest::new(node, V::Active);
    deploy.deploy_steps = vec![obj(json!({"interface": "deploy", "step": "wait", "priority": 50}))];
    c.engine.change_provision_state(deploy).await.unwrap();
    c.settle(node, S::DeployWait).await;
    // The periodic check of a conductor running its service does this on its own.
    let failed = ferric_testkit::wait_for(PATIENCE, "the callback timeout to fail the deploy", || async {
        c.engine.check_nodes().await.ok()?;
        let node = c.get(node).await;
        (node.provision_state == S::DeployFailed).then_some(node)
    })
    .await;
    assert_eq!(
        failed.last_error,
        Some(format!("Timeout reached while waiting for callback for node {node}"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orphaned_node_is_taken_over_and_finished() {
    let c = Conductor::start(settings()).await;
    // A node a dead conductor left mid-deploy: working state, step list, no lock.
    let node = c
        .node(S::Deploying, |n| {
            n.target_provision_state = Some(S::Active);
            n.driver_internal_info.insert(
                "deploy_steps".into(),
                json!([{"interface": "deploy", "step": "deploy", "args": {}, "priority": 100}]),
            );
            n.driver_internal_info.insert("deploy_step_index".into(), json!(0));
        })
        .await;
    c.engine.check_nodes().await.unwrap();
    let active = c.settle(node, S::Active).await;
    assert_eq!(active.last_error, None);
}
