//! Test helper for the embedded store's crash test (`tests/it/crash.rs`): writes
//! records as fast as it can from 16 concurrent writers and prints `ack <id>` for
//! each write the store acknowledged, until it is killed.
//!
//! Each write is one transaction putting two keys (a record and its index entry),
//! so the parent can check after `kill -9` that every acknowledged write is there,
//! whole, and that no transaction was torn.
//!
//! Usage: `ferric-store-crash-writer <store-file> <max-writes-per-writer> <tag>`
//! (ids are `<tag>-<writer>-<n>`, so successive runs write distinct keys).

use std::io::Write as _;

use ferric_store::embedded::EmbeddedStore;
use ferric_store::{Op, Store as _, Txn};

/// The value written for record `id`: long enough to span pages, checkable.
fn value_for(id: &str) -> Vec<u8> {
    id.as_bytes().iter().copied().cycle().take(2048).collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(max), Some(tag)) = (args.next(), args.next(), args.next()) else {
        eprintln!("usage: ferric-store-crash-writer <store-file> <max-writes-per-writer> <tag>");
        std::process::exit(2);
    };
    let Ok(max) = max.parse::<usize>() else {
        eprintln!("max-writes-per-writer must be a number");
        std::process::exit(2);
    };
    let store = match EmbeddedStore::open(&path).await {
        Ok(store) => store,
        Err(err) => {
            eprintln!("cannot open {path}: {err}");
            std::process::exit(1);
        }
    };
    let (acks, mut acked) = tokio::sync::mpsc::unbounded_channel::<String>();
    for writer in 0..16 {
        let store = store.clone();
        let acks = acks.clone();
        let tag = tag.clone();
        tokio::spawn(async move {
            for i in 0..max {
                let id = format!("{tag}-{writer:02}-{i:06}");
                let txn = Txn::new()
                    .then(Op::put(format!("/crash/rec/{id}"), value_for(&id)))
                    .then(Op::put(format!("/crash/idx/{id}"), id.clone()));
                match store.txn(txn).await {
                    Ok(outcome) if outcome.succeeded => {
                        if acks.send(id).is_err() {
                            return;
                        }
                    }
                    Ok(_) => unreachable_refusal(),
                    Err(err) => {
                        eprintln!("write {id} failed: {err}");
                        std::process::exit(1);
                    }
                }
            }
        });
    }
    drop(acks);
    let mut stdout = std::io::stdout().lock();
    while let Some(id) = acked.recv().await {
        // One line per acknowledged write, flushed at once: the parent may kill us
        // at any moment and must only rely on what it has read.
        if writeln!(stdout, "ack {id}").and_then(|()| stdout.flush()).is_err() {
            return;
        }
    }
}

/// A transaction without compares cannot be refused.
fn unreachable_refusal() {
    eprintln!("a transaction without compares was refused");
    std::process::exit(1);
}
