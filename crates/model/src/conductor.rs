//! The conductor: a live deploy-service instance, as `/v1/conductors` lists it
//! (1.49).
//!
//! In Ferric a conductor is a deploy instance registered in the store under a
//! lease; `alive` is whether that lease still stands. It has no UUID: Ironic
//! addresses conductors by hostname.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::json::{null_as_default, opt_timestamp, timestamp};

/// A conductor, as Ironic's API shows it (transcript `11-conductor-detail`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conductor {
    /// When the conductor first registered.
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// Its last heartbeat.
    #[serde(with = "opt_timestamp", default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Its name, unique among conductors; what `reservation` and a node's
    /// `conductor` show.
    pub hostname: String,
    /// The conductor group it serves, `""` for the default.
    #[serde(default, deserialize_with = "null_as_default")]
    pub conductor_group: String,
    /// The hardware types it can drive.
    #[serde(default, deserialize_with = "null_as_default")]
    pub drivers: Vec<String>,
    /// Whether it is heartbeating.
    pub alive: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microversion::{Resource, known};
    use crate::testing::{data_keys, keys_of, parse};

    /// Transcript `11-conductor-detail`, `links` removed.
    const DETAIL: &str = r#"{"created_at": "2026-11-24T22:55:03.733657+00:00", "updated_at": "2026-11-24T22:55:03.732796+00:00", "hostname": "anchor-ironic", "conductor_group": "", "drivers": ["fake-hardware", "ipmi", "manual-management", "redfish"], "alive": true}"#;

    #[test]
    fn round_trips_the_transcript() {
        let conductor: Conductor = parse(DETAIL);
        assert_eq!(
            serde_json::to_string(&conductor).unwrap_or_default().replace(',', ", ").replace("\":", "\": "),
            DETAIL
        );
        assert_eq!(keys_of(&conductor), data_keys(Resource::Conductor, known::MAX));
    }
}
