//! Request checks shared by both backends, so a malformed request fails the same
//! way (with [`StoreError::InvalidArgument`]) whichever engine runs.

use std::collections::HashSet;

use crate::{Op, Result, StoreError, Txn};

/// Refuses what etcd refuses: empty keys, empty ranges, and a key written twice.
pub(crate) fn txn(txn: &Txn) -> Result<()> {
    let mut puts = HashSet::new();
    for compare in &txn.compares {
        if compare.key.is_empty() {
            return Err(StoreError::InvalidArgument("empty key in a compare".into()));
        }
    }
    for op in &txn.ops {
        match op {
            Op::Put { key, .. } if key.is_empty() => {
                return Err(StoreError::InvalidArgument("empty key in a put".into()));
            }
            Op::Put { key, .. } if !puts.insert(key.as_str()) => {
                return Err(StoreError::InvalidArgument(format!(
                    "key {key:?} is put twice in one transaction"
                )));
            }
            Op::Delete { key } if key.is_empty() => {
                return Err(StoreError::InvalidArgument("empty key in a delete".into()));
            }
            Op::DeleteRange { start, .. } if start.is_empty() => {
                return Err(StoreError::InvalidArgument("empty start of a delete range".into()));
            }
            _ => {}
        }
    }
    for op in &txn.ops {
        let overlaps = match op {
            Op::Delete { key } => puts.contains(key.as_str()),
            Op::DeleteRange { start, end } => puts.iter().any(|k| *k >= start.as_str() && *k < end.as_str()),
            Op::Put { .. } => false,
        };
        if overlaps {
            return Err(StoreError::InvalidArgument(
                "a key is both put and deleted in one transaction".into(),
            ));
        }
    }
    Ok(())
}
