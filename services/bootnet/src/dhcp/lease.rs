//! Who holds which address: the lease table, in memory for speed and in the
//! store for restarts.
//!
//! Every DHCP packet reads and changes the table, so it lives in memory behind one
//! mutex held for microseconds. Bound leases (never offers) are written behind to
//! the store as `dhcp_leases` records by one writer task that coalesces changes
//! per client and commits them in batched transactions: a rack powering on costs a
//! handful of store commits, not one per client. Kea's memfile backend makes the
//! same trade (append, no fsync per lease); a graceful shutdown flushes everything
//! ([`LeaseDb::close`]), and a crash loses at most the last few milliseconds of
//! leases, which clients re-request by INIT-REBOOT and get back (the pool answers
//! a free requested address).

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferric_store::records::{Collection, Record};
use ferric_store::{DynStore, Op, Txn};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::dhcp::pool::Subnet;
use crate::error::BootnetError;

/// How long an offered address is held for the client's REQUEST.
pub const OFFER_HOLD_SECS: u64 = 60;
/// Store operations per batched transaction (etcd's default limit is 128).
const BATCH_OPS: usize = 100;

/// Seconds since the Unix epoch: lease times survive restarts, so they are wall
/// clock times.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A bound lease as stored and listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseInfo {
    /// The client's hardware address (lowercase, colon-separated).
    pub client: String,
    /// The address.
    pub ip: Ipv4Addr,
    /// When it expires, Unix seconds.
    pub expires_at: u64,
}

impl Record for LeaseInfo {
    const KIND: &'static str = "dhcp_leases";

    fn id(&self) -> String {
        self.client.clone()
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    ip: Ipv4Addr,
    expires_at: u64,
    bound: bool,
}

#[derive(Default)]
struct Table {
    by_client: HashMap<String, Entry>,
    by_ip: HashMap<Ipv4Addr, String>,
    /// Addresses a client declined (in use by someone we do not know), until when.
    declined: HashMap<Ipv4Addr, u64>,
    /// Where the next pool scan starts, per subnet network.
    cursors: HashMap<Ipv4Addr, u32>,
}

enum Change {
    Put(LeaseInfo),
    Delete(String),
    Flush(oneshot::Sender<()>),
}

/// The lease table. Cheap to clone.
#[derive(Clone)]
pub struct LeaseDb {
    table: Arc<Mutex<Table>>,
    changes: mpsc::UnboundedSender<Change>,
    store: DynStore,
}

impl LeaseDb {
    /// Loads the unexpired leases from the store and starts the writer.
    pub async fn open(store: DynStore) -> Result<Self, BootnetError> {
        let (changes, receiver) = mpsc::unbounded_channel();
        let table = load(&store, &changes).await?;
        tokio::spawn(write_behind(store.clone(), receiver));
        Ok(Self { table: Arc::new(Mutex::new(table)), changes, store })
    }

    /// Replaces the table with what the store holds: a standby taking DHCP over
    /// continues from the leases the previous active instance wrote.
    pub async fn reload(&self) -> Result<(), BootnetError> {
        self.close().await;
        let table = load(&self.store, &self.changes).await?;
        *self.lock() = table;
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        match self.table.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Picks an address to offer `client` in `subnet` and holds it: its
    /// reservation, else its current lease, else the address it asks for, else the
    /// next free pool address. `None` when the pool is exhausted.
    pub fn offer(
        &self,
        subnet: &Subnet,
        client: &str,
        requested: Option<Ipv4Addr>,
        now: u64,
    ) -> Option<Ipv4Addr> {
        let mut table = self.lock();
        let mut candidates = Vec::with_capacity(3);
        candidates.extend(subnet.reservations.get(client).copied());
        candidates.extend(table.by_client.get(client).map(|e| e.ip));
        candidates.extend(requested);
        let mut chosen = candidates
            .into_iter()
            .find(|ip| subnet.allows(client, *ip) && self.free_for(&mut table, client, *ip, now));
        if chosen.is_none() {
            chosen = self.scan(&mut table, subnet, client, now);
        }
        let ip = chosen?;
        let entry = match table.by_client.get(client) {
            Some(e) if e.ip == ip && e.bound && e.expires_at > now => *e,
            _ => Entry { ip, expires_at: now + OFFER_HOLD_SECS, bound: false },
        };
        self.set(&mut table, client, entry);
        Some(ip)
    }

    /// Binds `ip` to `client` for the subnet's lease time if the client may have
    /// it (REQUEST); the expiry on success, `None` means NAK.
    pub fn bind(&self, subnet: &Subnet, client: &str, ip: Ipv4Addr, now: u64) -> Option<u64> {
        if !subnet.allows(client, ip) {
            return None;
        }
        let mut table = self.lock();
        if !self.free_for(&mut table, client, ip, now) {
            return None;
        }
        let expires_at = now + u64::from(subnet.lease_secs);
        self.set(&mut table, client, Entry { ip, expires_at, bound: true });
        let _ = self.changes.send(Change::Put(LeaseInfo { client: client.to_owned(), ip, expires_at }));
        Some(expires_at)
    }

    /// The client's current binding (bound or offered) if unexpired.
    pub fn current(&self, client: &str, now: u64) -> Option<(Ipv4Addr, bool)> {
        let table = self.lock();
        table.by_client.get(client).filter(|e| e.expires_at > now).map(|e| (e.ip, e.bound))
    }

    /// Forgets an offer the client turned down (it chose another server).
    pub fn withdraw_offer(&self, client: &str) {
        let mut table = self.lock();
        if table.by_client.get(client).is_some_and(|e| !e.bound) {
            self.remove(&mut table, client);
        }
    }

    /// RELEASE: frees the address if it is the client's.
    pub fn release(&self, client: &str, ip: Ipv4Addr) -> bool {
        let mut table = self.lock();
        if table.by_client.get(client).is_some_and(|e| e.ip == ip) {
            self.remove(&mut table, client);
            return true;
        }
        false
    }

    /// DECLINE: the client found `ip` in use; frees it from the client and keeps
    /// everyone off it for `quarantine_secs`.
    pub fn decline(&self, client: &str, ip: Ipv4Addr, quarantine_secs: u64, now: u64) -> bool {
        let mut table = self.lock();
        if table.by_client.get(client).is_some_and(|e| e.ip == ip) {
            self.remove(&mut table, client);
            table.declined.insert(ip, now + quarantine_secs);
            return true;
        }
        false
    }

    /// Every unexpired bound lease.
    pub fn list(&self) -> Vec<LeaseInfo> {
        let now = now();
        let table = self.lock();
        let mut leases: Vec<LeaseInfo> = table
            .by_client
            .iter()
            .filter(|(_, e)| e.bound && e.expires_at > now)
            .map(|(client, e)| LeaseInfo { client: client.clone(), ip: e.ip, expires_at: e.expires_at })
            .collect();
        leases.sort_by_key(|l| u32::from(l.ip));
        leases
    }

    /// Drops expired leases, offers and quarantines (from memory and store).
    pub fn sweep(&self, now: u64) -> usize {
        let mut table = self.lock();
        let expired: Vec<String> =
            table.by_client.iter().filter(|(_, e)| e.expires_at <= now).map(|(c, _)| c.clone()).collect();
        for client in &expired {
            self.remove(&mut table, client);
        }
        table.declined.retain(|_, until| *until > now);
        expired.len()
    }

    /// Writes every pending change to the store; call on shutdown.
    pub async fn close(&self) {
        let (done, flushed) = oneshot::channel();
        if self.changes.send(Change::Flush(done)).is_ok() {
            let _ = flushed.await;
        }
    }

    /// Whether `client` can take `ip` now, evicting an expired holder.
    fn free_for(&self, table: &mut Table, client: &str, ip: Ipv4Addr, now: u64) -> bool {
        if table.declined.get(&ip).is_some_and(|until| *until > now) {
            return false;
        }
        let Some(owner) = table.by_ip.get(&ip).cloned() else { return true };
        if owner == client {
            return true;
        }
        let expired = table.by_client.get(&owner).is_none_or(|e| e.ip != ip || e.expires_at <= now);
        if expired {
            self.remove(table, &owner);
        }
        expired
    }

    fn scan(&self, table: &mut Table, subnet: &Subnet, client: &str, now: u64) -> Option<Ipv4Addr> {
        let size = subnet.pool_end.checked_sub(subnet.pool_start)? as u64 + 1;
        let start = table.cursors.get(&subnet.network).copied().unwrap_or(subnet.pool_start);
        let start =
            if (subnet.pool_start..=subnet.pool_end).contains(&start) { start } else { subnet.pool_start };
        for step in 0..size {
            let offset = (u64::from(start - subnet.pool_start) + step) % size;
            let ip = Ipv4Addr::from(subnet.pool_start + offset as u32);
            if subnet.allows(client, ip) && self.free_for(table, client, ip, now) {
                let next =
                    if ip == Ipv4Addr::from(subnet.pool_end) { subnet.pool_start } else { u32::from(ip) + 1 };
                table.cursors.insert(subnet.network, next);
                return Some(ip);
            }
        }
        None
    }

    fn set(&self, table: &mut Table, client: &str, entry: Entry) {
        if let Some(old) = table.by_client.insert(client.to_owned(), entry)
            && old.ip != entry.ip
        {
            table.by_ip.remove(&old.ip);
            if old.bound && !entry.bound {
                let _ = self.changes.send(Change::Delete(client.to_owned()));
            }
        }
        table.by_ip.insert(entry.ip, client.to_owned());
    }

    fn remove(&self, table: &mut Table, client: &str) {
        if let Some(old) = table.by_client.remove(client) {
            if table.by_ip.get(&old.ip).is_some_and(|owner| owner == client) {
                table.by_ip.remove(&old.ip);
            }
            if old.bound {
                let _ = self.changes.send(Change::Delete(client.to_owned()));
            }
        }
    }
}

/// The unexpired leases in the store; expired ones are queued for deletion.
async fn load(store: &DynStore, changes: &mpsc::UnboundedSender<Change>) -> Result<Table, BootnetError> {
    let page = Collection::<LeaseInfo>::new(store.clone()).list(None, 0).await?;
    let now = now();
    let mut table = Table::default();
    for versioned in page.items {
        let lease = versioned.record;
        if lease.expires_at <= now {
            let _ = changes.send(Change::Delete(lease.client));
            continue;
        }
        table.by_ip.insert(lease.ip, lease.client.clone());
        table
            .by_client
            .insert(lease.client, Entry { ip: lease.ip, expires_at: lease.expires_at, bound: true });
    }
    tracing::info!(leases = table.by_client.len(), "DHCP leases loaded");
    Ok(table)
}

/// The writer: coalesces changes per client and commits them in batches, retrying
/// with backoff while the store is down (changes keep coalescing meanwhile).
async fn write_behind(store: DynStore, mut receiver: mpsc::UnboundedReceiver<Change>) {
    let prefix = Collection::<LeaseInfo>::prefix();
    let mut pending: HashMap<String, Option<LeaseInfo>> = HashMap::new();
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = receiver.recv().await {
        let mut next = Some(first);
        while let Some(change) = next.take().or_else(|| receiver.try_recv().ok()) {
            match change {
                Change::Put(lease) => {
                    pending.insert(lease.client.clone(), Some(lease));
                }
                Change::Delete(client) => {
                    pending.insert(client, None);
                }
                Change::Flush(done) => waiting.push(done),
            }
        }
        let mut pause = Duration::from_millis(50);
        while !pending.is_empty() {
            let batch: Vec<(String, Option<LeaseInfo>)> =
                pending.iter().take(BATCH_OPS).map(|(k, v)| (k.clone(), v.clone())).collect();
            let mut txn = Txn::new();
            for (client, lease) in &batch {
                let key = format!("{prefix}{client}");
                txn = match lease.as_ref().and_then(|l| serde_json::to_vec(l).ok()) {
                    Some(value) => txn.then(Op::put(key, value)),
                    None => txn.then(Op::delete(key)),
                };
            }
            match store.txn(txn).await {
                Ok(_) => {
                    for (client, lease) in batch {
                        // A newer change for the same client arrived meanwhile? Keep it.
                        if pending.get(&client) == Some(&lease) {
                            pending.remove(&client);
                        }
                    }
                    pause = Duration::from_millis(50);
                }
                Err(error) => {
                    tracing::warn!(%error, pending = pending.len(), "persisting DHCP leases failed; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
            }
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}
