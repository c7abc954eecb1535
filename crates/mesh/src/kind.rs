//! The kinds of Ferric service, and the store keys their instances live under.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Root of every service registration in the store.
pub const SERVICES_PREFIX: &str = "/ferric/services/";

/// One kind of Ferric service. Instances of a kind are interchangeable, which is
/// what lets a caller balance over them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    /// The Ironic-compatible REST API.
    Gateway,
    /// The conductor: node state transitions.
    Deploy,
    /// BMC access.
    Power,
    /// DHCP, TFTP and iPXE for netbooting nodes.
    Bootnet,
    /// Image download, conversion and HTTP serving.
    ImageCache,
}

impl ServiceKind {
    /// Every kind, for tools that list the whole mesh.
    pub const ALL: [ServiceKind; 5] = [
        ServiceKind::Gateway,
        ServiceKind::Deploy,
        ServiceKind::Power,
        ServiceKind::Bootnet,
        ServiceKind::ImageCache,
    ];

    /// The stable name used in store keys, config sections and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Gateway => "gateway",
            ServiceKind::Deploy => "deploy",
            ServiceKind::Power => "power",
            ServiceKind::Bootnet => "bootnet",
            ServiceKind::ImageCache => "imagecache",
        }
    }

    /// The store prefix all instances of this kind register under (with the
    /// trailing slash, so `power` never matches `powerful`).
    pub fn prefix(self) -> String {
        format!("{SERVICES_PREFIX}{}/", self.as_str())
    }

    /// The store key of one instance.
    pub fn instance_key(self, instance_id: &str) -> String {
        format!("{}{instance_id}", self.prefix())
    }
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of [`ServiceKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown service kind {0:?} (expected gateway, deploy, power, bootnet or imagecache)")]
pub struct UnknownServiceKind(pub String);

impl FromStr for ServiceKind {
    type Err = UnknownServiceKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServiceKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| UnknownServiceKind(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in ServiceKind::ALL {
            assert_eq!(kind.as_str().parse::<ServiceKind>(), Ok(kind));
            assert_eq!(serde_json::to_string(&kind).ok(), Some(format!("\"{kind}\"")));
        }
        assert!("powerful".parse::<ServiceKind>().is_err());
    }

    #[test]
    fn keys_nest_under_the_kind_prefix() {
        assert_eq!(ServiceKind::Power.instance_key("p1"), "/ferric/services/power/p1");
        assert!(ServiceKind::Power.instance_key("p1").starts_with(&ServiceKind::Power.prefix()));
    }
}
