//! The image origin: where `instance_info.image_source` points. It serves one
//! raw image from memory and counts what it served, so the report shows how
//! many times the image left the origin (once, when Ferric's image cache does
//! its job) against how many disks it reached.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::error::SimError;

/// The image path on the origin.
pub const IMAGE_PATH: &str = "/images/sim-image.raw";

/// The image and its checksum.
#[derive(Debug, Clone)]
pub struct Image {
    /// Its bytes.
    pub content: Bytes,
    /// Hex SHA-256.
    pub sha256: String,
}

impl Image {
    /// `mib` MiB of deterministic, incompressible-looking bytes (xorshift), so no
    /// layer can skip them as zeros.
    pub fn generate(mib: usize) -> Self {
        let len = mib.max(1) * 1024 * 1024;
        let mut content = Vec::with_capacity(len);
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        while content.len() < len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            content.extend_from_slice(&state.to_le_bytes());
        }
        content.truncate(len);
        let sha256 = hex(&Sha256::digest(&content));
        Self { content: Bytes::from(content), sha256 }
    }
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the origin served.
#[derive(Debug, Default)]
pub struct OriginCounters {
    /// GETs of the image.
    pub downloads: AtomicU64,
    /// Bytes sent.
    pub bytes: AtomicU64,
}

struct Origin {
    image: Image,
    counters: Arc<OriginCounters>,
}

/// Serves `image` on `listen`; returns the server task and its counters.
pub async fn serve(
    listen: SocketAddr,
    image: Image,
) -> Result<(tokio::task::JoinHandle<()>, Arc<OriginCounters>), SimError> {
    let counters = Arc::new(OriginCounters::default());
    let origin = Arc::new(Origin { image, counters: counters.clone() });
    let app = Router::new().route(IMAGE_PATH, get(download)).with_state(origin);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| SimError::op(format!("bind the image origin at {listen}"), e))?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((task, counters))
}

async fn download(State(origin): State<Arc<Origin>>) -> impl IntoResponse {
    origin.counters.downloads.fetch_add(1, Ordering::Relaxed);
    origin.counters.bytes.fetch_add(origin.image.content.len() as u64, Ordering::Relaxed);
    ([(header::CONTENT_TYPE, "application/octet-stream")], origin.image.content.clone())
}
