//! The distributed backend: a thin adapter from the [`Store`] contract to etcd v3
//! through `etcd-client`.
//!
//! Every call is bounded by [`EtcdOptions::request_timeout`]; when etcd does not
//! answer in time, or cannot be reached, the call fails with
//! [`StoreError::Unavailable`] naming the endpoints, and the caller decides whether
//! to retry. Nothing has to be reconnected by hand: the client's channel redials the
//! endpoints by itself, so calls succeed again as soon as etcd is back (the outage
//! test in `tests/it` holds it to that).
//!
//! A watch stream ends (after one `Err` item) when its connection breaks or its
//! history is compacted; callers resume with a range read and a new watch from its
//! revision, exactly as they would with etcd directly.

mod convert;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use etcd_client as ec;
use futures::StreamExt as _;
use futures::stream::BoxStream;

use crate::{
    KeyValue, LeaseId, Op, RangePage, RangeRequest, Result, Store, StoreError, Txn, TxnOutcome, WatchEvent,
};

/// How the etcd client behaves; `Default` suits a LAN cluster.
#[derive(Debug, Clone)]
pub struct EtcdOptions {
    /// Upper bound of every call (and of opening a watch). Beyond it the call fails
    /// with [`StoreError::Unavailable`] instead of hanging while etcd is away.
    pub request_timeout: Duration,
    /// Upper bound for establishing a TCP connection to one endpoint.
    pub connect_timeout: Duration,
    /// HTTP/2 keep-alive ping interval: how fast a silently dead connection (and
    /// the watches on it) is noticed.
    pub keep_alive_interval: Duration,
    /// How long a keep-alive ping may go unanswered before the connection is dropped.
    pub keep_alive_timeout: Duration,
}

impl Default for EtcdOptions {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(3),
            keep_alive_interval: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(5),
        }
    }
}

/// A [`Store`] on an etcd cluster. Cheap to clone; clones share one connection.
#[derive(Clone)]
pub struct EtcdStore {
    client: ec::Client,
    options: EtcdOptions,
    /// The endpoints, comma-separated, for error messages.
    endpoints: Arc<str>,
    /// Granted TTLs, so a keep-alive can answer the TTL without a second call.
    ttls: Arc<Mutex<HashMap<i64, Duration>>>,
}

impl EtcdStore {
    /// Connects to the cluster at `endpoints` (`http://host:port`) and checks that
    /// it answers, so a wrong address fails at start-up with a clear message rather
    /// than at the first request.
    pub async fn connect(endpoints: &[String], options: EtcdOptions) -> Result<EtcdStore> {
        if endpoints.is_empty() {
            return Err(StoreError::InvalidArgument("no etcd endpoints configured".into()));
        }
        let label: Arc<str> = endpoints.join(",").into();
        let connect_options = ec::ConnectOptions::new()
            .with_connect_timeout(options.connect_timeout)
            .with_keep_alive(options.keep_alive_interval, options.keep_alive_timeout)
            .with_keep_alive_while_idle(true);
        let client = match tokio::time::timeout(
            options.request_timeout.max(options.connect_timeout),
            ec::Client::connect(endpoints, Some(connect_options)),
        )
        .await
        {
            Ok(Ok(client)) => client,
            Ok(Err(err)) => return Err(convert::error(err, &label)),
            Err(_) => return Err(unanswered(&label, "connect", options.request_timeout)),
        };
        let store = EtcdStore { client, options, endpoints: label, ttls: Arc::default() };
        store.current_revision().await?;
        Ok(store)
    }

    /// Compacts etcd's history before `revision`: watches from earlier revisions
    /// then fail with [`StoreError::Compacted`]. Compacting to an already compacted
    /// revision is a no-op, as in the embedded store.
    pub async fn compact(&self, revision: i64) -> Result<()> {
        let options = ec::CompactionOptions::new().with_physical();
        let compact = || {
            let (mut kv, options) = (self.client.kv_client(), options.clone());
            async move { kv.compact(revision, Some(options)).await }
        };
        match self.bounded("compact", compact).await {
            Ok(_) => Ok(()),
            Err(StoreError::Internal(message)) if message.contains("has been compacted") => Ok(()),
            Err(StoreError::Internal(message)) if message.contains("future revision") => {
                Err(StoreError::InvalidArgument(message))
            }
            Err(err) => Err(err),
        }
    }

    /// The endpoints this store talks to, as given to [`EtcdStore::connect`].
    pub fn endpoints(&self) -> &str {
        &self.endpoints
    }

    /// Runs one etcd call under the request timeout, mapping its error; a call
    /// that could not connect is made again (see [`failover`]).
    async fn bounded<T, F>(&self, what: &str, call: impl FnMut() -> F) -> Result<T>
    where
        F: Future<Output = Result<T, ec::Error>>,
    {
        self.bounded_with(what, call, convert::is_connect_failure).await
    }

    /// [`Self::bounded`] for reads, which are also made again when the connection
    /// broke mid-call (a member died): reading twice changes nothing.
    async fn bounded_read<T, F>(&self, what: &str, call: impl FnMut() -> F) -> Result<T>
    where
        F: Future<Output = Result<T, ec::Error>>,
    {
        self.bounded_with(what, call, convert::is_transport_failure).await
    }

    async fn bounded_with<T, F>(
        &self,
        what: &str,
        call: impl FnMut() -> F,
        retry: fn(&ec::Error) -> bool,
    ) -> Result<T>
    where
        F: Future<Output = Result<T, ec::Error>>,
    {
        match tokio::time::timeout(self.options.request_timeout, failover(call, retry)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(convert::error(err, &self.endpoints)),
            Err(_) => Err(unanswered(&self.endpoints, what, self.options.request_timeout)),
        }
    }

    /// Like [`Self::bounded`], but an etcd "lease not found" becomes
    /// [`StoreError::LeaseNotFound`] for `lease`.
    async fn bounded_lease<T, F>(&self, what: &str, lease: i64, call: impl FnMut() -> F) -> Result<T>
    where
        F: Future<Output = Result<T, ec::Error>>,
    {
        self.bounded_lease_with(what, lease, call, convert::is_connect_failure).await
    }

    /// [`Self::bounded_lease`] for calls that may be repeated after a broken
    /// connection (refreshing or reading a lease).
    async fn bounded_lease_read<T, F>(&self, what: &str, lease: i64, call: impl FnMut() -> F) -> Result<T>
    where
        F: Future<Output = Result<T, ec::Error>>,
    {
        self.bounded_lease_with(what, lease, call, convert::is_transport_failure).await
    }

    async fn bounded_lease_with<T, F>(
        &self,
        what: &str,
        lease: i64,
        call: impl FnMut() -> F,
        retry: fn(&ec::Error) -> bool,
    ) -> Result<T>
    where
        F: Future<Output = Result<T, ec::Error>>,
    {
        match tokio::time::timeout(self.options.request_timeout, failover(call, retry)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) if convert::is_lease_not_found(&err) => Err(StoreError::LeaseNotFound(lease)),
            Ok(Err(err)) => Err(convert::error(err, &self.endpoints)),
            Err(_) => Err(unanswered(&self.endpoints, what, self.options.request_timeout)),
        }
    }

    fn ttls(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Duration>> {
        self.ttls.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Makes `call`, and makes it again while it fails in a way `retry` accepts —
/// the member the client's balancer picked refuses the connection (a dead
/// member stays in the balancer; without this, one member down failed a share
/// of all calls although the others had quorum), or for reads, the connection
/// broke. Nothing was sent when connecting failed, so writes retry safely; the
/// caller's request timeout bounds the whole.
async fn failover<T, F>(
    mut call: impl FnMut() -> F,
    retry: fn(&ec::Error) -> bool,
) -> std::result::Result<T, ec::Error>
where
    F: Future<Output = std::result::Result<T, ec::Error>>,
{
    let mut pause = Duration::from_millis(5);
    loop {
        match call().await {
            Err(err) if retry(&err) => {
                tracing::debug!(error = %err, "etcd member unreachable; trying another");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

fn unanswered(endpoints: &str, what: &str, timeout: Duration) -> StoreError {
    StoreError::Unavailable(format!("etcd at {endpoints} did not answer {what} within {timeout:?}"))
}

#[async_trait::async_trait]
impl Store for EtcdStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let get = || {
            let mut kv = self.client.kv_client();
            async move { kv.get(key, None).await }
        };
        let response = self.bounded_read("get", get).await?;
        response.kvs().first().map(convert::kv).transpose()
    }

    async fn range(&self, range: RangeRequest) -> Result<RangePage> {
        let mut options = ec::GetOptions::new();
        if let Some(end) = &range.end {
            if range.start >= *end {
                // etcd would read this as "from start to the end of the keyspace".
                let revision = self.current_revision().await?;
                return Ok(RangePage { kvs: Vec::new(), more: false, revision });
            }
            options = options.with_range(end.as_str());
        }
        if range.limit > 0 {
            options = options.with_limit(i64::try_from(range.limit).unwrap_or(i64::MAX));
        }
        let start = range.start.as_str();
        let get = || {
            let (mut kv, options) = (self.client.kv_client(), options.clone());
            async move { kv.get(start, Some(options)).await }
        };
        let response = self.bounded_read("range", get).await?;
        let kvs = response.kvs().iter().map(convert::kv).collect::<Result<Vec<_>>>()?;
        let revision = response.header().map_or(0, |h| h.revision());
        Ok(RangePage { kvs, more: response.more(), revision })
    }

    async fn txn(&self, txn: Txn) -> Result<TxnOutcome> {
        crate::validate::txn(&txn)?;
        let lease = txn.ops.iter().find_map(|op| match op {
            Op::Put { lease: Some(lease), .. } => Some(lease.0),
            _ => None,
        });
        let request = convert::txn(&txn);
        let call = || {
            let (mut kv, request) = (self.client.kv_client(), request.clone());
            async move { kv.txn(request).await }
        };
        let response = match lease {
            Some(lease) => self.bounded_lease("txn", lease, call).await?,
            None => self.bounded("txn", call).await?,
        };
        let revision = response.header().map_or(0, |h| h.revision());
        Ok(TxnOutcome { succeeded: response.succeeded(), revision })
    }

    async fn watch(
        &self,
        prefix: &str,
        from_revision: i64,
    ) -> Result<BoxStream<'static, Result<WatchEvent>>> {
        let mut options = ec::WatchOptions::new().with_prefix();
        if from_revision > 0 {
            options = options.with_start_revision(from_revision);
        }
        let open = || {
            let (mut watch, options) = (self.client.watch_client(), options.clone());
            async move { watch.watch(prefix, Some(options)).await }
        };
        let stream = self.bounded_read("watch", open).await?;
        let state = WatchState {
            stream,
            pending: std::collections::VecDeque::new(),
            ended: false,
            from_revision,
            endpoints: self.endpoints.clone(),
        };
        Ok(futures::stream::unfold(state, WatchState::next).boxed())
    }

    async fn lease_grant(&self, ttl: Duration) -> Result<LeaseId> {
        if ttl.is_zero() {
            return Err(StoreError::InvalidArgument("a lease needs a positive TTL".into()));
        }
        // etcd counts in whole seconds: round up so the lease lives at least `ttl`.
        let seconds = i64::try_from(ttl.as_millis().div_ceil(1000)).unwrap_or(i64::MAX).max(1);
        let grant = || {
            let mut lease = self.client.lease_client();
            async move { lease.grant(seconds, None).await }
        };
        let response = self.bounded("lease grant", grant).await?;
        if !response.error().is_empty() {
            return Err(StoreError::Internal(format!("etcd lease grant: {}", response.error())));
        }
        let granted = Duration::from_secs(u64::try_from(response.ttl()).unwrap_or(0).max(1));
        self.ttls().insert(response.id(), granted);
        Ok(LeaseId(response.id()))
    }

    async fn lease_keep_alive(&self, lease: LeaseId) -> Result<Duration> {
        // One refresh: opening the keep-alive stream sends one request and waits for
        // its answer (TTL 0 = gone).
        let keep_alive = || {
            let mut client = self.client.lease_client();
            async move { client.keep_alive(lease.0).await }
        };
        let refreshed = self.bounded_lease_read("lease keep-alive", lease.0, keep_alive).await;
        if let Err(StoreError::LeaseNotFound(_)) = &refreshed {
            self.ttls().remove(&lease.0);
        }
        drop(refreshed?);
        if let Some(ttl) = self.ttls().get(&lease.0) {
            return Ok(*ttl);
        }
        // Granted by another process: ask etcd for the TTL once.
        let time_to_live = || {
            let mut client = self.client.lease_client();
            async move { client.time_to_live(lease.0, None).await }
        };
        let info = self.bounded_lease_read("lease time-to-live", lease.0, time_to_live).await?;
        if info.ttl() <= 0 {
            return Err(StoreError::LeaseNotFound(lease.0));
        }
        let granted = Duration::from_secs(u64::try_from(info.granted_ttl()).unwrap_or(0).max(1));
        self.ttls().insert(lease.0, granted);
        Ok(granted)
    }

    async fn lease_revoke(&self, lease: LeaseId) -> Result<()> {
        self.ttls().remove(&lease.0);
        let revoke = || {
            let mut client = self.client.lease_client();
            async move { client.revoke(lease.0).await }
        };
        self.bounded_lease("lease revoke", lease.0, revoke).await?;
        Ok(())
    }

    async fn current_revision(&self) -> Result<i64> {
        let options = ec::GetOptions::new().with_count_only();
        let get = || {
            let (mut kv, options) = (self.client.kv_client(), options.clone());
            async move { kv.get("\0", Some(options)).await }
        };
        let response = self.bounded_read("status", get).await?;
        response
            .header()
            .map(|h| h.revision())
            .ok_or_else(|| StoreError::Internal("etcd answered without a header".into()))
    }

    fn backend_name(&self) -> &'static str {
        "etcd"
    }
}

/// The state of one watch stream between polls.
struct WatchState {
    stream: ec::WatchStream,
    pending: std::collections::VecDeque<WatchEvent>,
    ended: bool,
    from_revision: i64,
    endpoints: Arc<str>,
}

impl WatchState {
    /// The next item: buffered events first, then the next response; after an error
    /// the stream ends.
    async fn next(mut self) -> Option<(Result<WatchEvent>, Self)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some((Ok(event), self));
            }
            if self.ended {
                return None;
            }
            let response = match self.stream.message().await {
                Ok(Some(response)) => response,
                Ok(None) => {
                    self.ended = true;
                    let err =
                        StoreError::Unavailable(format!("etcd at {}: watch stream closed", self.endpoints));
                    return Some((Err(err), self));
                }
                Err(err) => {
                    self.ended = true;
                    return Some((Err(convert::error(err, &self.endpoints)), self));
                }
            };
            if response.canceled() {
                self.ended = true;
                let err = if response.compact_revision() > 0 {
                    StoreError::Compacted {
                        requested: self.from_revision,
                        oldest: response.compact_revision(),
                    }
                } else {
                    StoreError::Unavailable(format!(
                        "etcd at {}: watch cancelled: {}",
                        self.endpoints,
                        response.cancel_reason()
                    ))
                };
                return Some((Err(err), self));
            }
            for event in response.events() {
                match convert::event(event) {
                    Ok(Some(event)) => self.pending.push_back(event),
                    Ok(None) => {}
                    Err(err) => {
                        self.ended = true;
                        return Some((Err(err), self));
                    }
                }
            }
        }
    }
}
