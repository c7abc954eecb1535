//! Ferric's state: one key-value contract, two engines.
//!
//! Every service keeps its durable state — node records, leases, locks, conductor
//! membership, service endpoints — through [`Store`]. The contract is the subset of
//! etcd's v3 model that Ferric relies on (revisioned records, compare-and-swap
//! transactions, prefix ranges, watches from a revision, leases), so the etcd backend
//! is a thin adapter and the embedded backend ([`embedded::EmbeddedStore`], on
//! `redb`) re-creates the same semantics on one machine. One conformance suite
//! (`tests/it/conformance.rs`, instantiated for both in `tests/it/main.rs`) holds
//! both to it.
//!
//! Higher-level idioms that need the same care on both engines — records with unique
//! secondary keys, exclusive/shared locks tied to a lease — are built once in
//! [`records`] and [`lock`] on top of the primitive trait, never per backend.
//!
//! [`view`] keeps an in-memory copy of a prefix current by watching it, for
//! readers that list often (the gateway's node list).
//!
//! Architecture invariant: only this crate knows etcd or redb exist.

pub mod embedded;
pub mod error;
pub mod etcd;
pub mod lock;
pub mod records;
mod types;
mod validate;
pub mod view;

pub use error::StoreError;
pub use types::*;

use std::sync::Arc;
use std::time::Duration;

use futures::stream::BoxStream;

/// Result alias used across the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A shared handle to whichever backend this process runs on.
pub type DynStore = Arc<dyn Store>;

/// The primitive operations both backends implement with identical semantics.
///
/// Revisions are global and strictly increasing across the whole keyspace, as in
/// etcd: every successful write transaction yields exactly one new revision shared
/// by all of its operations. A key that does not exist has `mod_revision` 0, which
/// is how "create only if absent" is expressed in a [`Compare`].
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Reads one key. `None` when absent.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>>;

    /// Reads keys in `[range.start, range.end)` in ascending byte order, at most
    /// `range.limit` of them (0 = no limit). The page carries the store revision the
    /// read was served at, so a caller can continue with a watch from `revision + 1`
    /// without missing or repeating an event.
    async fn range(&self, range: RangeRequest) -> Result<RangePage>;

    /// Applies `ops` atomically if every compare holds, and otherwise nothing.
    ///
    /// Returns `succeeded = false` (not an error) when a compare fails, so callers
    /// can distinguish a lost race from a store fault.
    async fn txn(&self, txn: Txn) -> Result<TxnOutcome>;

    /// Streams every change to keys under `prefix` with revision >= `from_revision`
    /// (0 = only future changes), in revision order. Fails with
    /// [`StoreError::Compacted`] when the history before `from_revision` is gone.
    async fn watch(&self, prefix: &str, from_revision: i64)
    -> Result<BoxStream<'static, Result<WatchEvent>>>;

    /// Creates a lease that expires `ttl` after its last keep-alive; keys attached
    /// to it are deleted (with watch events) when it expires or is revoked.
    async fn lease_grant(&self, ttl: Duration) -> Result<LeaseId>;

    /// Refreshes a lease to its full TTL. [`StoreError::LeaseNotFound`] once it has
    /// expired: the holder has lost everything attached to it and must start over.
    async fn lease_keep_alive(&self, lease: LeaseId) -> Result<Duration>;

    /// Ends a lease at once, deleting its keys.
    async fn lease_revoke(&self, lease: LeaseId) -> Result<()>;

    /// The newest revision of the store.
    async fn current_revision(&self) -> Result<i64>;

    /// A short name for logs and metrics (`"embedded"` or `"etcd"`).
    fn backend_name(&self) -> &'static str;
}
