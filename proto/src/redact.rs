//! `Debug` for messages that carry secrets, with the secrets left out.
//!
//! Requests are logged at debug level and end up in error chains; a derived `Debug`
//! would print BMC passwords, agent tokens and rescue passwords. `build.rs` skips the
//! derive for exactly these messages (its `REDACTED` list) and they are printed here
//! with the secret-bearing fields reduced to their shape.

use std::fmt;

use prost_types::Struct;

use crate::v1::change_provision_state_request::Configdrive;
use crate::v1::{BmcTarget, ChangeProvisionStateRequest, HeartbeatRequest, LookupResponse};

/// Prints a `Struct` as its keys only: values may be credentials.
struct Keys<'a>(&'a Option<Struct>);

impl fmt::Debug for Keys<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("None"),
            Some(s) => f.debug_set().entries(s.fields.keys()).finish(),
        }
    }
}

/// Prints whether a secret string is set, never its value.
struct Secret<'a>(&'a str);

impl fmt::Debug for Secret<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "<redacted>" })
    }
}

impl fmt::Debug for BmcTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BmcTarget")
            .field("driver", &self.driver)
            .field("driver_info", &Keys(&self.driver_info))
            .finish()
    }
}

impl fmt::Debug for ChangeProvisionStateRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let configdrive = match &self.configdrive {
            None => "None",
            Some(Configdrive::ConfigdriveBlob(_)) => "Blob(<redacted>)",
            Some(Configdrive::ConfigdriveContents(_)) => "Contents(<redacted>)",
        };
        f.debug_struct("ChangeProvisionStateRequest")
            .field("node", &self.node)
            .field("verb", &self.verb())
            .field("clean_steps", &self.clean_steps)
            .field("deploy_steps", &self.deploy_steps)
            .field("service_steps", &self.service_steps)
            .field("configdrive", &format_args!("{configdrive}"))
            .field("rescue_password", &Secret(&self.rescue_password))
            .field("disable_ramdisk", &self.disable_ramdisk)
            .field("requested_by", &self.requested_by)
            .finish()
    }
}

impl fmt::Debug for HeartbeatRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeartbeatRequest")
            .field("node", &self.node)
            .field("callback_url", &self.callback_url)
            .field("agent_version", &self.agent_version)
            .field("agent_token", &Secret(&self.agent_token))
            .field("agent_status", &self.agent_status)
            .field("agent_status_message", &self.agent_status_message)
            .field("agent_verify_ca", &self.agent_verify_ca)
            .finish()
    }
}

impl fmt::Debug for LookupResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LookupResponse")
            .field("node", &self.node)
            .field("node_fields", &Keys(&self.node_fields))
            .field("config", &Keys(&self.config))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use crate::json::struct_from_json;
    use crate::v1::change_provision_state_request::Configdrive;
    use crate::v1::{
        BmcTarget, ChangeProvisionStateRequest, HeartbeatRequest, LookupResponse, SetPowerStateRequest,
    };

    fn bmc() -> BmcTarget {
        let info =
            struct_from_json(serde_json::json!({"ipmi_address": "10.0.0.1", "ipmi_password": "hunter2"}));
        BmcTarget { driver: "ipmi".into(), driver_info: info.ok() }
    }

    #[test]
    fn driver_info_shows_keys_only() {
        let out = format!("{:?}", bmc());
        assert!(out.contains("ipmi_password") && out.contains("ipmi_address"), "{out}");
        assert!(!out.contains("hunter2") && !out.contains("10.0.0.1"), "{out}");
    }

    #[test]
    fn requests_embedding_a_bmc_are_redacted_too() {
        // Every PowerService request carries a BmcTarget; their derived Debug
        // delegates to the redacting one.
        let req = SetPowerStateRequest { bmc: Some(bmc()), ..Default::default() };
        let out = format!("{req:?}");
        assert!(out.contains("ipmi_password") && !out.contains("hunter2"), "{out}");
    }

    #[test]
    fn agent_tokens_and_passwords_are_hidden() {
        let req = ChangeProvisionStateRequest {
            rescue_password: "hunter2".into(),
            configdrive: Some(Configdrive::ConfigdriveBlob("hunter2".into())),
            requested_by: "admin".into(),
            ..Default::default()
        };
        let out = format!("{req:?}");
        assert!(!out.contains("hunter2") && out.contains("admin") && out.contains("<redacted>"), "{out}");
        let empty = format!("{:?}", ChangeProvisionStateRequest::default());
        assert!(!empty.contains("<redacted>"), "unset secrets print as empty: {empty}");

        let hb = HeartbeatRequest {
            agent_token: "hunter2".into(),
            agent_version: "9.1".into(),
            ..Default::default()
        };
        let out = format!("{hb:?}");
        assert!(!out.contains("hunter2") && out.contains("9.1"), "{out}");

        let config = struct_from_json(serde_json::json!({"agent_token": "hunter2"})).ok();
        let lookup = LookupResponse { config, ..Default::default() };
        let out = format!("{lookup:?}");
        assert!(out.contains("agent_token") && !out.contains("hunter2"), "{out}");
    }
}
