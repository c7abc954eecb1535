//! Ironic's recorded HTTP exchanges (`shared/ironic-reference/transcripts/`),
//! parsed so a test can replay each request against Ferric and compare.

use std::path::{Path, PathBuf};

/// One recorded request and Ironic's answer to it.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The transcript's file name, e.g. `13-node-create.txt`.
    pub name: String,
    /// HTTP method.
    pub method: String,
    /// Path and query as sent.
    pub path: String,
    /// Request headers that matter (versions, content type).
    pub headers: Vec<(String, String)>,
    /// Request body, if any.
    pub body: Option<String>,
    /// Ironic's status code.
    pub status: u16,
    /// Ironic's response headers, names lower-cased.
    pub response_headers: Vec<(String, String)>,
    /// Ironic's raw response body (empty for none).
    pub response_body: String,
}

/// Where the curl transcripts are: `$FERRIC_TRANSCRIPTS`, else the copy in
/// this crate's fixtures.
pub fn curl_dir() -> PathBuf {
    std::env::var_os("FERRIC_TRANSCRIPTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ironic-39-curl"))
}

/// Every exchange in `dir`, in file-name order (the order they were recorded).
pub fn load(dir: &Path) -> Vec<Exchange> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("transcripts at {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .collect();
    files.sort();
    files.iter().map(|path| parse(path)).collect()
}

fn parse(path: &Path) -> Exchange {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut lines = text.lines().peekable();
    let first = lines.next().unwrap_or_default();
    let (method, target) = first.trim_start_matches("### ").split_once(' ').unwrap_or(("GET", "/"));
    let mut exchange = Exchange {
        name,
        method: method.to_owned(),
        path: target.to_owned(),
        headers: Vec::new(),
        body: None,
        status: 0,
        response_headers: Vec::new(),
        response_body: String::new(),
    };
    while let Some(line) = lines.next() {
        if let Some(header) = line.strip_prefix("> ") {
            if let Some((key, value)) = header.split_once(": ") {
                let keep = ["x-openstack-ironic-api-version", "openstack-api-version", "content-type"];
                if keep.contains(&key.to_ascii_lowercase().as_str()) {
                    exchange.headers.push((key.to_owned(), value.to_owned()));
                }
            }
        } else if let Some(status) = line.strip_prefix("< HTTP/1.1 ") {
            exchange.status = status.split(' ').next().and_then(|s| s.parse().ok()).unwrap_or(0);
        } else if let Some(header) = line.strip_prefix("< ") {
            if let Some((key, value)) = header.split_once(": ") {
                exchange.response_headers.push((key.to_ascii_lowercase(), value.to_owned()));
            }
        } else if line == "### request body:" {
            exchange.body = lines.next().map(str::to_owned);
        } else if line == "### response body (raw):" {
            exchange.response_body = lines.next().unwrap_or_default().to_owned();
        }
    }
    exchange
}
