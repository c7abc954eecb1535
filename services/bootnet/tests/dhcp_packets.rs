//! The DHCP server's decisions, packet by packet, against a real store: PXE boot
//! answers per firmware, the RFC 2131 lease life cycle, relays, proxy mode,
//! restarts, and hostile packets (a corpus and proptest fuzzing).

mod common;

use std::net::{Ipv4Addr, SocketAddr};

use common::*;
use dhcproto::v4::{DhcpOption, Message, MessageType, OptionCode};
use ferric_bootnet::dhcp::{proxy, server};
use ferric_bootnet::registry::{BootTarget, Firmware};
use proptest::prelude::*;

const MAC: &str = "52:54:00:00:00:10";
const NOW: u64 = 1_900_000_000;

fn answer(ctx: &ferric_bootnet::dhcp::DhcpContext, msg: &Message) -> Option<(Message, SocketAddr)> {
    server::handle(ctx, &bytes(msg), client_addr(), NOW).map(|r| (decode(&r.bytes), r.to))
}

fn kind(msg: &Message) -> MessageType {
    msg.opts().msg_type().unwrap()
}

fn file(msg: &Message) -> Option<String> {
    // dhcproto keeps the terminating NUL when decoding.
    msg.fname_str()
        .and_then(Result::ok)
        .map(|f| f.trim_end_matches('\0').to_owned())
        .filter(|f| !f.is_empty())
}

#[tokio::test]
async fn every_firmware_gets_its_boot_file_and_only_registered_macs_get_one() {
    let dir = tempdir();
    let ctx = context(store(dir.path()).await, false).await;
    ctx.registry.register(node("n1", MAC, BootTarget::Deploy, Firmware::Any)).await.unwrap();
    let cases = [
        (MAC, Firmware_::Bios, Some("undionly.kpxe"), false),
        (MAC, Firmware_::Uefi, Some("ipxe.efi"), false),
        (MAC, Firmware_::Ipxe, Some("http://10.1.0.1:8080/ipxe/52-54-00-00-00-10"), true),
        (MAC, Firmware_::Os, None, false),
        ("52:54:00:00:00:99", Firmware_::Bios, None, false),
        ("52:54:00:00:00:99", Firmware_::Ipxe, None, false),
    ];
    for (mac, who, expected, ipxe) in cases {
        let (offer, to) = answer(&ctx, &request(MessageType::Discover, mac, who)).expect("an offer");
        assert_eq!(kind(&offer), MessageType::Offer);
        assert_eq!(to.to_string(), "255.255.255.255:68");
        assert!(offer.yiaddr() != Ipv4Addr::UNSPECIFIED, "every client gets an address");
        assert_eq!(file(&offer).as_deref(), expected, "{mac} {who:?}");
        assert_eq!(offer.siaddr() == SERVER, expected.is_some(), "{mac} {who:?}");
        let no_proxy_wait = offer.opts().get(OptionCode::Unknown(175)).map(|o| match o {
            DhcpOption::Unknown(u) => u.data().to_vec(),
            _ => Vec::new(),
        });
        assert_eq!(no_proxy_wait, ipxe.then(|| vec![176, 1, 1]), "{who:?}: option 175.176 for iPXE only");
    }
    // A UEFI-only node gets nothing when BIOS firmware asks.
    ctx.registry.register(node("n2", "52:54:00:00:00:20", BootTarget::Deploy, Firmware::Uefi)).await.unwrap();
    let (offer, _) =
        answer(&ctx, &request(MessageType::Discover, "52:54:00:00:00:20", Firmware_::Bios)).unwrap();
    assert_eq!(file(&offer), None);
    let (offer, _) =
        answer(&ctx, &request(MessageType::Discover, "52:54:00:00:00:20", Firmware_::Uefi)).unwrap();
    assert_eq!(file(&offer).as_deref(), Some("ipxe.efi"));
    // Removing the node removes its boot answers at once.
    assert!(ctx.registry.remove("n1").await.unwrap());
    let (offer, _) = answer(&ctx, &request(MessageType::Discover, MAC, Firmware_::Ipxe)).unwrap();
    assert_eq!(file(&offer), None);
}

#[tokio::test]
async fn discovery_boots_unknown_macs() {
    let dir = tempdir();
    let ctx = context(store(dir.path()).await, true).await;
    let (offer, _) =
        answer(&ctx, &request(MessageType::Discover, "52:54:00:00:00:99", Firmware_::Ipxe)).unwrap();
    assert_eq!(file(&offer).as_deref(), Some("http://10.1.0.1:8080/ipxe/52-54-00-00-00-99"));
    let (offer, _) =
        answer(&ctx, &request(MessageType::Discover, "52:54:00:00:00:99", Firmware_::Os)).unwrap();
    assert_eq!(file(&offer), None, "an OS DHCP client is not a netboot");
}

#[tokio::test]
async fn leases_follow_rfc_2131() {
    let dir = tempdir();
    let ctx = context(store(dir.path()).await, false).await;
    // DISCOVER -> OFFER -> REQUEST (selecting) -> ACK.
    let (offer, _) = answer(&ctx, &request(MessageType::Discover, MAC, Firmware_::Os)).unwrap();
    let ip = offer.yiaddr();
    assert!(ctx.subnets[0].in_pool(ip));
    assert_eq!(offer.opts().get(OptionCode::AddressLeaseTime), Some(&DhcpOption::AddressLeaseTime(600)));
    assert_eq!(offer.opts().get(OptionCode::Router), Some(&DhcpOption::Router(vec![[10, 1, 0, 254].into()])));
    let mut select = request(MessageType::Request, MAC, Firmware_::Os);
    select.opts_mut().insert(DhcpOption::ServerIdentifier(SERVER));
    select.opts_mut().insert(DhcpOption::RequestedIpAddress(ip));
    let (ack, _) = answer(&ctx, &select).unwrap();
    assert_eq!((kind(&ack), ack.yiaddr()), (MessageType::Ack, ip));
    assert_eq!(ctx.leases.list().len(), 1);
    // The same client asking again keeps its address.
    let (again, _) = answer(&ctx, &request(MessageType::Discover, MAC, Firmware_::Os)).unwrap();
    assert_eq!(again.yiaddr(), ip);
    // RENEWING: unicast to ciaddr.
    let mut renew = request(MessageType::Request, MAC, Firmware_::Os);
    renew.set_ciaddr(ip);
    let (ack, to) = answer(&ctx, &renew).unwrap();
    assert_eq!((kind(&ack), to), (MessageType::Ack, SocketAddr::new(ip.into(), 68)));
    // Another client asking for that address is NAKed; so is one from another network.
    let other = "52:54:00:00:00:11";
    let mut steal = request(MessageType::Request, other, Firmware_::Os);
    steal.opts_mut().insert(DhcpOption::RequestedIpAddress(ip));
    let (nak, to) = answer(&ctx, &steal).unwrap();
    assert_eq!((kind(&nak), to.to_string().as_str()), (MessageType::Nak, "255.255.255.255:68"));
    let mut foreign = request(MessageType::Request, other, Firmware_::Os);
    foreign.opts_mut().insert(DhcpOption::RequestedIpAddress([192, 168, 7, 7].into()));
    assert_eq!(kind(&answer(&ctx, &foreign).unwrap().0), MessageType::Nak);
    // A REQUEST for another server drops our offer silently.
    let (offer, _) = answer(&ctx, &request(MessageType::Discover, other, Firmware_::Os)).unwrap();
    let mut elsewhere = request(MessageType::Request, other, Firmware_::Os);
    elsewhere.opts_mut().insert(DhcpOption::ServerIdentifier([10, 1, 0, 200].into()));
    elsewhere.opts_mut().insert(DhcpOption::RequestedIpAddress(offer.yiaddr()));
    assert!(answer(&ctx, &elsewhere).is_none());
    assert_eq!(ctx.leases.current(other, NOW), None);
    // INFORM: configuration without an address or a lease.
    let mut inform = request(MessageType::Inform, other, Firmware_::Os);
    inform.set_ciaddr(Ipv4Addr::new(10, 1, 0, 50));
    let (ack, to) = answer(&ctx, &inform).unwrap();
    assert_eq!(
        (kind(&ack), ack.yiaddr(), to.to_string()),
        (MessageType::Ack, Ipv4Addr::UNSPECIFIED, "10.1.0.50:68".into())
    );
    assert!(ack.opts().get(OptionCode::AddressLeaseTime).is_none());
    // RELEASE frees it; no answer.
    let mut release = request(MessageType::Release, MAC, Firmware_::Os);
    release.set_ciaddr(ip);
    release.opts_mut().insert(DhcpOption::ServerIdentifier(SERVER));
    assert!(answer(&ctx, &release).is_none());
    assert!(ctx.leases.list().is_empty());
    // DECLINE quarantines the address: the next client gets another one.
    let (offer, _) = answer(&ctx, &request(MessageType::Discover, MAC, Firmware_::Os)).unwrap();
    let mut select = request(MessageType::Request, MAC, Firmware_::Os);
    select.opts_mut().insert(DhcpOption::ServerIdentifier(SERVER));
    select.opts_mut().insert(DhcpOption::RequestedIpAddress(offer.yiaddr()));
    answer(&ctx, &select).unwrap();
    let mut decline = request(MessageType::Decline, MAC, Firmware_::Os);
    decline.opts_mut().insert(DhcpOption::RequestedIpAddress(offer.yiaddr()));
    decline.opts_mut().insert(DhcpOption::ServerIdentifier(SERVER));
    assert!(answer(&ctx, &decline).is_none());
    let mut want = request(MessageType::Discover, "52:54:00:00:00:12", Firmware_::Os);
    want.opts_mut().insert(DhcpOption::RequestedIpAddress(offer.yiaddr()));
    assert_ne!(answer(&ctx, &want).unwrap().0.yiaddr(), offer.yiaddr());
    // Reservations win over the pool.
    let (offer, _) =
        answer(&ctx, &request(MessageType::Discover, "52:54:00:00:00:77", Firmware_::Os)).unwrap();
    assert_eq!(offer.yiaddr(), Ipv4Addr::new(10, 1, 0, 77));
}

#[tokio::test]
async fn pools_run_out_and_expired_leases_come_back() {
    let dir = tempdir();
    let ctx = context(store(dir.path()).await, false).await;
    let mut given = Vec::new();
    for i in 0..11u8 {
        let mac = format!("52:54:00:00:01:{i:02x}");
        let (offer, _) = answer(&ctx, &request(MessageType::Discover, &mac, Firmware_::Os)).unwrap();
        given.push(offer.yiaddr());
    }
    given.sort();
    given.dedup();
    assert_eq!(given.len(), 11, "each of the 11 pool addresses once");
    assert!(
        answer(&ctx, &request(MessageType::Discover, "52:54:00:00:02:00", Firmware_::Os)).is_none(),
        "exhausted"
    );
    // Offers lapse after the hold time: a later DISCOVER gets one again.
    let later = NOW + server::OFFER_HOLD + 1;
    let reply = server::handle(
        &ctx,
        &bytes(&request(MessageType::Discover, "52:54:00:00:02:00", Firmware_::Os)),
        client_addr(),
        later,
    );
    assert!(reply.is_some());
}

#[tokio::test]
async fn relayed_requests_are_served_from_the_relay_pool() {
    let dir = tempdir();
    let ctx = context(store(dir.path()).await, false).await;
    let mut discover = request(MessageType::Discover, MAC, Firmware_::Os);
    discover.set_giaddr(Ipv4Addr::new(10, 2, 0, 1));
    discover.set_hops(1);
    let mut agent = dhcproto::v4::relay::RelayAgentInformation::default();
    agent.insert(dhcproto::v4::relay::RelayInfo::AgentCircuitId(b"port7".to_vec()));
    discover.opts_mut().insert(DhcpOption::RelayAgentInformation(agent.clone()));
    let (offer, to) = answer(&ctx, &discover).unwrap();
    assert!(ctx.subnets[1].in_pool(offer.yiaddr()), "{}", offer.yiaddr());
    assert_eq!(to.to_string(), "10.2.0.1:67");
    assert_eq!(offer.giaddr(), Ipv4Addr::new(10, 2, 0, 1));
    assert_eq!(
        offer.opts().get(OptionCode::RelayAgentInformation),
        Some(&DhcpOption::RelayAgentInformation(agent.clone())),
        "option 82 echoed"
    );
    // An unknown relay's subnet gets nothing.
    discover.set_giaddr(Ipv4Addr::new(10, 9, 0, 1));
    assert!(answer(&ctx, &discover).is_none());
}

#[tokio::test]
async fn leases_survive_a_restart() {
    let dir = tempdir();
    let ip = {
        let ctx = context(store(dir.path()).await, false).await;
        let (offer, _) = answer(&ctx, &request(MessageType::Discover, MAC, Firmware_::Os)).unwrap();
        // Skip the first address so the test does not pass by luck.
        let mut select = request(MessageType::Request, MAC, Firmware_::Os);
        select.opts_mut().insert(DhcpOption::ServerIdentifier(SERVER));
        select
            .opts_mut()
            .insert(DhcpOption::RequestedIpAddress(Ipv4Addr::from(u32::from(offer.yiaddr()) + 3)));
        let (ack, _) = answer(&ctx, &select).unwrap();
        ctx.leases.close().await;
        ack.yiaddr()
    };
    // Wait for the old store handle's file lock to go: open the store again.
    let ctx = ferric_testkit::wait_for(std::time::Duration::from_secs(10), "the store to reopen", || async {
        ferric_store::embedded::EmbeddedStore::open(dir.path().join("store.redb")).await.ok()
    })
    .await;
    let ctx = context(std::sync::Arc::new(ctx), false).await;
    assert_eq!(
        ctx.leases.list().iter().map(|l| (l.client.as_str(), l.ip)).collect::<Vec<_>>(),
        vec![(MAC, ip)]
    );
    let (offer, _) =
        answer(&ctx, &request(MessageType::Discover, "52:54:00:00:00:11", Firmware_::Os)).unwrap();
    assert_ne!(offer.yiaddr(), ip, "a restored lease is not handed to someone else");
}

#[tokio::test]
async fn proxy_mode_answers_only_the_pxe_part() {
    let dir = tempdir();
    let ctx = context(store(dir.path()).await, false).await;
    ctx.registry.register(node("n1", MAC, BootTarget::Deploy, Firmware::Any)).await.unwrap();
    let from: SocketAddr = "10.1.0.150:68".parse().unwrap();
    let offer =
        proxy::handle(&ctx, &bytes(&request(MessageType::Discover, MAC, Firmware_::Bios)), from, false)
            .unwrap();
    let msg = decode(&offer.bytes);
    assert_eq!((kind(&msg), msg.yiaddr(), msg.siaddr()), (MessageType::Offer, Ipv4Addr::UNSPECIFIED, SERVER));
    assert_eq!(file(&msg).as_deref(), Some("undionly.kpxe"));
    assert_eq!(
        msg.opts().get(OptionCode::ClassIdentifier),
        Some(&DhcpOption::ClassIdentifier(b"PXEClient".to_vec()))
    );
    assert!(msg.opts().get(OptionCode::ClientMachineIdentifier).is_some(), "UUID echoed");
    // Boot-server REQUEST on 4011: ACK back to the sender.
    let mut boot = request(MessageType::Request, MAC, Firmware_::Uefi);
    boot.set_ciaddr(Ipv4Addr::new(10, 1, 0, 150));
    let ack = proxy::handle(&ctx, &bytes(&boot), "10.1.0.150:4011".parse().unwrap(), true).unwrap();
    assert_eq!((kind(&decode(&ack.bytes)), ack.to.to_string()), (MessageType::Ack, "10.1.0.150:4011".into()));
    assert_eq!(file(&decode(&ack.bytes)).as_deref(), Some("ipxe.efi"));
    // Not PXE, not registered, or not ours to answer: silence.
    assert!(
        proxy::handle(&ctx, &bytes(&request(MessageType::Discover, MAC, Firmware_::Os)), from, false)
            .is_none()
    );
    assert!(
        proxy::handle(
            &ctx,
            &bytes(&request(MessageType::Discover, "52:54:00:00:00:99", Firmware_::Bios)),
            from,
            false
        )
        .is_none()
    );
    assert!(
        proxy::handle(&ctx, &bytes(&request(MessageType::Request, MAC, Firmware_::Bios)), from, false)
            .is_none()
    );
    // iPXE gets its script and no 175 (we are the ProxyDHCP it should wait for).
    let offer =
        proxy::handle(&ctx, &bytes(&request(MessageType::Discover, MAC, Firmware_::Ipxe)), from, false)
            .unwrap();
    let msg = decode(&offer.bytes);
    assert!(file(&msg).unwrap().ends_with("/ipxe/52-54-00-00-00-10"));
    assert!(msg.opts().get(OptionCode::Unknown(175)).is_none());
}

/// Valid request bytes to mutate.
fn valid() -> Vec<u8> {
    bytes(&request(MessageType::Discover, MAC, Firmware_::Ipxe))
}

fn malformed_corpus() -> Vec<(&'static str, Vec<u8>)> {
    let mut corpus = vec![
        ("empty", Vec::new()),
        ("one byte", vec![1]),
        ("header only, no cookie", valid()[..236].to_vec()),
        ("zeros", vec![0; 300]),
        ("oversized", vec![1; 70_000]),
    ];
    let mut reply = valid();
    reply[0] = 2;
    corpus.push(("a BOOTREPLY", reply));
    for hlen in [0u8, 17, 255] {
        let mut packet = valid();
        packet[2] = hlen;
        corpus.push(("bad hlen", packet));
    }
    let mut cookie = valid();
    cookie[236] = 0;
    corpus.push(("bad cookie", cookie));
    let mut no_type = valid()[..240].to_vec();
    no_type.push(255);
    corpus.push(("no message type", no_type));
    let mut truncated_option = valid()[..240].to_vec();
    truncated_option.extend_from_slice(&[53, 1, 1, 60, 200, b'P']);
    corpus.push(("option longer than the packet", truncated_option));
    let mut bad_type = valid()[..240].to_vec();
    bad_type.extend_from_slice(&[53, 1, 99, 255]);
    corpus.push(("unknown message type", bad_type));
    let mut giant_hops = valid();
    giant_hops[3] = 255;
    giant_hops[24..28].copy_from_slice(&[10, 9, 9, 9]);
    corpus.push(("relayed from nowhere", giant_hops));
    corpus
}

#[tokio::test]
async fn malformed_packets_get_no_answer() {
    let dir = tempdir();
    let ctx = context(store(dir.path()).await, true).await;
    for (what, packet) in malformed_corpus() {
        assert!(server::handle(&ctx, &packet, client_addr(), NOW).is_none(), "authoritative answered {what}");
        assert!(proxy::handle(&ctx, &packet, client_addr(), false).is_none(), "proxy answered {what}");
        assert!(proxy::handle(&ctx, &packet, client_addr(), true).is_none(), "boot server answered {what}");
    }
}

fn fuzz_context() -> &'static ferric_bootnet::dhcp::DhcpContext {
    static CONTEXT: std::sync::OnceLock<(
        tokio::runtime::Runtime,
        tempfile::TempDir,
        ferric_bootnet::dhcp::DhcpContext,
    )> = std::sync::OnceLock::new();
    let (_, _, ctx) = CONTEXT.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let dir = tempdir();
        let ctx = runtime.block_on(async {
            let ctx = context(store(dir.path()).await, true).await;
            ctx.registry.register(node("n1", MAC, BootTarget::Deploy, Firmware::Any)).await.unwrap();
            ctx
        });
        (runtime, dir, ctx)
    });
    ctx
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(packet in proptest::collection::vec(any::<u8>(), 0..1500)) {
        let ctx = fuzz_context();
        let _ = server::handle(ctx, &packet, client_addr(), NOW);
        let _ = proxy::handle(ctx, &packet, client_addr(), true);
    }

    #[test]
    fn mutated_requests_never_panic(
        flips in proptest::collection::vec((0usize..400, any::<u8>()), 1..12),
        cut in 200usize..400,
        tail in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let ctx = fuzz_context();
        let mut packet = valid();
        for (at, value) in flips {
            if at < packet.len() {
                packet[at] = value;
            }
        }
        packet.truncate(cut.max(240).min(packet.len()));
        packet.extend(tail);
        let _ = server::handle(ctx, &packet, client_addr(), NOW);
        let _ = proxy::handle(ctx, &packet, client_addr(), false);
    }
}
