//! Typed reads of a node's driver_info, with errors that name the key.
//!
//! driver_info is free-form JSON written by users, so numbers arrive as numbers or
//! strings (`623`, `"623"`, `"0x20"`) and booleans as booleans or strings, as
//! Ironic accepts them. Every read says which key was wrong and why, but never
//! echoes the value of a key that could hold a secret.

use std::fmt;

use serde_json::{Map, Value};

use crate::error::PowerError;

/// A node's driver_info as the caller sent it.
#[derive(Clone, Default)]
pub struct DriverInfo(Map<String, Value>);

/// Keys whose values are shown only as `<redacted>`.
fn is_secret(key: &str) -> bool {
    key.contains("password") || key.contains("kg_key") || key.contains("token")
}

impl fmt::Debug for DriverInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (key, value) in &self.0 {
            if is_secret(key) {
                map.entry(key, &"<redacted>");
            } else {
                map.entry(key, value);
            }
        }
        map.finish()
    }
}

impl From<Map<String, Value>> for DriverInfo {
    fn from(map: Map<String, Value>) -> Self {
        Self(map)
    }
}

impl DriverInfo {
    /// driver_info from a JSON value; anything but an object is empty.
    pub fn from_json(value: Value) -> Self {
        match value {
            Value::Object(map) => Self(map),
            _ => Self::default(),
        }
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// An optional string; numbers are accepted and printed.
    pub fn string(&self, key: &'static str) -> Result<Option<String>, PowerError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(PowerError::invalid(key, format!("expected a string, found {}", kind(other)))),
        }
    }

    /// A required, non-empty string.
    pub fn required(&self, key: &'static str) -> Result<String, PowerError> {
        match self.string(key)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(PowerError::invalid(key, "is empty")),
            None => Err(PowerError::MissingKey { key }),
        }
    }

    /// An optional unsigned integer within `range`; decimal or `0x` hex strings are
    /// accepted, as Ironic's bridging keys are usually written in hex.
    pub fn integer(
        &self,
        key: &'static str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Option<u64>, PowerError> {
        let value = match self.get(key) {
            None => return Ok(None),
            Some(Value::Number(n)) => {
                n.as_u64().ok_or_else(|| PowerError::invalid(key, "expected a non-negative integer"))?
            }
            Some(Value::String(s)) => {
                let s = s.trim();
                let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                    Some(hex) => u64::from_str_radix(hex, 16),
                    None => s.parse::<u64>(),
                };
                parsed.map_err(|_| PowerError::invalid(key, "expected an integer"))?
            }
            Some(other) => {
                return Err(PowerError::invalid(key, format!("expected an integer, found {}", kind(other))));
            }
        };
        if !range.contains(&value) {
            return Err(PowerError::invalid(
                key,
                format!("{value} is outside {}..={}", range.start(), range.end()),
            ));
        }
        Ok(Some(value))
    }

    /// An optional boolean or a string (`"true"`, `"no"`, ...); any other string is
    /// returned as `Err(string)` for keys like `redfish_verify_ca` that also take a
    /// path.
    pub fn bool_or_string(&self, key: &'static str) -> Result<Option<Result<bool, String>>, PowerError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(Ok(*b))),
            Some(Value::String(s)) => Ok(Some(match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" | "on" => Ok(true),
                "false" | "no" | "0" | "off" => Ok(false),
                _ => Err(s.clone()),
            })),
            Some(other) => {
                Err(PowerError::invalid(key, format!("expected a boolean or a path, found {}", kind(other))))
            }
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn info(v: Value) -> DriverInfo {
        DriverInfo::from_json(v)
    }

    #[test]
    fn integers_accept_numbers_decimal_and_hex_strings() {
        let i = info(json!({"a": 623, "b": "623", "c": "0x20", "d": "x", "e": 70000, "f": -1}));
        assert_eq!(i.integer("a", 1..=65535).unwrap(), Some(623));
        assert_eq!(i.integer("b", 1..=65535).unwrap(), Some(623));
        assert_eq!(i.integer("c", 0..=255).unwrap(), Some(0x20));
        assert!(i.integer("d", 0..=255).unwrap_err().to_string().contains("d is invalid"));
        assert!(i.integer("e", 1..=65535).is_err());
        assert!(i.integer("f", 1..=65535).is_err());
        assert_eq!(i.integer("missing", 0..=1).unwrap(), None);
    }

    #[test]
    fn required_strings_name_the_key() {
        let i = info(json!({"empty": " ", "n": null}));
        assert!(matches!(i.required("absent"), Err(PowerError::MissingKey { key: "absent" })));
        assert!(matches!(i.required("n"), Err(PowerError::MissingKey { key: "n" })));
        assert!(i.required("empty").unwrap_err().to_string().contains("empty"));
    }

    #[test]
    fn debug_redacts_secrets() {
        let i = info(
            json!({"ipmi_password": "hunter2", "redfish_password": "s3cret", "ipmi_address": "10.0.0.1"}),
        );
        let shown = format!("{i:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("10.0.0.1"));
    }

    #[test]
    fn bool_or_path() {
        let i = info(json!({"a": true, "b": "False", "c": "/etc/ca.pem", "d": 3}));
        assert_eq!(i.bool_or_string("a").unwrap(), Some(Ok(true)));
        assert_eq!(i.bool_or_string("b").unwrap(), Some(Ok(false)));
        assert_eq!(i.bool_or_string("c").unwrap(), Some(Err("/etc/ca.pem".into())));
        assert!(i.bool_or_string("d").is_err());
    }
}
