//! JSON records with unique secondary keys, built once on the [`Store`] trait.
//!
//! A record of kind `K` with id `I` lives at `/ferric/<K>/<I>`; each of its unique
//! keys (a node's name, its instance UUID, a port's MAC address) is a key
//! `/ferric/unique/<K>/<index>/<value>` whose value is the owner's id. Creating,
//! updating and deleting a record writes the record and its unique keys in one
//! transaction that also checks them, so two records can never claim the same
//! value, even when two API calls race — and a crash never leaves an index entry
//! without its record, or the other way round.
//!
//! Updates are compare-and-swap on the record's `mod_revision` (the architecture's
//! "a node record changes only by compare-and-swap"): a caller that read revision
//! `r` and writes back gets [`StoreError::Conflict`] if anyone wrote in between.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::lock::escape;
use crate::{Compare, DynStore, KeyValue, Op, RangeRequest, Result, StoreError, Txn, prefix_end};

/// Root of all records.
pub const RECORD_ROOT: &str = "/ferric/";
/// Root of all unique keys.
pub const UNIQUE_ROOT: &str = "/ferric/unique/";

/// Kinds that would collide with the store's other key spaces.
const RESERVED_KINDS: &[&str] = &["unique", "locks", "conductors", "services"];

/// How many times create/update/delete re-read and retry when the store changed
/// between their read and their transaction in a way that is not a real conflict.
const ATTEMPTS: usize = 8;

/// A type stored as a record.
pub trait Record: Serialize + DeserializeOwned + Send + Sync {
    /// The record kind: one path segment, plural by convention (`"nodes"`).
    const KIND: &'static str;

    /// The record's id (a UUID for most kinds): one path segment, never empty.
    fn id(&self) -> String;

    /// The record's unique secondary keys as `(index, value)`, e.g.
    /// `("name", "node-1")`. Values are compared byte for byte, so normalise them
    /// first (lower-case MACs). An index the record does not set is left out.
    fn unique_keys(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

/// A record with the revisions that make compare-and-swap possible.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<R> {
    /// The decoded record.
    pub record: R,
    /// The CAS token: pass it to [`Collection::update`] / [`Collection::delete`].
    pub mod_revision: i64,
    /// Revision at which the record was created.
    pub create_revision: i64,
}

/// One page of a [`Collection::list`].
#[derive(Debug, Clone, PartialEq)]
pub struct Page<R> {
    /// The records of this page, in id order.
    pub items: Vec<Versioned<R>>,
    /// The id to pass as `after` for the next page; `None` on the last page.
    pub next: Option<String>,
    /// The store revision the page was read at.
    pub revision: i64,
}

/// The records of one kind in a store.
pub struct Collection<R: Record> {
    store: DynStore,
    _kind: PhantomData<fn() -> R>,
}

impl<R: Record> Clone for Collection<R> {
    fn clone(&self) -> Self {
        Self { store: self.store.clone(), _kind: PhantomData }
    }
}

impl<R: Record> Collection<R> {
    /// The records of kind `R::KIND` in `store`.
    pub fn new(store: DynStore) -> Self {
        Self { store, _kind: PhantomData }
    }

    /// The prefix under which every record of this kind lives.
    pub fn prefix() -> String {
        format!("{RECORD_ROOT}{}/", R::KIND)
    }

    /// Stores a new record. [`StoreError::AlreadyExists`] when the id is taken,
    /// [`StoreError::UniqueViolation`] when a unique key is used by another record.
    pub async fn create(&self, record: &R) -> Result<Versioned<R>> {
        let id = record.id();
        let key = record_key::<R>(&id)?;
        let value = encode(&key, record)?;
        let uniques = unique_map::<R>(record)?;
        for _ in 0..ATTEMPTS {
            let mut txn = Txn::new().when(Compare::absent(&key)).then(Op::put(&key, value.clone()));
            for unique_key in uniques.keys() {
                txn = txn.when(Compare::absent(unique_key)).then(Op::put(unique_key, id.clone()));
            }
            let outcome = self.store.txn(txn).await?;
            if outcome.succeeded {
                return Ok(Versioned {
                    record: decode::<R>(&key, &value)?,
                    mod_revision: outcome.revision,
                    create_revision: outcome.revision,
                });
            }
            if self.store.get(&key).await?.is_some() {
                return Err(StoreError::AlreadyExists(format!("{} {id}", R::KIND)));
            }
            self.check_uniques(&id, &uniques, |_| true).await?;
            // Whatever blocked us is gone already: try again.
        }
        Err(StoreError::Conflict(format!("{} {id}", R::KIND)))
    }

    /// Reads a record by id.
    pub async fn get(&self, id: &str) -> Result<Option<Versioned<R>>> {
        let key = record_key::<R>(id)?;
        self.store.get(&key).await?.map(|kv| versioned(&kv)).transpose()
    }

    /// Reads a record by one of its unique keys (`("name", "node-1")`).
    pub async fn get_by(&self, index: &str, value: &str) -> Result<Option<Versioned<R>>> {
        let Some(owner) = self.store.get(&unique_key::<R>(index, value)).await? else { return Ok(None) };
        let id = String::from_utf8(owner.value)
            .map_err(|e| StoreError::Corrupt { key: owner.key.clone(), reason: e.to_string() })?;
        // The index and the record are written together, so the record exists; a
        // concurrent delete between the two reads shows as `None`.
        self.get(&id).await
    }

    /// Replaces the record with the same id, if it is still at `expected_revision`
    /// (the `mod_revision` the caller read). [`StoreError::Conflict`] when it
    /// changed since, [`StoreError::NotFound`] when it is gone,
    /// [`StoreError::UniqueViolation`] when a new unique key is taken.
    pub async fn update(&self, record: &R, expected_revision: i64) -> Result<Versioned<R>> {
        let id = record.id();
        let key = record_key::<R>(&id)?;
        let value = encode(&key, record)?;
        let new = unique_map::<R>(record)?;
        for _ in 0..ATTEMPTS {
            let current = self.current(&id, &key, expected_revision).await?;
            let old = unique_map::<R>(&current.record)?;
            let mut txn = Txn::new()
                .when(Compare::mod_revision(&key, expected_revision))
                .then(Op::put(&key, value.clone()));
            for gone in old.keys().filter(|k| !new.contains_key(*k)) {
                txn = txn.then(Op::delete(gone));
            }
            for added in new.keys().filter(|k| !old.contains_key(*k)) {
                txn = txn.when(Compare::absent(added)).then(Op::put(added, id.clone()));
            }
            let outcome = self.store.txn(txn).await?;
            if outcome.succeeded {
                return Ok(Versioned {
                    record: decode::<R>(&key, &value)?,
                    mod_revision: outcome.revision,
                    create_revision: current.create_revision,
                });
            }
            self.current(&id, &key, expected_revision).await?;
            self.check_uniques(&id, &new, |k| !old.contains_key(k)).await?;
        }
        Err(StoreError::Conflict(format!("{} {id}", R::KIND)))
    }

    /// Deletes a record and its unique keys. With `expected_revision`, only if the
    /// record is still at that revision ([`StoreError::Conflict`] otherwise).
    /// [`StoreError::NotFound`] when there is no such record.
    pub async fn delete(&self, id: &str, expected_revision: Option<i64>) -> Result<()> {
        let key = record_key::<R>(id)?;
        for _ in 0..ATTEMPTS {
            let kv = self.store.get(&key).await?.ok_or_else(|| not_found::<R>(id))?;
            if let Some(expected) = expected_revision
                && kv.mod_revision != expected
            {
                return Err(StoreError::Conflict(format!("{} {id}", R::KIND)));
            }
            let current = versioned::<R>(&kv)?;
            let mut txn =
                Txn::new().when(Compare::mod_revision(&key, kv.mod_revision)).then(Op::delete(&key));
            for unique_key in unique_map::<R>(&current.record)?.keys() {
                txn = txn.then(Op::delete(unique_key));
            }
            if self.store.txn(txn).await?.succeeded {
                return Ok(());
            }
        }
        Err(StoreError::Conflict(format!("{} {id}", R::KIND)))
    }

    /// Lists records in id order, at most `limit` (0 = all) after the id `after`:
    /// stable pagination while records come and go.
    pub async fn list(&self, after: Option<&str>, limit: usize) -> Result<Page<R>> {
        let prefix = Self::prefix();
        let after_key = after.map(record_key::<R>).transpose()?;
        let page = self.store.range(RangeRequest::prefix_after(&prefix, after_key.as_deref(), limit)).await?;
        let items = page.kvs.iter().map(versioned).collect::<Result<Vec<Versioned<R>>>>()?;
        let next = if page.more { items.last().map(|v| v.record.id()) } else { None };
        Ok(Page { items, next, revision: page.revision })
    }

    /// Reads the record for an update, checking the caller's token.
    async fn current(&self, id: &str, key: &str, expected: i64) -> Result<Versioned<R>> {
        let kv = self.store.get(key).await?.ok_or_else(|| not_found::<R>(id))?;
        if kv.mod_revision != expected {
            return Err(StoreError::Conflict(format!("{} {id}", R::KIND)));
        }
        versioned(&kv)
    }

    /// Finds which of the `wanted` unique keys (those `relevant`) another record
    /// owns, as a [`StoreError::UniqueViolation`].
    async fn check_uniques(
        &self,
        id: &str,
        wanted: &BTreeMap<String, (&'static str, String)>,
        relevant: impl Fn(&String) -> bool,
    ) -> Result<()> {
        for (unique_key, (index, value)) in wanted.iter().filter(|(k, _)| relevant(k)) {
            if let Some(owner) = self.store.get(unique_key).await? {
                let owner = String::from_utf8_lossy(&owner.value).into_owned();
                if owner != id {
                    return Err(StoreError::UniqueViolation {
                        index: (*index).to_owned(),
                        value: value.clone(),
                        owner,
                    });
                }
            }
        }
        Ok(())
    }
}

fn not_found<R: Record>(id: &str) -> StoreError {
    StoreError::NotFound(format!("{} {id}", R::KIND))
}

/// The key of record `id`; ids and kinds must be single, non-empty path segments.
fn record_key<R: Record>(id: &str) -> Result<String> {
    let kind = R::KIND;
    if kind.is_empty() || kind.contains('/') || RESERVED_KINDS.contains(&kind) {
        return Err(StoreError::InvalidArgument(format!("record kind {kind:?} is not usable")));
    }
    if id.is_empty() || id.contains('/') || id.contains('\0') {
        return Err(StoreError::InvalidArgument(format!(
            "{kind} id {id:?} must be one non-empty path segment"
        )));
    }
    Ok(format!("{RECORD_ROOT}{kind}/{id}"))
}

fn unique_key<R: Record>(index: &str, value: &str) -> String {
    format!("{UNIQUE_ROOT}{}/{}/{}", R::KIND, escape(index), escape(value))
}

/// The record's unique keys by store key, refusing one value claimed twice.
fn unique_map<R: Record>(record: &R) -> Result<BTreeMap<String, (&'static str, String)>> {
    let mut map = BTreeMap::new();
    for (index, value) in record.unique_keys() {
        if value.is_empty() {
            continue;
        }
        let key = unique_key::<R>(index, &value);
        if map.insert(key, (index, value.clone())).is_some() {
            return Err(StoreError::InvalidArgument(format!("unique key {index}={value:?} listed twice")));
        }
    }
    Ok(map)
}

fn encode<R: Record>(key: &str, record: &R) -> Result<Vec<u8>> {
    serde_json::to_vec(record).map_err(|e| StoreError::InvalidArgument(format!("cannot encode {key}: {e}")))
}

fn decode<R: Record>(key: &str, bytes: &[u8]) -> Result<R> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt { key: key.to_owned(), reason: e.to_string() })
}

fn versioned<R: Record>(kv: &KeyValue) -> Result<Versioned<R>> {
    Ok(Versioned {
        record: decode(&kv.key, &kv.value)?,
        mod_revision: kv.mod_revision,
        create_revision: kv.create_revision,
    })
}

/// The range of every unique key of kind `R` (for consistency checks and tools).
pub fn unique_range<R: Record>() -> RangeRequest {
    let prefix = format!("{UNIQUE_ROOT}{}/", R::KIND);
    RangeRequest { end: Some(prefix_end(&prefix)), start: prefix, limit: 0 }
}
