//! The compiled contract, read back from the descriptor set every service serves
//! for reflection: it holds the services the mesh relies on, and follows the buf
//! STANDARD naming rules (checked here too, since `buf` is not needed to build).

use std::collections::HashMap;

use ferric_proto::{FILE_DESCRIPTOR_SET, SERVICE_NAMES};
use prost::Message as _;
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorSet};

fn ferric_files() -> Vec<prost_types::FileDescriptorProto> {
    let set = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("descriptor set decodes");
    set.file.into_iter().filter(|f| f.package() == "ferric.v1").collect()
}

fn rpcs(service: &str) -> Vec<String> {
    ferric_files()
        .iter()
        .flat_map(|f| f.service.iter())
        .find(|s| format!("ferric.v1.{}", s.name()) == service)
        .map(|s| s.method.iter().map(|m| m.name().to_owned()).collect())
        .unwrap_or_default()
}

#[test]
fn every_service_is_in_the_descriptor_set() {
    let mut found: Vec<String> = ferric_files()
        .iter()
        .flat_map(|f| f.service.iter().map(|s| format!("ferric.v1.{}", s.name())))
        .collect();
    let mut expected: Vec<String> = SERVICE_NAMES.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    found.sort();
    assert_eq!(found, expected);
    let files: Vec<String> = ferric_files().iter().map(|f| f.name().to_owned()).collect();
    for file in ["common", "power", "bootnet", "imagecache", "deploy"] {
        assert!(files.contains(&format!("ferric/v1/{file}.proto")), "{files:?}");
    }
}

#[test]
fn power_and_bootnet_offer_the_operations_deploy_needs() {
    let power = rpcs("ferric.v1.PowerService");
    for rpc in [
        "GetPowerState",
        "SetPowerState",
        "GetBootDevice",
        "SetBootDevice",
        "GetSupportedBootDevices",
        "InjectNmi",
        "ValidateCredentials",
    ] {
        assert!(power.iter().any(|r| r == rpc), "PowerService lacks {rpc}: {power:?}");
    }
    let bootnet = rpcs("ferric.v1.BootNetworkService");
    for rpc in ["RegisterNode", "ReplaceNode", "RemoveNode", "ListLeases"] {
        assert!(bootnet.iter().any(|r| r == rpc), "BootNetworkService lacks {rpc}: {bootnet:?}");
    }
}

fn is_lower_snake(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with('_')
        && !name.ends_with('_')
        && !name.contains("__")
}

fn is_pascal(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
}

/// `PowerState` -> `POWER_STATE`.
fn upper_snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn check_enum(e: &EnumDescriptorProto, problems: &mut Vec<String>) {
    let prefix = format!("{}_", upper_snake(e.name()));
    match e.value.first() {
        Some(first) if first.number() == 0 && first.name() == format!("{prefix}UNSPECIFIED") => {}
        _ => problems.push(format!("enum {}: zero value must be {prefix}UNSPECIFIED", e.name())),
    }
    for value in &e.value {
        if !value.name().starts_with(&prefix) {
            problems.push(format!("enum value {} lacks prefix {prefix}", value.name()));
        }
    }
}

fn check_message(m: &DescriptorProto, problems: &mut Vec<String>) {
    if !is_pascal(m.name()) {
        problems.push(format!("message {} is not PascalCase", m.name()));
    }
    for field in &m.field {
        if !is_lower_snake(field.name()) {
            problems.push(format!("field {}.{} is not lower_snake_case", m.name(), field.name()));
        }
    }
    // protoc names the synthetic oneof of a proto3 `optional` field `_<field>`.
    for oneof in m.oneof_decl.iter().filter(|o| !o.name().starts_with('_')) {
        if !is_lower_snake(oneof.name()) {
            problems.push(format!("oneof {}.{} is not lower_snake_case", m.name(), oneof.name()));
        }
    }
    m.enum_type.iter().for_each(|e| check_enum(e, problems));
    m.nested_type.iter().for_each(|n| check_message(n, problems));
}

#[test]
fn names_follow_buf_standard() {
    let mut problems = Vec::new();
    // Request/response type -> how many RPCs use it (RPC_REQUEST_RESPONSE_UNIQUE).
    let mut uses: HashMap<String, usize> = HashMap::new();
    for file in ferric_files() {
        if !file.name().starts_with("ferric/v1/") {
            problems.push(format!("{} is not in the package directory", file.name()));
        }
        file.enum_type.iter().for_each(|e| check_enum(e, &mut problems));
        file.message_type.iter().for_each(|m| check_message(m, &mut problems));
        for service in &file.service {
            let name = service.name();
            if !name.ends_with("Service") {
                problems.push(format!("service {name} lacks the Service suffix"));
            }
            for rpc in &service.method {
                for (ty, suffix) in [(rpc.input_type(), "Request"), (rpc.output_type(), "Response")] {
                    let short = ty.trim_start_matches(".ferric.v1.");
                    let allowed =
                        [format!("{}{suffix}", rpc.name()), format!("{name}{}{suffix}", rpc.name())];
                    if !allowed.iter().any(|a| a == short) {
                        problems.push(format!("{name}.{}: {short} should be one of {allowed:?}", rpc.name()));
                    }
                    *uses.entry(short.to_owned()).or_default() += 1;
                }
            }
        }
    }
    problems.extend(uses.into_iter().filter(|(_, n)| *n > 1).map(|(t, n)| format!("{t} used by {n} RPCs")));
    assert!(problems.is_empty(), "{problems:#?}");
}
