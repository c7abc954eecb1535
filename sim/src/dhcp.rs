//! The machines' DHCP, as a relay agent forwards it: every simulated machine's
//! DISCOVER and REQUEST leave one socket bound to the relay address on port 67
//! with `giaddr` set and `hops = 1`, and bootnet answers there (RFC 2131 4.1:
//! replies to a relayed request go to `giaddr:67`). One socket serves the whole
//! fleet; replies are matched to machines by transaction id.
//!
//! Each machine asks as iPXE would (user class `iPXE`, PXE client class, x86-64
//! UEFI architecture), so a registered machine's OFFER and ACK name its iPXE
//! script URL, which is what the real chain (PXE ROM → `ipxe.efi` → DHCP again)
//! ends in.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dhcproto::v4::{Architecture, DhcpOption, Flags, HType, Message, MessageType, Opcode, OptionCode};
use dhcproto::{Decodable, Encodable};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::error::SimError;

/// How long a machine waits for each answer before sending again.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);
/// Sends of one message before the exchange is given up.
const ATTEMPTS: usize = 4;

/// What a completed exchange leased a machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The machine's address.
    pub ip: Ipv4Addr,
    /// The boot file: for iPXE, its script URL; empty when the server gave none.
    pub boot_file: String,
    /// `siaddr`: the TFTP server.
    pub next_server: Ipv4Addr,
}

/// Counters over every exchange, for the report.
#[derive(Debug, Default)]
pub struct DhcpCounters {
    /// Datagrams sent (DISCOVER and REQUEST, retransmissions included).
    pub sent: AtomicU64,
    /// Retransmissions after an answer did not come in time.
    pub retransmissions: AtomicU64,
    /// Completed exchanges (ACKs).
    pub leases: AtomicU64,
    /// NAKs received.
    pub naks: AtomicU64,
}

type Waiters = Arc<Mutex<HashMap<u32, mpsc::Sender<Message>>>>;

/// The simulated relay: one socket, many machines.
pub struct Relay {
    socket: Arc<UdpSocket>,
    giaddr: Ipv4Addr,
    server: SocketAddr,
    waiters: Waiters,
    /// Counters over every exchange.
    pub counters: Arc<DhcpCounters>,
    receiver: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// Binds `local` (the fleet binds `giaddr:67`, where bootnet answers) and
    /// starts delivering replies from `server`; requests carry `giaddr`.
    pub async fn bind(local: SocketAddr, giaddr: Ipv4Addr, server: SocketAddr) -> Result<Self, SimError> {
        let socket = UdpSocket::bind(local)
            .await
            .map_err(|e| SimError::op(format!("bind the relay at {local}"), e))?;
        let socket = Arc::new(socket);
        let waiters: Waiters = Arc::default();
        let receiver = tokio::spawn(deliver(socket.clone(), waiters.clone()));
        Ok(Self { socket, giaddr, server, waiters, counters: Arc::default(), receiver })
    }

    /// Runs DISCOVER → OFFER → REQUEST → ACK for `mac`.
    #[tracing::instrument(skip(self), fields(mac = %crate::machine::mac_text(&mac)))]
    pub async fn lease(&self, mac: [u8; 6]) -> Result<Lease, SimError> {
        let xid: u32 = rand::random();
        let (sender, mut replies) = mpsc::channel(8);
        self.lock().insert(xid, sender);
        let result = self.exchange(xid, mac, &mut replies).await;
        self.lock().remove(&xid);
        result
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, mpsc::Sender<Message>>> {
        self.waiters.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn exchange(
        &self,
        xid: u32,
        mac: [u8; 6],
        replies: &mut mpsc::Receiver<Message>,
    ) -> Result<Lease, SimError> {
        for _ in 0..ATTEMPTS {
            let discover = self.request(xid, mac, MessageType::Discover, None);
            let offer = self.ask(&discover, MessageType::Offer, replies).await?;
            let server_id = match offer.opts().get(OptionCode::ServerIdentifier) {
                Some(DhcpOption::ServerIdentifier(id)) => *id,
                _ => return Err(SimError::Dhcp("OFFER without a server identifier".into())),
            };
            let request = self.request(xid, mac, MessageType::Request, Some((offer.yiaddr(), server_id)));
            let ack = self.ask(&request, MessageType::Ack, replies).await?;
            if ack.opts().msg_type() == Some(MessageType::Nak) {
                self.counters.naks.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            self.counters.leases.fetch_add(1, Ordering::Relaxed);
            let boot_file = ack.fname_str().and_then(Result::ok).unwrap_or_default().to_owned();
            return Ok(Lease { ip: ack.yiaddr(), boot_file, next_server: ack.siaddr() });
        }
        Err(SimError::Dhcp(format!("NAKed {ATTEMPTS} times")))
    }

    /// Sends `message` until an answer of `kind` (or a NAK) arrives.
    async fn ask(
        &self,
        message: &Message,
        kind: MessageType,
        replies: &mut mpsc::Receiver<Message>,
    ) -> Result<Message, SimError> {
        let bytes = message.to_vec().map_err(|e| SimError::Dhcp(format!("cannot encode: {e}")))?;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                self.counters.retransmissions.fetch_add(1, Ordering::Relaxed);
            }
            self.socket
                .send_to(&bytes, self.server)
                .await
                .map_err(|e| SimError::op(format!("send DHCP to {}", self.server), e))?;
            self.counters.sent.fetch_add(1, Ordering::Relaxed);
            let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
            loop {
                match tokio::time::timeout_at(deadline, replies.recv()).await {
                    Ok(Some(reply)) => match reply.opts().msg_type() {
                        Some(got) if got == kind || got == MessageType::Nak => return Ok(reply),
                        _ => continue,
                    },
                    Ok(None) => return Err(SimError::Dhcp("relay socket closed".into())),
                    Err(_) => break,
                }
            }
        }
        Err(SimError::Dhcp(format!("no {kind:?} after {ATTEMPTS} sends")))
    }

    /// A request as iPXE on x86-64 UEFI sends it, relayed.
    fn request(
        &self,
        xid: u32,
        mac: [u8; 6],
        kind: MessageType,
        selected: Option<(Ipv4Addr, Ipv4Addr)>,
    ) -> Message {
        let unspecified = Ipv4Addr::UNSPECIFIED;
        let mut message = Message::new_with_id(xid, unspecified, unspecified, unspecified, self.giaddr, &mac);
        message.set_opcode(Opcode::BootRequest).set_htype(HType::Eth).set_hops(1);
        message.set_flags(Flags::default());
        let opts = message.opts_mut();
        opts.insert(DhcpOption::MessageType(kind));
        opts.insert(DhcpOption::ClassIdentifier(b"PXEClient:Arch:00007:UNDI:003016".to_vec()));
        opts.insert(DhcpOption::ClientSystemArchitecture(Architecture::from(7)));
        opts.insert(DhcpOption::UserClass(b"\x04iPXE".to_vec()));
        opts.insert(DhcpOption::ParameterRequestList(vec![
            OptionCode::SubnetMask,
            OptionCode::Router,
            OptionCode::DomainNameServer,
            OptionCode::BootfileName,
        ]));
        if let Some((ip, server)) = selected {
            opts.insert(DhcpOption::RequestedIpAddress(ip));
            opts.insert(DhcpOption::ServerIdentifier(server));
        }
        message
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.receiver.abort();
    }
}

/// Hands every BOOTREPLY to the machine whose transaction it answers.
async fn deliver(socket: Arc<UdpSocket>, waiters: Waiters) {
    let mut buffer = vec![0u8; 4096];
    loop {
        let Ok((len, _)) = socket.recv_from(&mut buffer).await else { continue };
        let Ok(reply) = Message::from_bytes(&buffer[..len]) else { continue };
        if reply.opcode() != Opcode::BootReply {
            continue;
        }
        let sender = waiters.lock().unwrap_or_else(|p| p.into_inner()).get(&reply.xid()).cloned();
        if let Some(sender) = sender {
            let _ = sender.try_send(reply);
        }
    }
}
