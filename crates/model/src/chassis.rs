//! The chassis: an operator grouping of nodes (a rack, an enclosure).
//!
//! Ironic keeps it minimal: a description and metadata. [`Chassis`] serializes to
//! Ironic's keys in Ironic's order, minus the `links` and `nodes` link keys.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::json::{Object, null_as_default, opt_timestamp, timestamp};

/// A chassis, as Ironic's API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chassis {
    /// Identity; never changes.
    pub uuid: Uuid,
    /// When the chassis was created.
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last change, `null` until the first one.
    #[serde(with = "opt_timestamp", default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Free text (at most 255 characters in Ironic).
    #[serde(default)]
    pub description: Option<String>,
    /// Operator metadata.
    #[serde(default, deserialize_with = "null_as_default")]
    pub extra: Object,
}

impl Chassis {
    /// A new, empty chassis.
    pub fn new(uuid: Uuid, created_at: DateTime<Utc>) -> Self {
        Self { uuid, created_at, updated_at: None, description: None, extra: Object::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microversion::{Resource, known};
    use crate::testing::{data_keys, keys_of, parse};

    #[test]
    fn sample_parses_and_renders_in_table_order() {
        let chassis: Chassis = parse(
            r#"{"created_at": "2016-08-18T22:28:48.643434+11:11", "description": "Sample chassis",
                "extra": {}, "updated_at": null, "uuid": "dff29d23-1ded-43b4-8ae1-5eebb3e30de1"}"#,
        );
        assert_eq!(chassis.description.as_deref(), Some("Sample chassis"));
        assert_eq!(keys_of(&chassis), data_keys(Resource::Chassis, known::MAX));
        assert_eq!(keys_of(&Chassis::new(Uuid::nil(), DateTime::<Utc>::UNIX_EPOCH)).len(), 5);
    }
}
