//! The allocation process, done where Ironic's conductor does it
//! (`ironic/conductor/allocations.py`) but in the gateway: it only reads and
//! writes records, never hardware, so it needs the node's CAS and free lock
//! like any other record change.
//!
//! A node is reserved by writing its `allocation_uuid` and `instance_uuid`
//! (the allocation's UUID) with compare-and-swap; the store's unique
//! `instance_uuid` key makes two allocations of one node impossible.

use chrono::Utc;
use ferric_model::validate::python_list;
use ferric_model::{Allocation, Node, ProvisionState};
use ferric_store::StoreError;
use uuid::Uuid;

use crate::nodes::lookup;
use crate::{ApiError, AppState};

/// Ironic's `AllocationFailed` text.
pub fn failed(allocation: &Allocation, error: &str) -> String {
    format!("Failed to process allocation {}: {error}.", allocation.uuid)
}

fn traits_match(node: &Node, wanted: &[String]) -> bool {
    wanted.iter().all(|t| node.traits.contains(t))
}

/// Ironic's `_candidate_nodes`: the nodes that may serve `allocation`, the one
/// named like the allocation first, the rest in a random order so parallel
/// allocations do not race for the same node.
async fn candidates(
    state: &AppState,
    allocation: &Allocation,
) -> Result<Result<Vec<Uuid>, String>, ApiError> {
    // Read from the store rather than the node view: other processes' writes
    // (a conductor finishing `provide`) must count at once.
    let nodes = crate::collection::all::<ferric_catalog::NodeRecord>(state.store()).await?;
    let mut found: Vec<&Node> = nodes
        .iter()
        .map(|stored| &stored.record.0)
        .filter(|node| {
            node.resource_class == allocation.resource_class
                && node.provision_state == ProvisionState::Available
                && node.instance_uuid.is_none()
                && node.power_state.is_some()
                && !node.maintenance
                && (allocation.candidate_nodes.is_empty()
                    || allocation.candidate_nodes.contains(&node.uuid.to_string()))
                && allocation.owner.as_ref().is_none_or(|owner| {
                    node.owner.as_ref() == Some(owner) || node.lessee.as_ref() == Some(owner)
                })
        })
        .collect();
    let class = allocation.resource_class.as_deref().unwrap_or("None");
    if found.is_empty() {
        let error = if allocation.candidate_nodes.is_empty() {
            format!("no available nodes match the resource class {class}")
        } else {
            format!("none of the requested nodes are available and match the resource class {class}")
        };
        return Ok(Err(error));
    }
    if !allocation.traits.is_empty() {
        found.retain(|node| traits_match(node, &allocation.traits));
        if found.is_empty() {
            return Ok(Err(format!(
                "no suitable nodes have the requested traits {}",
                allocation.traits.join(", ")
            )));
        }
    }
    let offset = usize::try_from(Uuid::new_v4().as_u128() % found.len() as u128).unwrap_or(0);
    found.rotate_left(offset);
    if let Some(name) = &allocation.name
        && let Some(i) = found.iter().position(|node| node.name.as_ref() == Some(name))
    {
        let preferred = found.remove(i);
        found.insert(0, preferred);
    }
    Ok(Ok(found.into_iter().map(|node| node.uuid).collect()))
}

/// Ironic's `_verify_node`: the node still fits, read again before reserving.
fn still_fits(node: &Node, allocation: &Allocation) -> bool {
    !node.maintenance
        && node.instance_uuid.is_none()
        && node.provision_state == ProvisionState::Available
        && node.resource_class == allocation.resource_class
        && traits_match(node, &allocation.traits)
}

/// Whether a conductor holds `node` now.
async fn locked(state: &AppState, node: Uuid) -> Result<bool, ApiError> {
    let locks = ferric_store::lock::Locks::new(state.store().clone());
    Ok(locks.reservation(&ferric_catalog::node_lock(&node.to_string())).await?.is_some())
}

/// Writes the reservation on `node`; `Ok(false)` when another writer got
/// there first (Ironic's `NodeAssociated`).
async fn reserve(state: &AppState, stored: lookup::StoredNode, allocation: Uuid) -> Result<bool, ApiError> {
    let mut record = stored.record;
    record.allocation_uuid = Some(allocation);
    record.instance_uuid = Some(allocation);
    record.updated_at = Some(Utc::now());
    match lookup::nodes(state).update(&record, stored.mod_revision).await {
        Ok(written) => {
            state.wrote(written.mod_revision);
            Ok(true)
        }
        Err(StoreError::Conflict(_) | StoreError::UniqueViolation { .. }) => Ok(false),
        Err(other) => Err(other.into()),
    }
}

/// Ironic's `do_allocate`: the node reserved, or why none could be.
pub async fn allocate(state: &AppState, allocation: &Allocation) -> Result<Result<Uuid, String>, ApiError> {
    let nodes = match candidates(state, allocation).await? {
        Ok(nodes) => nodes,
        Err(error) => return Ok(Err(error)),
    };
    let mut busy = 0;
    for uuid in nodes {
        let Some(stored) = lookup::nodes(state).get(&uuid.to_string()).await? else { continue };
        if !still_fits(&stored.record, allocation) {
            continue;
        }
        if locked(state, uuid).await? {
            busy += 1;
            continue;
        }
        if reserve(state, stored, allocation.uuid).await? {
            tracing::info!(node = %uuid, allocation = %allocation.uuid, "node reserved for allocation");
            return Ok(Ok(uuid));
        }
    }
    Ok(Err(if busy > 0 {
        format!("could not reserve any of {busy} suitable nodes")
    } else {
        "all nodes were filtered out during reservation".to_owned()
    }))
}

/// Ironic's `backfill_allocation` (1.58): records an allocation for a node
/// already deployed, if it matches the request.
pub async fn backfill(
    state: &AppState,
    allocation: &Allocation,
    stored: lookup::StoredNode,
) -> Result<Result<Uuid, String>, ApiError> {
    let node = &stored.record;
    crate::nodes::crud::ensure_unlocked(state, node).await?;
    let mut errors = Vec::new();
    if node.provision_state != ProvisionState::Active {
        errors.push(format!(
            "Node must be in the \"active\" state, but the current state is \"{}\"",
            node.provision_state
        ));
    }
    if allocation.resource_class.is_some() && node.resource_class != allocation.resource_class {
        errors.push(format!(
            "Resource class {} does not match the requested resource class {}",
            node.resource_class.as_deref().unwrap_or("None"),
            allocation.resource_class.as_deref().unwrap_or("None")
        ));
    }
    if !traits_match(node, &allocation.traits) {
        errors.push(format!(
            "List of traits {} does not match the requested traits {}",
            python_list(&node.traits),
            python_list(&allocation.traits)
        ));
    }
    if !allocation.candidate_nodes.is_empty() && !allocation.candidate_nodes.contains(&node.uuid.to_string())
    {
        errors.push(format!(
            "Candidate nodes must be empty or contain the target node, but got {}",
            python_list(&allocation.candidate_nodes)
        ));
    }
    if !errors.is_empty() {
        return Ok(Err(format!(
            "Cannot backfill an allocation for node {}: {}",
            node.uuid,
            errors.join("; ")
        )));
    }
    if let Some(instance) = node.instance_uuid.filter(|i| *i != allocation.uuid) {
        return Err(ApiError::conflict(format!(
            "Node {} is associated with instance {instance}.",
            node.uuid
        )));
    }
    let uuid = node.uuid;
    if reserve(state, stored, allocation.uuid).await? {
        Ok(Ok(uuid))
    } else {
        Err(ApiError::conflict(format!("Node {uuid} was modified by another request, please retry.")))
    }
}

/// Ironic's `verify_node_for_deallocation`, then the node's allocation fields
/// cleared, as Ironic's database does when an allocation is destroyed.
pub async fn release(state: &AppState, allocation: &Allocation) -> Result<(), ApiError> {
    let Some(node_uuid) = allocation.node_uuid else { return Ok(()) };
    let Some(stored) = lookup::nodes(state).get(&node_uuid.to_string()).await? else { return Ok(()) };
    let node = &stored.record;
    crate::nodes::crud::ensure_unlocked(state, node).await?;
    if !node.maintenance {
        if node.target_provision_state.is_some()
            && !ProvisionState::UPDATE_ALLOWED.contains(&node.provision_state)
        {
            return Err(ApiError::conflict(format!(
                "Cannot remove allocation {} for node {}, because the node is in state {} where updates are not allowed (and maintenance mode is off)",
                allocation.uuid, node.uuid, node.provision_state
            )));
        }
        if node.provision_state == ProvisionState::Active {
            return Err(ApiError::conflict(format!(
                "Cannot remove allocation {} for node {}, because the node is active (and maintenance mode is off)",
                allocation.uuid, node.uuid
            )));
        }
    }
    if node.allocation_uuid != Some(allocation.uuid) {
        return Ok(());
    }
    let mut record = stored.record;
    record.allocation_uuid = None;
    if record.instance_uuid == Some(allocation.uuid) {
        record.instance_uuid = None;
    }
    record.updated_at = Some(Utc::now());
    let written =
        lookup::nodes(state).update(&record, stored.mod_revision).await.map_err(|error| match error {
            StoreError::Conflict(_) => {
                ApiError::conflict(format!("Node {node_uuid} was modified by another request, please retry."))
            }
            other => other.into(),
        })?;
    state.wrote(written.mod_revision);
    Ok(())
}
