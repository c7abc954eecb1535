//! Records with unique secondary keys, on every backend.

use ferric_store::records::{Collection, Record};
use ferric_store::{Op, StoreError, Txn};
use serde::{Deserialize, Serialize};

use crate::backends::Backend;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Node {
    uuid: String,
    name: Option<String>,
    instance_uuid: Option<String>,
    driver: String,
}

impl Record for Node {
    const KIND: &'static str = "nodes";
    fn id(&self) -> String {
        self.uuid.clone()
    }
    fn unique_keys(&self) -> Vec<(&'static str, String)> {
        let mut keys = Vec::new();
        if let Some(name) = &self.name {
            keys.push(("name", name.clone()));
        }
        if let Some(instance) = &self.instance_uuid {
            keys.push(("instance_uuid", instance.clone()));
        }
        keys
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Port {
    uuid: String,
    address: String,
}

impl Record for Port {
    const KIND: &'static str = "ports";
    fn id(&self) -> String {
        self.uuid.clone()
    }
    fn unique_keys(&self) -> Vec<(&'static str, String)> {
        vec![("address", self.address.to_lowercase())]
    }
}

fn node(uuid: &str, name: Option<&str>) -> Node {
    Node { uuid: uuid.into(), name: name.map(Into::into), instance_uuid: None, driver: "ipmi".into() }
}

pub async fn create_enforces_unique_keys(b: &Backend) {
    let nodes = Collection::<Node>::new(b.store.clone());
    let created = nodes.create(&node("n1", Some("alpha"))).await.unwrap();
    assert_eq!(created.record, node("n1", Some("alpha")));
    assert_eq!(created.mod_revision, created.create_revision);
    assert_eq!(nodes.get("n1").await.unwrap().unwrap(), created);
    assert_eq!(nodes.get_by("name", "alpha").await.unwrap().unwrap().record.uuid, "n1");

    let clash = nodes.create(&node("n2", Some("alpha"))).await;
    assert_eq!(
        clash,
        Err(StoreError::UniqueViolation { index: "name".into(), value: "alpha".into(), owner: "n1".into() })
    );
    assert_eq!(nodes.get("n2").await.unwrap(), None, "a refused create writes nothing");
    let again = nodes.create(&node("n1", Some("beta"))).await;
    assert!(matches!(again, Err(StoreError::AlreadyExists(_))), "{again:?}");
    assert_eq!(nodes.get_by("name", "beta").await.unwrap(), None, "nor its unique keys");

    // Unset indexes are not claimed; other kinds have their own unique space.
    nodes.create(&node("n3", None)).await.unwrap();
    nodes.create(&node("n4", None)).await.unwrap();
    let ports = Collection::<Port>::new(b.store.clone());
    ports.create(&Port { uuid: "p1".into(), address: "AA:BB:CC:00:00:01".into() }).await.unwrap();
    let dup = ports.create(&Port { uuid: "p2".into(), address: "aa:bb:cc:00:00:01".into() }).await;
    assert!(matches!(dup, Err(StoreError::UniqueViolation { ref owner, .. }) if owner == "p1"), "{dup:?}");
    let same_value_other_kind = Node { name: Some("aa:bb:cc:00:00:01".into()), ..node("n5", None) };
    nodes.create(&same_value_other_kind).await.unwrap();
}

pub async fn update_is_compare_and_swap(b: &Backend) {
    let nodes = Collection::<Node>::new(b.store.clone());
    let v1 = nodes.create(&node("n1", Some("alpha"))).await.unwrap();
    nodes.create(&node("n2", Some("beta"))).await.unwrap();

    let mut renamed = v1.record.clone();
    renamed.name = Some("gamma".into());
    let v2 = nodes.update(&renamed, v1.mod_revision).await.unwrap();
    assert!(v2.mod_revision > v1.mod_revision);
    assert_eq!(v2.create_revision, v1.create_revision);
    assert_eq!(nodes.get_by("name", "alpha").await.unwrap(), None, "the old name is freed");
    assert_eq!(nodes.get_by("name", "gamma").await.unwrap().unwrap().record.uuid, "n1");
    nodes.create(&node("n3", Some("alpha"))).await.unwrap();

    // The stale token loses, whatever it writes.
    let mut stale = v1.record.clone();
    stale.driver = "redfish".into();
    let lost = nodes.update(&stale, v1.mod_revision).await;
    assert!(matches!(lost, Err(StoreError::Conflict(_))), "{lost:?}");
    assert_eq!(nodes.get("n1").await.unwrap().unwrap(), v2);

    // Taking another record's name is refused and changes nothing.
    let mut thief = v2.record.clone();
    thief.name = Some("beta".into());
    thief.instance_uuid = Some("i-1".into());
    let refused = nodes.update(&thief, v2.mod_revision).await;
    assert_eq!(
        refused,
        Err(StoreError::UniqueViolation { index: "name".into(), value: "beta".into(), owner: "n2".into() })
    );
    assert_eq!(nodes.get("n1").await.unwrap().unwrap(), v2);
    assert_eq!(nodes.get_by("instance_uuid", "i-1").await.unwrap(), None);

    // Setting an index that was unset claims it.
    let mut deployed = v2.record.clone();
    deployed.instance_uuid = Some("i-1".into());
    let v3 = nodes.update(&deployed, v2.mod_revision).await.unwrap();
    assert_eq!(nodes.get_by("instance_uuid", "i-1").await.unwrap().unwrap(), v3);

    let missing = nodes.update(&node("nope", None), 5).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");
}

pub async fn delete_frees_unique_keys(b: &Backend) {
    let nodes = Collection::<Node>::new(b.store.clone());
    let v1 =
        nodes.create(&Node { instance_uuid: Some("i-9".into()), ..node("n1", Some("alpha")) }).await.unwrap();
    let stale = nodes.delete("n1", Some(v1.mod_revision - 1)).await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    nodes.delete("n1", Some(v1.mod_revision)).await.unwrap();
    assert_eq!(nodes.get("n1").await.unwrap(), None);
    assert_eq!(nodes.get_by("name", "alpha").await.unwrap(), None);
    assert!(b.store.range(ferric_store::records::unique_range::<Node>()).await.unwrap().kvs.is_empty());
    let gone = nodes.delete("n1", None).await;
    assert!(matches!(gone, Err(StoreError::NotFound(_))), "{gone:?}");
    // The name and instance can be used again.
    nodes.create(&Node { instance_uuid: Some("i-9".into()), ..node("n2", Some("alpha")) }).await.unwrap();
}

pub async fn racing_creates_one_winner(b: &Backend) {
    let mut tasks = Vec::new();
    for i in 0..8 {
        let nodes = Collection::<Node>::new(b.store.clone());
        tasks.push(tokio::spawn(
            async move { nodes.create(&node(&format!("n{i}"), Some("contested"))).await },
        ));
    }
    let mut winners = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => winners += 1,
            Err(StoreError::UniqueViolation { index, value, .. }) => {
                assert_eq!((index.as_str(), value.as_str()), ("name", "contested"));
            }
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    assert_eq!(winners, 1);
    let nodes = Collection::<Node>::new(b.store.clone());
    assert_eq!(nodes.list(None, 0).await.unwrap().items.len(), 1);
}

pub async fn list_paginates_in_id_order(b: &Backend) {
    let nodes = Collection::<Node>::new(b.store.clone());
    for i in [5, 1, 7, 3, 2, 6, 4] {
        nodes.create(&node(&format!("n{i}"), None)).await.unwrap();
    }
    let mut ids = Vec::new();
    let mut after = None;
    let mut sizes = Vec::new();
    loop {
        let page = nodes.list(after.as_deref(), 3).await.unwrap();
        sizes.push(page.items.len());
        ids.extend(page.items.iter().map(|v| v.record.uuid.clone()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(sizes, [3, 3, 1]);
    assert_eq!(ids, ["n1", "n2", "n3", "n4", "n5", "n6", "n7"]);
}

pub async fn bad_ids_and_corrupt_records(b: &Backend) {
    let nodes = Collection::<Node>::new(b.store.clone());
    for bad in ["", "a/b", "x\0y"] {
        let refused = nodes.create(&node(bad, None)).await;
        assert!(matches!(refused, Err(StoreError::InvalidArgument(_))), "{bad:?}: {refused:?}");
        assert!(matches!(nodes.get(bad).await, Err(StoreError::InvalidArgument(_))));
    }
    // Unique values may contain anything, even the path separator.
    nodes.create(&node("n1", Some("rack/1 node%2F"))).await.unwrap();
    assert_eq!(nodes.get_by("name", "rack/1 node%2F").await.unwrap().unwrap().record.uuid, "n1");
    assert_eq!(nodes.get_by("name", "rack").await.unwrap(), None);

    b.store.txn(Txn::new().then(Op::put("/ferric/nodes/broken", "{not json"))).await.unwrap();
    assert!(matches!(nodes.get("broken").await, Err(StoreError::Corrupt { .. })));
    assert!(matches!(nodes.list(None, 0).await, Err(StoreError::Corrupt { .. })));
}
