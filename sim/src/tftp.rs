//! A small TFTP client (RFC 1350 with the blksize option, RFC 2348), enough for a
//! simulated firmware to fetch a kernel the way PXE ROMs and iPXE do: lock-step,
//! one block acknowledged at a time, from the machine's own address.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;

use crate::error::SimError;

/// The block size asked for: an Ethernet frame's worth, as iPXE asks.
const BLKSIZE: usize = 1468;
/// How long to wait for each packet before re-sending the last one.
const TIMEOUT: Duration = Duration::from_secs(1);
/// Re-sends of one packet before the transfer is given up.
const RETRIES: usize = 5;

const RRQ: u16 = 1;
const DATA: u16 = 3;
const ACK: u16 = 4;
const ERROR: u16 = 5;
const OACK: u16 = 6;

/// Downloads `path` from `server` into memory, from a socket bound to `local`.
#[tracing::instrument(skip(local))]
pub async fn fetch(local: Ipv4Addr, server: SocketAddr, path: &str) -> Result<Vec<u8>, SimError> {
    let socket = UdpSocket::bind((local, 0)).await.map_err(|e| SimError::op("bind TFTP client", e))?;
    let mut request = Vec::with_capacity(path.len() + 32);
    request.extend_from_slice(&RRQ.to_be_bytes());
    for field in [path, "octet", "blksize", &BLKSIZE.to_string()] {
        request.extend_from_slice(field.as_bytes());
        request.push(0);
    }
    let mut last_sent = request;
    let mut to = server;
    let mut peer: Option<SocketAddr> = None;
    let mut blksize = 512;
    let mut expected: u16 = 1;
    let mut content = Vec::new();
    let mut buffer = vec![0u8; BLKSIZE + 4 + 64];
    let mut retries = 0;
    loop {
        socket.send_to(&last_sent, to).await.map_err(|e| SimError::op(format!("send to {to}"), e))?;
        let (len, from) = match tokio::time::timeout(TIMEOUT, socket.recv_from(&mut buffer)).await {
            Ok(Ok(received)) => received,
            Ok(Err(error)) => return Err(SimError::op(format!("receive from {to}"), error)),
            Err(_) => {
                retries += 1;
                if retries > RETRIES {
                    return Err(SimError::Tftp(format!("{path}: no answer after {RETRIES} retries")));
                }
                continue;
            }
        };
        // The transfer's peer is the port the first answer came from (RFC 1350's TID).
        if peer.is_some_and(|p| p != from) || from.ip() != server.ip() {
            continue;
        }
        peer = Some(from);
        to = from;
        retries = 0;
        let packet = &buffer[..len];
        if packet.len() < 4 {
            return Err(SimError::Tftp(format!("{path}: short packet")));
        }
        let opcode = u16::from_be_bytes([packet[0], packet[1]]);
        match opcode {
            OACK => {
                blksize = negotiated_blksize(&packet[2..]).unwrap_or(512);
                last_sent = ack(0);
            }
            DATA => {
                let block = u16::from_be_bytes([packet[2], packet[3]]);
                let data = &packet[4..];
                if block == expected {
                    content.extend_from_slice(data);
                    expected = expected.wrapping_add(1);
                    last_sent = ack(block);
                    if data.len() < blksize {
                        // The last block: acknowledge it once and stop.
                        let _ = socket.send_to(&last_sent, to).await;
                        return Ok(content);
                    }
                } else {
                    // A duplicate: re-acknowledge what we have.
                    last_sent = ack(expected.wrapping_sub(1));
                }
            }
            ERROR => {
                let message = String::from_utf8_lossy(&packet[4..]).trim_end_matches('\0').to_owned();
                return Err(SimError::Tftp(format!("{path}: server error: {message}")));
            }
            other => return Err(SimError::Tftp(format!("{path}: unexpected opcode {other}"))),
        }
    }
}

fn ack(block: u16) -> Vec<u8> {
    let mut packet = ACK.to_be_bytes().to_vec();
    packet.extend_from_slice(&block.to_be_bytes());
    packet
}

/// The `blksize` an OACK grants (options are NUL-terminated name/value pairs).
fn negotiated_blksize(options: &[u8]) -> Option<usize> {
    let mut fields = options.split(|b| *b == 0);
    while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
        if name.eq_ignore_ascii_case(b"blksize") {
            return std::str::from_utf8(value).ok()?.parse().ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_granted_block_size() {
        assert_eq!(negotiated_blksize(b"tsize\x0012\x00blksize\x001468\x00"), Some(1468));
        assert_eq!(negotiated_blksize(b"tsize\x0012\x00"), None);
        assert_eq!(negotiated_blksize(b"blksize\x00x\x00"), None);
    }
}
