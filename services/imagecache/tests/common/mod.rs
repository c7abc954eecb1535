//! Test harness: an HTTP origin the test controls (slow, dropping mid-body,
//! lying about length, corrupt, failing, ignoring ranges, gated), caches in temp
//! directories, and helpers that drive Ensure to its outcome.

#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use ferric_imagecache::cache::EnsureSpec;
use ferric_imagecache::fetch::SourceUrl;
use ferric_imagecache::flight::FlightState;
use ferric_imagecache::store::Record;
use ferric_imagecache::verify::ChecksumSpec;
use ferric_imagecache::{FetchOptions, ImageCache, ImageCacheError, ImageCacheSettings};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How the origin misbehaves for one path.
#[derive(Clone, Debug)]
pub enum Mode {
    /// Serves the bytes, honouring `Range: bytes=N-`.
    Good,
    /// The first `times` responses stop after `after` bytes (connection cut).
    DropAfter { after: usize, times: usize },
    /// Announces `extra` more bytes than it sends, every time.
    LieLength { extra: usize },
    /// Sends the bytes with one flipped.
    Corrupt,
    /// Answers this status `times` times, then behaves.
    Status { status: u16, times: usize },
    /// Sends `chunk` bytes at a time with `delay` between them.
    Slow { chunk: usize, delay: Duration },
    /// Waits for the gate to open before sending anything.
    Gated(watch::Receiver<bool>),
    /// Ignores Range: the first `times` responses drop after `after` bytes and
    /// every response is a full 200.
    IgnoreRange { after: usize, times: usize },
    /// Redirects (302) to another path.
    Redirect(String),
}

#[derive(Clone, Debug)]
struct Item {
    bytes: Bytes,
    mode: Mode,
}

#[derive(Default)]
struct OriginState {
    items: Mutex<HashMap<String, Item>>,
    gets: Mutex<HashMap<String, usize>>,
    ranges: Mutex<Vec<String>>,
}

/// A local origin on a free loopback port.
pub struct Origin {
    addr: SocketAddr,
    state: Arc<OriginState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn body_of(chunks: Vec<Result<Bytes, std::io::Error>>, delay: Option<Duration>) -> Body {
    let stream = async_stream(chunks, delay);
    Body::from_stream(stream)
}

/// A stream of chunks, optionally paced (the peer's behaviour, not test sync).
fn async_stream(
    chunks: Vec<Result<Bytes, std::io::Error>>,
    delay: Option<Duration>,
) -> impl tokio_stream::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        for chunk in chunks {
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            if tx.send(chunk).await.is_err() {
                return;
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

fn split(bytes: &Bytes, chunk: usize) -> Vec<Result<Bytes, std::io::Error>> {
    bytes.chunks(chunk.max(1)).map(|c| Ok(Bytes::copy_from_slice(c))).collect()
}

fn cut(bytes: &Bytes) -> Vec<Result<Bytes, std::io::Error>> {
    let mut chunks = split(bytes, 64 * 1024);
    chunks.push(Err(std::io::Error::other("origin cuts the connection")));
    chunks
}

fn range_start(headers: &HeaderMap) -> Option<usize> {
    headers.get(header::RANGE)?.to_str().ok()?.strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok()
}

async fn serve(State(state): State<Arc<OriginState>>, request: Request) -> Result<Response, Infallible> {
    let path = request.uri().path().to_owned();
    let headers = request.headers().clone();
    let Some(item) = state.items.lock().map(|m| m.get(&path).cloned()).ok().flatten() else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let n = {
        let mut gets = state.gets.lock().unwrap_or_else(|p| p.into_inner());
        let n = gets.entry(path.clone()).or_default();
        *n += 1;
        *n
    };
    if let Some(r) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        state.ranges.lock().unwrap_or_else(|p| p.into_inner()).push(r.to_owned());
    }
    let etag = HeaderValue::from_static("\"v1\"");
    let full = |chunks, delay, len: usize| {
        let mut r = Response::new(body_of(chunks, delay));
        r.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        r.headers_mut().insert(header::ETAG, etag.clone());
        r.headers_mut().insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        r
    };
    let bytes = item.bytes.clone();
    let start = range_start(&headers).filter(|s| *s <= bytes.len());
    let ranged = |chunks| {
        let start = start.unwrap_or(0);
        let mut r = Response::new(body_of(chunks, None));
        *r.status_mut() = StatusCode::PARTIAL_CONTENT;
        r.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len() - start));
        let range = format!("bytes {start}-{}/{}", bytes.len().saturating_sub(1), bytes.len());
        r.headers_mut().insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&range).unwrap_or(HeaderValue::from_static("")),
        );
        r
    };
    let response = match item.mode {
        Mode::Good => match start {
            Some(s) => ranged(split(&bytes.slice(s..), 64 * 1024)),
            None => full(split(&bytes, 64 * 1024), None, bytes.len()),
        },
        Mode::DropAfter { after, times } => {
            let s = start.unwrap_or(0);
            let rest = bytes.slice(s..);
            let chunks =
                if n <= times { cut(&rest.slice(..after.min(rest.len()))) } else { split(&rest, 64 * 1024) };
            if start.is_some() { ranged(chunks) } else { full(chunks, None, bytes.len()) }
        }
        Mode::IgnoreRange { after, times } => {
            let chunks = if n <= times {
                cut(&bytes.slice(..after.min(bytes.len())))
            } else {
                split(&bytes, 64 * 1024)
            };
            full(chunks, None, bytes.len())
        }
        Mode::LieLength { extra } => full(split(&bytes, 64 * 1024), None, bytes.len() + extra),
        Mode::Corrupt => {
            let mut v = bytes.to_vec();
            if let Some(b) = v.get_mut(bytes.len() / 2) {
                *b ^= 0xff;
            }
            full(split(&Bytes::from(v), 64 * 1024), None, bytes.len())
        }
        Mode::Status { status, times } if n <= times => {
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR).into_response()
        }
        Mode::Status { .. } => full(split(&bytes, 64 * 1024), None, bytes.len()),
        Mode::Slow { chunk, delay } => full(split(&bytes, chunk), Some(delay), bytes.len()),
        Mode::Gated(mut gate) => {
            let _ = gate.wait_for(|open| *open).await;
            full(split(&bytes, 64 * 1024), None, bytes.len())
        }
        Mode::Redirect(to) => {
            let mut r = StatusCode::FOUND.into_response();
            r.headers_mut().insert(
                header::LOCATION,
                HeaderValue::from_str(&to).unwrap_or(HeaderValue::from_static("/")),
            );
            r
        }
    };
    Ok(response)
}

impl Origin {
    /// Starts an empty origin.
    pub async fn start() -> Self {
        let state = Arc::new(OriginState::default());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind origin");
        let addr = listener.local_addr().expect("origin addr");
        let app = Router::new().fallback(serve).with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, state, task }
    }

    /// Serves `bytes` at `path` with `mode`; returns its URL.
    pub fn put(&self, path: &str, bytes: impl Into<Bytes>, mode: Mode) -> String {
        self.state
            .items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(path.to_owned(), Item { bytes: bytes.into(), mode });
        self.url(path)
    }

    /// The URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// GET requests seen for a path.
    pub fn gets(&self, path: &str) -> usize {
        self.state.gets.lock().map(|g| g.get(path).copied().unwrap_or(0)).unwrap_or(0)
    }

    /// Range headers seen.
    pub fn ranges(&self) -> Vec<String> {
        self.state.ranges.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

/// Deterministic pseudo-random bytes (incompressible, distinct per seed).
pub fn image_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Lowercase hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Settings for tests: fast retries, short timeouts, file URLs under `allowed`.
pub fn settings(dir: &Path, allowed: &Path) -> ImageCacheSettings {
    let mut settings = ImageCacheSettings::new(dir);
    settings.max_bytes = 0;
    settings.fetch = FetchOptions {
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(5),
        max_attempts: 3,
        retry_backoff: Duration::from_millis(10),
        ca_file: None,
        file_url_allowed_paths: vec![allowed.to_owned()],
    };
    settings
}

/// Opens a cache in a new temp dir.
pub fn open_cache(settings: &ImageCacheSettings) -> Arc<ImageCache> {
    ImageCache::open(settings, "http://images.test".into()).expect("open cache")
}

/// An Ensure request.
pub fn spec(url: &str, checksum: &str, algorithm: &str, convert: bool) -> EnsureSpec {
    EnsureSpec {
        source: SourceUrl::parse(url).expect("url"),
        checksum: ChecksumSpec::parse(checksum, algorithm).expect("checksum"),
        convert_to_raw: convert,
        pin: None,
    }
}

/// Everything one Ensure saw: the states in order and the outcome.
pub struct Outcome {
    pub states: Vec<FlightState>,
    pub result: Result<Record, Arc<ImageCacheError>>,
}

/// Runs Ensure to its end, recording every state seen.
pub async fn ensure(cache: &Arc<ImageCache>, spec: EnsureSpec) -> Outcome {
    let mut rx = match cache.ensure(spec).await {
        Ok(rx) => rx,
        Err(e) => return Outcome { states: Vec::new(), result: Err(Arc::new(e)) },
    };
    let mut states = Vec::new();
    loop {
        let state = rx.borrow_and_update().clone();
        states.push(state.clone());
        match state {
            FlightState::Ready(record) => return Outcome { states, result: Ok(record) },
            FlightState::Failed(e) => return Outcome { states, result: Err(e) },
            FlightState::Working { .. } => {}
        }
        if rx.changed().await.is_err() && !rx.borrow().is_final() {
            return Outcome {
                states,
                result: Err(Arc::new(ImageCacheError::Internal("flight vanished".into()))),
            };
        }
    }
}

/// Polls `check` until it holds or `deadline` passes.
pub async fn eventually(deadline: Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    while Instant::now() < end {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    check()
}

/// Names of the files in a directory.
pub fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

/// The whole service (`run`) on loopback ports, with a gRPC client.
pub struct Running {
    pub client:
        ferric_proto::v1::image_cache_service_client::ImageCacheServiceClient<tonic::transport::Channel>,
    pub http: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<Result<(), ferric_imagecache::RunError>>,
}

impl Running {
    /// Starts `run` with `settings`.
    pub async fn start(settings: ImageCacheSettings) -> Self {
        let grpc = TcpListener::bind("127.0.0.1:0").await.expect("bind grpc");
        let http = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
        let (grpc_addr, http_addr) = (grpc.local_addr().expect("addr"), http.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let options = ferric_mesh::ServerOptions {
            kind: ferric_mesh::ServiceKind::ImageCache,
            instance_id: "test".into(),
            tls: None,
        };
        let task = tokio::spawn(ferric_imagecache::run(options, grpc, http, settings, async move {
            let _ = stopped.await;
        }));
        let endpoint = format!("http://{grpc_addr}");
        let deadline = Instant::now() + Duration::from_secs(10);
        let client = loop {
            match ferric_proto::v1::image_cache_service_client::ImageCacheServiceClient::connect(
                endpoint.clone(),
            )
            .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => panic!("gRPC never came up: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        Self { client, http: http_addr, stop: Some(stop), task }
    }

    /// Fires shutdown.
    pub fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// An EnsureRequest.
pub fn request(url: &str, checksum: &str, pin: &str) -> ferric_proto::v1::EnsureRequest {
    ferric_proto::v1::EnsureRequest {
        url: url.into(),
        checksum: checksum.into(),
        checksum_algorithm: String::new(),
        convert_to_raw: false,
        pin_holder: pin.into(),
    }
}

/// Runs a gRPC Ensure to its end: progress events seen and the outcome.
pub async fn grpc_ensure(
    client: &mut ferric_proto::v1::image_cache_service_client::ImageCacheServiceClient<
        tonic::transport::Channel,
    >,
    request: ferric_proto::v1::EnsureRequest,
) -> (Vec<ferric_proto::v1::EnsureProgress>, Result<ferric_proto::v1::CachedImage, tonic::Status>) {
    use ferric_proto::v1::ensure_response::Event;
    let mut stream = match client.ensure(request).await {
        Ok(s) => s.into_inner(),
        Err(status) => return (Vec::new(), Err(status)),
    };
    let mut progress = Vec::new();
    loop {
        match stream.message().await {
            Ok(Some(message)) => match message.event {
                Some(Event::Progress(p)) => progress.push(p),
                Some(Event::Ready(image)) => return (progress, Ok(image)),
                None => {}
            },
            Ok(None) => return (progress, Err(tonic::Status::internal("stream ended without ready"))),
            Err(status) => return (progress, Err(status)),
        }
    }
}
