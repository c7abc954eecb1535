//! The embedded store survives `kill -9` in the middle of a burst of writes: every
//! write it acknowledged is there after reopening, whole, and no transaction is
//! half-applied. The writer is a separate process (`ferric-store-crash-writer`)
//! so the kill is a real SIGKILL, not a simulated one.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use ferric_store::embedded::EmbeddedStore;
use ferric_store::{RangeRequest, Store as _};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;

fn value_for(id: &str) -> Vec<u8> {
    id.as_bytes().iter().copied().cycle().take(2048).collect()
}

/// Runs the writer until it has acknowledged `kill_after` writes, SIGKILLs it, and
/// returns every id it acknowledged (including lines still in the pipe).
async fn write_and_kill(path: &std::path::Path, tag: &str, kill_after: usize) -> BTreeSet<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferric-store-crash-writer"))
        .arg(path)
        .arg("100000")
        .arg(tag)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start the crash writer");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let mut acked = BTreeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while acked.len() < kill_after {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .expect("the writer acknowledges writes in time")
            .expect("read the writer's output")
            .expect("the writer does not stop by itself");
        acked.insert(line.strip_prefix("ack ").expect("ack line").to_owned());
    }
    // `start_kill` sends SIGKILL on Unix.
    child.start_kill().expect("SIGKILL the writer");
    let status = child.wait().await.expect("reap the writer");
    assert!(!status.success(), "the writer was killed, not finished");
    while let Some(line) = lines.next_line().await.expect("drain the pipe") {
        if let Some(id) = line.strip_prefix("ack ") {
            acked.insert(id.to_owned());
        }
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.redb");
    let mut all_acked = BTreeSet::new();
    // Twice: the second run also checks that a store recovered from a crash keeps
    // working and crashes cleanly again.
    for (round, kill_after) in [(1, 300), (2, 600)] {
        all_acked.extend(write_and_kill(&path, &format!("r{round}"), kill_after).await);
        let store =
            EmbeddedStore::open(&path).await.unwrap_or_else(|e| panic!("reopen after kill #{round}: {e}"));
        let records = store.range(RangeRequest::prefix("/crash/rec/")).await.unwrap();
        let index = store.range(RangeRequest::prefix("/crash/idx/")).await.unwrap();
        let record_ids: BTreeSet<String> =
            records.kvs.iter().map(|kv| kv.key.trim_start_matches("/crash/rec/").to_owned()).collect();
        let index_ids: BTreeSet<String> =
            index.kvs.iter().map(|kv| kv.key.trim_start_matches("/crash/idx/").to_owned()).collect();
        assert_eq!(record_ids, index_ids, "round {round}: a transaction was torn");
        let missing: Vec<&String> = all_acked.difference(&record_ids).collect();
        assert!(missing.is_empty(), "round {round}: acknowledged writes lost: {missing:?}");
        for kv in &records.kvs {
            let id = kv.key.trim_start_matches("/crash/rec/");
            assert_eq!(kv.value, value_for(id), "round {round}: record {id} is damaged");
            assert_eq!(kv.version, 1);
        }
        for kv in &index.kvs {
            assert_eq!(kv.value, kv.key.trim_start_matches("/crash/idx/").as_bytes());
        }
        // Each transaction had its own revision; the counter survived.
        assert!(store.current_revision().await.unwrap() > records.kvs.len() as i64);
        store.close().await.unwrap();
    }
}
