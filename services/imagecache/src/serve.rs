//! Serving artifacts to agents over HTTP/1.1: `GET`/`HEAD /images/<sha256>`,
//! keep-alive, one byte range per request (`Range`, `If-Range`), bytes sent
//! with `sendfile(2)`.
//!
//! Why not axum/hyper with tower-http's `ServeFile` here: it copies every byte
//! from the page cache into a buffer and again into the socket, on a blocking
//! thread per chunk; on two cores shared with the clients that reached 67% of
//! nginx with 16 clients. `sendfile` hands page-cache pages to the socket as
//! nginx does, and the protocol subset an image download needs is small.
//! (gRPC stays on tonic; this listener only ever serves files.)
//!
//! Only committed artifacts live under `images/` (they arrive by rename after
//! fsync), so whatever this serves is complete and verified. An artifact evicted
//! mid-download keeps streaming: the open file outlives the unlink.
//! Requests and bytes sent are counted with the `metrics` crate.

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::cache::ImageCache;

/// Longest request head accepted; image requests are a few hundred bytes.
const MAX_HEAD: usize = 16 * 1024;
/// How long an idle keep-alive connection (or a slow request head) is kept.
const IDLE: Duration = Duration::from_secs(60);
/// Bytes per sendfile call: large enough to amortise the syscall, small enough
/// that one client cannot hog a worker thread.
const SENDFILE_CHUNK: usize = 4 << 20;

/// Accepts connections on `listener` until `stop` turns true, then waits for
/// the connections in progress (idle ones close at once). Dropping the future
/// cuts every connection.
pub async fn serve(listener: TcpListener, cache: Arc<ImageCache>, mut stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    let for_connections = stop.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    connections.spawn(connection(stream, cache.clone(), for_connections.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accepting an HTTP connection failed");
                    // EMFILE and friends: let some connections finish first.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = stopped(&mut stop) => break,
        }
    }
    while connections.join_next().await.is_some() {}
}

/// Resolves once shutdown began (or whoever could start it is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// One parsed request: what this server needs of it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Head {
    method: String,
    path: String,
    keep_alive: bool,
    range: Option<String>,
    if_range: Option<String>,
}

/// Parses a request head from `buf`: `Ok(Some((head, length)))` when complete.
fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, &'static str> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    let length = match request.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err("malformed request"),
    };
    let mut head = Head {
        method: request.method.unwrap_or_default().to_owned(),
        path: request.path.unwrap_or_default().to_owned(),
        keep_alive: request.version == Some(1),
        ..Head::default()
    };
    for header in request.headers.iter() {
        let value = || String::from_utf8_lossy(header.value).trim().to_owned();
        if header.name.eq_ignore_ascii_case("connection") {
            let v = value().to_ascii_lowercase();
            if v.contains("close") {
                head.keep_alive = false;
            } else if v.contains("keep-alive") {
                head.keep_alive = true;
            }
        } else if header.name.eq_ignore_ascii_case("range") {
            head.range = Some(value());
        } else if header.name.eq_ignore_ascii_case("if-range") {
            head.if_range = Some(value());
        } else if header.name.eq_ignore_ascii_case("content-length") && value() != "0"
            || header.name.eq_ignore_ascii_case("transfer-encoding")
        {
            return Err("requests with a body are not served here");
        }
    }
    Ok(Some((head, length)))
}

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
enum Span {
    /// The whole file.
    Full,
    /// Bytes `start..=end`.
    Part(u64, u64),
    /// Nothing satisfiable (416).
    Unsatisfiable,
}

/// One `bytes=` range; several ranges (multipart) get the whole file, which
/// RFC 9110 allows and no image client asks for.
fn parse_range(range: &str, size: u64) -> Span {
    let Some(spec) = range.trim().strip_prefix("bytes=") else { return Span::Full };
    if spec.contains(',') {
        return Span::Full;
    }
    let Some((first, last)) = spec.split_once('-') else { return Span::Full };
    let (first, last) = (first.trim(), last.trim());
    let parsed = match (first.is_empty(), last.is_empty()) {
        (true, false) => {
            last.parse::<u64>().ok().map(|n| (size.saturating_sub(n), size.saturating_sub(1), n > 0))
        }
        (false, _) => first.parse::<u64>().ok().and_then(|s| {
            let e = if last.is_empty() { Some(u64::MAX) } else { last.parse::<u64>().ok() }?;
            (e >= s).then_some((s, e.min(size.saturating_sub(1)), true))
        }),
        (true, true) => None,
    };
    match parsed {
        None => Span::Full,
        Some((start, end, nonempty)) if nonempty && start < size && start <= end => Span::Part(start, end),
        Some(_) => Span::Unsatisfiable,
    }
}

fn http_date(time: SystemTime) -> String {
    httpdate::fmt_http_date(time)
}

/// Reads the next request head; `None` when the peer closed, went idle, or
/// shutdown began between requests.
async fn read_head(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    stop: &mut watch::Receiver<bool>,
) -> Option<Result<Head, &'static str>> {
    loop {
        match parse_head(buf) {
            Ok(Some((head, length))) => {
                buf.drain(..length);
                return Some(Ok(head));
            }
            Ok(None) if buf.len() >= MAX_HEAD => return Some(Err("request head too large")),
            Ok(None) => {}
            Err(e) => return Some(Err(e)),
        }
        let idle = buf.is_empty();
        let mut chunk = [0u8; 4096];
        let read = tokio::select! {
            read = tokio::time::timeout(IDLE, stream.read(&mut chunk)) => read,
            () = stopped(stop), if idle => return None,
        };
        match read {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return None,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn connection(mut stream: TcpStream, cache: Arc<ImageCache>, mut stop: watch::Receiver<bool>) {
    let mut buf = Vec::with_capacity(1024);
    while let Some(head) = read_head(&mut stream, &mut buf, &mut stop).await {
        let (status, keep_alive, method) = match head {
            Ok(head) => {
                let method = head.method.clone();
                match respond(&mut stream, &cache, &head).await {
                    Ok(status) => (status, head.keep_alive, method),
                    Err(e) => {
                        tracing::debug!(error = %e, "HTTP client went away");
                        return;
                    }
                }
            }
            Err(reason) => {
                let _ = simple(&mut stream, 400, reason, false, false).await;
                (400, false, String::new())
            }
        };
        metrics::counter!("imagecache_http_requests_total", "method" => method, "status" => status.to_string())
            .increment(1);
        if !keep_alive {
            return;
        }
    }
}

/// A short text response.
async fn simple(
    stream: &mut TcpStream,
    status: u16,
    text: &str,
    keep_alive: bool,
    head_only: bool,
) -> io::Result<u16> {
    let reason = match status {
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        416 => "Range Not Satisfiable",
        _ => "Error",
    };
    let body = format!("{text}\n");
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nDate: {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: {}\r\n",
        http_date(SystemTime::now()),
        body.len(),
        if keep_alive { "keep-alive" } else { "close" },
    );
    if status == 405 {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str("\r\n");
    if !head_only {
        out.push_str(&body);
    }
    stream.write_all(out.as_bytes()).await?;
    Ok(status)
}

fn is_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Answers one request; the status sent.
async fn respond(stream: &mut TcpStream, cache: &ImageCache, head: &Head) -> io::Result<u16> {
    let head_only = head.method == "HEAD";
    if head.method != "GET" && !head_only {
        return simple(stream, 405, "only GET and HEAD", head.keep_alive, false).await;
    }
    let path = head.path.split('?').next().unwrap_or_default();
    let Some(id) = path.strip_prefix("/images/").filter(|id| is_id(id)) else {
        return simple(stream, 404, "no such image", head.keep_alive, head_only).await;
    };
    // Opening is one quick syscall; the store's files never change once named.
    let file = match File::open(cache.store().image_path(id)) {
        Ok(f) => f,
        Err(_) => return simple(stream, 404, "no such image", head.keep_alive, head_only).await,
    };
    // Best effort: a busy index (a commit in progress) skips the LRU update.
    cache.store().touch(id);
    let meta = file.metadata()?;
    let size = meta.len();
    let modified = UNIX_EPOCH + Duration::from_secs(u64::try_from(meta.mtime()).unwrap_or(0));
    // Content-addressed: the id is a strong validator forever.
    let etag = format!("\"{id}\"");
    let wanted = match (&head.range, &head.if_range) {
        (Some(_), Some(validator)) if *validator != etag => Span::Full,
        (Some(range), _) => parse_range(range, size),
        (None, _) => Span::Full,
    };
    let (status, start, length) = match wanted {
        Span::Full => (200, 0, size),
        Span::Part(start, end) => (206, start, end - start + 1),
        Span::Unsatisfiable => {
            let mut out = format!(
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{size}\r\nContent-Length: 0\r\n"
            );
            out.push_str(if head.keep_alive {
                "Connection: keep-alive\r\n\r\n"
            } else {
                "Connection: close\r\n\r\n"
            });
            stream.write_all(out.as_bytes()).await?;
            return Ok(416);
        }
    };
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\nDate: {}\r\nContent-Type: application/octet-stream\r\nContent-Length: {length}\r\n\
         Accept-Ranges: bytes\r\nETag: {etag}\r\nLast-Modified: {}\r\nConnection: {}\r\n",
        if status == 200 { "OK" } else { "Partial Content" },
        http_date(SystemTime::now()),
        http_date(modified),
        if head.keep_alive { "keep-alive" } else { "close" },
    );
    if status == 206 {
        out.push_str(&format!("Content-Range: bytes {start}-{}/{size}\r\n", start + length - 1));
    }
    out.push_str("\r\n");
    stream.write_all(out.as_bytes()).await?;
    if !head_only {
        send_file(stream, &file, start, length).await?;
    }
    Ok(status)
}

/// Sends `length` bytes of `file` from `start` with sendfile, waiting for the
/// socket to drain between calls.
async fn send_file(stream: &TcpStream, file: &File, start: u64, length: u64) -> io::Result<()> {
    let sent_counter = metrics::counter!("imagecache_http_sent_bytes_total");
    let mut offset = i64::try_from(start).map_err(|_| io::Error::other("offset too large"))?;
    let mut left = length;
    while left > 0 {
        let count = usize::try_from(left).unwrap_or(usize::MAX).min(SENDFILE_CHUNK);
        stream.writable().await?;
        let sent = stream.try_io(Interest::WRITABLE, || {
            nix::sys::sendfile::sendfile64(stream, file, Some(&mut offset), count).map_err(io::Error::from)
        });
        match sent {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file shorter than its size")),
            Ok(n) => {
                left -= n as u64;
                sent_counter.increment(n as u64);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let check = |range: &str, expected: Span| assert_eq!(parse_range(range, 1000), expected, "{range}");
        check("bytes=0-99", Span::Part(0, 99));
        check("bytes=900-", Span::Part(900, 999));
        check("bytes=900-5000", Span::Part(900, 999));
        check("bytes=-100", Span::Part(900, 999));
        check("bytes=-5000", Span::Part(0, 999));
        check("bytes=1000-", Span::Unsatisfiable);
        check("bytes=-0", Span::Unsatisfiable);
        check("bytes=5-4", Span::Full);
        check("bytes=0-1,5-6", Span::Full);
        check("items=0-1", Span::Full);
        check("bytes=x-", Span::Full);
        assert_eq!(parse_range("bytes=0-", 0), Span::Unsatisfiable);
    }

    #[test]
    fn heads() {
        let parse = |text: &str| parse_head(text.as_bytes());
        let Ok(Some((head, n))) = parse("GET /images/x HTTP/1.1\r\nRange: bytes=1-\r\nHost: a\r\n\r\nGET")
        else {
            panic!("complete head expected");
        };
        assert_eq!(n, "GET /images/x HTTP/1.1\r\nRange: bytes=1-\r\nHost: a\r\n\r\n".len());
        assert_eq!((head.method.as_str(), head.path.as_str(), head.keep_alive), ("GET", "/images/x", true));
        assert_eq!(head.range.as_deref(), Some("bytes=1-"));
        assert!(matches!(parse("GET /x HTTP/1.1\r\nHost"), Ok(None)));
        assert!(matches!(parse("GET /x HTTP/1.0\r\n\r\n"), Ok(Some((Head { keep_alive: false, .. }, _)))));
        assert!(matches!(
            parse("GET /x HTTP/1.1\r\nConnection: close\r\n\r\n"),
            Ok(Some((Head { keep_alive: false, .. }, _)))
        ));
        assert!(parse("POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\n").is_err());
        assert!(parse("\x00\x01 garbage\r\n\r\n").is_err());
    }
}
