//! The real `baremetal` CLI (python-ironicclient) and openstacksdk against a
//! running `ferric all-in-one`: what an operator types must work unchanged.

use std::path::Path;

use ferric_integration::{Baremetal, FerricProcess, python};
use serde_json::Value;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ferric"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_enrolls_edits_and_deletes_nodes_and_ports() {
    let dir = tempfile::tempdir().unwrap();
    let ferric = FerricProcess::all_in_one(bin(), dir.path(), &[]).await;
    let cli = Baremetal::new(&ferric.api);

    let drivers = cli.json(&["driver", "list"]);
    let names: Vec<&str> = drivers.as_array().unwrap().iter().filter_map(|d| d["name"].as_str()).collect();
    assert_eq!(names, ["fake-hardware", "ipmi", "manual-management", "redfish"], "{drivers}");

    let node = cli.json(&[
        "node",
        "create",
        "--driver",
        "fake-hardware",
        "--name",
        "cli-node-0",
        "--property",
        "cpus=2",
    ]);
    assert_eq!(node["provision_state"], "enroll");
    assert_eq!(node["properties"]["cpus"], 2, "the CLI sends numbers as JSON numbers");
    let uuid = node["uuid"].as_str().unwrap().to_owned();

    let listed = cli.json(&["node", "list"]);
    assert_eq!(listed[0]["name"], "cli-node-0");
    assert_eq!(listed[0]["provision_state"], "enroll");
    let long = cli.json(&["node", "list", "--long"]);
    assert_eq!(long[0]["driver"], "fake-hardware");
    let fields = cli.json(&["node", "list", "--fields", "uuid", "name"]);
    assert_eq!(fields[0]["uuid"], uuid.as_str());

    cli.ok(&[
        "node",
        "set",
        "cli-node-0",
        "--extra",
        "foo=bar",
        "--description",
        "rack 4",
        "--driver-info",
        "ipmi_password=secret",
    ]);
    let shown = cli.json(&["node", "show", "cli-node-0"]);
    assert_eq!(shown["extra"]["foo"], "bar");
    assert_eq!(shown["description"], "rack 4");
    assert_eq!(shown["driver_info"]["ipmi_password"], "******");
    cli.ok(&["node", "unset", "cli-node-0", "--extra", "foo", "--description"]);
    let shown = cli.json(&["node", "show", "cli-node-0"]);
    assert_eq!(shown["extra"], serde_json::json!({}));
    assert_eq!(shown["description"], Value::Null);

    let added = cli.ok(&["node", "add", "trait", "cli-node-0", "CUSTOM_GOLD", "CUSTOM_SILVER"]);
    assert!(added.stdout.contains("Added trait CUSTOM_GOLD"), "{added:?}");
    let traits = cli.json(&["node", "trait", "list", "cli-node-0"]);
    assert_eq!(traits.as_array().unwrap().len(), 2, "{traits}");
    cli.ok(&["node", "remove", "trait", "cli-node-0", "CUSTOM_GOLD"]);
    cli.ok(&["node", "remove", "trait", "--all", "cli-node-0"]);
    assert!(cli.json(&["node", "trait", "list", "cli-node-0"]).as_array().unwrap().is_empty());

    cli.ok(&["node", "maintenance", "set", "cli-node-0", "--reason", "cli test"]);
    let shown = cli.json(&["node", "show", "cli-node-0"]);
    assert_eq!(shown["maintenance"], true);
    assert_eq!(shown["maintenance_reason"], "cli test");
    cli.ok(&["node", "maintenance", "unset", "cli-node-0"]);
    assert_eq!(cli.json(&["node", "show", "cli-node-0"])["maintenance"], false);

    let port = cli.json(&["port", "create", "52:54:00:AA:BB:01", "--node", &uuid]);
    assert_eq!(port["address"], "52:54:00:aa:bb:01");
    let ports = cli.json(&["port", "list", "--node", "cli-node-0"]);
    assert_eq!(ports[0]["address"], "52:54:00:aa:bb:01");
    let duplicate = cli.run(&["port", "create", "52:54:00:aa:bb:01", "--node", &uuid]);
    assert_eq!(duplicate.code, 1);
    assert!(
        duplicate.stderr.contains("A port with MAC address 52:54:00:aa:bb:01 already exists. (HTTP 409)"),
        "{duplicate:?}"
    );
    cli.ok(&["port", "delete", "52:54:00:aa:bb:01"]);
    assert!(cli.json(&["port", "list"]).as_array().unwrap().is_empty());

    let missing = cli.run(&["node", "show", "no-such-node"]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.starts_with("Node no-such-node could not be found. (HTTP 404)"), "{missing:?}");
    let bad_driver = cli.run(&["node", "create", "--driver", "no-such-driver", "--name", "cli-bad"]);
    assert_eq!(bad_driver.code, 1);
    assert!(
        bad_driver.stderr.contains("No conductor service registered which supports driver no-such-driver"),
        "{bad_driver:?}"
    );

    let deleted = cli.ok(&["node", "delete", "cli-node-0"]);
    assert!(deleted.stdout.contains("Deleted node cli-node-0"), "{deleted:?}");
    assert!(cli.json(&["node", "list"]).as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn openstacksdk_creates_lists_and_patches_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let ferric = FerricProcess::all_in_one(bin(), dir.path(), &[]).await;
    let script = r#"
import json, os
import openstack
conn = openstack.connect(auth_type="none", baremetal_endpoint_override=os.environ["API"], baremetal_api_version="1.115")
node = conn.baremetal.create_node(driver="fake-hardware", name="sdk-node", properties={"cpus": 8})
conn.baremetal.patch_node(node, [{"op": "add", "path": "/extra/rack", "value": "r4"}])
conn.baremetal.create_port(node_id=node.id, address="52:54:00:00:00:42")
found = conn.baremetal.get_node("sdk-node")
nodes = [n.name for n in conn.baremetal.nodes(details=True)]
ports = [p.address for p in conn.baremetal.ports(node="sdk-node")]
print(json.dumps({"state": found.provision_state, "extra": found.extra, "cpus": found.properties["cpus"], "nodes": nodes, "ports": ports}))
"#;
    let out = python(script, &[("API", &ferric.api)]).json();
    assert_eq!(out["state"], "enroll");
    assert_eq!(out["extra"]["rack"], "r4");
    assert_eq!(out["cpus"], 8);
    assert_eq!(out["nodes"], serde_json::json!(["sdk-node"]));
    assert_eq!(out["ports"], serde_json::json!(["52:54:00:00:00:42"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_walks_a_fake_node_through_its_lifecycle_and_power() {
    let dir = tempfile::tempdir().unwrap();
    let ferric = FerricProcess::all_in_one(bin(), dir.path(), &[]).await;
    let cli = Baremetal::new(&ferric.api);
    cli.json(&["node", "create", "--driver", "fake-hardware", "--name", "life"]);

    let validate = cli.json(&["node", "validate", "life"]);
    let results: Vec<(&str, &Value)> = validate
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (row["Interface"].as_str().unwrap_or_default(), &row["Result"]))
        .collect();
    assert_eq!(results.len(), 12, "{validate}");
    assert!(results.iter().all(|(_, result)| **result == Value::Bool(true)), "{validate}");

    cli.ok(&["node", "manage", "life", "--wait", "60"]);
    assert_eq!(cli.json(&["node", "show", "life"])["provision_state"], "manageable");
    cli.ok(&["node", "provide", "life", "--wait", "60"]);
    assert_eq!(cli.json(&["node", "show", "life"])["provision_state"], "available");
    cli.ok(&["node", "deploy", "life", "--wait", "60"]);
    let active = cli.json(&["node", "show", "life"]);
    assert_eq!(active["provision_state"], "active");
    assert_eq!(active["target_provision_state"], Value::Null);
    let refused = cli.run(&["node", "delete", "life"]);
    assert_eq!(refused.code, 1, "an active node cannot be deleted: {refused:?}");
    cli.ok(&["node", "undeploy", "life", "--wait", "60"]);
    assert_eq!(cli.json(&["node", "show", "life"])["provision_state"], "available");

    cli.ok(&["node", "power", "on", "life"]);
    ferric_integration::wait_until(std::time::Duration::from_secs(20), "power on", || {
        let shown = cli.json(&["node", "show", "life"]);
        async move { shown["power_state"] == "power on" }
    })
    .await;
    cli.ok(&["node", "power", "off", "life"]);
    ferric_integration::wait_until(std::time::Duration::from_secs(20), "power off", || {
        let shown = cli.json(&["node", "show", "life"]);
        async move { shown["power_state"] == "power off" }
    })
    .await;

    cli.ok(&["node", "boot", "device", "set", "life", "pxe", "--persistent"]);
    let device = cli.json(&["node", "boot", "device", "show", "life"]);
    assert_eq!(device["boot_device"], "pxe");
    let supported = cli.json(&["node", "boot", "device", "show", "life", "--supported"]);
    // The CLI joins the list for display (transcript cli/14).
    assert_eq!(supported["supported_boot_devices"], "pxe");
}
