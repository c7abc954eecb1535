//! The configuration reference and the example file are held to the schema here.

use ferric_config::{Config, ConfigError, LogFormat, StoreBackend};

fn no_env() -> Vec<(String, String)> {
    Vec::new()
}

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn empty_file_is_a_working_single_machine_config() {
    let config = Config::from_toml_with_env("", no_env()).unwrap();
    assert_eq!(config, Config::default());
    assert_eq!(config.store.backend, StoreBackend::Embedded);
    assert_eq!(config.gateway.listen.port(), 6385);
    assert_eq!(config.embedded_store_path(), std::path::PathBuf::from("./var/store.redb"));
}

#[test]
fn environment_overrides_file_values() {
    let toml = "[gateway]\nlisten = \"127.0.0.1:7000\"\n[store]\nlease_ttl_secs = 30\n";
    let env = vec![
        ("FERRIC_GATEWAY__LISTEN".to_string(), "0.0.0.0:6385".to_string()),
        ("FERRIC_STORE__BACKEND".to_string(), "etcd".to_string()),
        ("FERRIC_STORE__ETCD_ENDPOINTS".to_string(), "[\"http://10.0.0.1:2379\"]".to_string()),
        ("FERRIC_TELEMETRY__LOG_FORMAT".to_string(), "json".to_string()),
        ("FERRIC_CONFIG".to_string(), "/ignored.toml".to_string()),
        ("UNRELATED".to_string(), "x".to_string()),
    ];
    let config = Config::from_toml_with_env(toml, env).unwrap();
    assert_eq!(config.gateway.listen.to_string(), "0.0.0.0:6385");
    assert_eq!(config.store.backend, StoreBackend::Etcd);
    assert_eq!(config.store.etcd_endpoints, vec!["http://10.0.0.1:2379"]);
    assert_eq!(config.store.lease_ttl_secs, 30);
    assert_eq!(config.telemetry.log_format, LogFormat::Json);
}

#[test]
fn unknown_option_is_rejected_by_name() {
    let err = Config::from_toml_with_env("[gateway]\nlistn = \"x\"\n", no_env()).unwrap_err();
    assert!(matches!(err, ConfigError::Parse(_)));
    assert!(err.to_string().contains("listn"), "{err}");
}

#[test]
fn bad_values_name_the_option() {
    let cases = [
        ("[store]\nlease_ttl_secs = 1\n", "store.lease_ttl_secs"),
        ("[store]\nbackend = \"etcd\"\netcd_endpoints = []\n", "store.etcd_endpoints"),
        ("[tls]\ncert = \"/c.pem\"\n", "tls.cert"),
    ];
    for (toml, option) in cases {
        let err = Config::from_toml_with_env(toml, no_env()).unwrap_err();
        assert!(err.to_string().contains(option), "{toml:?} gave {err}");
    }
    let err =
        Config::from_toml_with_env("", vec![("FERRIC_GATEWAY__LISTEN".into(), "nope".into())]).unwrap_err();
    assert!(err.to_string().contains("invalid"), "{err}");
}

#[test]
fn example_file_parses_and_every_option_is_documented() {
    let example = std::fs::read_to_string(root().join("ferric.example.toml")).unwrap();
    let reference = std::fs::read_to_string(root().join("docs/configuration.md")).unwrap();
    Config::from_toml_with_env(&example, no_env()).unwrap();
    // Every key of the full default config appears in both the example and the reference.
    let full = toml::Table::try_from(Config::default()).unwrap();
    let mut missing = Vec::new();
    for (section, value) in &full {
        let keys: Vec<String> = match value.as_table() {
            Some(table) => table.keys().map(|k| format!("{section}.{k}")).collect(),
            None => vec![section.clone()],
        };
        for key in keys {
            if !reference.contains(&format!("`{key}`")) {
                missing.push(format!("{key} (docs/configuration.md)"));
            }
            let leaf = key.rsplit('.').next().unwrap();
            if !example.contains(&format!("{leaf} =")) {
                missing.push(format!("{key} (ferric.example.toml)"));
            }
        }
    }
    // Options whose default is unset do not appear in the serialized defaults.
    for key in [
        "store.path",
        "telemetry.otlp_endpoint",
        "telemetry.metrics_listen",
        "tls.cert",
        "tls.key",
        "tls.ca",
        "gateway.public_url",
        "deploy.hostname",
        "power.advertise",
    ] {
        if !reference.contains(&format!("`{key}`")) {
            missing.push(format!("{key} (docs/configuration.md)"));
        }
    }
    assert!(missing.is_empty(), "undocumented options: {missing:?}");
}
