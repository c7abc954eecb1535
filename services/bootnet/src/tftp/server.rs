//! The TFTP listener: parses requests on the well-known port, refuses writes and
//! malformed requests, admits reads within the bounds, and runs each transfer on
//! its own socket (its transfer ID) in its own task and tracing span.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::served::{Served, ServedLog};
use crate::tftp::options::{self, ErrorCode, Mode, Request};
use crate::tftp::path::{self, Refused};
use crate::tftp::transfer::{self, Retransmit};

/// Bounds and timers of the TFTP server.
#[derive(Debug, Clone)]
pub struct TftpSettings {
    /// The root files are served from.
    pub root: PathBuf,
    /// Where iPXE builds come from when the root lacks them.
    pub ipxe_dir: PathBuf,
    /// Transfers at once, all clients.
    pub max_transfers: usize,
    /// Transfers at once per client address.
    pub max_per_client: usize,
    /// First retransmission timeout.
    pub timeout: Duration,
    /// Retransmissions before giving up.
    pub retries: u32,
}

/// Per-client transfer counts; an entry disappears when its count drops to 0.
#[derive(Default)]
struct PerClient(Mutex<HashMap<IpAddr, usize>>);

/// Admission to one transfer; dropping it frees the slots.
struct Admission {
    _global: OwnedSemaphorePermit,
    client: IpAddr,
    counts: Arc<PerClient>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut counts = match self.counts.0.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(count) = counts.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.client);
            }
        }
    }
}

/// Serves TFTP on `socket` until `shutdown`; running transfers are cut off then.
pub async fn serve(
    socket: UdpSocket,
    settings: TftpSettings,
    served: ServedLog,
    shutdown: impl Future<Output = ()>,
) {
    let settings = Arc::new(settings);
    let global = Arc::new(Semaphore::new(settings.max_transfers));
    let counts = Arc::new(PerClient::default());
    let local_ip = socket.local_addr().map(|a| a.ip()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let mut transfers = JoinSet::new();
    let mut buffer = vec![0u8; options::MAX_REQUEST + 1];
    tokio::pin!(shutdown);
    loop {
        let (len, client) = tokio::select! {
            received = socket.recv_from(&mut buffer) => match received {
                Ok(received) => received,
                Err(error) => {
                    tracing::debug!(%error, "TFTP receive error");
                    continue;
                }
            },
            Some(_) = transfers.join_next(), if !transfers.is_empty() => continue,
            () = &mut shutdown => break,
        };
        let request = match options::parse_request(&buffer[..len]) {
            Ok(request) => request,
            Err(malformed) => {
                metrics::counter!("bootnet_tftp_dropped_total").increment(1);
                tracing::debug!(%client, ?malformed, "TFTP datagram dropped");
                continue;
            }
        };
        let (filename, mode, requested) = match request {
            Request::Write => {
                refuse(&socket, client, ErrorCode::AccessViolation, "this server only serves reads").await;
                continue;
            }
            Request::Read { filename, mode, options } => (filename, mode, options),
        };
        let Some(admission) = admit(&global, &counts, client.ip(), settings.max_per_client) else {
            metrics::counter!("bootnet_tftp_transfers_total", "result" => "busy").increment(1);
            refuse(&socket, client, ErrorCode::Undefined, "server busy, retry later").await;
            continue;
        };
        let span = tracing::info_span!("tftp", %client, file = %filename, blksize = requested.blksize, windowsize = requested.windowsize);
        let settings = settings.clone();
        let served = served.clone();
        transfers.spawn(
            async move {
                let _admission = admission;
                run(&settings, local_ip, client, &filename, mode, requested, &served).await;
            }
            .instrument(span),
        );
    }
    transfers.abort_all();
}

fn admit(
    global: &Arc<Semaphore>,
    counts: &Arc<PerClient>,
    client: IpAddr,
    per_client: usize,
) -> Option<Admission> {
    let permit = global.clone().try_acquire_owned().ok()?;
    let mut map = match counts.0.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    let count = map.entry(client).or_insert(0);
    if *count >= per_client {
        return None;
    }
    *count += 1;
    drop(map);
    Some(Admission { _global: permit, client, counts: counts.clone() })
}

async fn refuse(socket: &UdpSocket, client: SocketAddr, code: ErrorCode, message: &str) {
    let _ = socket.send_to(&options::error(code, message), client).await;
}

async fn run(
    settings: &TftpSettings,
    local_ip: IpAddr,
    client: SocketAddr,
    filename: &str,
    mode: Mode,
    requested: options::Requested,
    served: &ServedLog,
) {
    let started = Instant::now();
    // The transfer's own socket is its transfer ID (RFC 1350 section 4).
    let socket = match UdpSocket::bind(SocketAddr::new(local_ip, 0)).await {
        Ok(socket) => socket,
        Err(error) => {
            tracing::warn!(%error, "no socket for TFTP transfer");
            return;
        }
    };
    if let Err(error) = socket.connect(client).await {
        tracing::debug!(%error, "cannot reach TFTP client");
        return;
    }
    let resolved = {
        let (root, ipxe_dir, name) = (settings.root.clone(), settings.ipxe_dir.clone(), filename.to_owned());
        tokio::task::spawn_blocking(move || path::resolve(&root, &ipxe_dir, &name))
            .await
            .unwrap_or(Err(Refused::NotFound))
    };
    let file_path = match resolved {
        Ok(file_path) => file_path,
        Err(refused) => {
            let (code, message, result) = match refused {
                Refused::Outside => (ErrorCode::AccessViolation, "access violation", "refused"),
                Refused::NotFound => (ErrorCode::NotFound, "file not found", "not_found"),
            };
            metrics::counter!("bootnet_tftp_transfers_total", "result" => result).increment(1);
            tracing::info!(?refused, "TFTP request refused");
            let _ = socket.send(&options::error(code, message)).await;
            return;
        }
    };
    let file = match tokio::fs::File::open(&file_path).await {
        Ok(file) => file,
        Err(error) => {
            tracing::warn!(%error, path = %file_path.display(), "cannot open file for TFTP");
            let _ = socket.send(&options::error(ErrorCode::NotFound, "file not found")).await;
            return;
        }
    };
    let size = file.metadata().await.ok().map(|m| m.len()).filter(|_| mode == Mode::Octet);
    let (negotiated, oack) = options::negotiate(&requested, size);
    let retransmit = Retransmit { timeout: settings.timeout, retries: settings.retries };
    // Large sequential reads: the blocking pool is visited once per MiB, not per
    // block; a small file gets a buffer its size (a rack booting at once holds
    // hundreds of transfers).
    let capacity = size.and_then(|s| usize::try_from(s).ok()).unwrap_or(1 << 20).clamp(4096, 1 << 20);
    let reader = tokio::io::BufReader::with_capacity(capacity, file);
    match transfer::send(&socket, reader, mode, negotiated, oack, retransmit).await {
        Ok(bytes) => {
            metrics::counter!("bootnet_tftp_transfers_total", "result" => "ok").increment(1);
            metrics::counter!("bootnet_tftp_bytes_total").increment(bytes);
            let elapsed = started.elapsed();
            tracing::info!(bytes, ?elapsed, "TFTP transfer done");
            served.record(Served { protocol: "tftp", path: filename.to_owned(), bytes, client: client.ip() });
        }
        Err(error) => {
            metrics::counter!("bootnet_tftp_transfers_total", "result" => "failed").increment(1);
            tracing::info!(error = &error as &dyn std::error::Error, "TFTP transfer failed");
        }
    }
}
