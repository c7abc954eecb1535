//! The conductor list behind `/v1/conductors`: live members and those that crashed
//! without leaving, from the two record prefixes.

use std::collections::BTreeMap;

use ferric_store::{DynStore, RangeRequest};

use crate::error::ClusterError;
use crate::record::{
    ConductorRecord, KNOWN_PREFIX, KnownValue, MEMBERS_PREFIX, MemberValue, decode, hostname_of,
};

/// Lists every known conductor for `/v1/conductors`: live members (`alive: true`)
/// and those that crashed without leaving (`alive: false`), sorted by hostname.
pub async fn list_conductors(store: &DynStore) -> Result<Vec<ConductorRecord>, ClusterError> {
    let members = store
        .range(RangeRequest::prefix(MEMBERS_PREFIX))
        .await
        .map_err(ClusterError::store("listing conductors"))?;
    let known = store
        .range(RangeRequest::prefix(KNOWN_PREFIX))
        .await
        .map_err(ClusterError::store("listing conductors"))?;
    let mut records: BTreeMap<String, ConductorRecord> = BTreeMap::new();
    for kv in &known.kvs {
        let (Some(hostname), Some(value)) =
            (hostname_of(KNOWN_PREFIX, &kv.key), decode::<KnownValue>(&kv.key, &kv.value))
        else {
            continue;
        };
        records.insert(
            hostname.to_owned(),
            ConductorRecord {
                hostname: hostname.to_owned(),
                conductor_group: value.info.conductor_group,
                alive: false,
                drivers: value.info.hardware_types,
                address: value.info.address,
                version: value.info.version,
                created_at: value.created_at,
                updated_at: Some(value.updated_at),
            },
        );
    }
    for kv in &members.kvs {
        let (Some(hostname), Some(value)) =
            (hostname_of(MEMBERS_PREFIX, &kv.key), decode::<MemberValue>(&kv.key, &kv.value))
        else {
            continue;
        };
        let record = records.entry(hostname.to_owned()).or_insert_with(|| ConductorRecord {
            hostname: hostname.to_owned(),
            conductor_group: String::new(),
            alive: true,
            drivers: Vec::new(),
            address: String::new(),
            version: String::new(),
            created_at: value.registered_at,
            updated_at: None,
        });
        // The live registration is authoritative for what the conductor serves.
        record.alive = true;
        record.conductor_group = value.info.conductor_group;
        record.drivers = value.info.hardware_types;
        record.address = value.info.address;
        record.version = value.info.version;
    }
    Ok(records.into_values().collect())
}

/// One conductor by hostname, for `/v1/conductors/{hostname}`.
pub async fn get_conductor(
    store: &DynStore,
    hostname: &str,
) -> Result<Option<ConductorRecord>, ClusterError> {
    Ok(list_conductors(store).await?.into_iter().find(|record| record.hostname == hostname))
}
