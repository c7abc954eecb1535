//! Which nodes netboot, and into what: the registrations made through gRPC.
//!
//! Registrations are records in the store (kind `bootnet_nodes`, one per node,
//! each MAC a unique key), so every bootnet instance sees the same set and a MAC
//! can never belong to two nodes. Packet handlers look MACs up on every DHCP
//! request, so lookups go to an in-memory view of the records kept current by a
//! watch, with a MAC index rebuilt from it whenever the view moves; writes wait
//! for the view to catch up before returning, so a node registered over gRPC is
//! answered by the next packet.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use ferric_store::records::{Collection, Record, Versioned};
use ferric_store::view::{self, PrefixView};
use ferric_store::{DynStore, StoreError};
use serde::{Deserialize, Serialize};

use crate::error::BootnetError;

/// What a registered node boots into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BootTarget {
    /// The deploy ramdisk.
    Deploy,
    /// The rescue ramdisk.
    Rescue,
    /// The inspection ramdisk (also what discovered, unregistered MACs get).
    Inspect,
    /// The local disk: the iPXE script exits to the next boot device.
    Local,
}

impl BootTarget {
    /// Lowercase name, for scripts and logs.
    pub fn name(self) -> &'static str {
        match self {
            BootTarget::Deploy => "deploy",
            BootTarget::Rescue => "rescue",
            BootTarget::Inspect => "inspect",
            BootTarget::Local => "local",
        }
    }
}

/// Which firmware family a node is configured for; `Any` answers both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Firmware {
    /// BIOS or UEFI, whichever asks.
    Any,
    /// Legacy BIOS only.
    Bios,
    /// UEFI only.
    Uefi,
}

/// One node's netboot configuration, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootNode {
    /// Ironic node UUID (lowercase, hyphenated).
    pub uuid: String,
    /// Normalised MACs (lowercase, colon-separated).
    pub macs: Vec<String>,
    /// What it boots into.
    pub target: BootTarget,
    /// Kernel URL (unused for local boot).
    pub kernel_url: String,
    /// Ramdisk URL (unused for local boot).
    pub ramdisk_url: String,
    /// Kernel command line.
    pub kernel_args: String,
    /// BIOS, UEFI or either.
    pub firmware: Firmware,
}

impl Record for BootNode {
    const KIND: &'static str = "bootnet_nodes";

    fn id(&self) -> String {
        self.uuid.clone()
    }

    fn unique_keys(&self) -> Vec<(&'static str, String)> {
        self.macs.iter().map(|mac| ("mac", mac.clone())).collect()
    }
}

/// Normalises a MAC to lowercase colon-separated hex (`52:54:00:00:00:10`),
/// accepting `-` separators and upper case; `None` when it is not six octets.
pub fn normalize_mac(mac: &str) -> Option<String> {
    let parts: Vec<&str> = mac.trim().split([':', '-']).collect();
    if parts.len() != 6 || parts.iter().any(|p| p.len() != 2 || !p.chars().all(|c| c.is_ascii_hexdigit())) {
        return None;
    }
    Some(parts.join(":").to_ascii_lowercase())
}

/// How long a write waits for the in-memory views to show it.
const VIEW_CATCH_UP: Duration = Duration::from_secs(5);

/// MAC → node, as of one view revision.
type MacIndex = (i64, HashMap<String, Arc<Versioned<BootNode>>>);

/// The registrations: store-backed, read from memory.
#[derive(Clone)]
pub struct Registry {
    nodes: Collection<BootNode>,
    view: PrefixView<Versioned<BootNode>>,
    index: Arc<RwLock<MacIndex>>,
}

impl Registry {
    /// Loads every registration and starts following the store.
    pub async fn open(store: DynStore) -> Result<Self, BootnetError> {
        let view = view::records::<BootNode>(store.clone()).await?;
        Ok(Self { nodes: Collection::new(store), view, index: Arc::new(RwLock::new((-1, HashMap::new()))) })
    }

    /// The node a MAC belongs to, if any (memory only: called per packet).
    pub fn lookup(&self, mac: &str) -> Option<Arc<Versioned<BootNode>>> {
        let revision = self.view.revision();
        {
            let index = match self.index.read() {
                Ok(index) => index,
                Err(poisoned) => poisoned.into_inner(),
            };
            if index.0 == revision {
                return index.1.get(mac).cloned();
            }
        }
        // The view moved: rebuild the index once for every reader.
        let mut fresh = HashMap::new();
        for node in self.view.snapshot() {
            for mac in &node.record.macs {
                fresh.insert(mac.clone(), node.clone());
            }
        }
        let found = fresh.get(mac).cloned();
        match self.index.write() {
            Ok(mut index) => *index = (revision, fresh),
            Err(poisoned) => *poisoned.into_inner() = (revision, fresh),
        }
        found
    }

    /// A node by UUID (memory only).
    pub fn get(&self, uuid: &str) -> Option<Arc<Versioned<BootNode>>> {
        self.view.get(&record_key(uuid))
    }

    /// Registers a new node; [`BootnetError::AlreadyRegistered`] when the node or a
    /// MAC is taken.
    pub async fn register(&self, node: BootNode) -> Result<(), BootnetError> {
        let created = self.nodes.create(&node).await?;
        self.view.wait_for(created.mod_revision, VIEW_CATCH_UP).await?;
        Ok(())
    }

    /// Replaces a node's configuration in one compare-and-swap, so no packet sees
    /// it unregistered in between.
    pub async fn replace(&self, node: BootNode) -> Result<(), BootnetError> {
        let current = self
            .nodes
            .get(&node.uuid)
            .await?
            .ok_or_else(|| BootnetError::NotRegistered(node.uuid.clone()))?;
        let updated = self.nodes.update(&node, current.mod_revision).await.map_err(|e| match e {
            StoreError::NotFound(_) => BootnetError::NotRegistered(node.uuid.clone()),
            other => other.into(),
        })?;
        self.view.wait_for(updated.mod_revision, VIEW_CATCH_UP).await?;
        Ok(())
    }

    /// Forgets a node; `false` when it was not registered.
    pub async fn remove(&self, uuid: &str) -> Result<bool, BootnetError> {
        match self.nodes.delete(uuid, None).await {
            Ok(()) => {}
            Err(StoreError::NotFound(_)) => return Ok(false),
            Err(StoreError::InvalidArgument(reason)) => return Err(BootnetError::InvalidRequest(reason)),
            Err(other) => return Err(other.into()),
        }
        // The delete's revision is not returned; wait for the view to drop it.
        let deadline = Instant::now() + VIEW_CATCH_UP;
        while self.view.get(&record_key(uuid)).is_some() {
            if Instant::now() > deadline {
                return Err(BootnetError::Store(StoreError::Timeout));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(true)
    }
}

fn record_key(uuid: &str) -> String {
    format!("{}{uuid}", Collection::<BootNode>::prefix())
}

#[cfg(test)]
mod tests {
    use super::normalize_mac;

    #[test]
    fn macs_are_normalised_or_refused() {
        let cases = [
            ("52:54:00:AA:bb:01", Some("52:54:00:aa:bb:01")),
            ("52-54-00-aa-bb-01", Some("52:54:00:aa:bb:01")),
            ("52:54:00:aa:bb", None),
            ("52:54:00:aa:bb:0g", None),
            ("", None),
            ("525:4:00:aa:bb:01", None),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize_mac(input).as_deref(), expected, "{input}");
        }
    }
}
