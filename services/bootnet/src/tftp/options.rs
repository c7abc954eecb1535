//! The TFTP wire: requests (RFC 1350) with their options (RFC 2347: blksize RFC
//! 2348, timeout and tsize RFC 2349, windowsize RFC 7440) in, DATA/OACK/ERROR
//! out. Everything here is a pure function of bytes, fuzzed by the tests.

use std::time::Duration;

/// Read request.
pub const RRQ: u16 = 1;
/// Write request.
pub const WRQ: u16 = 2;
/// Data block.
pub const DATA: u16 = 3;
/// Acknowledgement.
pub const ACK: u16 = 4;
/// Error.
pub const ERROR: u16 = 5;
/// Option acknowledgement.
pub const OACK: u16 = 6;

/// Largest request we read; RFC 1350 requests fit 512 bytes, options add a little.
pub const MAX_REQUEST: usize = 1024;
/// RFC 2348's largest block size.
pub const MAX_BLKSIZE: u16 = 65464;
/// The block size without options.
pub const DEFAULT_BLKSIZE: u16 = 512;

/// TFTP error codes (RFC 1350, RFC 2347).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum ErrorCode {
    /// Not defined; see the message.
    Undefined = 0,
    /// File not found.
    NotFound = 1,
    /// Access violation.
    AccessViolation = 2,
    /// Illegal TFTP operation.
    IllegalOperation = 4,
    /// Unknown transfer ID.
    UnknownTid = 5,
    /// Option negotiation refused.
    OptionRefused = 8,
}

/// Transfer mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bytes as they are.
    Octet,
    /// Lines converted to CR LF (RFC 764).
    Netascii,
}

/// The options a client asked for, parsed and range-checked (out-of-range
/// values are ignored, as RFC 2347 lets a server ignore any option).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requested {
    /// blksize, clamped to 8..=65464.
    pub blksize: Option<u16>,
    /// tsize was asked for (its value in a RRQ is 0 and is ignored).
    pub tsize: bool,
    /// timeout in seconds, 1..=255.
    pub timeout: Option<u8>,
    /// windowsize, 1..=65535.
    pub windowsize: Option<u16>,
}

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// RRQ.
    Read {
        /// The path as sent.
        filename: String,
        /// The mode.
        mode: Mode,
        /// The options.
        options: Requested,
    },
    /// WRQ (always refused).
    Write,
}

/// Why a request datagram is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// Too short, too long, or missing a NUL terminator.
    Framing,
    /// Not a RRQ or WRQ.
    NotRequest,
    /// Filename or option not UTF-8.
    Encoding,
    /// Unknown mode (`mail` or garbage).
    Mode,
}

/// Parses a datagram received on the TFTP port.
pub fn parse_request(bytes: &[u8]) -> Result<Request, Malformed> {
    if bytes.len() < 4 || bytes.len() > MAX_REQUEST {
        return Err(Malformed::Framing);
    }
    let opcode = u16::from_be_bytes([bytes[0], bytes[1]]);
    match opcode {
        RRQ => {}
        WRQ => return Ok(Request::Write),
        _ => return Err(Malformed::NotRequest),
    }
    let body = &bytes[2..];
    if body.last() != Some(&0) {
        return Err(Malformed::Framing);
    }
    let mut fields = body[..body.len() - 1].split(|b| *b == 0);
    let filename = fields.next().ok_or(Malformed::Framing)?;
    let mode = fields.next().ok_or(Malformed::Framing)?;
    let filename = std::str::from_utf8(filename).map_err(|_| Malformed::Encoding)?.to_owned();
    if filename.is_empty() {
        return Err(Malformed::Framing);
    }
    let mode = match std::str::from_utf8(mode).map_err(|_| Malformed::Encoding)?.to_ascii_lowercase().as_str()
    {
        "octet" => Mode::Octet,
        "netascii" => Mode::Netascii,
        _ => return Err(Malformed::Mode),
    };
    let mut options = Requested::default();
    while let Some(name) = fields.next() {
        let Some(value) = fields.next() else { return Err(Malformed::Framing) };
        let name = std::str::from_utf8(name).map_err(|_| Malformed::Encoding)?.to_ascii_lowercase();
        let value = std::str::from_utf8(value).map_err(|_| Malformed::Encoding)?;
        let number: Option<u64> = value.parse().ok();
        match name.as_str() {
            "blksize" if options.blksize.is_none() => {
                options.blksize = number.filter(|n| *n >= 8).map(|n| n.min(u64::from(MAX_BLKSIZE)) as u16);
            }
            "tsize" => options.tsize = number.is_some(),
            "timeout" if options.timeout.is_none() => {
                options.timeout = number.filter(|n| (1..=255).contains(n)).map(|n| n as u8);
            }
            "windowsize" if options.windowsize.is_none() => {
                options.windowsize = number.filter(|n| (1..=65535).contains(n)).map(|n| n as u16);
            }
            _ => {}
        }
    }
    Ok(Request::Read { filename, mode, options })
}

/// What a transfer runs with after negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// Bytes per DATA block.
    pub blksize: u16,
    /// Blocks sent before waiting for an ACK.
    pub windowsize: u16,
    /// The client's timeout, if it set one.
    pub timeout: Option<Duration>,
}

/// Negotiates `requested` for a file of `size` bytes (`None` when the size is
/// not known in advance, as in netascii): the settings and the OACK to send, if
/// any option was accepted.
pub fn negotiate(requested: &Requested, size: Option<u64>) -> (Negotiated, Option<Vec<u8>>) {
    let mut oack = OACK.to_be_bytes().to_vec();
    let mut push = |name: &str, value: String| {
        oack.extend_from_slice(name.as_bytes());
        oack.push(0);
        oack.extend_from_slice(value.as_bytes());
        oack.push(0);
    };
    let mut any = false;
    if let Some(blksize) = requested.blksize {
        push("blksize", blksize.to_string());
        any = true;
    }
    if let (true, Some(size)) = (requested.tsize, size) {
        push("tsize", size.to_string());
        any = true;
    }
    if let Some(timeout) = requested.timeout {
        push("timeout", timeout.to_string());
        any = true;
    }
    if let Some(windowsize) = requested.windowsize {
        push("windowsize", windowsize.to_string());
        any = true;
    }
    let negotiated = Negotiated {
        blksize: requested.blksize.unwrap_or(DEFAULT_BLKSIZE),
        windowsize: requested.windowsize.unwrap_or(1),
        timeout: requested.timeout.map(|s| Duration::from_secs(u64::from(s))),
    };
    (negotiated, any.then_some(oack))
}

/// A DATA packet.
pub fn data(block: u16, payload: &[u8]) -> Vec<u8> {
    let mut packet = Vec::with_capacity(4 + payload.len());
    packet.extend_from_slice(&DATA.to_be_bytes());
    packet.extend_from_slice(&block.to_be_bytes());
    packet.extend_from_slice(payload);
    packet
}

/// An ERROR packet.
pub fn error(code: ErrorCode, message: &str) -> Vec<u8> {
    let mut packet = Vec::with_capacity(5 + message.len());
    packet.extend_from_slice(&ERROR.to_be_bytes());
    packet.extend_from_slice(&(code as u16).to_be_bytes());
    packet.extend_from_slice(message.as_bytes());
    packet.push(0);
    packet
}

/// What a client sends during a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientPacket {
    /// ACK of a block (0 acknowledges the OACK).
    Ack(u16),
    /// The client gave up (or refused our options).
    Error(u16),
    /// Anything else: ignored.
    Other,
}

/// Parses a datagram received on a transfer's socket.
pub fn parse_client(bytes: &[u8]) -> ClientPacket {
    if bytes.len() < 4 {
        return ClientPacket::Other;
    }
    let opcode = u16::from_be_bytes([bytes[0], bytes[1]]);
    let value = u16::from_be_bytes([bytes[2], bytes[3]]);
    match opcode {
        ACK => ClientPacket::Ack(value),
        ERROR => ClientPacket::Error(value),
        _ => ClientPacket::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rrq(parts: &[&str]) -> Vec<u8> {
        let mut packet = RRQ.to_be_bytes().to_vec();
        for part in parts {
            packet.extend_from_slice(part.as_bytes());
            packet.push(0);
        }
        packet
    }

    #[test]
    fn requests_parse_with_their_options() {
        let got = parse_request(&rrq(&[
            "boot.ipxe",
            "OCTET",
            "blksize",
            "1468",
            "tsize",
            "0",
            "windowsize",
            "16",
            "timeout",
            "3",
        ]));
        let expected = Requested { blksize: Some(1468), tsize: true, timeout: Some(3), windowsize: Some(16) };
        assert_eq!(
            got,
            Ok(Request::Read { filename: "boot.ipxe".into(), mode: Mode::Octet, options: expected })
        );
        // Out-of-range values are ignored, oversize blksize clamped, unknown options skipped.
        let got = parse_request(&rrq(&[
            "f",
            "netascii",
            "blksize",
            "70000",
            "timeout",
            "0",
            "windowsize",
            "x",
            "multicast",
            "",
        ]));
        let expected =
            Requested { blksize: Some(MAX_BLKSIZE), tsize: false, timeout: None, windowsize: None };
        assert_eq!(got, Ok(Request::Read { filename: "f".into(), mode: Mode::Netascii, options: expected }));
        assert_eq!(
            parse_request(&rrq(&["f", "octet", "blksize", "7"]))
                .map(|r| matches!(r, Request::Read { options: Requested { blksize: None, .. }, .. })),
            Ok(true)
        );
    }

    #[test]
    fn malformed_requests_are_refused() {
        let cases: Vec<(Vec<u8>, Malformed)> = vec![
            (vec![0, 1], Malformed::Framing),
            (vec![0, 1, b'f', 0, b'o'], Malformed::Framing),
            (rrq(&["", "octet"]), Malformed::Framing),
            (rrq(&["f"]), Malformed::Framing),
            (rrq(&["f", "mail"]), Malformed::Mode),
            (rrq(&["f", "octet", "blksize"]), Malformed::Framing),
            ([&[0u8, 3][..], b"x\0octet\0"].concat(), Malformed::NotRequest),
            ([&[0u8, 1][..], &[0xff, 0xfe, 0], b"octet\0"].concat(), Malformed::Encoding),
            (vec![0; 2000], Malformed::Framing),
        ];
        for (bytes, expected) in cases {
            assert_eq!(parse_request(&bytes), Err(expected), "{bytes:?}");
        }
        assert_eq!(parse_request(&[0, 2, b'f', 0, b'o', b'c', b't', b'e', b't', 0]), Ok(Request::Write));
    }

    #[test]
    fn negotiation_answers_only_what_was_asked() {
        let (n, oack) = negotiate(&Requested::default(), Some(10));
        assert_eq!((n.blksize, n.windowsize, oack), (512, 1, None));
        let asked = Requested { blksize: Some(1468), tsize: true, timeout: None, windowsize: Some(16) };
        let (n, oack) = negotiate(&asked, Some(1234));
        assert_eq!((n.blksize, n.windowsize), (1468, 16));
        assert_eq!(oack.unwrap(), b"\0\x06blksize\x001468\0tsize\x001234\0windowsize\x0016\0".to_vec());
        // tsize without a known size is left out (netascii).
        let (_, oack) = negotiate(&Requested { tsize: true, ..Requested::default() }, None);
        assert_eq!(oack, None);
    }
}
