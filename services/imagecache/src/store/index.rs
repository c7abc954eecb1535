//! The in-memory index of cached images and the record persisted beside each
//! artifact. Pure bookkeeping: no I/O, so every rule (which source maps to which
//! artifact, how bytes are counted) is testable on its own.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

/// One way an artifact was obtained: a source URL and whether it was converted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// sha256 of the full URL: matches requests without storing credentials.
    pub url_key: String,
    /// The URL without credentials or query, for display.
    pub shown_url: String,
    /// Whether the artifact is the raw conversion of what the URL served.
    pub convert_to_raw: bool,
    /// Verified digests of the bytes the URL served, by algorithm name.
    pub checksums: BTreeMap<String, String>,
}

/// One cached artifact, as persisted in `meta/<id>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// sha256 of the stored file: the content address and the file name.
    pub id: String,
    /// Bytes of the stored file.
    pub size: u64,
    /// Size of the disk the image describes.
    pub virtual_size: u64,
    /// "raw", "qcow2", ...
    pub disk_format: String,
    /// When it was committed (Unix milliseconds).
    pub created_ms: u64,
    /// Last Ensure, Pin or HTTP GET (Unix milliseconds): the LRU order.
    pub last_used_ms: u64,
    /// Holders of pins; non-empty means never evicted.
    pub pinned_by: BTreeSet<String>,
    /// Where it came from, most recent last.
    pub sources: Vec<Source>,
}

impl Record {
    /// Whether eviction must spare it.
    pub fn is_pinned(&self) -> bool {
        !self.pinned_by.is_empty()
    }

    /// The latest source, for the API's single `source_url`.
    pub fn latest_source(&self) -> Option<&Source> {
        self.sources.last()
    }
}

/// Every committed artifact, and which (source, conversion) leads to which.
#[derive(Debug, Default)]
pub struct Index {
    records: BTreeMap<String, Record>,
    by_source: HashMap<(String, bool), String>,
    used_bytes: u64,
}

impl Index {
    /// The record with this id.
    pub fn get(&self, id: &str) -> Option<&Record> {
        self.records.get(id)
    }

    /// Mutable access, for pins and use times.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut Record> {
        self.records.get_mut(id)
    }

    /// The artifact last obtained from `url_key` with this conversion.
    pub fn by_source(&self, url_key: &str, convert_to_raw: bool) -> Option<&Record> {
        self.by_source.get(&(url_key.to_owned(), convert_to_raw)).and_then(|id| self.records.get(id))
    }

    /// Adds or replaces a record. A source it lists is moved to it from any other
    /// record (the URL now serves other bytes); returns the ids of records whose
    /// sources changed so the caller persists them.
    pub fn insert(&mut self, record: Record) -> Vec<String> {
        let mut changed = Vec::new();
        for source in &record.sources {
            let key = (source.url_key.clone(), source.convert_to_raw);
            if let Some(previous) = self.by_source.insert(key, record.id.clone())
                && previous != record.id
                && let Some(old) = self.records.get_mut(&previous)
            {
                old.sources
                    .retain(|s| !(s.url_key == source.url_key && s.convert_to_raw == source.convert_to_raw));
                changed.push(previous);
            }
        }
        self.records.insert(record.id.clone(), record);
        changed.sort();
        changed.dedup();
        self.recount();
        changed
    }

    /// Removes a record and its source mappings.
    pub fn remove(&mut self, id: &str) -> Option<Record> {
        let record = self.records.remove(id)?;
        self.by_source.retain(|_, v| v != id);
        self.recount();
        Some(record)
    }

    /// Sums sizes again; the index holds hundreds of images, not millions, so
    /// this is simpler than keeping a running total right on every path.
    fn recount(&mut self) {
        self.used_bytes = self.records.values().map(|r| r.size).sum();
    }

    /// Bytes of all artifacts.
    pub fn used_bytes(&self) -> u64 {
        self.used_bytes
    }

    /// Records in id order, starting after `after`.
    pub fn page(&self, after: &str, limit: usize) -> Vec<&Record> {
        use std::ops::Bound;
        self.records
            .range::<str, _>((
                if after.is_empty() { Bound::Unbounded } else { Bound::Excluded(after) },
                Bound::Unbounded,
            ))
            .map(|(_, r)| r)
            .take(limit)
            .collect()
    }

    /// All records, for eviction planning.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.records.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn record(id: &str, size: u64, url_key: &str) -> Record {
        Record {
            id: id.into(),
            size,
            virtual_size: size,
            disk_format: "raw".into(),
            created_ms: 0,
            last_used_ms: 0,
            pinned_by: BTreeSet::new(),
            sources: vec![Source {
                url_key: url_key.into(),
                shown_url: format!("http://o/{url_key}"),
                convert_to_raw: false,
                checksums: BTreeMap::new(),
            }],
        }
    }

    #[test]
    fn sources_move_to_the_newest_artifact() {
        let mut index = Index::default();
        assert!(index.insert(record("a", 10, "u")).is_empty());
        assert_eq!(index.by_source("u", false).map(|r| r.id.as_str()), Some("a"));
        assert_eq!(index.insert(record("b", 5, "u")), vec!["a".to_owned()]);
        assert_eq!(index.by_source("u", false).map(|r| r.id.as_str()), Some("b"));
        assert!(index.get("a").is_some_and(|r| r.sources.is_empty()));
        assert_eq!(index.used_bytes(), 15);
        assert!(index.by_source("u", true).is_none());
        index.remove("b");
        assert!(index.by_source("u", false).is_none());
        assert_eq!(index.used_bytes(), 10);
    }

    #[test]
    fn pages_in_id_order() {
        let mut index = Index::default();
        for id in ["c", "a", "b"] {
            index.insert(record(id, 1, id));
        }
        let ids = |v: Vec<&Record>| v.into_iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(index.page("", 2)), ["a", "b"]);
        assert_eq!(ids(index.page("b", 2)), ["c"]);
    }
}
