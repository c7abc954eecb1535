//! What a conductor publishes about itself, and where.
//!
//! Two keys per conductor, both JSON:
//!
//! - `/ferric/conductors/<hostname>`, attached to the conductor's lease: its
//!   presence *is* membership. It vanishes when the lease is revoked (graceful
//!   leave) or lapses (crash), and every instance's ring follows the prefix.
//! - `/ferric/conductors-known/<hostname>`, without a lease: when the conductor
//!   first registered and when it last refreshed its lease. It outlives a crash, so
//!   `/v1/conductors` can show a dead conductor as `alive: false`, as Ironic does;
//!   a graceful leave deletes it (Ironic unregisters a conductor that stops).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Prefix of the leased membership keys; the hash ring is built from it.
pub const MEMBERS_PREFIX: &str = "/ferric/conductors/";

/// Prefix of the lease-less bookkeeping records that outlive a crash.
pub const KNOWN_PREFIX: &str = "/ferric/conductors-known/";

/// The membership key of `hostname`.
pub fn member_key(hostname: &str) -> String {
    format!("{MEMBERS_PREFIX}{hostname}")
}

/// The bookkeeping key of `hostname`.
pub fn known_key(hostname: &str) -> String {
    format!("{KNOWN_PREFIX}{hostname}")
}

/// What a deploy instance tells the others when it joins: everything the ring needs
/// (hostname, group, hardware types) and how to reach it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConductorInfo {
    /// Unique among live conductors; the ring's name for this conductor and what
    /// the API shows. Two live instances may not share one.
    pub hostname: String,
    /// Nodes whose `conductor_group` equals this may be owned here (`""` = default
    /// group), as in Ironic: groups are hard partitions of conductors.
    pub conductor_group: String,
    /// Hardware types this conductor can drive; it owns only nodes of these types.
    /// A conductor with none owns nothing.
    pub hardware_types: Vec<String>,
    /// The deploy service's gRPC address, for callers that want this conductor.
    pub address: String,
    /// Ferric version of the instance, for operators during rolling upgrades;
    /// filled with this crate's version when left empty.
    pub version: String,
}

/// The value stored under the leased membership key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MemberValue {
    #[serde(flatten)]
    pub info: ConductorInfo,
    /// When this registration (this lease) was made.
    pub registered_at: DateTime<Utc>,
}

/// The value stored under the bookkeeping key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KnownValue {
    #[serde(flatten)]
    pub info: ConductorInfo,
    /// When the conductor first registered under this hostname.
    pub created_at: DateTime<Utc>,
    /// When it last (re-)registered or refreshed its lease.
    pub updated_at: DateTime<Utc>,
}

/// One conductor as `/v1/conductors` shows it (Ironic's fields), plus its address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConductorRecord {
    /// The conductor's name.
    pub hostname: String,
    /// Its conductor group (`""` = default).
    pub conductor_group: String,
    /// Whether it is a live member now (its lease holds).
    pub alive: bool,
    /// The hardware types it drives (Ironic calls them `drivers`).
    pub drivers: Vec<String>,
    /// Its deploy service address.
    pub address: String,
    /// Its Ferric version.
    pub version: String,
    /// When it first registered.
    pub created_at: DateTime<Utc>,
    /// When it last refreshed its registration.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Decodes a stored JSON value; `None` (logged) for one this version cannot read,
/// so one bad record does not hide the others.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(key: &str, value: &[u8]) -> Option<T> {
    match serde_json::from_slice(value) {
        Ok(decoded) => Some(decoded),
        Err(err) => {
            tracing::warn!(key, error = %err, "ignoring unreadable conductor record");
            None
        }
    }
}

/// The hostname a key under `prefix` belongs to.
pub(crate) fn hostname_of<'k>(prefix: &str, key: &'k str) -> Option<&'k str> {
    key.strip_prefix(prefix).filter(|hostname| !hostname.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_do_not_overlap() {
        // A watch on the membership prefix must never see bookkeeping writes.
        assert!(!known_key("a").starts_with(MEMBERS_PREFIX));
        assert_eq!(hostname_of(MEMBERS_PREFIX, &member_key("c-1")), Some("c-1"));
        assert_eq!(hostname_of(MEMBERS_PREFIX, MEMBERS_PREFIX), None);
    }

    #[test]
    fn member_value_round_trips_flat() {
        let info = ConductorInfo {
            hostname: "c1".into(),
            conductor_group: "rack-a".into(),
            hardware_types: vec!["ipmi".into()],
            address: "http://10.0.0.1:6385".into(),
            version: "0.1.0".into(),
        };
        let value = MemberValue { info: info.clone(), registered_at: Utc::now() };
        let json = serde_json::to_value(&value).expect("encode");
        assert_eq!(json["hostname"], "c1", "fields are flat for operators reading etcd");
        let back: MemberValue = decode("k", &serde_json::to_vec(&value).expect("encode")).expect("decode");
        assert_eq!(back, value);
        assert!(decode::<MemberValue>("k", b"not json").is_none());
    }
}
