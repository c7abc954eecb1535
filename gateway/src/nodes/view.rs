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
use crate::render::{Place, Selection, Slot, render_with, to_map};

/// A node as stored, with its masked JSON ready to pick fields from.
#[derive(Debug)]
pub struct CachedNode {
    /// The record and its revisions.
    pub stored: Versioned<NodeRecord>,
    /// Every field, secrets masked, read-time fields not filled in.
    pub json: Map<String, Value>,
    /// The same fields already serialized, so a list copies text instead of
    /// cloning and re-serializing values.
    pub raw: HashMap<String, Box<str>>,
}

impl CachedNode {
    /// Caches a stored node: masks it and serializes each field once.
    pub fn new(stored: Versioned<NodeRecord>) -> Result<Self, ApiError> {
        let json = node_json(&stored.record)?;
        let raw = json.iter().map(|(key, value)| (key.clone(), value.to_string().into_boxed_str())).collect();
        Ok(Self { stored, json, raw })
    }
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
    let stored = Versioned { record, mod_revision: kv.mod_revision, create_revision: kv.create_revision };
    CachedNode::new(stored).ok()
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

/// Appends a node to a list body as JSON text, per `plan`, from its cached
/// serialized fields. `base` is the link base already JSON-escaped.
pub fn write_node(
    out: &mut String,
    ctx: &Ctx,
    plan: &[Slot],
    base: &str,
    cached: &CachedNode,
    reservation: Option<&str>,
    conductor: Option<&str>,
) {
    use std::fmt::Write as _;
    let uuid = cached.stored.record.uuid;
    out.push('{');
    let mut first = true;
    for slot in plan {
        let (name, is_link) = match slot {
            Slot::Field(name) => (name.as_str(), false),
            Slot::Link(name) => (name.as_str(), true),
        };
        let text: std::borrow::Cow<'_, str> = if is_link {
            let suffix = if name == "links" { String::new() } else { format!("/{name}") };
            format!(
                "[{{\"href\": \"{base}/v1/nodes/{uuid}{suffix}\", \"rel\": \"self\"}}, {{\"href\": \"{base}/nodes/{uuid}{suffix}\", \"rel\": \"bookmark\"}}]"
            )
            .into()
        } else {
            match name {
                "reservation" => Value::from(reservation).to_string().into(),
                "conductor" => Value::from(conductor).to_string().into(),
                "provision_state" | "target_provision_state"
                    if ctx.version < ferric_model::microversion::known::INSPECT_WAIT =>
                {
                    let state = cached
                        .json
                        .get(name)
                        .and_then(Value::as_str)
                        .and_then(|t| t.parse::<ProvisionState>().ok());
                    match state {
                        Some(state) => Value::from(state.api_value(ctx.version)).to_string().into(),
                        None => cached.raw.get(name).map_or("null".into(), |raw| raw.as_ref().into()),
                    }
                }
                _ => match cached.raw.get(name) {
                    Some(raw) => raw.as_ref().into(),
                    None => continue,
                },
            }
        };
        if !first {
            out.push_str(", ");
        }
        first = false;
        let _ = write!(out, "\"{name}\": {text}");
    }
    out.push('}');
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
