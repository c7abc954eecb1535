//! RMCP and IPMI session framing: the bytes of a UDP datagram to and from a BMC.
//!
//! Outbound we build IPMI 1.5 packets (only for the pre-session Get Channel
//! Authentication Capabilities, as ipmitool does) and IPMI 2.0/RMCP+ packets with
//! the optional integrity trailer and AES payload. Inbound, [`decode`] is the one
//! parser of untrusted datagrams: every length is checked before use, so garbage,
//! truncation or a forged length yields a [`WireError`], never a panic (fuzzed in
//! the tests below).

use super::crypto::SessionKeys;

/// RMCP header: version 1.0, reserved, sequence 0xFF (no RMCP ACK), class IPMI.
pub const RMCP_HEADER: [u8; 4] = [0x06, 0x00, 0xFF, 0x07];
/// Session auth type byte that marks an IPMI 2.0 (RMCP+) session header.
const AUTH_TYPE_RMCPP: u8 = 0x06;
/// "Next header" byte of the integrity trailer: always 0x07 (RMCP IPMI).
const NEXT_HEADER: u8 = 0x07;
/// Offset of the session header (auth type) in a datagram.
const SESSION_OFFSET: usize = 4;

/// RMCP+ payload types used here (IPMI 2.0 table 13-16).
pub mod payload {
    /// An IPMI message.
    pub const IPMI: u8 = 0x00;
    /// RMCP+ Open Session Request.
    pub const OPEN_SESSION_REQUEST: u8 = 0x10;
    /// RMCP+ Open Session Response.
    pub const OPEN_SESSION_RESPONSE: u8 = 0x11;
    /// RAKP Message 1.
    pub const RAKP1: u8 = 0x12;
    /// RAKP Message 2.
    pub const RAKP2: u8 = 0x13;
    /// RAKP Message 3.
    pub const RAKP3: u8 = 0x14;
    /// RAKP Message 4.
    pub const RAKP4: u8 = 0x15;
}

/// Why a datagram could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Shorter than its headers or its own length fields say.
    #[error("truncated packet ({0})")]
    Truncated(&'static str),
    /// Not RMCP version 1.0 carrying IPMI (e.g. an ASF ping answer).
    #[error("not an RMCP IPMI packet")]
    NotIpmi,
    /// The integrity trailer is malformed.
    #[error("malformed integrity trailer")]
    BadTrailer,
    /// The AuthCode does not match: corrupted, forged, or another session's.
    #[error("integrity check failed")]
    BadAuthCode,
    /// Authenticated or encrypted while we have no session keys, or the reverse.
    #[error("unexpected security flags")]
    UnexpectedSecurity,
    /// The encrypted payload does not decrypt.
    #[error("payload does not decrypt")]
    BadCiphertext,
    /// An OEM payload type we do not speak.
    #[error("unsupported payload type {0:#04x}")]
    UnsupportedPayload(u8),
    /// An IPMI message whose checksums do not add up.
    #[error("bad IPMI message checksum")]
    BadChecksum,
}

/// A decoded inbound packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// IPMI 1.5 (false) or 2.0/RMCP+ (true) framing.
    pub rmcpp: bool,
    /// Payload type (always [`payload::IPMI`] for 1.5).
    pub payload_type: u8,
    /// Session id in the header: for RMCP+, the remote console's id (ours).
    pub session_id: u32,
    /// Session sequence number.
    pub sequence: u32,
    /// The payload, decrypted when it was encrypted.
    pub payload: Vec<u8>,
}

/// An IPMI 1.5 packet without authentication, outside a session.
pub fn encode_v15(message: &[u8]) -> Vec<u8> {
    let mut out = RMCP_HEADER.to_vec();
    out.push(0x00); // auth type none
    out.extend_from_slice(&0u32.to_le_bytes()); // sequence
    out.extend_from_slice(&0u32.to_le_bytes()); // session id
    out.push(message.len() as u8);
    out.extend_from_slice(message);
    out
}

/// An RMCP+ packet. With `keys`, the payload is AES-encrypted with `iv` and the
/// integrity trailer is appended (both set in the payload type byte).
pub fn encode_v2(
    payload_type: u8,
    session_id: u32,
    sequence: u32,
    payload: &[u8],
    keys: Option<(&SessionKeys, [u8; 16])>,
) -> Vec<u8> {
    let body = match keys {
        Some((keys, iv)) => keys.encrypt(iv, payload),
        None => payload.to_vec(),
    };
    let flags = if keys.is_some() { 0xC0 } else { 0x00 };
    let mut out = RMCP_HEADER.to_vec();
    out.push(AUTH_TYPE_RMCPP);
    out.push(flags | (payload_type & 0x3F));
    out.extend_from_slice(&session_id.to_le_bytes());
    out.extend_from_slice(&sequence.to_le_bytes());
    out.extend_from_slice(&(body.len() as u16).to_le_bytes());
    out.extend_from_slice(&body);
    if let Some((keys, _)) = keys {
        // Pad so the AuthCode covers a multiple of 4 bytes (auth type .. next header).
        let covered = out.len() - SESSION_OFFSET + 2;
        let pad = (4 - covered % 4) % 4;
        out.extend(std::iter::repeat_n(0xFF, pad));
        out.push(pad as u8);
        out.push(NEXT_HEADER);
        let code = keys.auth_code(&out[SESSION_OFFSET..]);
        out.extend_from_slice(&code);
    }
    out
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    data.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Parses an inbound datagram. With `keys`, authenticated packets are verified and
/// encrypted payloads decrypted; without, any security flag is an error.
pub fn decode(data: &[u8], keys: Option<&SessionKeys>) -> Result<Packet, WireError> {
    let header = data.get(..SESSION_OFFSET + 1).ok_or(WireError::Truncated("rmcp header"))?;
    if header[0] != 0x06 || header[3] & 0x1F != 0x07 {
        return Err(WireError::NotIpmi);
    }
    if header[4] != AUTH_TYPE_RMCPP {
        return decode_v15(data);
    }
    let session =
        data.get(SESSION_OFFSET..SESSION_OFFSET + 12).ok_or(WireError::Truncated("session header"))?;
    let payload_byte = session[1];
    let payload_type = payload_byte & 0x3F;
    if payload_type == 0x02 {
        return Err(WireError::UnsupportedPayload(payload_type));
    }
    let encrypted = payload_byte & 0x80 != 0;
    let authenticated = payload_byte & 0x40 != 0;
    let session_id = u32_at(session, 2).ok_or(WireError::Truncated("session id"))?;
    let sequence = u32_at(session, 6).ok_or(WireError::Truncated("sequence"))?;
    let len = usize::from(u16::from_le_bytes([session[10], session[11]]));
    let start = SESSION_OFFSET + 12;
    let body = data.get(start..start + len).ok_or(WireError::Truncated("payload"))?;
    if authenticated {
        let keys = keys.ok_or(WireError::UnexpectedSecurity)?;
        let code_len = keys.auth_code_len();
        let trailer = &data[start + len..];
        if trailer.len() < code_len + 2 {
            return Err(WireError::BadTrailer);
        }
        let code_at = data.len() - code_len;
        let pad = usize::from(data[code_at - 2]);
        if data[code_at - 1] != NEXT_HEADER || pad > 3 || start + len + pad + 2 != code_at {
            return Err(WireError::BadTrailer);
        }
        let expected = keys.auth_code(&data[SESSION_OFFSET..code_at]);
        if !super::crypto::constant_time_eq(&expected, &data[code_at..]) {
            return Err(WireError::BadAuthCode);
        }
    } else if encrypted {
        // Encryption without integrity is not something we negotiate.
        return Err(WireError::UnexpectedSecurity);
    }
    let payload = if encrypted {
        let keys = keys.ok_or(WireError::UnexpectedSecurity)?;
        keys.decrypt(body).ok_or(WireError::BadCiphertext)?
    } else {
        body.to_vec()
    };
    Ok(Packet { rmcpp: true, payload_type, session_id, sequence, payload })
}

fn decode_v15(data: &[u8]) -> Result<Packet, WireError> {
    let auth_type = data[SESSION_OFFSET];
    let sequence = u32_at(data, 5).ok_or(WireError::Truncated("v1.5 sequence"))?;
    let session_id = u32_at(data, 9).ok_or(WireError::Truncated("v1.5 session id"))?;
    // Authenticated 1.5 packets carry a 16-byte AuthCode we never verify (we only
    // read pre-session answers in 1.5 framing).
    let len_at = if auth_type == 0 { 13 } else { 29 };
    let len = usize::from(*data.get(len_at).ok_or(WireError::Truncated("v1.5 length"))?);
    let payload = data.get(len_at + 1..len_at + 1 + len).ok_or(WireError::Truncated("v1.5 payload"))?;
    Ok(Packet { rmcpp: false, payload_type: payload::IPMI, session_id, sequence, payload: payload.to_vec() })
}

#[cfg(test)]
mod tests {
    use super::super::crypto::{Hash, SessionKeys};
    use super::*;

    fn keys(hash: Hash) -> SessionKeys {
        SessionKeys::derive(hash, &[0x5a; 32])
    }

    #[test]
    fn plain_and_secured_packets_round_trip() {
        let plain = encode_v2(payload::RAKP1, 0x1234, 0, b"hello", None);
        let p = decode(&plain, None).unwrap();
        assert_eq!(
            (p.rmcpp, p.payload_type, p.session_id, p.payload.as_slice()),
            (true, payload::RAKP1, 0x1234, &b"hello"[..])
        );
        for hash in [Hash::Sha1, Hash::Sha256] {
            let k = keys(hash);
            for len in 0..40 {
                let body: Vec<u8> = (0..len).collect();
                let packet = encode_v2(payload::IPMI, 7, 9, &body, Some((&k, [1; 16])));
                assert_eq!((packet.len() - SESSION_OFFSET - k.auth_code_len()) % 4, 0);
                let p = decode(&packet, Some(&k)).unwrap();
                assert_eq!((p.sequence, p.payload), (9, body));
            }
        }
    }

    #[test]
    fn tampering_is_detected() {
        let k = keys(Hash::Sha256);
        let packet = encode_v2(payload::IPMI, 7, 9, b"data", Some((&k, [1; 16])));
        // The auth type byte selects the framing: flipped, the packet is no longer
        // RMCP+ (and session callers accept only RMCP+).
        let mut other_framing = packet.clone();
        other_framing[SESSION_OFFSET] ^= 0x01;
        assert!(
            decode(&other_framing, Some(&k)).is_ok_and(|p| !p.rmcpp)
                || decode(&other_framing, Some(&k)).is_err()
        );
        for i in SESSION_OFFSET + 1..packet.len() {
            let mut bad = packet.clone();
            bad[i] ^= 0x01;
            assert!(decode(&bad, Some(&k)).is_err(), "flipping byte {i} went unnoticed");
        }
        assert_eq!(decode(&packet, None), Err(WireError::UnexpectedSecurity));
        let other = keys(Hash::Sha1);
        assert!(decode(&packet, Some(&other)).is_err());
    }

    #[test]
    fn v15_round_trip() {
        let packet = encode_v15(&[1, 2, 3]);
        let p = decode(&packet, None).unwrap();
        assert_eq!((p.rmcpp, p.payload), (false, vec![1, 2, 3]));
    }

    /// Every truncation of valid packets and a stream of pseudo-random datagrams:
    /// the decoder must return, never panic.
    #[test]
    fn garbage_and_truncation_never_panic() {
        let k = keys(Hash::Sha1);
        let samples = [
            encode_v2(payload::IPMI, 7, 9, b"payload bytes", Some((&k, [2; 16]))),
            encode_v2(payload::RAKP2, 1, 0, &[0u8; 60], None),
            encode_v15(&[0x81, 0x1c, 0x63, 0x20, 0x04, 0x38, 0x00, 0x01, 0x02]),
        ];
        for sample in &samples {
            for cut in 0..sample.len() {
                let _ = decode(&sample[..cut], Some(&k));
                let _ = decode(&sample[..cut], None);
            }
        }
        let mut state = 0x2545F4914F6CDD1Du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 96) as usize;
            let mut data: Vec<u8> = (0..len).map(|i| (state >> (i % 56)) as u8).collect();
            if len > 5 && state & 1 == 0 {
                // Make the header plausible so the deeper paths run too.
                data[..4].copy_from_slice(&RMCP_HEADER);
                data[4] = if state & 2 == 0 { AUTH_TYPE_RMCPP } else { 0 };
            }
            let _ = decode(&data, Some(&k));
            let _ = decode(&data, None);
        }
    }
}
