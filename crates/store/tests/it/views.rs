//! Views follow their prefix on every backend: a write is visible once the view
//! reaches the write's revision, deletes disappear, other prefixes are ignored.

use std::time::Duration;

use ferric_store::view::PrefixView;
use ferric_store::{KeyValue, Op, Txn};

use crate::backends::Backend;

fn text(kv: &KeyValue) -> Option<String> {
    String::from_utf8(kv.value.clone()).ok()
}

pub async fn view_follows_puts_and_deletes(backend: &Backend) {
    let store = &backend.store;
    store.txn(Txn::new().then(Op::put("/v/a", "1"))).await.unwrap();
    let view = PrefixView::follow(store.clone(), "/v/", text).await.unwrap();
    assert_eq!(view.get("/v/a").as_deref().map(String::as_str), Some("1"), "the initial read is in the view");

    let written =
        store.txn(Txn::new().then(Op::put("/v/b", "2")).then(Op::put("/other/c", "3"))).await.unwrap();
    view.wait_for(written.revision, Duration::from_secs(10)).await.unwrap();
    assert_eq!(view.get("/v/b").as_deref().map(String::as_str), Some("2"));
    assert!(view.get("/other/c").is_none(), "keys outside the prefix stay out");

    let deleted = store.txn(Txn::new().then(Op::delete("/v/a"))).await.unwrap();
    view.wait_for(deleted.revision, Duration::from_secs(10)).await.unwrap();
    assert!(view.get("/v/a").is_none());
    let mut all: Vec<String> = view.snapshot().iter().map(|v| v.to_string()).collect();
    all.sort();
    assert_eq!(all, ["2"]);
}

pub async fn view_wait_times_out_for_a_revision_never_written(backend: &Backend) {
    let view = PrefixView::follow(backend.store.clone(), "/w/", text).await.unwrap();
    let far = view.revision() + 1_000;
    assert!(view.wait_for(far, Duration::from_millis(200)).await.is_err());
}
