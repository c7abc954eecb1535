//! `[bootnet]`: the boot network service — its gRPC listener, DHCP (authoritative
//! or proxy), TFTP and HTTP for iPXE. Kept in its own file because it is the one
//! section with nested tables (subnets and their reservations).
//!
//! Every network-facing part is off (DHCP) or on loopback (HTTP) by default, so an
//! empty configuration never answers DHCP on a network it was not told about.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// How the DHCP server takes part on the provisioning network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DhcpMode {
    /// No DHCP at all (TFTP and HTTP may still serve): the default, since answering
    /// DHCP on a network is a decision an operator must make.
    Off,
    /// We own the address pools of `subnets`: offers, leases, NAKs. Requests that
    /// came through a relay (giaddr set) are answered from the pool of giaddr's subnet.
    Authoritative,
    /// Another server hands out addresses; we answer only the PXE part (boot file,
    /// next server) on port 67 and 4011, as ProxyDHCP (PXE spec 2.1).
    Proxy,
}

/// `[bootnet]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BootnetConfig {
    /// gRPC listen address; port 0 picks a free port, registered in the store.
    pub listen: SocketAddr,
    /// Address other instances dial; defaults to the bound address.
    pub advertise: Option<String>,
    /// `off`, `authoritative` or `proxy`.
    pub dhcp_mode: DhcpMode,
    /// Network interface DHCP binds to (SO_BINDTODEVICE), so it answers only on the
    /// provisioning network and broadcasts leave through it.
    pub interface: Option<String>,
    /// This server's address on the provisioning network: DHCP server identifier,
    /// next-server, and the host in TFTP/HTTP URLs. Required when DHCP is on.
    pub server_address: Option<Ipv4Addr>,
    /// Where DHCP listens (both modes).
    pub dhcp_listen: SocketAddr,
    /// Where ProxyDHCP answers PXE boot-server requests (proxy mode only).
    pub pxe_listen: SocketAddr,
    /// Answer IPv6 router solicitations on `interface` (router lifetime 0), so
    /// iPXE does not wait ~13 s for a router on an IPv4-only network.
    pub router_advertisements: bool,
    /// Address pools, one per subnet (authoritative mode).
    pub subnets: Vec<SubnetConfig>,
    /// Whether MACs not registered through gRPC get boot answers too (into the
    /// discovery/inspection ramdisk below). Off: they get at most an address.
    pub discovery: bool,
    /// Kernel URL for discovered (unregistered) machines.
    pub discovery_kernel_url: Option<String>,
    /// Ramdisk URL for discovered machines.
    pub discovery_ramdisk_url: Option<String>,
    /// Kernel arguments for discovered machines.
    pub discovery_kernel_args: String,
    /// TFTP listen address; TFTP is off when unset.
    pub tftp_listen: Option<SocketAddr>,
    /// Files served over TFTP and under `/files/` over HTTP; defaults to
    /// `<state_dir>/tftp`.
    pub tftp_root: Option<PathBuf>,
    /// Where the iPXE binaries (`undionly.kpxe`, `ipxe.efi`) are found when they are
    /// not in the root: Debian's `ipxe` package.
    pub ipxe_dir: PathBuf,
    /// TFTP transfers at once, all clients together.
    pub tftp_max_transfers: usize,
    /// TFTP transfers at once from one client address.
    pub tftp_max_per_client: usize,
    /// First TFTP retransmission timeout in milliseconds when the client asks for
    /// none (doubled on each retry).
    pub tftp_timeout_ms: u64,
    /// Retransmissions of one TFTP packet before the transfer is abandoned.
    pub tftp_retries: u32,
    /// HTTP listener for iPXE scripts, kernels and ramdisks.
    pub http_listen: SocketAddr,
    /// Base URL machines reach `http_listen` at; defaults to
    /// `http://<server_address>:<port>` (or the bound address without DHCP).
    pub http_advertise: Option<String>,
}

/// `[[bootnet.subnets]]`: one address pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SubnetConfig {
    /// The subnet in CIDR form, e.g. `10.250.0.0/24`.
    pub network: String,
    /// First address handed out.
    pub pool_start: Ipv4Addr,
    /// Last address handed out (inclusive).
    pub pool_end: Ipv4Addr,
    /// Default gateway (option 3); none when unset.
    pub router: Option<Ipv4Addr>,
    /// DNS servers (option 6).
    pub dns_servers: Vec<Ipv4Addr>,
    /// Domain name (option 15).
    pub domain_name: Option<String>,
    /// Lease time in seconds.
    pub lease_secs: u32,
    /// Fixed addresses by MAC; they may lie outside the pool, but inside the subnet.
    pub reservations: Vec<ReservationConfig>,
}

impl Default for SubnetConfig {
    fn default() -> Self {
        Self {
            network: String::new(),
            pool_start: Ipv4Addr::UNSPECIFIED,
            pool_end: Ipv4Addr::UNSPECIFIED,
            router: None,
            dns_servers: Vec::new(),
            domain_name: None,
            lease_secs: 3600,
            reservations: Vec::new(),
        }
    }
}

/// A fixed address for one MAC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReservationConfig {
    /// Lowercase colon-separated MAC.
    pub mac: String,
    /// The address this MAC always gets.
    pub ip: Ipv4Addr,
}

impl SubnetConfig {
    /// The network address and prefix length of `network`, if it parses.
    pub fn cidr(&self) -> Option<(Ipv4Addr, u8)> {
        let (addr, len) = self.network.split_once('/')?;
        let addr: Ipv4Addr = addr.trim().parse().ok()?;
        let len: u8 = len.trim().parse().ok()?;
        (len <= 32).then_some((addr, len))
    }

    /// Whether `ip` lies inside this subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        self.cidr().is_some_and(|(net, len)| {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) };
            u32::from(ip) & mask == u32::from(net) & mask
        })
    }
}

impl BootnetConfig {
    /// The listener part, shaped like every other internal service's.
    pub fn service(&self) -> crate::ServiceConfig {
        crate::ServiceConfig { listen: self.listen, advertise: self.advertise.clone() }
    }

    /// Rejects DHCP set-ups that would answer wrongly, naming the option.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |option: &'static str, reason: String| ConfigError::Invalid { option, reason };
        if self.dhcp_mode != DhcpMode::Off && self.server_address.is_none() {
            return Err(invalid(
                "bootnet.server_address",
                "DHCP needs this server's address on the provisioning network".into(),
            ));
        }
        if self.dhcp_mode == DhcpMode::Authoritative && self.subnets.is_empty() {
            return Err(invalid("bootnet.subnets", "authoritative DHCP needs at least one subnet".into()));
        }
        for subnet in &self.subnets {
            if subnet.cidr().is_none() {
                return Err(invalid(
                    "bootnet.subnets.network",
                    format!("{:?} is not an IPv4 CIDR like 10.0.0.0/24", subnet.network),
                ));
            }
            let pool = [subnet.pool_start, subnet.pool_end];
            if pool.iter().any(|ip| !subnet.contains(*ip)) || subnet.pool_start > subnet.pool_end {
                return Err(invalid(
                    "bootnet.subnets.pool_start",
                    format!("pool {}-{} is not an ordered range inside {}", pool[0], pool[1], subnet.network),
                ));
            }
            if subnet.lease_secs < 10 {
                return Err(invalid("bootnet.subnets.lease_secs", "must be at least 10 seconds".into()));
            }
            for reservation in &subnet.reservations {
                if !subnet.contains(reservation.ip) || !is_mac(&reservation.mac) {
                    return Err(invalid(
                        "bootnet.subnets.reservations",
                        format!(
                            "{} {} is not a lowercase MAC with an address inside {}",
                            reservation.mac, reservation.ip, subnet.network
                        ),
                    ));
                }
            }
        }
        if self.tftp_max_transfers == 0 || self.tftp_max_per_client == 0 {
            return Err(invalid("bootnet.tftp_max_transfers", "transfer bounds must be > 0".into()));
        }
        if self.tftp_timeout_ms == 0 {
            return Err(invalid("bootnet.tftp_timeout_ms", "must be > 0".into()));
        }
        Ok(())
    }
}

fn is_mac(mac: &str) -> bool {
    let parts: Vec<&str> = mac.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)))
}

impl Default for BootnetConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            advertise: None,
            dhcp_mode: DhcpMode::Off,
            interface: None,
            server_address: None,
            dhcp_listen: SocketAddr::from(([0, 0, 0, 0], 67)),
            pxe_listen: SocketAddr::from(([0, 0, 0, 0], 4011)),
            router_advertisements: true,
            subnets: Vec::new(),
            discovery: false,
            discovery_kernel_url: None,
            discovery_ramdisk_url: None,
            discovery_kernel_args: String::new(),
            tftp_listen: None,
            tftp_root: None,
            ipxe_dir: PathBuf::from("/usr/lib/ipxe"),
            tftp_max_transfers: 512,
            tftp_max_per_client: 8,
            tftp_timeout_ms: 1000,
            tftp_retries: 5,
            http_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            http_advertise: None,
        }
    }
}
