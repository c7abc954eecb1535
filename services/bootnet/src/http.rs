//! HTTP for iPXE: per-node scripts at `/ipxe/<mac>` and files under the root at
//! `/files/<path>` (kernels, ramdisks), with HEAD and single byte ranges so iPXE
//! and agents can resume and probe sizes. Files go through the same name checks
//! as TFTP ([`crate::tftp::path`]).

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::net::TcpListener;

use crate::ipxe;
use crate::registry::{Registry, normalize_mac};
use crate::served::{Served, ServedLog};
use crate::tftp::path::{self, Refused};

/// Bytes read from disk per body chunk.
const CHUNK: usize = 256 * 1024;

/// What the HTTP server needs.
#[derive(Clone)]
pub struct HttpState {
    /// Registrations, for scripts.
    pub registry: Registry,
    /// The file root.
    pub root: PathBuf,
    /// Where iPXE builds come from when the root lacks them.
    pub ipxe_dir: PathBuf,
    /// Discovery: kernel, ramdisk and arguments for unregistered MACs.
    pub discovery: Option<Arc<(String, String, String)>>,
    /// Completed transfers.
    pub served: ServedLog,
}

/// The routes.
pub fn router(state: HttpState) -> Router {
    Router::new().route("/ipxe/{mac}", get(script)).route("/files/{*path}", get(file)).with_state(state)
}

/// Serves until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    state: HttpState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

async fn script(State(state): State<HttpState>, Path(mac): Path<String>) -> Response {
    let mac = mac.trim_end_matches(".ipxe");
    let Some(mac) = normalize_mac(mac) else {
        return (StatusCode::BAD_REQUEST, "not a MAC\n").into_response();
    };
    let body = match (state.registry.lookup(&mac), &state.discovery) {
        (Some(node), _) => ipxe::script(&node.record),
        (None, Some(discovery)) => ipxe::discovery(&mac, &discovery.0, &discovery.1, &discovery.2),
        (None, None) => {
            return (StatusCode::NOT_FOUND, "no boot configuration for this MAC\n").into_response();
        }
    };
    tracing::info!(%mac, "iPXE script served");
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

async fn file(
    State(state): State<HttpState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    method: Method,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let resolved = {
        let (root, ipxe_dir, name) = (state.root.clone(), state.ipxe_dir.clone(), name.clone());
        tokio::task::spawn_blocking(move || path::resolve(&root, &ipxe_dir, &name))
            .await
            .unwrap_or(Err(Refused::NotFound))
    };
    let file_path = match resolved {
        Ok(file_path) => file_path,
        Err(Refused::Outside) => return StatusCode::FORBIDDEN.into_response(),
        Err(Refused::NotFound) => return StatusCode::NOT_FOUND.into_response(),
    };
    let Ok(mut file) = tokio::fs::File::open(&file_path).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Ok(metadata) = file.metadata().await else { return StatusCode::NOT_FOUND.into_response() };
    let size = metadata.len();
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).map(|v| parse_range(v, size));
    let (status, start, length) = match range {
        None | Some(RangeAnswer::Whole) => (StatusCode::OK, 0, size),
        Some(RangeAnswer::Part(start, end)) => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        Some(RangeAnswer::Unsatisfiable) => {
            return (StatusCode::RANGE_NOT_SATISFIABLE, [(header::CONTENT_RANGE, format!("bytes */{size}"))])
                .into_response();
        }
    };
    let mut response_headers = HeaderMap::new();
    response_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    response_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Ok(modified) = metadata.modified()
        && let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(modified))
    {
        response_headers.insert(header::LAST_MODIFIED, value);
    }
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(value) = HeaderValue::from_str(&format!("bytes {start}-{}/{size}", start + length - 1))
    {
        response_headers.insert(header::CONTENT_RANGE, value);
    }
    if method == Method::HEAD {
        return (status, response_headers).into_response();
    }
    if start > 0 && file.seek(std::io::SeekFrom::Start(start)).await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let served = state.served.clone();
    let stream = futures::stream::unfold((file, length, 0u64), move |(mut file, remaining, sent)| {
        let served = served.clone();
        let name = name.clone();
        async move {
            if remaining == 0 {
                return None;
            }
            let mut buffer = vec![0u8; CHUNK.min(remaining as usize)];
            match file.read(&mut buffer).await {
                Ok(0) => None,
                Ok(read) => {
                    buffer.truncate(read);
                    if read as u64 == remaining {
                        // The last chunk: a client that got Content-Length bytes may
                        // close before the stream is polled again, so count it now.
                        let bytes = sent + read as u64;
                        served.record(Served { protocol: "http", path: name, bytes, client: client.ip() });
                        metrics::counter!("bootnet_http_bytes_total").increment(bytes);
                    }
                    Some((
                        Ok::<Bytes, std::io::Error>(Bytes::from(buffer)),
                        (file, remaining - read as u64, sent + read as u64),
                    ))
                }
                Err(error) => Some((Err(error), (file, 0, sent))),
            }
        }
    });
    (status, response_headers, Body::from_stream(stream)).into_response()
}

/// How to answer a `Range` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeAnswer {
    /// Ignore it: send everything (multiple ranges, or a syntax we do not serve).
    Whole,
    /// Send bytes `start..=end`.
    Part(u64, u64),
    /// 416.
    Unsatisfiable,
}

/// Interprets a `Range` header for a body of `size` bytes (RFC 9110 14.1.2).
pub fn parse_range(value: &str, size: u64) -> RangeAnswer {
    let Some(spec) = value.trim().strip_prefix("bytes=") else { return RangeAnswer::Whole };
    if spec.contains(',') {
        return RangeAnswer::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else { return RangeAnswer::Whole };
    let (first, last) = (first.trim(), last.trim());
    match (first.parse::<u64>().ok(), last.parse::<u64>().ok()) {
        (Some(start), _) if start >= size => RangeAnswer::Unsatisfiable,
        (Some(start), None) if last.is_empty() => RangeAnswer::Part(start, size - 1),
        (Some(start), Some(end)) if end >= start => RangeAnswer::Part(start, end.min(size - 1)),
        (None, Some(suffix)) if first.is_empty() => {
            if suffix == 0 || size == 0 {
                RangeAnswer::Unsatisfiable
            } else {
                RangeAnswer::Part(size.saturating_sub(suffix), size - 1)
            }
        }
        _ => RangeAnswer::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        let cases = [
            ("bytes=0-99", RangeAnswer::Part(0, 99)),
            ("bytes=100-", RangeAnswer::Part(100, 999)),
            ("bytes=-100", RangeAnswer::Part(900, 999)),
            ("bytes=-5000", RangeAnswer::Part(0, 999)),
            ("bytes=900-5000", RangeAnswer::Part(900, 999)),
            ("bytes=1000-", RangeAnswer::Unsatisfiable),
            ("bytes=-0", RangeAnswer::Unsatisfiable),
            ("bytes=5-1", RangeAnswer::Whole),
            ("bytes=0-1,5-6", RangeAnswer::Whole),
            ("items=0-1", RangeAnswer::Whole),
            ("bytes=x-y", RangeAnswer::Whole),
        ];
        for (header, expected) in cases {
            assert_eq!(parse_range(header, 1000), expected, "{header}");
        }
    }
}
