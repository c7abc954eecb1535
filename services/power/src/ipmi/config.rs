//! Ironic's ipmi driver_info keys, parsed and checked without I/O.
//!
//! Keys and defaults follow Ironic's `ipmitool` module: `ipmi_address` (required),
//! `ipmi_port` (623), `ipmi_username`/`ipmi_password` (may be empty),
//! `ipmi_cipher_suite` (unset: try 17, then 3), `ipmi_priv_level` (ADMINISTRATOR),
//! `ipmi_protocol_version` (2.0) and the bridging keys. Unknown keys are ignored:
//! driver_info also carries other interfaces' keys (deploy_kernel, ...).

use crate::error::PowerError;
use crate::info::DriverInfo;

use super::crypto::CipherSuite;
use super::messages::Privilege;
use super::session::Credentials;

/// IPMB bridging to a controller behind the BMC (Ironic's `ipmi_bridging`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bridging {
    /// Talk to the BMC itself.
    None,
    /// One hop: `ipmi_target_channel`/`ipmi_target_address`.
    Single {
        /// Target channel.
        target_channel: u8,
        /// Target IPMB address.
        target_address: u8,
        /// Our IPMB address, when set.
        local_address: Option<u8>,
    },
    /// Two hops, through a transit controller.
    Dual {
        /// Transit channel.
        transit_channel: u8,
        /// Transit IPMB address.
        transit_address: u8,
        /// Target channel.
        target_channel: u8,
        /// Target IPMB address.
        target_address: u8,
        /// Our IPMB address, when set.
        local_address: Option<u8>,
    },
}

/// A checked IPMI target.
#[derive(Debug, Clone)]
pub struct IpmiConfig {
    /// Host name or IP of the BMC.
    pub address: String,
    /// UDP port.
    pub port: u16,
    /// Username, password and privilege.
    pub credentials: Credentials,
    /// Suites to try in order.
    pub suites: Vec<CipherSuite>,
    /// Bridging, validated; only `None` is driven (see the crate README).
    pub bridging: Bridging,
}

fn byte(info: &DriverInfo, key: &'static str) -> Result<u8, PowerError> {
    info.integer(key, 0..=255)?.map(|v| v as u8).ok_or(PowerError::MissingKey { key })
}

impl IpmiConfig {
    /// Parses driver_info.
    pub fn parse(info: &DriverInfo) -> Result<Self, PowerError> {
        let address = info.required("ipmi_address")?.trim().to_owned();
        if address.contains(char::is_whitespace) || address.contains('/') {
            return Err(PowerError::invalid("ipmi_address", "not a host name or IP address"));
        }
        let port = info.integer("ipmi_port", 1..=65535)?.unwrap_or(623) as u16;
        let username = info.string("ipmi_username")?.unwrap_or_default();
        if username.len() > 16 {
            return Err(PowerError::invalid("ipmi_username", "IPMI usernames are at most 16 bytes"));
        }
        let password = info.string("ipmi_password")?.unwrap_or_default();
        if password.len() > 20 {
            return Err(PowerError::invalid("ipmi_password", "IPMI 2.0 passwords are at most 20 bytes"));
        }
        let privilege = match info.string("ipmi_priv_level")? {
            None => Privilege::Administrator,
            Some(name) => Privilege::from_name(&name).ok_or_else(|| {
                PowerError::invalid(
                    "ipmi_priv_level",
                    "must be one of ADMINISTRATOR, CALLBACK, OPERATOR, USER",
                )
            })?,
        };
        let suites = match info.integer("ipmi_cipher_suite", 0..=255)? {
            None => vec![CipherSuite::Seventeen, CipherSuite::Three],
            Some(id) => vec![CipherSuite::from_id(id).ok_or_else(|| {
                PowerError::invalid(
                    "ipmi_cipher_suite",
                    format!("suite {id} is not supported (supported: 3, 17)"),
                )
            })?],
        };
        match info.string("ipmi_protocol_version")?.as_deref().map(str::trim) {
            None | Some("2.0") | Some("2") => {}
            Some("1.5") => {
                return Err(PowerError::invalid(
                    "ipmi_protocol_version",
                    "IPMI 1.5 (no encryption, MD5 at best) is not supported; use 2.0",
                ));
            }
            Some(_) => return Err(PowerError::invalid("ipmi_protocol_version", "must be 1.5 or 2.0")),
        }
        let local_address = info.integer("ipmi_local_address", 0..=255)?.map(|v| v as u8);
        let bridging = match info.string("ipmi_bridging")?.as_deref().map(str::trim) {
            None | Some("no") | Some("none") => Bridging::None,
            Some("single") => Bridging::Single {
                target_channel: byte(info, "ipmi_target_channel")?,
                target_address: byte(info, "ipmi_target_address")?,
                local_address,
            },
            Some("dual") => Bridging::Dual {
                transit_channel: byte(info, "ipmi_transit_channel")?,
                transit_address: byte(info, "ipmi_transit_address")?,
                target_channel: byte(info, "ipmi_target_channel")?,
                target_address: byte(info, "ipmi_target_address")?,
                local_address,
            },
            Some(_) => return Err(PowerError::invalid("ipmi_bridging", "must be one of no, single, dual")),
        };
        Ok(Self {
            address,
            port,
            credentials: Credentials { username, password, privilege },
            suites,
            bridging,
        })
    }

    /// host:port, for messages and keys.
    pub fn endpoint(&self) -> String {
        if self.address.contains(':') {
            format!("[{}]:{}", self.address, self.port)
        } else {
            format!("{}:{}", self.address, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(v: serde_json::Value) -> Result<IpmiConfig, PowerError> {
        IpmiConfig::parse(&DriverInfo::from_json(v))
    }

    fn key_of(e: PowerError) -> &'static str {
        match e {
            PowerError::MissingKey { key } | PowerError::InvalidKey { key, .. } => key,
            other => panic!("not a key error: {other}"),
        }
    }

    #[test]
    fn defaults_as_ironic() {
        let c = parse(json!({"ipmi_address": "10.0.0.5"})).unwrap();
        assert_eq!(
            (c.port, c.credentials.privilege, c.bridging.clone()),
            (623, Privilege::Administrator, Bridging::None)
        );
        assert_eq!(c.suites, vec![CipherSuite::Seventeen, CipherSuite::Three]);
        assert_eq!(c.endpoint(), "10.0.0.5:623");
        let c = parse(json!({"ipmi_address": "::1", "ipmi_port": "9001", "ipmi_cipher_suite": 3, "ipmi_priv_level": "OPERATOR"})).unwrap();
        assert_eq!(
            (c.endpoint(), c.suites, c.credentials.privilege),
            ("[::1]:9001".into(), vec![CipherSuite::Three], Privilege::Operator)
        );
    }

    #[test]
    fn each_bad_key_is_named() {
        let cases = [
            (json!({}), "ipmi_address"),
            (json!({"ipmi_address": "a", "ipmi_port": 0}), "ipmi_port"),
            (json!({"ipmi_address": "a", "ipmi_port": "x"}), "ipmi_port"),
            (json!({"ipmi_address": "a", "ipmi_cipher_suite": 1}), "ipmi_cipher_suite"),
            (json!({"ipmi_address": "a", "ipmi_priv_level": "ROOT"}), "ipmi_priv_level"),
            (json!({"ipmi_address": "a", "ipmi_protocol_version": "1.5"}), "ipmi_protocol_version"),
            (json!({"ipmi_address": "a", "ipmi_protocol_version": "3"}), "ipmi_protocol_version"),
            (json!({"ipmi_address": "a", "ipmi_password": "x".repeat(21)}), "ipmi_password"),
            (json!({"ipmi_address": "a", "ipmi_bridging": "triple"}), "ipmi_bridging"),
            (
                json!({"ipmi_address": "a", "ipmi_bridging": "single", "ipmi_target_channel": 0}),
                "ipmi_target_address",
            ),
            (
                json!({"ipmi_address": "a", "ipmi_bridging": "single", "ipmi_target_channel": 0, "ipmi_target_address": 300}),
                "ipmi_target_address",
            ),
            (
                json!({"ipmi_address": "a", "ipmi_bridging": "dual", "ipmi_target_channel": 0, "ipmi_target_address": "0x72"}),
                "ipmi_transit_channel",
            ),
            (json!({"ipmi_address": "a", "ipmi_local_address": "zz"}), "ipmi_local_address"),
        ];
        for (info, key) in cases {
            assert_eq!(key_of(parse(info.clone()).unwrap_err()), key, "{info}");
        }
    }

    #[test]
    fn bridging_is_accepted() {
        let c = parse(json!({
            "ipmi_address": "a", "ipmi_bridging": "dual", "ipmi_transit_channel": "0", "ipmi_transit_address": "0x82",
            "ipmi_target_channel": 7, "ipmi_target_address": "0x72", "ipmi_local_address": "0x20"
        }))
        .unwrap();
        assert_eq!(
            c.bridging,
            Bridging::Dual {
                transit_channel: 0,
                transit_address: 0x82,
                target_channel: 7,
                target_address: 0x72,
                local_address: Some(0x20)
            }
        );
    }

    #[test]
    fn debug_hides_the_password() {
        let c = parse(json!({"ipmi_address": "a", "ipmi_password": "hunter2"})).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
