//! The gateway's in-memory copy of every node, for lists.
//!
//! Each node is decoded and masked once per change (by the store's
//! [`PrefixView`](ferric_store::view::PrefixView)), not once per request; a
//! list then only picks fields. What Ironic derives at read time — who holds
//! the node's lock, which conductor owns it — is added per request.
//!
//! Reads see this gateway's own writes: every node write records its revision
//! and a list first waits for the view to reach it. Writes by other processes
//! (the conductor, another gateway) appear as fast as the store's watch
//! delivers them, milliseconds on both backends.

use std::collections::HashMap;
use std::sync::Arc;

use ferric_catalog::NodeRecord;
use ferric_model::microversion::fields::Resource;
use ferric_model::{Node, ProvisionState, SecretPolicy};
use ferric_store::KeyValue;
use ferric_store::records::Versioned;
use serde_json::{Map, Value};

use crate::ApiError;
use crate::ctx::Ctx;
use crate::render::{Place, Selection, render_with, to_map};

/// A node as stored, with its masked JSON ready to pick fields from.
#[derive(Debug)]
pub struct CachedNode {
    /// The record and its revisions.
    pub stored: Versioned<NodeRecord>,
    /// Every field, secrets masked, read-time fields not filled in.
    pub json: Map<String, Value>,
}

/// The masked JSON of a node: what may leave the API.
pub fn node_json(node: &Node) -> Result<Map<String, Value>, ApiError> {
    to_map(&node.masked(SecretPolicy::MASK_ALL))
}

/// Decodes a stored node for the view.
pub fn decode(kv: &KeyValue) -> Option<CachedNode> {
    let record: NodeRecord = match serde_json::from_slice(&kv.value) {
        Ok(record) => record,
        Err(error) => {
            tracing::error!(key = %kv.key, %error, "node record cannot be decoded; left out of lists");
            return None;
        }
    };
    let json = node_json(&record).ok()?;
    let stored = Versioned { record, mod_revision: kv.mod_revision, create_revision: kv.create_revision };
    Some(CachedNode { stored, json })
}

/// Decodes an exclusive node lock for the reservations view: `(uuid, holder)`.
pub fn decode_reservation(kv: &KeyValue) -> Option<(String, String)> {
    // Lock names are escaped path segments: `nodes/<uuid>` is `nodes%2F<uuid>`.
    let rest = kv.key.strip_prefix(ferric_store::lock::LOCK_PREFIX)?.strip_prefix("nodes%2F")?;
    let uuid = rest.strip_suffix("/exclusive")?;
    Some((uuid.to_owned(), String::from_utf8(kv.value.clone()).ok()?))
}

/// Every reservation in a reservations view snapshot, by node UUID.
pub fn reservations(snapshot: &[Arc<(String, String)>]) -> HashMap<String, String> {
    snapshot.iter().map(|entry| (entry.0.clone(), entry.1.clone())).collect()
}

/// Renders a node from its masked JSON plus the read-time fields.
pub fn render_json(
    ctx: &Ctx,
    uuid: &uuid::Uuid,
    json: &Map<String, Value>,
    reservation: Option<&str>,
    conductor: Option<&str>,
    selection: &Selection,
) -> Value {
    let field = |name: &str| -> Option<Value> {
        match name {
            "reservation" => Some(reservation.map_or(Value::Null, Value::from)),
            "conductor" => Some(conductor.map_or(Value::Null, Value::from)),
            // Old clients see old state names (`available` was null before 1.2).
            "provision_state" | "target_provision_state" => {
                let value = json.get(name)?;
                match value.as_str().and_then(|text| text.parse::<ProvisionState>().ok()) {
                    Some(state) => Some(state.api_value(ctx.version).map_or(Value::Null, Value::from)),
                    None => Some(value.clone()),
                }
            }
            _ => json.get(name).cloned(),
        }
    };
    let path = format!("nodes/{uuid}");
    render_with(Resource::Node, field, ctx.version, selection, &ctx.base, Place { path: &path })
}
