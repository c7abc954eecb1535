//! ProxyDHCP (PXE 2.1): another server hands out addresses; we add only the boot
//! part. On port 67 we answer a PXE client's DISCOVER with an OFFER that carries
//! no address but option 60 `PXEClient`, next-server and the boot file; on port
//! 4011 we answer its boot-server REQUEST with the same as an ACK, unicast back to
//! where it came from. Nothing else is answered: the real DHCP server owns the
//! rest of the conversation.

use std::net::SocketAddr;

use dhcproto::v4::{DhcpOption, MessageType, OptionCode};

use crate::dhcp::options;
use crate::dhcp::{DhcpContext, Reply, apply_boot, relay};

/// PXE vendor options (43): discovery control (6) = 8, "use the boot file in this
/// offer, no boot-server discovery or menu".
const PXE_DISCOVERY_CONTROL: [u8; 4] = [6, 1, 8, 255];

/// Decides the answer to a datagram on port 67 (`boot_server` false) or on the
/// PXE boot-server port 4011 (`boot_server` true).
pub fn handle(ctx: &DhcpContext, bytes: &[u8], from: SocketAddr, boot_server: bool) -> Option<Reply> {
    let request = match options::parse(bytes) {
        Ok(request) => request,
        Err(dropped) => {
            metrics::counter!("bootnet_dhcp_dropped_total", "reason" => dropped.label()).increment(1);
            return None;
        }
    };
    let span = tracing::debug_span!("proxydhcp", xid = request.msg.xid(), client = %request.client, kind = ?request.kind, boot_server);
    let _entered = span.enter();
    let kind = match (request.kind, boot_server) {
        (MessageType::Discover, false) => MessageType::Offer,
        (MessageType::Request | MessageType::Inform, true) => MessageType::Ack,
        _ => return None,
    };
    if !request.pxe && !request.ipxe {
        return None;
    }
    let boot = ctx.boot_for(&request)?;
    let mut reply = options::reply(&request.msg, kind, ctx.server);
    reply.set_ciaddr(request.msg.ciaddr());
    apply_boot(&mut reply, &boot, &request);
    let opts = reply.opts_mut();
    // We are the ProxyDHCP server iPXE would wait for: no `no-pxedhcp` here.
    opts.remove(OptionCode::Unknown(175));
    opts.insert(DhcpOption::ClassIdentifier(b"PXEClient".to_vec()));
    if !boot.ipxe {
        opts.insert(DhcpOption::VendorExtensions(PXE_DISCOVERY_CONTROL.to_vec()));
    }
    let to = if boot_server { from } else { relay::destination(&request.msg, kind) };
    metrics::counter!("bootnet_proxydhcp_answers_total").increment(1);
    tracing::debug!(file = %boot.file, %to, "ProxyDHCP answer");
    Some(Reply { bytes: options::encode(&reply)?, to })
}
