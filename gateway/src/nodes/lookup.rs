//! Finding a node by UUID or name, and the fields Ironic derives at read time
//! rather than storing: `reservation` (the holder of the node's lock) and
//! `conductor` (the node's owner on the hash ring).

use std::collections::HashMap;

use ferric_catalog::{NodeRecord, node_lock};
use ferric_model::Version;
use ferric_model::validate::{Ident, parse_node_ident};
use ferric_store::records::{Collection, Versioned};
use ferric_store::{RangeRequest, lock::LOCK_PREFIX};

use crate::{ApiError, AppState};

/// A node as read, with its CAS token.
pub type StoredNode = Versioned<NodeRecord>;

/// The node collection of the store.
pub fn nodes(state: &AppState) -> Collection<NodeRecord> {
    Collection::new(state.store().clone())
}

/// Ironic's 404 for a node.
pub fn not_found(ident: &str) -> ApiError {
    ApiError::not_found_message(format!("Node {ident} could not be found."))
}

/// Finds a node by UUID or (from 1.5) name, with Ironic's errors.
pub async fn find(state: &AppState, ident: &str, version: Version) -> Result<StoredNode, ApiError> {
    let parsed = parse_node_ident(ident, version).map_err(|error| match error.http_status() {
        404 => not_found(ident),
        _ => ApiError::bad_request(error.to_string()),
    })?;
    let found = match parsed {
        Ident::Uuid(uuid) => nodes(state).get(&uuid.to_string()).await?,
        Ident::Name(name) => nodes(state).get_by("name", &name).await?,
    };
    found.ok_or_else(|| not_found(ident))
}

/// Fills the read-time fields of one node.
pub async fn decorate(state: &AppState, node: &mut NodeRecord) -> Result<(), ApiError> {
    let locks = ferric_store::lock::Locks::new(state.store().clone());
    node.reservation = locks.reservation(&node_lock(&node.uuid.to_string())).await?;
    node.conductor = state.conductor_of(node).await;
    Ok(())
}

/// Every node's reservation, read in one range instead of one read per node.
pub async fn reservations(state: &AppState) -> Result<HashMap<String, String>, ApiError> {
    let page = state.store().range(RangeRequest::prefix(LOCK_PREFIX)).await?;
    Ok(page.kvs.iter().filter_map(super::view::decode_reservation).collect())
}
