//! The value types of the store contract, shaped after etcd's v3 API so that the
//! etcd backend maps them one to one.

use serde::{Deserialize, Serialize};

/// A lease identifier. Non-zero; etcd's id space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LeaseId(pub i64);

/// One stored record with the revisions that make compare-and-swap possible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: Vec<u8>,
    /// Revision of the write that created this key (since its last deletion).
    pub create_revision: i64,
    /// Revision of the last write to this key: the CAS token.
    pub mod_revision: i64,
    /// Number of writes since creation, starting at 1.
    pub version: i64,
    /// The lease this key dies with, if any.
    pub lease: Option<LeaseId>,
}

/// A key range read. Ranges are half-open `[start, end)` in byte order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeRequest {
    pub start: String,
    /// Exclusive end; `None` reads the single key `start`.
    pub end: Option<String>,
    /// Maximum keys returned; 0 means no limit.
    pub limit: usize,
}

impl RangeRequest {
    /// Every key starting with `prefix`.
    pub fn prefix(prefix: &str) -> Self {
        Self { start: prefix.to_owned(), end: Some(prefix_end(prefix)), limit: 0 }
    }

    /// Keys under `prefix` strictly after `after` (the last key of the previous
    /// page), so pagination is stable while records come and go.
    pub fn prefix_after(prefix: &str, after: Option<&str>, limit: usize) -> Self {
        let start = match after {
            // The smallest key greater than `after` is `after` followed by NUL.
            Some(after) => format!("{after}\0"),
            None => prefix.to_owned(),
        };
        Self { start, end: Some(prefix_end(prefix)), limit }
    }

    /// Caps the number of keys returned.
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
}

/// The smallest key greater than every key with `prefix` (etcd's `prefix_end`).
pub fn prefix_end(prefix: &str) -> String {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < 0x7f {
            bytes.push(last + 1);
            // Keys are UTF-8; bumping an ASCII byte keeps them so.
            return String::from_utf8(bytes).expect("ascii bump keeps utf-8");
        }
    }
    // An empty (or all-0x7f..) prefix covers the whole keyspace.
    "\u{10FFFF}".to_owned()
}

/// One page of a range read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangePage {
    pub kvs: Vec<KeyValue>,
    /// True when the limit cut the page short.
    pub more: bool,
    /// Store revision the read was served at.
    pub revision: i64,
}

/// What a [`Compare`] looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompareTarget {
    /// Last-modified revision; 0 for an absent key.
    ModRevision(i64),
    /// Creation revision; 0 for an absent key.
    CreateRevision(i64),
    /// Current value (an absent key never matches `Equal`).
    Value(Vec<u8>),
}

/// Comparison operator of a [`Compare`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Equal,
    NotEqual,
    Greater,
    Less,
}

/// A precondition of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compare {
    pub key: String,
    pub op: CompareOp,
    pub target: CompareTarget,
}

impl Compare {
    /// Holds when `key` does not exist.
    pub fn absent(key: impl Into<String>) -> Self {
        Self { key: key.into(), op: CompareOp::Equal, target: CompareTarget::ModRevision(0) }
    }

    /// Holds when `key` was last written at exactly `revision` (0 = absent).
    pub fn mod_revision(key: impl Into<String>, revision: i64) -> Self {
        Self { key: key.into(), op: CompareOp::Equal, target: CompareTarget::ModRevision(revision) }
    }

    /// Holds when `key` holds exactly `value`.
    pub fn value(key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Self { key: key.into(), op: CompareOp::Equal, target: CompareTarget::Value(value.into()) }
    }
}

/// A write inside a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put {
        key: String,
        value: Vec<u8>,
        lease: Option<LeaseId>,
    },
    Delete {
        key: String,
    },
    /// Deletes every key in `[start, end)`.
    DeleteRange {
        start: String,
        end: String,
    },
}

impl Op {
    /// A put without a lease.
    pub fn put(key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Op::Put { key: key.into(), value: value.into(), lease: None }
    }

    /// A put whose key dies with `lease`.
    pub fn put_leased(key: impl Into<String>, value: impl Into<Vec<u8>>, lease: LeaseId) -> Self {
        Op::Put { key: key.into(), value: value.into(), lease: Some(lease) }
    }

    /// A delete of one key.
    pub fn delete(key: impl Into<String>) -> Self {
        Op::Delete { key: key.into() }
    }
}

/// An atomic compare-then-write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Txn {
    pub compares: Vec<Compare>,
    /// Applied, in order, only if every compare holds.
    pub ops: Vec<Op>,
}

impl Txn {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn when(mut self, compare: Compare) -> Self {
        self.compares.push(compare);
        self
    }

    pub fn then(mut self, op: Op) -> Self {
        self.ops.push(op);
        self
    }
}

/// The result of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnOutcome {
    /// False when a compare failed and nothing was written.
    pub succeeded: bool,
    /// The revision the transaction produced (on success with writes) or was
    /// evaluated at.
    pub revision: i64,
}

/// Kind of a watched change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    Put,
    Delete,
}

/// One change seen by a watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchEvent {
    pub kind: EventKind,
    /// For `Put`, the new record; for `Delete`, the key with an empty value and
    /// `mod_revision` set to the deletion's revision.
    pub kv: KeyValue,
}
