//! Where a reply goes (RFC 2131 4.1), including through relays.
//!
//! A relayed request (giaddr set) is answered to the relay on port 67; the relay
//! delivers it. Unrelayed, a client that already has an address (ciaddr set:
//! renewing, INFORM) gets unicast; a client without one gets a broadcast, because
//! unicast to an address it does not have yet would need an ARP entry we cannot
//! create from user space — dnsmasq injects one, we broadcast, which every client
//! accepts. NAKs are always broadcast (or relayed with the broadcast bit set).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use dhcproto::v4::{Message, MessageType};

/// The DHCP server port (replies to relays go there).
pub const SERVER_PORT: u16 = 67;
/// The DHCP client port.
pub const CLIENT_PORT: u16 = 68;

/// The destination of a reply of `kind` to `request`.
pub fn destination(request: &Message, kind: MessageType) -> SocketAddr {
    let giaddr = request.giaddr();
    if giaddr != Ipv4Addr::UNSPECIFIED {
        return SocketAddrV4::new(giaddr, SERVER_PORT).into();
    }
    let ciaddr = request.ciaddr();
    if kind != MessageType::Nak && ciaddr != Ipv4Addr::UNSPECIFIED {
        return SocketAddrV4::new(ciaddr, CLIENT_PORT).into();
    }
    SocketAddrV4::new(Ipv4Addr::BROADCAST, CLIENT_PORT).into()
}

/// Whether `request` came through a relay.
pub fn is_relayed(request: &Message) -> bool {
    request.giaddr() != Ipv4Addr::UNSPECIFIED
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(ciaddr: [u8; 4], giaddr: [u8; 4]) -> Message {
        Message::new(
            ciaddr.into(),
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::UNSPECIFIED,
            giaddr.into(),
            &[1, 2, 3, 4, 5, 6],
        )
    }

    #[test]
    fn replies_go_to_the_relay_the_client_or_everyone() {
        let cases = [
            (request([0; 4], [10, 2, 0, 1]), MessageType::Offer, "10.2.0.1:67"),
            (request([10, 2, 0, 9], [10, 2, 0, 1]), MessageType::Ack, "10.2.0.1:67"),
            (request([0; 4], [10, 2, 0, 1]), MessageType::Nak, "10.2.0.1:67"),
            (request([10, 1, 0, 9], [0; 4]), MessageType::Ack, "10.1.0.9:68"),
            (request([10, 1, 0, 9], [0; 4]), MessageType::Nak, "255.255.255.255:68"),
            (request([0; 4], [0; 4]), MessageType::Offer, "255.255.255.255:68"),
        ];
        for (msg, kind, expected) in cases {
            assert_eq!(destination(&msg, kind).to_string(), expected, "{kind:?}");
        }
    }
}
