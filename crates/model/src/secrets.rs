//! Masking of secrets before a record leaves through the API or a log.
//!
//! Ironic hides BMC passwords, agent tokens, config drives and temporary image URLs
//! with `"******"` (`node_sanitize` in `api/controllers/v1/node.py`), using
//! oslo.utils' `mask_dict_password`: a key containing any of [`SANITIZE_KEYS`]
//! (case-insensitive) has its value replaced, nested objects are masked
//! recursively, and string values are scanned for `password=...`-style text by
//! [`mask_message`]. Clients and operators' tooling have seen exactly this shape
//! for a decade, so Ferric reproduces it rather than inventing its own.
//!
//! Architecture invariant: BMC passwords and agent tokens never leave through the
//! API or the logs, so every renderer and log line that shows `driver_info`,
//! `instance_info` or `driver_internal_info` goes through this module.

use std::sync::LazyLock;

use regex::{Captures, Regex};
use serde_json::Value;

use crate::json::Object;

/// What Ironic writes in place of a secret.
pub const MASK: &str = "******";

/// Substrings that make a key secret (oslo.utils `_SANITIZE_KEYS`, lowercase, in
/// oslo's order, which is also the order [`mask_message`] applies them).
pub const SANITIZE_KEYS: &[&str] = &[
    "adminpass",
    "admin_pass",
    "password",
    "admin_password",
    "auth_token",
    "new_pass",
    "auth_password",
    "secret_uuid",
    "secret",
    "sys_pswd",
    "token",
    "configdrive",
    "chappassword",
    "encrypted_key",
    "private_key",
    "fernetkey",
    "sslkey",
    "passphrase",
    "cephclusterfsid",
    "octaviaheartbeatkey",
    "rabbitcookie",
    "cephmanilaclientkey",
    "pacemakerremoteauthkey",
    "designaterndckey",
    "cephadminkey",
    "heatauthencryptionkey",
    "cephclientkey",
    "keystonecredential",
    "barbicansimplecryptokek",
    "cephrgwkey",
    "swifthashsuffix",
    "migrationsshkey",
    "cephmdskey",
    "cephmonkey",
];

/// Who may see which secrets: Ironic's `show_password` and `show_instance_secrets`
/// policies, evaluated by the gateway and passed in, so this crate stays policy-free.
///
/// The default masks everything, as Ironic's default policy (`!`) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SecretPolicy {
    /// Show `driver_info` unmasked (policy `show_password`).
    pub show_driver_secrets: bool,
    /// Show `instance_info` unmasked (policy `show_instance_secrets`).
    pub show_instance_secrets: bool,
}

impl SecretPolicy {
    /// Mask every secret: the default for API responses and always for logs.
    pub const MASK_ALL: Self = Self { show_driver_secrets: false, show_instance_secrets: false };
    /// Show driver and instance secrets (the agent token is masked regardless).
    pub const SHOW_ALL: Self = Self { show_driver_secrets: true, show_instance_secrets: true };
}

/// Whether a dictionary key names a secret: it contains one of [`SANITIZE_KEYS`],
/// ignoring case (`ipmi_password`, `redfish_password`, `agent_secret_token`, ...).
pub fn is_secret_key(key: &str) -> bool {
    let lowered = key.to_lowercase();
    SANITIZE_KEYS.iter().any(|secret| lowered.contains(secret))
}

/// oslo.utils `mask_dict_password(dictionary, secret)`: a masked copy.
///
/// Object values recurse (even under a secret key, as oslo does); any other value
/// under a secret key becomes `secret`; other strings pass through
/// [`mask_message`]; lists and scalars are left alone.
pub fn mask_dict(object: &Object, secret: &str) -> Object {
    object
        .iter()
        .map(|(key, value)| {
            let masked = match value {
                Value::Object(inner) => Value::Object(mask_dict(inner, secret)),
                _ if is_secret_key(key) => Value::String(secret.to_owned()),
                Value::String(text) => Value::String(mask_message(text, secret)),
                other => other.clone(),
            };
            (key.clone(), masked)
        })
        .collect()
}

/// Python truthiness of a JSON value, which Ironic's `if d.get(key):` checks use.
fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

/// Replaces `object[key]` with [`MASK`] when it is truthy, as Ironic does for
/// `image_url` and `agent_secret_token`.
fn mask_if_truthy(object: &mut Object, key: &str) {
    if let Some(value) = object.get_mut(key).filter(|value| is_truthy(value)) {
        *value = Value::String(MASK.to_owned());
    }
}

/// Masks a node's secret-bearing fields in place, exactly as Ironic's
/// `node_sanitize`:
///
/// - `driver_info` through [`mask_dict`] unless `policy.show_driver_secrets`;
/// - `instance_info` through [`mask_dict`] unless `policy.show_instance_secrets`,
///   and then `image_url` (which may carry a temporary Swift credential);
/// - `driver_internal_info.agent_secret_token` always.
pub fn mask_node_fields(
    driver_info: &mut Object,
    instance_info: &mut Object,
    driver_internal_info: &mut Object,
    policy: SecretPolicy,
) {
    if !policy.show_driver_secrets {
        *driver_info = mask_dict(driver_info, MASK);
    }
    if !policy.show_instance_secrets {
        *instance_info = mask_dict(instance_info, MASK);
        mask_if_truthy(instance_info, "image_url");
    }
    mask_if_truthy(driver_internal_info, "agent_secret_token");
}

/// oslo.utils `_FORMAT_PATTERNS_2`: a prefix group, the secret, a suffix group.
/// `{key}` is replaced by each sanitize key.
const PATTERNS_WITH_SUFFIX: &[&str] = &[
    r#"({key}[0-9]*\s*[=]\s*["'])[^"']*(["'])"#,
    r#"({key}[0-9]*\s*[=]\s*["])[^"]*(["])"#,
    r#"({key}[0-9]*\s*[=]\s*['])[^']*(['])"#,
    r#"({key}[0-9]*\s+["'])[^"']*(["'])"#,
    r#"([-]{2}{key}[0-9]*\s+)[^'^"^=^\s]+([\s]*)"#,
    r#"(<{key}[0-9]*>)[^<]*(</{key}[0-9]*>)"#,
    r#"(["']{key}[0-9]*["']\s*:\s*["'])[^"']*(["'])"#,
    r#"(['"][^"']*{key}[0-9]*['"]\s*:\s*u?['"])[^"']*(['"])"#,
    r#"(['"][^'"]*{key}[0-9]*['"]\s*,\s*'--?[A-z]+'\s*,\s*u?['"])[^"']*(['"])"#,
    r#"({key}[0-9]*\s*--?[A-z]+\s*)\S+(\s*)"#,
];

/// oslo.utils `_FORMAT_PATTERNS_1`: a prefix group, then the secret.
const PATTERNS_PREFIX_ONLY: &[&str] = &[r#"({key}[0-9]*\s*[=]\s*)[^\s^'^"]+"#];

/// oslo.utils `_FORMAT_PATTERNS_WILDCARD`: quoted secrets containing quotes; only
/// the prefix group is kept (oslo's substitution is `\g<1>`).
const PATTERNS_WILDCARD: &[&str] = &[r#"(['"][^"']*{key}[0-9]*['"]\s*:\s*u?['"].*['"])[^"']*(['"])"#];

/// The compiled patterns for one sanitize key.
struct KeyPatterns {
    key: &'static str,
    with_suffix: Vec<Regex>,
    prefix_only: Vec<Regex>,
    wildcard: Vec<Regex>,
}

fn compile(templates: &[&str], key: &str) -> Vec<Regex> {
    templates
        .iter()
        .filter_map(|template| {
            Regex::new(&format!("(?si){}", template.replace("{key}", &regex::escape(key)))).ok()
        })
        .collect()
}

static PATTERNS: LazyLock<Vec<KeyPatterns>> = LazyLock::new(|| {
    SANITIZE_KEYS
        .iter()
        .map(|key| KeyPatterns {
            key,
            with_suffix: compile(PATTERNS_WITH_SUFFIX, key),
            prefix_only: compile(PATTERNS_PREFIX_ONLY, key),
            wildcard: compile(PATTERNS_WILDCARD, key),
        })
        .collect()
});

fn group<'t>(caps: &Captures<'t>, index: usize) -> &'t str {
    caps.get(index).map_or("", |m| m.as_str())
}

/// oslo.utils `mask_password(message, secret)`: masks secrets written inside free
/// text, such as `--password foo`, `password=foo` or `"token": "foo"`.
///
/// Used on string values by [`mask_dict`], and by log formatting for command lines
/// and error messages that may quote credentials.
pub fn mask_message(message: &str, secret: &str) -> String {
    let mut text = message.to_owned();
    for patterns in PATTERNS.iter() {
        if !text.to_lowercase().contains(patterns.key) {
            continue;
        }
        for pattern in &patterns.with_suffix {
            text = pattern
                .replace_all(&text, |caps: &Captures<'_>| {
                    format!("{}{secret}{}", group(caps, 1), group(caps, 2))
                })
                .into_owned();
        }
        for pattern in &patterns.prefix_only {
            text = pattern
                .replace_all(&text, |caps: &Captures<'_>| format!("{}{secret}", group(caps, 1)))
                .into_owned();
        }
        for pattern in &patterns.wildcard {
            text = pattern.replace_all(&text, |caps: &Captures<'_>| group(caps, 1).to_owned()).into_owned();
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Object {
        match value {
            Value::Object(map) => map,
            _ => Object::new(),
        }
    }

    #[test]
    fn every_pattern_compiles() {
        for patterns in PATTERNS.iter() {
            assert_eq!(patterns.with_suffix.len(), PATTERNS_WITH_SUFFIX.len(), "{}", patterns.key);
            assert_eq!(patterns.prefix_only.len(), PATTERNS_PREFIX_ONLY.len(), "{}", patterns.key);
            assert_eq!(patterns.wildcard.len(), PATTERNS_WILDCARD.len(), "{}", patterns.key);
        }
    }

    #[test]
    fn secret_keys_match_by_substring_ignoring_case() {
        for key in [
            "ipmi_password",
            "redfish_password",
            "IPMI_PASSWORD",
            "agent_secret_token",
            "configdrive",
            "token",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in ["ipmi_username", "ipmi_address", "redfish_system_id", "image_source", "deploy_kernel"] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn masks_driver_info_like_ironic() {
        let info = object(json!({
            "ipmi_address": "10.0.0.1",
            "ipmi_username": "admin",
            "ipmi_password": "s3cret",
            "snmp_auth_key_password": null,
            "nested": {"redfish_password": "x", "redfish_username": "root"},
            "list": [{"password": "kept: lists are not searched"}],
            "port": 623,
        }));
        let masked = mask_dict(&info, MASK);
        assert_eq!(
            Value::Object(masked),
            json!({
                "ipmi_address": "10.0.0.1",
                "ipmi_username": "admin",
                "ipmi_password": "******",
                "snmp_auth_key_password": "******",
                "nested": {"redfish_password": "******", "redfish_username": "root"},
                "list": [{"password": "kept: lists are not searched"}],
                "port": 623,
            })
        );
        // Key order is preserved.
        let keys: Vec<_> = mask_dict(&info, MASK).keys().cloned().collect();
        let original: Vec<_> = info.keys().cloned().collect();
        assert_eq!(keys, original);
    }

    #[test]
    fn masks_secrets_inside_string_values() {
        assert_eq!(mask_message("--password d81juxmEW_", "???"), "--password ???");
        assert_eq!(mask_message("password=abc def", "***"), "password=*** def");
        assert_eq!(mask_message("'adminPass' : 'aaaaa'", "***"), "'adminPass' : '***'");
        assert_eq!(mask_message("\"password\" : \"aaaaa\"", "***"), "\"password\" : \"***\"");
        assert_eq!(mask_message("'original_password' : 'aaaaa'", "***"), "'original_password' : '***'");
        assert_eq!(mask_message("<password>x</password>", "***"), "<password>***</password>");
        assert_eq!(mask_message("nothing to see", "***"), "nothing to see");
        let info = object(json!({"cmd": "ipmitool -U admin --password hunter2 power on"}));
        assert_eq!(
            Value::Object(mask_dict(&info, MASK)),
            json!({"cmd": "ipmitool -U admin --password ****** power on"})
        );
    }

    #[test]
    fn node_fields_follow_policy() {
        let mut driver = object(json!({"ipmi_password": "p", "ipmi_username": "u"}));
        let mut instance = object(json!({
            "image_source": "http://images/x.qcow2",
            "image_url": "http://swift/tempurl?sig=abc",
            "configdrive": "H4sIAAAA...",
        }));
        let mut internal = object(json!({"agent_secret_token": "tok", "agent_url": "http://10.0.0.5:9999"}));
        mask_node_fields(&mut driver, &mut instance, &mut internal, SecretPolicy::default());
        assert_eq!(Value::Object(driver), json!({"ipmi_password": "******", "ipmi_username": "u"}));
        assert_eq!(
            Value::Object(instance),
            json!({"image_source": "http://images/x.qcow2", "image_url": "******", "configdrive": "******"})
        );
        assert_eq!(
            Value::Object(internal),
            json!({"agent_secret_token": "******", "agent_url": "http://10.0.0.5:9999"})
        );
    }

    #[test]
    fn shown_secrets_still_hide_the_agent_token() {
        let mut driver = object(json!({"ipmi_password": "p"}));
        let mut instance = object(json!({"image_url": "http://x", "empty_url": ""}));
        let mut internal = object(json!({"agent_secret_token": "tok"}));
        mask_node_fields(&mut driver, &mut instance, &mut internal, SecretPolicy::SHOW_ALL);
        assert_eq!(Value::Object(driver), json!({"ipmi_password": "p"}));
        assert_eq!(Value::Object(instance), json!({"image_url": "http://x", "empty_url": ""}));
        assert_eq!(Value::Object(internal), json!({"agent_secret_token": "******"}));
        // A falsy token (not yet issued) stays as it is.
        let mut internal = object(json!({"agent_secret_token": null}));
        mask_node_fields(&mut Object::new(), &mut Object::new(), &mut internal, SecretPolicy::MASK_ALL);
        assert_eq!(Value::Object(internal), json!({"agent_secret_token": null}));
    }
}
