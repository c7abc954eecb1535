//! Node history: every state change and failure the conductor causes, stored under
//! the node as `/ferric/history/<node>/<sequence>` and served newest first by
//! `GetNodeHistory` (Ironic's `/v1/nodes/{node}/history`).
//!
//! Writes go through one background writer that batches whatever is queued into
//! a single store transaction, so recording an event never adds a round trip to a
//! transition: at 1000 concurrent deploys the history costs a handful of
//! transactions per second, not one per event. [`History::flush`] waits until
//! everything recorded so far is stored, which is what a reader wants first.

use chrono::{DateTime, Utc};
use ferric_model::{HistoryEvent, HistorySeverity, Node};
use ferric_store::{DynStore, Op, RangeRequest, Txn};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::error::Result;

/// Where history lives.
pub const HISTORY_PREFIX: &str = "/ferric/history/";

/// Events written per transaction at most.
const BATCH: usize = 512;

enum Message {
    Put(String, Vec<u8>),
    Flush(oneshot::Sender<()>),
}

/// The history of every node, with a batching writer.
#[derive(Clone)]
pub struct History {
    store: DynStore,
    tx: mpsc::UnboundedSender<Message>,
}

impl History {
    /// Starts the writer on the current runtime; it stops when the last clone is
    /// dropped, after writing what is queued.
    pub fn start(store: DynStore) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(writer(store.clone(), rx));
        Self { store, tx }
    }

    /// Records one event about `node` as it is now (its state and target are the
    /// 1.115 `state` and `target_provision_state`).
    pub fn record(
        &self,
        node: &Node,
        severity: HistorySeverity,
        event_type: &str,
        event: impl Into<String>,
        conductor: &str,
    ) {
        let created_at = Utc::now();
        let entry = HistoryEvent {
            uuid: Uuid::new_v4(),
            created_at,
            severity,
            event_type: event_type.to_owned(),
            event: event.into(),
            conductor: Some(conductor.to_owned()),
            user: None,
            project: None,
            state: Some(node.provision_state),
            target_provision_state: node.target_provision_state,
            duration_seconds: None,
        };
        let key = event_key(&node.uuid.to_string(), created_at, entry.uuid);
        match serde_json::to_vec(&entry) {
            Ok(value) => {
                // A closed channel means the process is stopping; history is best effort then.
                let _ = self.tx.send(Message::Put(key, value));
            }
            Err(error) => tracing::warn!(%error, "cannot encode a history event"),
        }
    }

    /// Waits until every event recorded before this call is stored.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }

    /// The node's events, newest first, at most `limit` (0 = all), starting after
    /// the event `marker` (the last UUID of the previous page).
    pub async fn list(&self, node: &str, limit: usize, marker: Option<&str>) -> Result<Vec<HistoryEvent>> {
        self.flush().await;
        let page = self.store.range(RangeRequest::prefix(&format!("{HISTORY_PREFIX}{node}/"))).await?;
        let mut events: Vec<HistoryEvent> =
            page.kvs.iter().filter_map(|kv| serde_json::from_slice(&kv.value).ok()).collect();
        events.reverse();
        if let Some(marker) = marker {
            match events.iter().position(|e| e.uuid.to_string() == marker) {
                Some(at) => {
                    events.drain(..=at);
                }
                None => events.clear(),
            }
        }
        if limit > 0 {
            events.truncate(limit);
        }
        Ok(events)
    }
}

/// Keys sort by time, then by the event's UUID so two events of one microsecond
/// both survive.
fn event_key(node: &str, at: DateTime<Utc>, uuid: Uuid) -> String {
    let micros = at.timestamp_micros().max(0);
    format!("{HISTORY_PREFIX}{node}/{micros:020}-{uuid}")
}

/// Writes one batch, retrying while the store is briefly unavailable (an etcd
/// member just died): events are idempotent puts under unique keys, so a retry
/// after a lost reply cannot duplicate them.
async fn write_batch(store: &DynStore, ops: Vec<Op>) {
    let mut pause = std::time::Duration::from_millis(50);
    for _ in 0..WRITE_ATTEMPTS {
        match store.txn(Txn { compares: Vec::new(), ops: ops.clone() }).await {
            Ok(_) => return,
            Err(error) if error.is_transient() => {
                tracing::debug!(%error, "node history write failed; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_secs(1));
            }
            Err(error) => {
                tracing::warn!(%error, "cannot store node history events");
                return;
            }
        }
    }
    tracing::warn!(events = ops.len(), "store unavailable; node history events dropped");
}

/// Attempts per history batch while the store is unavailable (about 8 s).
const WRITE_ATTEMPTS: u32 = 12;

async fn writer(store: DynStore, mut rx: mpsc::UnboundedReceiver<Message>) {
    while let Some(first) = rx.recv().await {
        let mut ops = Vec::new();
        let mut waiters = Vec::new();
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Put(key, value) => ops.push(Op::put(key, value)),
                Message::Flush(done) => waiters.push(done),
            }
            if ops.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !ops.is_empty() {
            write_batch(&store, ops).await;
        }
        for done in waiters {
            let _ = done.send(());
        }
    }
}
