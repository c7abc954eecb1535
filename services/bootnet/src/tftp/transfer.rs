//! One read transfer: the sender side of RFC 1350 with RFC 7440 windows.
//!
//! The sender keeps the current window's blocks in memory, sends them, and waits
//! for an ACK. An ACK of the window's last block slides to the next window; an
//! ACK of an earlier block in the window means the rest was lost, so the window
//! restarts after it (RFC 7440 section 4). A duplicate ACK of an already
//! acknowledged block is ignored — answering it would double every following
//! packet (the Sorcerer's Apprentice bug). Silence is answered by resending the
//! window with a doubling timeout, up to the retry budget.

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::UdpSocket;

use crate::tftp::options::{self, ClientPacket, ErrorCode, Mode, Negotiated};

/// Retransmission timeouts never grow past this.
const MAX_TIMEOUT: Duration = Duration::from_secs(16);

/// How a transfer ended badly.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The client stopped answering.
    #[error("client stopped answering after {0} retransmissions")]
    Timeout(u32),
    /// The client sent an ERROR.
    #[error("client aborted with error code {0}")]
    ClientError(u16),
    /// Reading the file or the socket failed.
    #[error("transfer I/O failed")]
    Io(#[from] io::Error),
}

/// Retransmission settings.
#[derive(Debug, Clone, Copy)]
pub struct Retransmit {
    /// First timeout (the client's negotiated one wins).
    pub timeout: Duration,
    /// Retransmissions of one window before giving up.
    pub retries: u32,
}

/// Sends `source` to the client `socket` is connected to; the OACK first when
/// options were negotiated. Returns the payload bytes sent.
pub async fn send<R: AsyncRead + Unpin>(
    socket: &UdpSocket,
    source: R,
    mode: Mode,
    negotiated: Negotiated,
    oack: Option<Vec<u8>>,
    retransmit: Retransmit,
) -> Result<u64, TransferError> {
    let timeout = negotiated.timeout.unwrap_or(retransmit.timeout);
    let mut sender = Sender { socket, timeout, retries: retransmit.retries, buffer: vec![0u8; 65536] };
    if let Some(oack) = oack {
        sender.exchange(&[oack], |ack| ack == 0).await?;
    }
    let mut blocks = Blocks::new(source, mode, usize::from(negotiated.blksize));
    let window_size = usize::from(negotiated.windowsize.max(1));
    let mut window: VecDeque<(u16, Vec<u8>)> = VecDeque::with_capacity(window_size);
    let mut next: u64 = 1;
    let mut total: u64 = 0;
    let mut finished_reading = false;
    loop {
        // Fill the window with the next blocks and send the new ones.
        let first_new = window.len();
        while window.len() < window_size && !finished_reading {
            let payload = blocks.next_block().await?;
            finished_reading = payload.len() < blocks.size;
            total += payload.len() as u64;
            window.push_back(((next & 0xffff) as u16, options::data((next & 0xffff) as u16, &payload)));
            next += 1;
        }
        if window.is_empty() {
            return Ok(total);
        }
        for (_, packet) in window.iter().skip(first_new) {
            socket.send(packet).await?;
        }
        // Wait for an ACK inside the window; resend on silence.
        let acked = sender.await_ack(&window).await?;
        window.drain(..=acked);
        if !window.is_empty() {
            // Blocks after the acknowledged one were lost: resend them now.
            for (_, packet) in &window {
                socket.send(packet).await?;
            }
        }
    }
}

struct Sender<'a> {
    socket: &'a UdpSocket,
    timeout: Duration,
    retries: u32,
    buffer: Vec<u8>,
}

impl Sender<'_> {
    /// Sends `packets` and waits for an ACK satisfying `wanted`, resending on silence.
    async fn exchange(
        &mut self,
        packets: &[Vec<u8>],
        wanted: impl Fn(u16) -> bool,
    ) -> Result<u16, TransferError> {
        for packet in packets {
            self.socket.send(packet).await?;
        }
        let mut timeout = self.timeout;
        let mut attempts = 0;
        loop {
            match tokio::time::timeout(timeout, self.socket.recv(&mut self.buffer)).await {
                Ok(received) => match options::parse_client(&self.buffer[..received?]) {
                    ClientPacket::Ack(block) if wanted(block) => return Ok(block),
                    ClientPacket::Error(code) => return Err(TransferError::ClientError(code)),
                    _ => continue,
                },
                Err(_) => {
                    attempts += 1;
                    if attempts > self.retries {
                        return Err(TransferError::Timeout(self.retries));
                    }
                    timeout = (timeout * 2).min(MAX_TIMEOUT);
                    for packet in packets {
                        self.socket.send(packet).await?;
                    }
                }
            }
        }
    }

    /// Waits for an ACK of a block in `window`; the index of that block.
    async fn await_ack(&mut self, window: &VecDeque<(u16, Vec<u8>)>) -> Result<usize, TransferError> {
        let mut timeout = self.timeout;
        let mut attempts = 0;
        loop {
            match tokio::time::timeout(timeout, self.socket.recv(&mut self.buffer)).await {
                Ok(received) => match options::parse_client(&self.buffer[..received?]) {
                    ClientPacket::Ack(block) => {
                        if let Some(index) = window.iter().position(|(number, _)| *number == block) {
                            return Ok(index);
                        }
                        // A duplicate ACK of an earlier block: ignore it.
                    }
                    ClientPacket::Error(code) => return Err(TransferError::ClientError(code)),
                    ClientPacket::Other => {}
                },
                Err(_) => {
                    attempts += 1;
                    if attempts > self.retries {
                        return Err(TransferError::Timeout(self.retries));
                    }
                    timeout = (timeout * 2).min(MAX_TIMEOUT);
                    for (_, packet) in window {
                        self.socket.send(packet).await?;
                    }
                }
            }
        }
    }
}

/// Cuts the source into blocks, converting to netascii when asked.
struct Blocks<R> {
    source: R,
    netascii: bool,
    size: usize,
    /// Converted bytes not yet sent (netascii can expand a block).
    carry: Vec<u8>,
    eof: bool,
}

impl<R: AsyncRead + Unpin> Blocks<R> {
    fn new(source: R, mode: Mode, size: usize) -> Self {
        Self { source, netascii: mode == Mode::Netascii, size, carry: Vec::new(), eof: false }
    }

    /// The next block: exactly `size` bytes, or fewer at the end (possibly 0).
    async fn next_block(&mut self) -> io::Result<Vec<u8>> {
        let mut raw = vec![0u8; self.size];
        while self.carry.len() < self.size && !self.eof {
            let want = self.size - self.carry.len();
            let read = self.source.read(&mut raw[..want]).await?;
            if read == 0 {
                self.eof = true;
                break;
            }
            if self.netascii {
                for byte in &raw[..read] {
                    match byte {
                        b'\n' => self.carry.extend_from_slice(b"\r\n"),
                        b'\r' => self.carry.extend_from_slice(b"\r\0"),
                        other => self.carry.push(*other),
                    }
                }
            } else {
                self.carry.extend_from_slice(&raw[..read]);
            }
        }
        let take = self.carry.len().min(self.size);
        let rest = self.carry.split_off(take);
        Ok(std::mem::replace(&mut self.carry, rest))
    }
}

/// The error packet for a failure before the transfer starts.
pub fn refusal(code: ErrorCode, message: &str) -> Vec<u8> {
    options::error(code, message)
}
