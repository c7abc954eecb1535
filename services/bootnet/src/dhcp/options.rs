//! The DHCP wire, both ways: untrusted datagrams in ([`parse`]), replies out
//! ([`reply`], [`encode`]).
//!
//! `dhcproto` decodes and encodes; what is here is what it does not promise. Its
//! `Message::chaddr()` slices by the packet's `hlen` and would panic on a hostile
//! `hlen` above 16, and it does not check the magic cookie or the op code. So every
//! datagram is checked here first and then reduced to the facts the server acts on
//! ([`Inbound`]); anything that does not fit is dropped with a reason that is only
//! counted, never answered.

use std::net::Ipv4Addr;

use dhcproto::v4::{DhcpOption, Flags, HType, Message, MessageType, Opcode, OptionCode, UnknownOption};
use dhcproto::{Decodable, Encodable};

/// Fixed BOOTP header plus the magic cookie.
const HEADER_LEN: usize = 240;
/// RFC 2131's magic cookie.
const MAGIC: [u8; 4] = [99, 130, 83, 99];
/// Minimum BOOTP message size; some PXE ROMs ignore shorter replies.
const MIN_REPLY_LEN: usize = 300;
/// Largest datagram we look at; DHCP over Ethernet never needs more.
pub const MAX_DATAGRAM: usize = 4096;

/// Why a datagram got no answer (a metrics label; never sent anywhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// Shorter than a BOOTP header or longer than [`MAX_DATAGRAM`].
    Size,
    /// Not a BOOTREQUEST.
    NotRequest,
    /// `hlen` is 0 or above 16.
    HardwareLength,
    /// The magic cookie is wrong.
    Cookie,
    /// More than 16 relay hops (RFC 1542): a loop or a forgery.
    Hops,
    /// `dhcproto` refused it.
    Decode,
    /// No message type option.
    NoMessageType,
}

impl Dropped {
    /// The metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Dropped::Size => "size",
            Dropped::NotRequest => "not_request",
            Dropped::HardwareLength => "hlen",
            Dropped::Cookie => "cookie",
            Dropped::Hops => "hops",
            Dropped::Decode => "decode",
            Dropped::NoMessageType => "no_message_type",
        }
    }
}

/// A checked client request and the facts the server decides on.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// The decoded message, safe to read (`hlen` checked).
    pub msg: Message,
    /// Option 53.
    pub kind: MessageType,
    /// The client's hardware address as lowercase colon-separated hex: the lease key.
    pub client: String,
    /// Option 50.
    pub requested_ip: Option<Ipv4Addr>,
    /// Option 54.
    pub server_id: Option<Ipv4Addr>,
    /// Option 60 starts with `PXEClient`.
    pub pxe: bool,
    /// Option 93, the first architecture listed.
    pub arch: Option<u16>,
    /// iPXE itself: user class (77) `iPXE` or iPXE's encapsulated options (175).
    pub ipxe: bool,
    /// Option 97, echoed to PXE clients as the PXE spec asks.
    pub uuid: Option<Vec<u8>>,
}

/// Checks and decodes one datagram.
pub fn parse(bytes: &[u8]) -> Result<Inbound, Dropped> {
    if bytes.len() < HEADER_LEN || bytes.len() > MAX_DATAGRAM {
        return Err(Dropped::Size);
    }
    if bytes[0] != 1 {
        return Err(Dropped::NotRequest);
    }
    if bytes[2] == 0 || bytes[2] > 16 {
        return Err(Dropped::HardwareLength);
    }
    if bytes[3] > 16 {
        return Err(Dropped::Hops);
    }
    if bytes[236..240] != MAGIC {
        return Err(Dropped::Cookie);
    }
    if !lengths_decodable(&bytes[HEADER_LEN..]) {
        return Err(Dropped::Decode);
    }
    let msg = Message::from_bytes(bytes).map_err(|_| Dropped::Decode)?;
    if msg.opcode() != Opcode::BootRequest || msg.hlen() == 0 || msg.hlen() > 16 {
        return Err(Dropped::Decode);
    }
    let opts = msg.opts();
    let kind = opts.msg_type().ok_or(Dropped::NoMessageType)?;
    let client = hex_colon(msg.chaddr());
    let requested_ip = match opts.get(OptionCode::RequestedIpAddress) {
        Some(DhcpOption::RequestedIpAddress(ip)) => Some(*ip),
        _ => None,
    };
    let server_id = match opts.get(OptionCode::ServerIdentifier) {
        Some(DhcpOption::ServerIdentifier(ip)) => Some(*ip),
        _ => None,
    };
    let pxe = matches!(opts.get(OptionCode::ClassIdentifier), Some(DhcpOption::ClassIdentifier(class)) if class.starts_with(b"PXEClient"));
    let arch = match opts.get(OptionCode::ClientSystemArchitecture) {
        Some(DhcpOption::ClientSystemArchitecture(arch)) => Some(arch.0),
        _ => None,
    };
    let user_class_ipxe = matches!(opts.get(OptionCode::UserClass), Some(DhcpOption::UserClass(class)) if contains(class, b"iPXE"));
    let ipxe = user_class_ipxe || opts.get(OptionCode::Unknown(175)).is_some();
    let uuid = match opts.get(OptionCode::ClientMachineIdentifier) {
        Some(DhcpOption::ClientMachineIdentifier(id)) => Some(id.clone()),
        _ => None,
    };
    Ok(Inbound { msg, kind, client, requested_ip, server_id, pxe, arch, ipxe, uuid })
}

/// Options whose decoder in `dhcproto` asserts a length (a panic in debug
/// builds, an arithmetic underflow in `len - n`) instead of returning an error,
/// with the lengths it can take: found by fuzzing this parser.
fn length_ok(code: u8, len: usize) -> bool {
    match code {
        80 => len == 0,        // rapid commit
        81 => len >= 3,        // client FQDN
        94 => len == 3,        // client network interface
        151 => len >= 1,       // bulk lease query status code
        152..=155 => len == 4, // bulk lease query times
        _ => true,
    }
}

/// Walks the options as TLVs and refuses any that `dhcproto` would panic on,
/// counting a run of the same code once with its lengths summed (RFC 3396
/// concatenation, which is how `dhcproto` reads them).
fn lengths_decodable(options: &[u8]) -> bool {
    let mut at = 0;
    let mut run: Option<(u8, usize)> = None;
    while at < options.len() {
        let code = options[at];
        if code == 0 || code == 255 {
            if let Some((code, len)) = run.take()
                && !length_ok(code, len)
            {
                return false;
            }
            if code == 255 {
                break;
            }
            at += 1;
            continue;
        }
        let Some(&len) = options.get(at + 1) else { return false };
        let len = usize::from(len);
        if at + 2 + len > options.len() {
            // An option running past the datagram: truncated or forged.
            return false;
        }
        run = match run {
            Some((previous, total)) if previous == code => Some((code, total + len)),
            Some((previous, total)) => {
                if !length_ok(previous, total) {
                    return false;
                }
                Some((code, len))
            }
            None => Some((code, len)),
        };
        at += 2 + len;
    }
    run.is_none_or(|(code, len)| length_ok(code, len))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Lowercase colon-separated hex.
pub fn hex_colon(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A reply skeleton to `request`: same transaction, client, flags and relay, with
/// the message type and our server identifier set. The relay agent information
/// (option 82) is echoed, as RFC 3046 requires.
pub fn reply(request: &Message, kind: MessageType, server: Ipv4Addr) -> Message {
    let mut msg = Message::new_with_id(
        request.xid(),
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        request.giaddr(),
        request.chaddr(),
    );
    msg.set_opcode(Opcode::BootReply);
    msg.set_htype(request.htype());
    msg.set_flags(Flags::new(u16::from(request.flags())));
    if request.giaddr() != Ipv4Addr::UNSPECIFIED {
        msg.set_hops(request.hops());
    }
    let opts = msg.opts_mut();
    opts.insert(DhcpOption::MessageType(kind));
    opts.insert(DhcpOption::ServerIdentifier(server));
    if let Some(relay) = request.opts().get(OptionCode::RelayAgentInformation) {
        opts.insert(relay.clone());
    }
    msg
}

/// Option 175 as iPXE reads it: encapsulated setting 176 (`no-pxedhcp`) = 1, so
/// iPXE does not wait seconds for ProxyDHCP offers that will never come.
pub fn ipxe_no_proxydhcp() -> DhcpOption {
    DhcpOption::Unknown(UnknownOption::new(OptionCode::Unknown(175), vec![176, 1, 1]))
}

/// Encodes a reply, padded to the BOOTP minimum; `None` if it cannot be encoded
/// (never expected for replies we built).
pub fn encode(msg: &Message) -> Option<Vec<u8>> {
    let mut bytes = msg.to_vec().ok()?;
    if bytes.len() < MIN_REPLY_LEN {
        bytes.resize(MIN_REPLY_LEN, 0);
    }
    Some(bytes)
}

/// Whether the hardware type is Ethernet with a 6-byte address, i.e. the client key
/// is a MAC registrations can name.
pub fn is_ethernet(msg: &Message) -> bool {
    msg.htype() == HType::Eth && msg.hlen() == 6
}
