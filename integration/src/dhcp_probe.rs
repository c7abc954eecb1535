//! A relayed DHCP DISCOVER, as a relay agent on loopback sends it: how the
//! distributed harness asks "does some bootnet instance answer DHCP right now?"
//! without a network namespace. The server answers a relayed request to
//! giaddr:67, so the probe binds port 67 on a loopback address of its own
//! (127.0.0.0/8 needs no configuration) and uses it as giaddr.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use dhcproto::v4::{DhcpOption, Flags, HType, Message, MessageType, Opcode};
use dhcproto::{Decodable, Decoder, Encodable};
use tokio::net::UdpSocket;

/// A relay on `giaddr:67` that sends DISCOVERs to one DHCP server.
pub struct DhcpProbe {
    socket: UdpSocket,
    giaddr: Ipv4Addr,
    server: SocketAddr,
}

impl DhcpProbe {
    /// Binds `giaddr:67`; `server` is where bootnet's DHCP listens.
    pub async fn bind(giaddr: Ipv4Addr, server: SocketAddr) -> std::io::Result<Self> {
        let socket = UdpSocket::bind(SocketAddrV4::new(giaddr, 67)).await?;
        Ok(Self { socket, giaddr, server })
    }

    /// A loopback address unlikely to be another process's relay address.
    pub fn loopback_giaddr() -> Ipv4Addr {
        let pid = std::process::id();
        Ipv4Addr::new(127, 77, (pid >> 8) as u8, (pid as u8).max(2))
    }

    /// Sends one DISCOVER for `mac` and returns the offered address, or why none
    /// came within `timeout`.
    pub async fn offer(&self, mac: [u8; 6], timeout: Duration) -> Result<Ipv4Addr, String> {
        let xid = rand_xid(mac);
        let mut discover = Message::default();
        discover
            .set_opcode(Opcode::BootRequest)
            .set_htype(HType::Eth)
            .set_hops(1)
            .set_xid(xid)
            .set_flags(Flags::default())
            .set_giaddr(self.giaddr)
            .set_chaddr(&mac);
        discover.opts_mut().insert(DhcpOption::MessageType(MessageType::Discover));
        let bytes = discover.to_vec().map_err(|e| e.to_string())?;
        self.socket.send_to(&bytes, self.server).await.map_err(|e| e.to_string())?;
        let mut buffer = vec![0u8; 1500];
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let received = tokio::time::timeout_at(deadline, self.socket.recv_from(&mut buffer)).await;
            let (len, _) = received.map_err(|_| "no DHCP offer".to_owned())?.map_err(|e| e.to_string())?;
            let Ok(reply) = Message::decode(&mut Decoder::new(&buffer[..len])) else { continue };
            let offered = reply.opts().get(dhcproto::v4::OptionCode::MessageType)
                == Some(&DhcpOption::MessageType(MessageType::Offer));
            if reply.xid() == xid && offered {
                return Ok(reply.yiaddr());
            }
        }
    }
}

/// A transaction id that differs per call.
fn rand_xid(mac: [u8; 6]) -> u32 {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    nanos ^ u32::from_be_bytes([mac[2], mac[3], mac[4], mac[5]])
}
