//! IPv6 router advertisements on the provisioning interface, only so iPXE stops
//! waiting for them.
//!
//! iPXE configures IPv6 next to DHCPv4 and does not report its interface ready
//! until a router answers its router solicitation — on a network without one that
//! is ~13 s of retries on every boot (`../shared/recipes/pxe-vm/README.md`). We
//! answer each solicitation with an advertisement of router lifetime 0 (we are no
//! default router), no prefixes and no M/O flags, which iPXE takes as "IPv6
//! autoconfiguration done". Hosts are unaffected: lifetime 0 installs no route.

use std::future::Future;
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use crate::error::BootnetError;

const ROUTER_SOLICITATION: u8 = 133;
const ROUTER_ADVERTISEMENT: u8 = 134;
const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// The advertisement: type, code, checksum (the kernel fills it in for ICMPv6 raw
/// sockets), hop limit 64, no flags, router lifetime 0, reachable and retransmit
/// timers unspecified.
const ADVERTISEMENT: [u8; 16] = [ROUTER_ADVERTISEMENT, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/// A raw ICMPv6 socket on `interface` that hears router solicitations.
pub fn bind(interface: &str) -> Result<UdpSocket, BootnetError> {
    let error = |source| BootnetError::Bind {
        what: "ICMPv6 (router advertisements)",
        addr: interface.to_owned(),
        source,
    };
    let index = interface_index(interface)
        .ok_or_else(|| error(std::io::Error::from(std::io::ErrorKind::NotFound)))?;
    let socket = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6)).map_err(error)?;
    socket.bind_device(Some(interface.as_bytes())).map_err(error)?;
    // Neighbour discovery messages are only accepted with hop limit 255 (RFC 4861).
    socket.set_multicast_hops_v6(255).map_err(error)?;
    socket.set_unicast_hops_v6(255).map_err(error)?;
    socket.set_multicast_if_v6(index).map_err(error)?;
    socket.join_multicast_v6(&ALL_ROUTERS, index).map_err(error)?;
    socket.set_nonblocking(true).map_err(error)?;
    // A raw socket is driven through tokio's datagram type: recvfrom/sendto are the
    // same calls whatever the socket type.
    let std_socket: std::net::UdpSocket = socket.into();
    UdpSocket::from_std(std_socket).map_err(error)
}

/// Answers router solicitations until `shutdown`.
pub async fn serve(socket: UdpSocket, interface_index: u32, shutdown: impl Future<Output = ()>) {
    let mut buffer = [0u8; 1500];
    tokio::pin!(shutdown);
    loop {
        let received = tokio::select! {
            received = socket.recv_from(&mut buffer) => received,
            () = &mut shutdown => return,
        };
        let Ok((len, from)) = received else { continue };
        if len < 8 || buffer[0] != ROUTER_SOLICITATION || buffer[1] != 0 {
            continue;
        }
        let to = SocketAddr::V6(SocketAddrV6::new(ALL_NODES, 0, 0, interface_index));
        if let Err(error) = socket.send_to(&ADVERTISEMENT, to).await {
            tracing::debug!(%error, %from, "router advertisement not sent");
        }
    }
}

/// The index of `interface` in this thread's network namespace (not /sys, which
/// shows the namespace it was mounted in).
pub fn interface_index(interface: &str) -> Option<u32> {
    nix::net::if_::if_nametoindex(interface).ok()
}
