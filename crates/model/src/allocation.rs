//! The allocation: a request for "a node with resource class X and traits Y",
//! fulfilled by the conductor picking and reserving one (1.52).
//!
//! It lets standalone users (metal3, Bifrost) schedule without Nova. [`Allocation`]
//! serializes to Ironic's keys in Ironic's order, minus `links` (which Ironic puts
//! between `traits` and `node_uuid`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::json::{Object, null_as_default, opt_timestamp, timestamp};

string_enum! {
    /// Where an allocation is in its short life (`ironic/common/states.py`).
    pub enum AllocationState, "allocation state" {
        /// Waiting for the conductor to pick a node.
        Allocating => "allocating",
        /// A node is reserved for it.
        Active => "active",
        /// No node matched; see `last_error`.
        Error => "error",
    }
}

/// An allocation, as Ironic's API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    /// Identity; never changes.
    pub uuid: Uuid,
    /// When it was requested.
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "opt_timestamp", default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// The nodes (UUIDs) it may choose from; empty for any.
    #[serde(default, deserialize_with = "null_as_default")]
    pub candidate_nodes: Vec<String>,
    /// Operator metadata.
    #[serde(default, deserialize_with = "null_as_default")]
    pub extra: Object,
    /// Why it failed, in state `error`.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Optional unique name; from 1.79 a node of the same name is preferred.
    #[serde(default)]
    pub name: Option<String>,
    /// The owning project (1.60).
    #[serde(default)]
    pub owner: Option<String>,
    /// The resource class the node must have.
    #[serde(default)]
    pub resource_class: Option<String>,
    /// Where it is in its life.
    pub state: AllocationState,
    /// Traits the node must have.
    #[serde(default, deserialize_with = "null_as_default")]
    pub traits: Vec<String>,
    /// The node it reserved, once `active`.
    #[serde(default)]
    pub node_uuid: Option<Uuid>,
}

impl Allocation {
    /// A fresh request in state `allocating`.
    pub fn new(uuid: Uuid, created_at: DateTime<Utc>, resource_class: Option<String>) -> Self {
        Self {
            uuid,
            created_at,
            updated_at: None,
            candidate_nodes: Vec::new(),
            extra: Object::new(),
            last_error: None,
            name: None,
            owner: None,
            resource_class,
            state: AllocationState::Allocating,
            traits: Vec::new(),
            node_uuid: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microversion::{Resource, known};
    use crate::testing::{data_keys, keys_of, parse};

    /// Upstream `allocation-show-response.json`, `links` removed.
    const SAMPLE: &str = r#"{"candidate_nodes": [], "created_at": "2019-02-20T09:43:58+00:00", "extra": {},
        "last_error": null, "name": "allocation-1", "node_uuid": "6d85703a-565d-469a-96ce-30b6de53079d",
        "owner": null, "resource_class": "bm-large", "state": "active", "traits": [],
        "updated_at": "2019-02-20T09:43:58+00:00", "uuid": "5344a3e2-978a-444e-990a-cbf47c62ef88"}"#;

    #[test]
    fn sample_parses_and_renders_in_table_order() {
        let allocation: Allocation = parse(SAMPLE);
        assert_eq!(allocation.state, AllocationState::Active);
        assert_eq!(keys_of(&allocation), data_keys(Resource::Allocation, known::MAX));
        let json = serde_json::to_value(&allocation).unwrap_or_default();
        assert_eq!(json["created_at"], "2019-02-20T09:43:58+00:00");
        assert_eq!(json["state"], "active");
    }

    #[test]
    fn states_round_trip() {
        for state in AllocationState::ALL {
            assert_eq!(state.as_str().parse::<AllocationState>(), Ok(*state));
        }
        assert!("deleted".parse::<AllocationState>().is_err());
        let fresh = Allocation::new(Uuid::nil(), DateTime::<Utc>::UNIX_EPOCH, Some("bm".into()));
        assert_eq!(fresh.state, AllocationState::Allocating);
    }
}
