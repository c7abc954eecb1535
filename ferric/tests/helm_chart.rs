//! The helm chart (`helm/ferric`), rendered by a real Helm engine (Helm's Go SDK,
//! bundled in the `helm-python-sdk` wheel) for the default values and other value
//! sets, every manifest validated by `kubernetes-validate` against the newest
//! Kubernetes schemas it ships; and the chart checked against Ferric itself: it
//! starts each role as the distributed harness does (`ferric <role>`, here with
//! `--config <file>`), for exactly the roles the harness runs, with a config file
//! and variables that Ferric's own loader accepts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use ferric_config::{Config, StoreBackend};
use ferric_integration::{Role, python};
use serde_json::{Value, json};

const CONFIG_PATH: &str = "/etc/ferric/ferric.toml";
const BINARY: &str = "/usr/local/bin/ferric";

/// Renders the chart once per value set and validates every document; prints
/// `{set: {"documents": [...], "invalid": [...], "no_schema": [...], "error": ...}}`.
const RENDER: &str = r#"
import json, os, sys
import yaml
import helm_python as helm
import kubernetes_validate
from kubernetes_validate import utils as kv_utils

version = kv_utils.latest_version()
sets = json.loads(os.environ["FERRIC_VALUE_SETS"])
out = {"kubernetes_version": version, "sets": {}}
with helm.Chart.load(os.environ["FERRIC_CHART"]) as chart:
    for name, values in sets.items():
        result = {"documents": [], "invalid": [], "no_schema": [], "error": None}
        try:
            rendered = chart.render(values, name="ferric", namespace="metal")
        except Exception as e:
            result["error"] = str(e)
            out["sets"][name] = result
            continue
        for template in sorted(rendered):
            for doc in yaml.safe_load_all(rendered[template]):
                if not doc:
                    continue
                result["documents"].append(doc)
                try:
                    kubernetes_validate.validate(doc, version, strict=True)
                except kubernetes_validate.SchemaNotFoundError:
                    result["no_schema"].append(doc["apiVersion"] + "/" + doc["kind"])
                except kubernetes_validate.ValidationError as e:
                    result["invalid"].append("%s %s (%s): %s at %s" % (
                        doc.get("kind"), doc.get("metadata", {}).get("name"), template,
                        e.message, list(e.path)))
        out["sets"][name] = result
print(json.dumps(out))
"#;

const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

/// The value sets: the defaults and three deployments that differ in kind.
fn value_sets() -> Value {
    json!({
        "default": {},
        // An external etcd, mTLS from inline PEM, http_basic auth, metrics scraped
        // by the Prometheus operator, a big BMC fleet (many power workers).
        "external-etcd-tls": {
            "etcd": {"enabled": false, "endpoints": ["https://etcd-a:2379", "https://etcd-b:2379", "https://etcd-c:2379"]},
            "tls": {"enabled": true, "cert": PEM, "key": "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n", "ca": PEM},
            "gateway": {"replicas": 3, "htpasswd": {"content": "admin:$2y$05$abcdefghijklmnopqrstuv\n"}},
            "config": {"gateway": {"auth_strategy": "http_basic", "reader_users": ["viewer"]}},
            "power": {"replicas": 6},
            "metrics": {"serviceMonitor": {"enabled": true, "labels": {"release": "prometheus"}}},
        },
        // Authoritative DHCP on a provisioning interface (so bootnet needs NET_RAW),
        // a persistent image cache per pod, BMC CA bundles for Redfish.
        "dhcp-provisioning": {
            "config": {
                "bootnet": {
                    "dhcp_mode": "authoritative",
                    "interface": "eno2",
                    "server_address": "10.250.0.2",
                    "tftp_listen": "0.0.0.0:69",
                    "http_listen": "10.250.0.2:8081",
                    "subnets": [{
                        "network": "10.250.0.0/24", "pool_start": "10.250.0.100", "pool_end": "10.250.0.200",
                        "router": "10.250.0.1", "dns_servers": ["10.250.0.1"], "lease_secs": 600,
                        "reservations": [{"mac": "52:54:00:00:00:10", "ip": "10.250.0.50"}],
                    }],
                },
                "deploy": {"conductor_group": "rack-1", "max_concurrent_deploy": 100},
            },
            "bootnet": {"nodeSelector": {"ferric/provisioning": "true"}},
            "imagecache": {"replicas": 4, "cache": {"storageClass": "fast-local", "size": "200Gi"},
                           "httpAdvertise": "http://images.metal.example:8080"},
            "bmc": {"files": {"redfish-ca.pem": PEM}},
        },
        // Per-pod certificates from cert-manager's csi-driver, a 5-member etcd, a
        // release name of its own, one conductor per zone.
        "csi-tls-big-etcd": {
            "fullnameOverride": "metal",
            "tls": {"enabled": true, "csi": {"enabled": true}},
            "etcd": {"bundled": {"replicas": 5, "persistence": {"storageClass": "ssd", "size": "20Gi"}}},
            "deploy": {"replicas": 5, "pdb": {"enabled": true, "minAvailable": 3}},
            "imagecache": {"replicas": 1, "pdb": {"enabled": false}},
            "imagePullSecrets": [{"name": "registry"}],
            "extraEnv": [{"name": "RUST_BACKTRACE", "value": "1"}],
        },
        // Must fail: distributed mode needs a store.
        "external-etcd-without-endpoints": {"etcd": {"enabled": false}},
    })
}

fn render() -> Value {
    let chart = Path::new(env!("CARGO_MANIFEST_DIR")).join("../helm/ferric");
    let sets = value_sets().to_string();
    let output = python(RENDER, &[("FERRIC_CHART", chart.to_str().unwrap()), ("FERRIC_VALUE_SETS", &sets)]);
    assert_eq!(output.code, 0, "rendering failed: {output:?}");
    serde_json::from_str(output.stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {output:?}"))
}

fn documents<'a>(set: &'a Value, kind: &str) -> Vec<&'a Value> {
    set["documents"].as_array().unwrap().iter().filter(|d| d["kind"] == kind).collect()
}

fn component(doc: &Value) -> &str {
    doc["metadata"]["labels"]["app.kubernetes.io/component"].as_str().unwrap_or_default()
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect()).unwrap_or_default()
}

/// The container's static variables, with the downward-API ones given the values
/// a pod would see, and `$(VAR)` references expanded as the kubelet does.
fn container_env(container: &Value) -> Vec<(String, String)> {
    let mut known: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
    for var in container["env"].as_array().unwrap() {
        let name = var["name"].as_str().unwrap().to_owned();
        let value = if let Some(value) = var["value"].as_str() {
            let mut expanded = value.to_owned();
            for (k, v) in &known {
                expanded = expanded.replace(&format!("$({k})"), v);
            }
            expanded
        } else {
            match var["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
                Some("status.podIP") => "10.1.2.3".into(),
                Some("metadata.name") => "ferric-deploy-5d8f-abcde".into(),
                Some("metadata.namespace") => "metal".into(),
                other => panic!("unexpected variable source {other:?} in {var}"),
            }
        };
        assert!(!value.contains("$("), "{name} refers to an undefined variable: {value}");
        known.insert(name.clone(), value.clone());
        out.push((name, value));
    }
    out
}

fn config_of(set: &Value) -> String {
    let maps = documents(set, "ConfigMap");
    assert_eq!(maps.len(), 1, "one ConfigMap");
    maps[0]["data"]["ferric.toml"].as_str().unwrap().to_owned()
}

#[test]
fn the_chart_renders_valid_manifests_and_runs_each_role_as_ferric_expects() {
    let rendered = render();
    let version = rendered["kubernetes_version"].as_str().unwrap();
    assert!(version.starts_with("1."), "{version}");
    let sets = rendered["sets"].as_object().unwrap();
    let harness_roles: BTreeSet<&str> = Role::ALL.iter().map(|r| r.name()).collect();

    let failed = &sets["external-etcd-without-endpoints"];
    assert!(
        failed["error"].as_str().unwrap_or_default().contains("etcd.endpoints"),
        "an external etcd without endpoints must be refused: {failed}"
    );

    let values = value_sets();
    for name in ["default", "external-etcd-tls", "dhcp-provisioning", "csi-tls-big-etcd"] {
        let set = &sets[name];
        let given = &values[name];
        assert!(set["error"].is_null(), "{name}: {}", set["error"]);
        assert_eq!(set["invalid"], json!([]), "{name}: manifests invalid for Kubernetes {version}");
        // Only the Prometheus operator's CRD has no built-in schema.
        let no_schema = strings(&set["no_schema"]);
        let monitors = documents(set, "ServiceMonitor");
        assert!(
            no_schema.iter().all(|k| k == "monitoring.coreos.com/v1/ServiceMonitor"),
            "{name}: {no_schema:?}"
        );
        assert_eq!(no_schema.len(), monitors.len(), "{name}");
        let monitor_wanted = given["metrics"]["serviceMonitor"]["enabled"] == true;
        assert_eq!(monitors.len(), usize::from(monitor_wanted), "{name}");
        for monitor in &monitors {
            let ports: BTreeSet<&str> = monitor["spec"]["endpoints"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["port"].as_str().unwrap())
                .collect();
            assert_eq!(ports, BTreeSet::from(["http", "metrics"]), "{name}");
            assert_eq!(monitor["metadata"]["labels"]["release"], "prometheus");
        }

        // The config file Ferric will read.
        let toml = config_of(set);
        let tls = given["tls"]["enabled"] == true;

        // One Deployment per role of the harness, and no other.
        let deployments = documents(set, "Deployment");
        let roles: BTreeSet<&str> = deployments.iter().map(|d| component(d)).collect();
        assert_eq!(roles, harness_roles, "{name}: the chart's roles and the harness's differ");
        assert_eq!(deployments.len(), harness_roles.len(), "{name}");

        for deployment in &deployments {
            let role = component(deployment);
            let spec = &deployment["spec"]["template"]["spec"];
            let containers = spec["containers"].as_array().unwrap();
            assert_eq!(containers.len(), 1, "{name}/{role}");
            let container = &containers[0];
            // The command line the harness uses (`ferric <role>`), plus the file.
            assert_eq!(strings(&container["command"]), vec![BINARY], "{name}/{role}");
            assert_eq!(strings(&container["args"]), vec![role, "--config", CONFIG_PATH], "{name}/{role}");
            let mounted = container["volumeMounts"].as_array().unwrap().iter().any(|m| {
                m["mountPath"] == CONFIG_PATH && m["subPath"] == "ferric.toml" && m["name"] == "config"
            });
            assert!(mounted, "{name}/{role}: the ConfigMap is not at {CONFIG_PATH}");

            // Replicas as configured (defaults from values.yaml).
            let default_replicas = match role {
                "deploy" => 3,
                _ => 2,
            };
            let want = given[role]["replicas"].as_u64().unwrap_or(default_replicas);
            assert_eq!(deployment["spec"]["replicas"], want, "{name}/{role}");
            assert!(container["resources"]["requests"]["memory"].is_string(), "{name}/{role}");

            // Ferric's own loader accepts the file with this pod's variables,
            // and they say what the pod is.
            let env = container_env(container);
            let config = Config::from_toml_with_env(&toml, env.iter().cloned())
                .unwrap_or_else(|e| panic!("{name}/{role}: ferric rejects the chart's config: {e}\n{toml}"));
            assert_eq!(config.store.backend, StoreBackend::Etcd, "{name}/{role}");
            if given["etcd"]["enabled"] == false {
                assert_eq!(json!(config.store.etcd_endpoints), given["etcd"]["endpoints"], "{name}");
            } else {
                let members = given["etcd"]["bundled"]["replicas"].as_u64().unwrap_or(3) as usize;
                assert_eq!(config.store.etcd_endpoints.len(), members, "{name}");
            }
            assert_eq!(config.tls.cert.is_some(), tls, "{name}/{role}");
            let scheme = if tls { "https" } else { "http" };
            match role {
                "gateway" => assert_eq!(config.gateway.listen.to_string(), "0.0.0.0:6385"),
                "deploy" => {
                    assert_eq!(
                        config.deploy.advertise.as_deref(),
                        Some(&*format!("{scheme}://10.1.2.3:50051"))
                    );
                    assert_eq!(config.deploy.hostname.as_deref(), Some("ferric-deploy-5d8f-abcde"));
                }
                "power" => {
                    assert_eq!(
                        config.power.advertise.as_deref(),
                        Some(&*format!("{scheme}://10.1.2.3:50051"))
                    )
                }
                "bootnet" => {
                    assert_eq!(
                        config.bootnet.advertise.as_deref(),
                        Some(&*format!("{scheme}://10.1.2.3:50061"))
                    )
                }
                "imagecache" => {
                    assert_eq!(
                        config.imagecache.advertise.as_deref(),
                        Some(&*format!("{scheme}://10.1.2.3:50051"))
                    );
                    let http =
                        given["imagecache"]["httpAdvertise"].as_str().unwrap_or("http://10.1.2.3:8080");
                    assert_eq!(config.imagecache.http_advertise.as_deref(), Some(http), "{name}");
                }
                other => panic!("unexpected role {other}"),
            }

            // Security: non-root and read-only everywhere; bootnet alone on the
            // host network, with only the capabilities it needs.
            let security = &container["securityContext"];
            assert_eq!(security["readOnlyRootFilesystem"], true, "{name}/{role}");
            assert_eq!(security["allowPrivilegeEscalation"], false, "{name}/{role}");
            assert_eq!(strings(&security["capabilities"]["drop"]), vec!["ALL"], "{name}/{role}");
            let added = strings(&security["capabilities"]["add"]);
            if role == "bootnet" {
                assert_eq!(spec["hostNetwork"], true, "{name}");
                let mut want = vec!["NET_BIND_SERVICE"];
                if given["config"]["bootnet"]["interface"].is_string() {
                    want.push("NET_RAW");
                }
                assert_eq!(added, want, "{name}");
                let anti =
                    &spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"];
                assert_eq!(
                    anti[0]["topologyKey"], "kubernetes.io/hostname",
                    "{name}: two bootnets on one host clash"
                );
            } else {
                assert!(spec["hostNetwork"].is_null() || spec["hostNetwork"] == false, "{name}/{role}");
                assert!(added.is_empty(), "{name}/{role}: {added:?}");
                assert_eq!(spec["securityContext"]["runAsNonRoot"], true, "{name}/{role}");
                assert!(spec["securityContext"]["runAsUser"].as_u64().unwrap() > 0, "{name}/{role}");
            }

            // Probes: the gRPC health service (plaintext only in the kubelet), the
            // REST API's root for the gateway.
            for probe in ["readinessProbe", "livenessProbe"] {
                let probe_spec = &container[probe];
                if role == "gateway" {
                    assert_eq!(probe_spec["httpGet"]["path"], "/", "{name}/{role}");
                } else if tls {
                    assert!(
                        probe_spec["tcpSocket"].is_object() || probe_spec["httpGet"].is_object(),
                        "{name}/{role}"
                    );
                } else {
                    let port = if role == "bootnet" { 50061 } else { 50051 };
                    assert_eq!(probe_spec["grpc"]["port"], port, "{name}/{role} {probe}");
                }
            }
        }

        // A PodDisruptionBudget per enabled role; headless Services for gRPC.
        let pdbs: BTreeSet<&str> =
            documents(set, "PodDisruptionBudget").iter().map(|d| component(d)).collect();
        for role in &harness_roles {
            let enabled = given[*role]["pdb"]["enabled"] != false;
            assert_eq!(pdbs.contains(role), enabled, "{name}: PDB of {role}");
        }
        assert_eq!(pdbs.contains("etcd"), given["etcd"]["enabled"] != false, "{name}: etcd PDB");
        let services = documents(set, "Service");
        for role in ["deploy", "power", "bootnet", "imagecache"] {
            let headless = services.iter().any(|s| {
                component(s) == role
                    && s["spec"]["clusterIP"] == "None"
                    && s["spec"]["ports"][0]["name"] == "grpc"
            });
            assert!(headless, "{name}: no headless gRPC Service for {role}");
        }
        assert!(services.iter().any(|s| component(s) == "gateway" && s["spec"]["ports"][0]["port"] == 6385));

        // etcd: bundled as a StatefulSet unless external endpoints are given.
        let statefulsets = documents(set, "StatefulSet");
        if given["etcd"]["enabled"] == false {
            assert!(statefulsets.is_empty(), "{name}");
        } else {
            assert_eq!(statefulsets.len(), 1, "{name}");
            let members = given["etcd"]["bundled"]["replicas"].as_u64().unwrap_or(3);
            assert_eq!(statefulsets[0]["spec"]["replicas"], members, "{name}");
            let args = strings(&statefulsets[0]["spec"]["template"]["spec"]["containers"][0]["args"]);
            let cluster = args.iter().find(|a| a.starts_with("--initial-cluster=")).unwrap();
            assert_eq!(cluster.matches("=http://").count() as u64, members, "{name}: {cluster}");
        }

        // Secrets carry the TLS and BMC material when given inline.
        let secrets = documents(set, "Secret");
        let has_secret =
            |suffix: &str| secrets.iter().any(|s| s["metadata"]["name"].as_str().unwrap().ends_with(suffix));
        let inline_tls = tls && given["tls"]["csi"]["enabled"] != true;
        assert_eq!(has_secret("-tls"), inline_tls, "{name}");
        assert_eq!(has_secret("-bmc"), given["bmc"]["files"].is_object(), "{name}");
    }
}

/// The chart's command line is one `ferric` accepts: the same subcommand names
/// and the `--config` flag, for every role of the harness.
#[test]
fn ferric_accepts_the_charts_command_line_for_every_role() {
    for role in Role::ALL {
        let output = Command::new(env!("CARGO_BIN_EXE_ferric"))
            .args([role.name(), "--config", CONFIG_PATH, "--help"])
            .output()
            .expect("run ferric");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "ferric {} --config ... refused: {output:?}", role.name());
        assert!(help.contains("--config"), "{help}");
    }
}
