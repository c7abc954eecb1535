//! The fleet's network: one network namespace whose loopback carries a whole
//! /16, so every simulated machine has an address of its own without a single
//! interface per machine.
//!
//! Linux makes the entire prefix of an address on `lo` local (the kernel adds a
//! `local 10.42.0.0/16 dev lo` route), so a machine can bind its agent on the
//! address DHCP leased it and Ferric dials that address like a real one. Bootnet
//! answers relayed requests to `giaddr:67` only, so the simulated relay binds
//! `RELAY:67`; inside our own namespace that port is ours, and nothing the fleet
//! does (port 67, thousands of sockets, a /16) is visible on the host.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use ferric_testkit::netns::Netns;

/// The provisioning network: Ferric's services and every machine live on it.
pub const NETWORK: &str = "10.42.0.0/16";
/// Ferric's address (bootnet's `server_address`, the REST API, the image cache).
pub const SERVER: Ipv4Addr = Ipv4Addr::new(10, 42, 0, 1);
/// The simulated DHCP relay (`giaddr`): bootnet sends its answers here, port 67.
pub const RELAY: Ipv4Addr = Ipv4Addr::new(10, 42, 0, 2);
/// The simulated BMCs' Redfish service and the image origin.
pub const SIM: Ipv4Addr = Ipv4Addr::new(10, 42, 0, 3);
/// First address of the DHCP pool.
pub const POOL_START: Ipv4Addr = Ipv4Addr::new(10, 42, 1, 1);
/// Last address of the DHCP pool (room for 64 000 machines).
pub const POOL_END: Ipv4Addr = Ipv4Addr::new(10, 42, 254, 254);

/// Ferric's REST API.
pub const API_PORT: u16 = 6385;
/// Bootnet's HTTP server (iPXE scripts, `/files/`).
pub const BOOT_HTTP_PORT: u16 = 8080;
/// Bootnet's TFTP server.
pub const TFTP_PORT: u16 = 69;
/// The image cache's HTTP server.
pub const IMAGECACHE_HTTP_PORT: u16 = 8081;
/// The Redfish service of every simulated BMC.
pub const REDFISH_PORT: u16 = 8000;
/// The image origin (`instance_info.image_source`).
pub const ORIGIN_PORT: u16 = 8001;
/// Where each machine's agent listens, on the machine's own address.
pub const AGENT_PORT: u16 = 9999;

/// `addr:port`.
pub fn at(addr: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(addr, port))
}

/// Creates the namespace with the provisioning network on its loopback.
pub fn namespace() -> std::io::Result<Netns> {
    let netns = Netns::new("sim")?;
    netns.ip(&["addr", "add", &format!("{SERVER}/16"), "dev", "lo"])?;
    Ok(netns)
}
