//! Address pools: one [`Subnet`] per configured network, with its reservations and
//! the options its clients get. Which address a client gets is decided in
//! [`crate::dhcp::lease`], which owns the bindings; this is the static part.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use ferric_config::SubnetConfig;

use crate::error::BootnetError;

/// One subnet we hand addresses out in.
#[derive(Debug, Clone)]
pub struct Subnet {
    /// Network address.
    pub network: Ipv4Addr,
    /// Netmask (option 1).
    pub mask: Ipv4Addr,
    /// First pool address.
    pub pool_start: u32,
    /// Last pool address (inclusive).
    pub pool_end: u32,
    /// Option 3.
    pub router: Option<Ipv4Addr>,
    /// Option 6.
    pub dns_servers: Vec<Ipv4Addr>,
    /// Option 15.
    pub domain_name: Option<String>,
    /// Lease time in seconds (option 51).
    pub lease_secs: u32,
    /// Fixed address per client key (MAC).
    pub reservations: HashMap<String, Ipv4Addr>,
    /// Reserved addresses back to their MAC, so the pool skips them for others.
    pub reserved: HashMap<Ipv4Addr, String>,
    /// Addresses never handed out (ours, the router's).
    pub excluded: Vec<Ipv4Addr>,
}

impl Subnet {
    /// Builds a subnet from its (validated) configuration; `excluded` are addresses
    /// that must never be leased, like the server's own.
    pub fn from_config(config: &SubnetConfig, excluded: &[Ipv4Addr]) -> Result<Self, BootnetError> {
        let (network, prefix) = config
            .cidr()
            .ok_or_else(|| BootnetError::Settings(format!("subnet {:?} is not a CIDR", config.network)))?;
        let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
        let mut reservations = HashMap::new();
        let mut reserved = HashMap::new();
        for r in &config.reservations {
            reservations.insert(r.mac.to_ascii_lowercase(), r.ip);
            reserved.insert(r.ip, r.mac.to_ascii_lowercase());
        }
        let mut excluded = excluded.to_vec();
        excluded.extend(config.router);
        Ok(Self {
            network: Ipv4Addr::from(u32::from(network) & mask),
            mask: Ipv4Addr::from(mask),
            pool_start: u32::from(config.pool_start),
            pool_end: u32::from(config.pool_end),
            router: config.router,
            dns_servers: config.dns_servers.clone(),
            domain_name: config.domain_name.clone(),
            lease_secs: config.lease_secs,
            reservations,
            reserved,
            excluded,
        })
    }

    /// Whether `ip` is inside this subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & u32::from(self.mask) == u32::from(self.network)
    }

    /// The subnet's broadcast address.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) | !u32::from(self.mask))
    }

    /// Whether `ip` is in the dynamic pool.
    pub fn in_pool(&self, ip: Ipv4Addr) -> bool {
        (self.pool_start..=self.pool_end).contains(&u32::from(ip))
    }

    /// Whether `client` may hold `ip` as far as configuration goes: inside the
    /// subnet, not the network/broadcast/excluded address, and either reserved for
    /// this client or a pool address reserved for nobody.
    pub fn allows(&self, client: &str, ip: Ipv4Addr) -> bool {
        if !self.contains(ip) || ip == self.network || ip == self.broadcast() || self.excluded.contains(&ip) {
            return false;
        }
        match self.reserved.get(&ip) {
            Some(owner) => owner == client,
            None => self.in_pool(ip) && !self.reservations.contains_key(client),
        }
    }

    /// Renewal time T1 (half the lease) and rebinding time T2 (7/8), RFC 2131 4.4.5.
    pub fn timers(&self) -> (u32, u32) {
        (self.lease_secs / 2, (self.lease_secs / 8).saturating_mul(7))
    }
}

/// The subnet for a request: the relay's (giaddr) when relayed, else the one the
/// client says it is in (ciaddr), else the one our own address is in.
pub fn select(subnets: &[Subnet], giaddr: Ipv4Addr, ciaddr: Ipv4Addr, local: Ipv4Addr) -> Option<&Subnet> {
    let unspecified = Ipv4Addr::UNSPECIFIED;
    if giaddr != unspecified {
        return subnets.iter().find(|s| s.contains(giaddr));
    }
    if ciaddr != unspecified
        && let Some(subnet) = subnets.iter().find(|s| s.contains(ciaddr))
    {
        return Some(subnet);
    }
    subnets.iter().find(|s| s.contains(local)).or_else(|| subnets.first().filter(|_| subnets.len() == 1))
}

#[cfg(test)]
mod tests {
    use ferric_config::ReservationConfig;

    use super::*;

    fn subnet(network: &str, start: [u8; 4], end: [u8; 4]) -> Subnet {
        let config = SubnetConfig {
            network: network.into(),
            pool_start: start.into(),
            pool_end: end.into(),
            router: Some(Ipv4Addr::new(10, 1, 0, 1)),
            reservations: vec![ReservationConfig {
                mac: "52:54:00:00:00:01".into(),
                ip: [10, 1, 0, 5].into(),
            }],
            ..SubnetConfig::default()
        };
        Subnet::from_config(&config, &[Ipv4Addr::new(10, 1, 0, 2)]).unwrap()
    }

    #[test]
    fn pools_honour_reservations_and_exclusions() {
        let s = subnet("10.1.0.0/24", [10, 1, 0, 1], [10, 1, 0, 100]);
        assert!(s.allows("aa:bb:cc:dd:ee:ff", [10, 1, 0, 50].into()));
        assert!(!s.allows("aa:bb:cc:dd:ee:ff", [10, 1, 0, 5].into()), "reserved for another");
        assert!(s.allows("52:54:00:00:00:01", [10, 1, 0, 5].into()));
        assert!(
            !s.allows("52:54:00:00:00:01", [10, 1, 0, 50].into()),
            "reserved clients get their address only"
        );
        assert!(!s.allows("aa:bb:cc:dd:ee:ff", [10, 1, 0, 1].into()), "router");
        assert!(!s.allows("aa:bb:cc:dd:ee:ff", [10, 1, 0, 2].into()), "server");
        assert!(!s.allows("aa:bb:cc:dd:ee:ff", [10, 1, 0, 150].into()), "outside the pool");
        assert!(!s.allows("aa:bb:cc:dd:ee:ff", [10, 2, 0, 50].into()), "outside the subnet");
        assert_eq!(s.broadcast(), Ipv4Addr::new(10, 1, 0, 255));
    }

    #[test]
    fn relayed_requests_use_the_relay_subnet() {
        let a = subnet("10.1.0.0/24", [10, 1, 0, 10], [10, 1, 0, 20]);
        let mut b = subnet("10.1.0.0/24", [10, 1, 0, 10], [10, 1, 0, 20]);
        b.network = [10, 2, 0, 0].into();
        let subnets = [a, b];
        let zero = Ipv4Addr::UNSPECIFIED;
        let local = Ipv4Addr::new(10, 1, 0, 2);
        assert_eq!(
            select(&subnets, [10, 2, 0, 1].into(), zero, local).unwrap().network,
            Ipv4Addr::new(10, 2, 0, 0)
        );
        assert_eq!(select(&subnets, zero, zero, local).unwrap().network, Ipv4Addr::new(10, 1, 0, 0));
        assert_eq!(
            select(&subnets, zero, [10, 2, 0, 7].into(), local).unwrap().network,
            Ipv4Addr::new(10, 2, 0, 0)
        );
        assert!(select(&subnets, [10, 9, 0, 1].into(), zero, local).is_none(), "unknown relay");
    }
}
