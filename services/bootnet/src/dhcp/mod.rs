//! DHCPv4: what a machine hears first.
//!
//! - [`options`]: the wire — untrusted datagrams checked and decoded, replies built.
//! - [`pxe`]: which firmware asks and which iPXE build (or script URL) it gets.
//! - [`pool`]: subnets, pools and reservations.
//! - [`lease`]: the lease table, in memory and written behind to the store.
//! - [`relay`]: where replies go, through relays or not.
//! - [`server`]: authoritative mode (addresses and boot answers).
//! - [`proxy`]: ProxyDHCP mode (boot answers only, ports 67 and 4011).
//! - [`ndp`]: answers IPv6 router solicitations so iPXE does not wait for them.
//!
//! Both modes run one task per socket that receives, decides synchronously (no
//! awaits while deciding: the lease table is in memory) and sends. There is no
//! ping-before-offer: it would cost every booting machine seconds.

pub mod active;
pub mod election;
pub mod lease;
pub mod ndp;
pub mod options;
pub mod pool;
pub mod proxy;
pub mod pxe;
pub mod relay;
pub mod server;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use dhcproto::v4::{DhcpOption, Message};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use crate::dhcp::lease::LeaseDb;
use crate::dhcp::pool::Subnet;
use crate::dhcp::pxe::{BootAnswer, IpxeFiles};
use crate::error::BootnetError;
use crate::registry::{BootTarget, Firmware, Registry};

/// Everything the DHCP handlers decide with.
pub struct DhcpContext {
    /// Our address on the provisioning network (server identifier, next-server).
    pub server: Ipv4Addr,
    /// Pools (authoritative mode).
    pub subnets: Vec<Subnet>,
    /// Who holds which address.
    pub leases: LeaseDb,
    /// Which MACs netboot into what.
    pub registry: Registry,
    /// The iPXE builds we can hand out.
    pub files: IpxeFiles,
    /// Base URL of our HTTP server, for iPXE script URLs.
    pub http_base: String,
    /// Whether unregistered MACs get boot answers.
    pub discovery: bool,
}

impl DhcpContext {
    /// The URL of `mac`'s iPXE script.
    pub fn script_url(&self, mac: &str) -> String {
        format!("{}/ipxe/{}", self.http_base.trim_end_matches('/'), mac.replace(':', "-"))
    }

    /// The boot answer for a request, if its MAC may netboot and its firmware is one
    /// we have iPXE for.
    pub fn boot_for(&self, request: &options::Inbound) -> Option<BootAnswer> {
        if !options::is_ethernet(&request.msg) {
            return None;
        }
        let client = pxe::classify(request);
        if client == pxe::Client::NotPxe {
            return None;
        }
        let (firmware, target) = match self.registry.lookup(&request.client) {
            Some(node) => (node.record.firmware, node.record.target),
            None if self.discovery => (Firmware::Any, BootTarget::Inspect),
            None => return None,
        };
        pxe::answer(client, firmware, target, &self.files, &self.script_url(&request.client), self.server)
    }
}

/// Writes a boot answer into a reply: next-server, file, and for iPXE option 175
/// (skip the ProxyDHCP wait); PXE clients get their UUID (option 97) echoed.
pub fn apply_boot(reply: &mut Message, answer: &BootAnswer, request: &options::Inbound) {
    reply.set_siaddr(answer.next_server);
    reply.set_fname_str(&answer.file);
    if answer.ipxe {
        reply.opts_mut().insert(options::ipxe_no_proxydhcp());
    }
    if let Some(uuid) = &request.uuid {
        reply.opts_mut().insert(DhcpOption::ClientMachineIdentifier(uuid.clone()));
    }
}

/// Binds a DHCP socket: broadcast allowed, address reusable (a proxy may share the
/// host with another DHCP server), and tied to `interface` when given so answers
/// go out on the provisioning network only.
pub fn bind(addr: SocketAddr, interface: Option<&str>) -> Result<UdpSocket, BootnetError> {
    let error = |source| BootnetError::Bind { what: "DHCP", addr: addr.to_string(), source };
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).map_err(error)?;
    socket.set_reuse_address(true).map_err(error)?;
    socket.set_broadcast(true).map_err(error)?;
    if let Some(interface) = interface {
        socket.bind_device(Some(interface.as_bytes())).map_err(error)?;
    }
    socket.set_nonblocking(true).map_err(error)?;
    socket.bind(&addr.into()).map_err(error)?;
    UdpSocket::from_std(socket.into()).map_err(error)
}

/// A decided reply: bytes and destination.
#[derive(Debug)]
pub struct Reply {
    /// The encoded message.
    pub bytes: Vec<u8>,
    /// Where it goes.
    pub to: SocketAddr,
}

/// Receives on `socket` and answers with `handle` until `shutdown`.
pub async fn serve<H>(socket: UdpSocket, handle: H, shutdown: impl Future<Output = ()>)
where
    H: Fn(&[u8], SocketAddr) -> Option<Reply>,
{
    let socket = Arc::new(socket);
    let mut buffer = vec![0u8; options::MAX_DATAGRAM + 1];
    tokio::pin!(shutdown);
    loop {
        let (len, from) = tokio::select! {
            received = socket.recv_from(&mut buffer) => match received {
                Ok(received) => received,
                Err(error) => {
                    // ICMP errors from earlier sends surface here; keep serving.
                    tracing::debug!(%error, "DHCP receive error");
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        let Some(reply) = handle(&buffer[..len], from) else { continue };
        if let Err(error) = socket.send_to(&reply.bytes, reply.to).await {
            tracing::warn!(%error, to = %reply.to, "DHCP reply not sent");
        }
    }
}
