//! Which images to evict so a new one fits the quota: least recently used
//! first, never a pinned one, never the image being made room for.

use super::index::Record;

/// The outcome of planning room for `incoming` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Evict these ids (possibly none), oldest use first.
    Evict(Vec<String>),
    /// Even evicting every unpinned image would not make room; `pinned` bytes
    /// are held by pins.
    NoRoom {
        /// Bytes held by pinned images.
        pinned: u64,
    },
}

/// Plans eviction so that `used + incoming <= quota`, sparing pinned images and
/// `protect` (the id being committed, which may already be counted). A quota of
/// 0 means unlimited.
pub fn plan<'a>(records: impl Iterator<Item = &'a Record>, incoming: u64, quota: u64, protect: &str) -> Plan {
    if quota == 0 {
        return Plan::Evict(Vec::new());
    }
    let mut used = 0u64;
    let mut pinned = 0u64;
    let mut candidates: Vec<&Record> = Vec::new();
    for record in records {
        used = used.saturating_add(record.size);
        if record.is_pinned() || record.id == protect {
            pinned = pinned.saturating_add(record.size);
        } else {
            candidates.push(record);
        }
    }
    let mut needed = used.saturating_add(incoming).saturating_sub(quota);
    if needed == 0 {
        return Plan::Evict(Vec::new());
    }
    candidates.sort_by(|a, b| a.last_used_ms.cmp(&b.last_used_ms).then_with(|| a.id.cmp(&b.id)));
    let mut victims = Vec::new();
    for record in candidates {
        if needed == 0 {
            break;
        }
        needed = needed.saturating_sub(record.size);
        victims.push(record.id.clone());
    }
    if needed > 0 { Plan::NoRoom { pinned } } else { Plan::Evict(victims) }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn rec(id: &str, size: u64, used: u64, pinned: bool) -> Record {
        Record {
            id: id.into(),
            size,
            virtual_size: size,
            disk_format: "raw".into(),
            created_ms: 0,
            last_used_ms: used,
            pinned_by: if pinned { BTreeSet::from(["node".to_owned()]) } else { BTreeSet::new() },
            sources: Vec::new(),
        }
    }

    fn check(records: &[Record], incoming: u64, quota: u64, expected: Plan) {
        assert_eq!(plan(records.iter(), incoming, quota, "new"), expected);
    }

    #[test]
    fn evicts_least_recently_used_unpinned_first() {
        let records = [
            rec("old-pinned", 40, 1, true),
            rec("old", 30, 2, false),
            rec("mid", 30, 3, false),
            rec("new-ish", 30, 4, false),
        ];
        check(&records, 0, 0, Plan::Evict(vec![]));
        check(&records, 10, 200, Plan::Evict(vec![]));
        check(&records, 30, 150, Plan::Evict(vec!["old".into()]));
        check(&records, 60, 150, Plan::Evict(vec!["old".into(), "mid".into()]));
        check(&records, 200, 150, Plan::NoRoom { pinned: 40 });
    }

    #[test]
    fn spares_the_image_being_committed() {
        let records = [rec("new", 50, 0, false), rec("x", 50, 5, false)];
        check(&records, 0, 60, Plan::Evict(vec!["x".into()]));
        check(&records[..1], 0, 40, Plan::NoRoom { pinned: 50 });
    }
}
