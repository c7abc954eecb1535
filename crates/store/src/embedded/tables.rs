//! The on-disk layout of the embedded store: redb tables and the byte encoding of
//! records and history entries. Kept in one place so a format change is one diff.
//!
//! Encodings are little-endian and length-prefixed; every decoder checks lengths and
//! answers [`StoreError::Corrupt`] instead of panicking on short or garbled bytes.

use redb::TableDefinition;

use crate::{EventKind, KeyValue, LeaseId, StoreError, WatchEvent};

/// Live keys: key → encoded [`KeyValue`] (without the key itself).
pub(super) const KV: TableDefinition<&str, &[u8]> = TableDefinition::new("kv");
/// Counters that must survive restarts: see the `META_*` names.
pub(super) const META: TableDefinition<&str, i64> = TableDefinition::new("meta");
/// Leases: id → TTL in milliseconds. Deadlines live in memory only (etcd semantics:
/// after a restart every lease gets a fresh full TTL).
pub(super) const LEASES: TableDefinition<i64, u64> = TableDefinition::new("leases");
/// Which keys each lease carries, so expiry deletes them without a scan.
pub(super) const LEASE_KEYS: TableDefinition<(i64, &str), ()> = TableDefinition::new("lease_keys");
/// The change log for watch replay: revision → encoded events of that revision.
pub(super) const HISTORY: TableDefinition<i64, &[u8]> = TableDefinition::new("history");

/// The newest revision of the store.
pub(super) const META_REVISION: &str = "revision";
/// History before this revision is gone; watches from earlier fail as compacted.
pub(super) const META_COMPACT: &str = "compact_revision";
/// The next lease id to hand out.
pub(super) const META_NEXT_LEASE: &str = "next_lease";

const HEADER: usize = 4 * 8;

/// Encodes a live record: create, mod, version, lease (0 = none), then the value.
pub(super) fn encode_kv(kv: &KeyValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + kv.value.len());
    put_header(&mut out, kv);
    out.extend_from_slice(&kv.value);
    out
}

fn put_header(out: &mut Vec<u8>, kv: &KeyValue) {
    out.extend_from_slice(&kv.create_revision.to_le_bytes());
    out.extend_from_slice(&kv.mod_revision.to_le_bytes());
    out.extend_from_slice(&kv.version.to_le_bytes());
    out.extend_from_slice(&kv.lease.map_or(0, |l| l.0).to_le_bytes());
}

/// Decodes a record stored under `key` by [`encode_kv`].
pub(super) fn decode_kv(key: &str, bytes: &[u8]) -> Result<KeyValue, StoreError> {
    let mut reader = Reader { bytes, key };
    let kv = reader.kv_header(key.to_owned())?;
    Ok(KeyValue { value: reader.rest().to_vec(), ..kv })
}

/// Encodes the events of one revision for the history table.
pub(super) fn encode_events(events: &[WatchEvent]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(events.len() as u32).to_le_bytes());
    for event in events {
        out.push(match event.kind {
            EventKind::Put => 0,
            EventKind::Delete => 1,
        });
        put_bytes(&mut out, event.kv.key.as_bytes());
        put_header(&mut out, &event.kv);
        put_bytes(&mut out, &event.kv.value);
    }
    out
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Decodes one history entry written by [`encode_events`] at `revision`.
pub(super) fn decode_events(revision: i64, bytes: &[u8]) -> Result<Vec<WatchEvent>, StoreError> {
    let label = format!("history@{revision}");
    let mut reader = Reader { bytes, key: &label };
    let count = reader.u32()? as usize;
    let mut events = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        let kind = match reader.take(1)?[0] {
            0 => EventKind::Put,
            1 => EventKind::Delete,
            other => return Err(reader.corrupt(format!("unknown event kind {other}"))),
        };
        let key_bytes = reader.sized()?;
        let key = String::from_utf8(key_bytes.to_vec()).map_err(|e| reader.corrupt(e.to_string()))?;
        let kv = reader.kv_header(key)?;
        let value = reader.sized()?.to_vec();
        events.push(WatchEvent { kind, kv: KeyValue { value, ..kv } });
    }
    Ok(events)
}

struct Reader<'a> {
    bytes: &'a [u8],
    key: &'a str,
}

impl<'a> Reader<'a> {
    fn corrupt(&self, reason: impl Into<String>) -> StoreError {
        StoreError::Corrupt { key: self.key.to_owned(), reason: reason.into() }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if self.bytes.len() < n {
            return Err(self.corrupt(format!("truncated: wanted {n} bytes, {} left", self.bytes.len())));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn i64(&mut self) -> Result<i64, StoreError> {
        let mut buf = [0u8; 8];
        buf.copy_from_slice(self.take(8)?);
        Ok(i64::from_le_bytes(buf))
    }

    fn u32(&mut self) -> Result<u32, StoreError> {
        let mut buf = [0u8; 4];
        buf.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(buf))
    }

    fn sized(&mut self) -> Result<&'a [u8], StoreError> {
        let len = self.u32()? as usize;
        self.take(len)
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }

    fn kv_header(&mut self, key: String) -> Result<KeyValue, StoreError> {
        let create_revision = self.i64()?;
        let mod_revision = self.i64()?;
        let version = self.i64()?;
        let lease = self.i64()?;
        Ok(KeyValue {
            key,
            value: Vec::new(),
            create_revision,
            mod_revision,
            version,
            lease: (lease != 0).then_some(LeaseId(lease)),
        })
    }
}

/// Maps any redb failure to the store's error: the file is local, so a failure is
/// an internal fault (disk full, I/O error, corruption), never "try another node".
pub(super) fn db_err(err: impl Into<redb::Error>) -> StoreError {
    match err.into() {
        redb::Error::Corrupted(reason) => StoreError::Corrupt { key: "<database>".into(), reason },
        other => StoreError::Internal(format!("embedded store: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, value: &[u8], lease: Option<LeaseId>) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: value.into(),
            create_revision: 3,
            mod_revision: 7,
            version: 2,
            lease,
        }
    }

    #[test]
    fn kv_round_trips() {
        let original = kv("/a", b"hello", Some(LeaseId(9)));
        assert_eq!(decode_kv("/a", &encode_kv(&original)).unwrap(), original);
        let empty = kv("/b", b"", None);
        assert_eq!(decode_kv("/b", &encode_kv(&empty)).unwrap(), empty);
    }

    #[test]
    fn events_round_trip() {
        let events = vec![
            WatchEvent { kind: EventKind::Put, kv: kv("/a", b"x", None) },
            WatchEvent { kind: EventKind::Delete, kv: kv("/b", b"", Some(LeaseId(1))) },
        ];
        assert_eq!(decode_events(7, &encode_events(&events)).unwrap(), events);
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        assert!(matches!(decode_kv("/a", b"short"), Err(StoreError::Corrupt { .. })));
        let mut bytes = encode_events(&[WatchEvent { kind: EventKind::Put, kv: kv("/a", b"x", None) }]);
        bytes.truncate(bytes.len() - 1);
        assert!(matches!(decode_events(1, &bytes), Err(StoreError::Corrupt { .. })));
        assert!(matches!(decode_events(1, &[1, 0, 0, 0, 9]), Err(StoreError::Corrupt { .. })));
        assert!(matches!(decode_events(1, &[255, 255, 255, 255]), Err(StoreError::Corrupt { .. })));
    }
}
