//! Authoritative DHCP (RFC 2131): we own the pools, so we offer, bind, renew,
//! release, accept declines, answer INFORM, and NAK requests for addresses that
//! are not the client's to have (another client's, another network's, outside
//! any pool). Registered netbooting MACs get their boot answer in the same OFFER
//! and ACK. Relayed requests are handled the same way, from giaddr's subnet.

use std::net::{Ipv4Addr, SocketAddr};

use dhcproto::v4::{DhcpOption, Message, MessageType};

use crate::dhcp::lease::OFFER_HOLD_SECS;
use crate::dhcp::options::{self, Inbound};
use crate::dhcp::pool::{self, Subnet};
use crate::dhcp::{DhcpContext, Reply, apply_boot, relay};

/// Decides the answer to one datagram; `None` means silence (malformed, not ours,
/// or a message that gets no reply).
pub fn handle(ctx: &DhcpContext, bytes: &[u8], from: SocketAddr, now: u64) -> Option<Reply> {
    let request = match options::parse(bytes) {
        Ok(request) => request,
        Err(dropped) => {
            metrics::counter!("bootnet_dhcp_dropped_total", "reason" => dropped.label()).increment(1);
            tracing::trace!(%from, reason = dropped.label(), "DHCP datagram dropped");
            return None;
        }
    };
    let span = tracing::debug_span!("dhcp", xid = request.msg.xid(), client = %request.client, kind = ?request.kind, relay = %request.msg.giaddr());
    let _entered = span.enter();
    let msg = &request.msg;
    let Some(subnet) = pool::select(&ctx.subnets, msg.giaddr(), msg.ciaddr(), ctx.server) else {
        metrics::counter!("bootnet_dhcp_dropped_total", "reason" => "no_subnet").increment(1);
        tracing::debug!("no subnet for request");
        return None;
    };
    let reply = match request.kind {
        MessageType::Discover => discover(ctx, &request, subnet, now),
        MessageType::Request => self::request(ctx, &request, subnet, now),
        MessageType::Release => {
            if request.server_id.is_none_or(|id| id == ctx.server)
                && ctx.leases.release(&request.client, msg.ciaddr())
            {
                metrics::counter!("bootnet_dhcp_releases_total").increment(1);
                tracing::debug!(ip = %msg.ciaddr(), "released");
            }
            None
        }
        MessageType::Decline => {
            let ip = request.requested_ip?;
            if request.server_id.is_none_or(|id| id == ctx.server)
                && ctx.leases.decline(&request.client, ip, u64::from(subnet.lease_secs), now)
            {
                metrics::counter!("bootnet_dhcp_declines_total").increment(1);
                tracing::warn!(%ip, "client declined the address: in use by someone else; quarantined");
            }
            None
        }
        MessageType::Inform => inform(ctx, &request, subnet),
        _ => None,
    }?;
    let kind = reply.opts().msg_type()?;
    let label = match kind {
        MessageType::Offer => "bootnet_dhcp_offers_total",
        MessageType::Ack => "bootnet_dhcp_acks_total",
        _ => "bootnet_dhcp_naks_total",
    };
    metrics::counter!(label).increment(1);
    tracing::debug!(?kind, yiaddr = %reply.yiaddr(), file = ?reply.fname_str().and_then(Result::ok), "DHCP reply");
    Some(Reply { bytes: options::encode(&reply)?, to: relay::destination(msg, kind) })
}

fn discover(ctx: &DhcpContext, request: &Inbound, subnet: &Subnet, now: u64) -> Option<Message> {
    let Some(ip) = ctx.leases.offer(subnet, &request.client, request.requested_ip, now) else {
        metrics::counter!("bootnet_dhcp_dropped_total", "reason" => "pool_exhausted").increment(1);
        tracing::warn!(network = %subnet.network, "pool exhausted: no offer");
        return None;
    };
    let mut reply = options::reply(&request.msg, MessageType::Offer, ctx.server);
    reply.set_yiaddr(ip);
    lease_options(&mut reply, subnet);
    if let Some(boot) = ctx.boot_for(request) {
        apply_boot(&mut reply, &boot, request);
    }
    Some(reply)
}

fn request(ctx: &DhcpContext, request: &Inbound, subnet: &Subnet, now: u64) -> Option<Message> {
    let msg = &request.msg;
    let ciaddr = msg.ciaddr();
    let ip = match (request.server_id, request.requested_ip) {
        // SELECTING: the client chose a server; if not us, our offer is void.
        (Some(server), _) if server != ctx.server => {
            ctx.leases.withdraw_offer(&request.client);
            return None;
        }
        (Some(_), Some(ip)) => ip,
        (Some(_), None) if ciaddr != Ipv4Addr::UNSPECIFIED => ciaddr,
        // INIT-REBOOT: an address from another network is NAKed at once.
        (None, Some(ip)) if !subnet.contains(ip) => return Some(nak(ctx, request, "wrong network")),
        (None, Some(ip)) => ip,
        // RENEWING (unicast) or REBINDING (broadcast).
        (None, None) if ciaddr != Ipv4Addr::UNSPECIFIED => ciaddr,
        _ => return None,
    };
    match ctx.leases.bind(subnet, &request.client, ip, now) {
        Some(_) => {
            let mut reply = options::reply(msg, MessageType::Ack, ctx.server);
            reply.set_yiaddr(ip);
            reply.set_ciaddr(ciaddr);
            lease_options(&mut reply, subnet);
            if let Some(boot) = ctx.boot_for(request) {
                apply_boot(&mut reply, &boot, request);
            }
            Some(reply)
        }
        None => Some(nak(ctx, request, "address not available")),
    }
}

fn inform(ctx: &DhcpContext, request: &Inbound, subnet: &Subnet) -> Option<Message> {
    // RFC 2131 4.3.5: no lease, no yiaddr, just the configuration.
    let mut reply = options::reply(&request.msg, MessageType::Ack, ctx.server);
    reply.set_ciaddr(request.msg.ciaddr());
    network_options(&mut reply, subnet);
    if let Some(boot) = ctx.boot_for(request) {
        apply_boot(&mut reply, &boot, request);
    }
    Some(reply)
}

fn nak(ctx: &DhcpContext, request: &Inbound, why: &str) -> Message {
    tracing::debug!(requested = ?request.requested_ip, ciaddr = %request.msg.ciaddr(), why, "NAK");
    let mut reply = options::reply(&request.msg, MessageType::Nak, ctx.server);
    if relay::is_relayed(&request.msg) {
        // RFC 2131 4.3.2: the relay must broadcast a NAK to the client.
        reply.set_flags(reply.flags().set_broadcast());
    }
    reply.opts_mut().insert(DhcpOption::Message(why.to_owned()));
    reply
}

fn lease_options(reply: &mut Message, subnet: &Subnet) {
    let (t1, t2) = subnet.timers();
    let opts = reply.opts_mut();
    opts.insert(DhcpOption::AddressLeaseTime(subnet.lease_secs));
    opts.insert(DhcpOption::Renewal(t1));
    opts.insert(DhcpOption::Rebinding(t2));
    network_options(reply, subnet);
}

fn network_options(reply: &mut Message, subnet: &Subnet) {
    let opts = reply.opts_mut();
    opts.insert(DhcpOption::SubnetMask(subnet.mask));
    opts.insert(DhcpOption::BroadcastAddr(subnet.broadcast()));
    if let Some(router) = subnet.router {
        opts.insert(DhcpOption::Router(vec![router]));
    }
    if !subnet.dns_servers.is_empty() {
        opts.insert(DhcpOption::DomainNameServer(subnet.dns_servers.clone()));
    }
    if let Some(domain) = &subnet.domain_name {
        opts.insert(DhcpOption::DomainName(domain.clone()));
    }
}

/// Unused offers are released after this long (re-exported for tests).
pub const OFFER_HOLD: u64 = OFFER_HOLD_SECS;
