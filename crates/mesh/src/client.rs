//! [`ServiceClient`]: a tonic transport to all instances of one service kind.
//!
//! It is what generated clients are built on (`PowerServiceClient::new(client)`),
//! and adds to tonic's balanced `Channel` what every internal call needs: the
//! caller's trace context, a deadline (sent as `grpc-timeout` and enforced here;
//! never later than the deadline of the request being served, see
//! [`crate::deadline`]),
//! and a fast UNAVAILABLE when no instance is registered, so retries can wait for
//! one instead of each call hanging until its deadline.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use ferric_store::DynStore;
use tonic::Status;
use tonic::body::Body;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tower::Service;

use crate::policy::{RetryPolicy, decode_grpc_timeout, encode_grpc_timeout, retry};
use crate::{MeshError, ServiceKind, TlsFiles, discovery};

/// How a [`ServiceClient`] connects and calls.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Deadline of a call that sets none itself (`Request::set_timeout` wins).
    pub call_timeout: Duration,
    /// How long establishing one connection may take.
    pub connect_timeout: Duration,
    /// Retries of [`ServiceClient::idempotent`] calls.
    pub retry: RetryPolicy,
    /// Client TLS for instances registered with `https://`; such instances are
    /// skipped (with a warning) when unset.
    pub tls: Option<ClientTlsConfig>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            call_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            tls: None,
        }
    }
}

impl ClientOptions {
    /// Sets the client TLS identity from the process's `[tls]` files (none: plain
    /// HTTP/2 only), as every service that calls another does at start-up.
    pub async fn with_tls_files(mut self, files: Option<&TlsFiles>) -> Result<Self, MeshError> {
        self.tls = match files {
            Some(files) => Some(files.client_config().await?),
            None => None,
        };
        Ok(self)
    }

    /// The tonic endpoint for one instance address.
    pub(crate) fn endpoint(&self, address: &str) -> Result<Endpoint, MeshError> {
        let invalid = |source| MeshError::InvalidAddress { address: address.to_owned(), source };
        let mut endpoint = Endpoint::from_shared(address.to_owned())
            .map_err(invalid)?
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true)
            // Notice dead peers on idle connections instead of on the next call.
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_timeout(Duration::from_secs(10));
        if address.starts_with("https://")
            && let Some(tls) = &self.tls
        {
            endpoint = endpoint.tls_config(tls.clone()).map_err(invalid)?;
        }
        Ok(endpoint)
    }
}

/// A cloneable transport to every instance of one service, balanced (tonic's
/// balance channel: tower's p2c `Balance` over the discovered set, power of two
/// choices) and kept up to date from the store. Clones share connections.
#[derive(Debug, Clone)]
pub struct ServiceClient {
    channel: Channel,
    /// Known instances, when discovered; `None` for static endpoints.
    live: Option<Arc<AtomicUsize>>,
    kind: Option<ServiceKind>,
    options: Arc<ClientOptions>,
}

impl ServiceClient {
    /// Balances over the instances of `kind` registered in `store`, following
    /// registrations as they come and go. Fails only if the first read of the
    /// registrations fails; later store trouble is retried in the background. The
    /// watch stops when the last clone of the client is dropped.
    pub async fn discover(
        store: DynStore,
        kind: ServiceKind,
        options: ClientOptions,
    ) -> Result<Self, MeshError> {
        let options = Arc::new(options);
        let (channel, live) = discovery::start(store, kind, options.clone()).await?;
        Ok(Self { channel, live: Some(live), kind: Some(kind), options })
    }

    /// Balances over a fixed list of addresses (`host:port` or URIs), for
    /// deployments and tests without a store.
    pub fn static_endpoints<A: AsRef<str>>(
        addresses: &[A],
        options: ClientOptions,
    ) -> Result<Self, MeshError> {
        let endpoints = addresses
            .iter()
            .map(|a| options.endpoint(&crate::registry::normalize_address(a.as_ref())))
            .collect::<Result<Vec<_>, _>>()?;
        let channel = Channel::balance_list(endpoints.into_iter());
        Ok(Self { channel, live: None, kind: None, options: Arc::new(options) })
    }

    /// The underlying balanced channel, without deadlines or trace injection; for
    /// code that needs a plain `Channel`.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// How many instances discovery currently knows; `None` for static endpoints.
    pub fn instance_count(&self) -> Option<usize> {
        self.live.as_ref().map(|live| live.load(Ordering::Acquire))
    }

    /// The options this client was built with.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Runs an idempotent call with this client's retry policy:
    /// `client.idempotent(|c| async move { PowerServiceClient::new(c).get_power_state(req).await })`.
    /// Each attempt gets a fresh clone, so p2c may pick another instance.
    pub async fn idempotent<T, F, Fut>(&self, mut call: F) -> Result<T, Status>
    where
        F: FnMut(ServiceClient) -> Fut,
        Fut: Future<Output = Result<T, Status>>,
    {
        retry(&self.options.retry, || call(self.clone())).await
    }
}

/// Errors a [`ServiceClient`] call can fail with before reaching a server.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Service<http::Request<Body>> for ServiceClient {
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.channel.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        if self.instance_count() == Some(0) {
            // The slot reserved by poll_ready stays with this clone for its next call.
            let kind = self.kind.map_or("service", ServiceKind::as_str);
            let status = Status::unavailable(format!("no {kind} instance is registered"));
            return Box::pin(std::future::ready(Err(status.into())));
        }
        let headers = request.headers_mut();
        ferric_telemetry::propagation::inject_headers(
            &ferric_telemetry::propagation::current_context(),
            headers,
        );
        let own =
            headers.get("grpc-timeout").and_then(decode_grpc_timeout).unwrap_or(self.options.call_timeout);
        // Never outlive the request this call is made for.
        let deadline = crate::deadline::remaining().map_or(own, |left| own.min(left));
        if deadline.is_zero() {
            let status = Status::deadline_exceeded("the request this call serves is past its deadline");
            return Box::pin(std::future::ready(Err(status.into())));
        }
        headers.insert("grpc-timeout", encode_grpc_timeout(deadline));
        // The instance poll_ready reserved a slot on makes the first attempt; a
        // fresh clone takes its place for this client's next call.
        let mut ready = self.channel.clone();
        std::mem::swap(&mut ready, &mut self.channel);
        let kind = self.kind.map_or("service", ServiceKind::as_str);
        Box::pin(async move {
            let expired = || Status::deadline_exceeded(format!("no response within {deadline:?}")).into();
            match tokio::time::timeout(deadline, call_with_failover(ready, request)).await {
                Ok(Ok(response)) => Ok(response),
                // tonic's channel enforces `grpc-timeout` too, and reports it as
                // CANCELLED; it is our deadline, so say so.
                Ok(Err(err)) if is_timeout(&*err) => Err(expired()),
                // Transport failures are UNAVAILABLE in gRPC's own terms (tonic
                // leaves them UNKNOWN), so callers treat them as retryable.
                Ok(Err(err)) => {
                    Err(Status::unavailable(format!("{kind} instance unreachable: {err}")).into())
                }
                Err(_) => Err(expired()),
            }
        })
    }
}

/// First pause before another attempt after a refused connection; doubles up to
/// [`FAILOVER_PAUSE_MAX`].
const FAILOVER_PAUSE: Duration = Duration::from_millis(5);
const FAILOVER_PAUSE_MAX: Duration = Duration::from_millis(100);
/// Attempts of one call while instances refuse connections (about 0.35 s in
/// all): enough for the balancer to find a live instance beside a dead one,
/// few enough that a caller whose every instance is gone gets UNAVAILABLE fast.
const FAILOVER_ATTEMPTS: u32 = 8;

/// Sends `request` through `channel`; when the picked instance is unreachable
/// before the request left (see [`never_reached_server`]: it died and its
/// registration has not lapsed yet) — sends it again through the balancer, which may pick
/// a live instance, up to [`FAILOVER_ATTEMPTS`] times within the caller's
/// deadline (enforced around this future). Only requests that never reached a live server are
/// retried, so even calls that are not idempotent are safe: without this, every call routed to a dead
/// instance within its lease TTL failed. Requests are unary (no contract streams
/// requests), so the body is buffered for the retries.
async fn call_with_failover(
    mut channel: Channel,
    request: http::Request<Body>,
) -> Result<http::Response<Body>, BoxError> {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(|e| -> BoxError { Box::new(e) })?.to_bytes();
    let rebuild = || {
        let mut request = http::Request::new(Body::new(http_body_util::Full::new(body.clone())));
        *request.method_mut() = parts.method.clone();
        *request.uri_mut() = parts.uri.clone();
        *request.version_mut() = parts.version;
        *request.headers_mut() = parts.headers.clone();
        *request.extensions_mut() = parts.extensions.clone();
        request
    };
    let mut pause = FAILOVER_PAUSE;
    let mut attempt = 1;
    loop {
        match channel.call(rebuild()).await {
            Err(err) if never_reached_server(&err) && attempt < FAILOVER_ATTEMPTS => {
                attempt += 1;
                tracing::debug!(error = %err, "instance refused the connection; trying another");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(FAILOVER_PAUSE_MAX);
                channel = channel.clone();
                channel.ready().await.map_err(|e| -> BoxError { Box::new(e) })?;
            }
            other => return other.map_err(Into::into),
        }
    }
}

/// Whether a transport error means the request never reached a server:
/// connecting failed (refused, or no answer within the connect timeout). A
/// connection that breaks later (broken pipe, reset) may have delivered the
/// request, so that is left to the caller (it surfaces as UNAVAILABLE).
fn never_reached_server(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(err) = source {
        if err.is::<tonic::ConnectError>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// Whether a transport error is tonic's own deadline expiry.
fn is_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(err) = source {
        if err.is::<tonic::TimeoutExpired>() {
            return true;
        }
        source = err.source();
    }
    false
}
