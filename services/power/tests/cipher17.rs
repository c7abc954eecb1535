//! Cipher suite 17 (RAKP-HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128) against an
//! independent implementation: `ipmitool -C 17` talks to a minimal BMC built from
//! our RMCP+ pieces. ipmi_sim does not offer suite 17, so this is the interop
//! check beside the published-vector unit tests: ipmitool verifies our RAKP 2
//! code and RAKP 4 value, and we verify its RAKP 3 code and the SHA-256 integrity
//! trailer and AES payload of every packet it sends in the session.

use std::sync::{Arc, Mutex};

use ferric_power::ipmi::crypto::{Hash, SessionKeys};
use ferric_power::ipmi::rakp::Handshake;
use ferric_power::ipmi::wire::{self, payload};
use tokio::net::UdpSocket;

const PASSWORD: &[u8] = b"password";
const BMC_SESSION_ID: u32 = 0x0a0b0c0d;

fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b)).wrapping_neg()
}

/// An IPMI response to `request` (a raw IPMI request message).
fn response(request: &[u8], completion: u8, data: &[u8]) -> Vec<u8> {
    let netfn = request[1] >> 2;
    let mut out = vec![request[3], (netfn + 1) << 2];
    out.push(checksum(&out));
    let start = out.len();
    out.extend_from_slice(&[request[0], request[4], request[5], completion]);
    out.extend_from_slice(data);
    let chk = checksum(&out[start..]);
    out.push(chk);
    out
}

#[derive(Default)]
struct Seen {
    rakp3_verified: bool,
    authenticated_commands: Vec<u8>,
    undecodable: usize,
}

async fn mini_bmc(socket: UdpSocket, seen: Arc<Mutex<Seen>>) {
    let mut buf = [0u8; 1024];
    let mut handshake: Option<Handshake> = None;
    let mut keys: Option<SessionKeys> = None;
    let mut sequence = 0u32;
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf).await else { return };
        let packet = match wire::decode(&buf[..n], keys.as_ref()) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("mini BMC could not read a packet: {e}");
                seen.lock().unwrap().undecodable += 1;
                continue;
            }
        };
        let reply = if !packet.rmcpp {
            // Pre-session: Get Channel Authentication Capabilities says "IPMI 2.0";
            // anything else (Get Channel Cipher Suites) is an invalid command.
            let m = &packet.payload;
            let data: &[u8] =
                if m.get(5) == Some(&0x38) { &[0x01, 0x80, 0x04, 0x02, 0, 0, 0, 0] } else { &[] };
            let cc = if m.get(5) == Some(&0x38) { 0 } else { 0xC1 };
            wire::encode_v15(&response(m, cc, data))
        } else {
            let p = &packet.payload;
            match packet.payload_type {
                payload::OPEN_SESSION_REQUEST => {
                    let mut out = vec![p[0], 0, 4, 0];
                    out.extend_from_slice(&p[4..8]);
                    out.extend_from_slice(&BMC_SESSION_ID.to_le_bytes());
                    out.extend_from_slice(&[
                        0x00, 0, 0, 8, 0x03, 0, 0, 0, 0x01, 0, 0, 8, 0x04, 0, 0, 0, 0x02, 0, 0, 8, 0x01, 0,
                        0, 0,
                    ]);
                    handshake = Some(Handshake {
                        hash: Hash::Sha256,
                        console_session_id: u32::from_le_bytes([p[4], p[5], p[6], p[7]]),
                        bmc_session_id: BMC_SESSION_ID,
                        console_random: [0; 16],
                        bmc_random: [0x5c; 16],
                        bmc_guid: [0xa1; 16],
                        role: 0,
                        username: Vec::new(),
                    });
                    wire::encode_v2(payload::OPEN_SESSION_RESPONSE, 0, 0, &out, None)
                }
                payload::RAKP1 => {
                    let Some(hs) = handshake.as_mut() else { continue };
                    hs.console_random.copy_from_slice(&p[8..24]);
                    hs.role = p[24];
                    let len = usize::from(p[27]);
                    hs.username = p[28..28 + len].to_vec();
                    let mut out = vec![p[0], 0, 0, 0];
                    out.extend_from_slice(&hs.console_session_id.to_le_bytes());
                    out.extend_from_slice(&hs.bmc_random);
                    out.extend_from_slice(&hs.bmc_guid);
                    out.extend_from_slice(&hs.rakp2_code(PASSWORD));
                    wire::encode_v2(payload::RAKP2, 0, 0, &out, None)
                }
                payload::RAKP3 => {
                    let Some(hs) = handshake.as_ref() else { continue };
                    let ok = p.get(8..) == Some(&hs.rakp3_code(PASSWORD)[..]);
                    seen.lock().unwrap().rakp3_verified = ok;
                    let sik = hs.sik(PASSWORD);
                    let mut out = vec![p[0], if ok { 0 } else { 0x0F }, 0, 0];
                    out.extend_from_slice(&hs.console_session_id.to_le_bytes());
                    out.extend_from_slice(&hs.rakp4_icv(&sik));
                    keys = Some(SessionKeys::derive(Hash::Sha256, &sik));
                    wire::encode_v2(payload::RAKP4, 0, 0, &out, None)
                }
                payload::IPMI => {
                    let (Some(hs), Some(k)) = (handshake.as_ref(), keys.as_ref()) else { continue };
                    let m = &packet.payload;
                    let cmd = m[5];
                    seen.lock().unwrap().authenticated_commands.push(cmd);
                    let data: &[u8] = match (m[1] >> 2, cmd) {
                        (0x06, 0x3B) => &[0x04],
                        (0x00, 0x01) => &[0x01, 0x00, 0x00, 0x00],
                        _ => &[],
                    };
                    sequence += 1;
                    wire::encode_v2(
                        payload::IPMI,
                        hs.console_session_id,
                        sequence,
                        &response(m, 0, data),
                        Some((k, [0x42; 16])),
                    )
                }
                _ => continue,
            }
        };
        let _ = socket.send_to(&reply, from).await;
    }
}

#[tokio::test]
async fn ipmitool_speaks_suite_17_with_our_rakp_and_crypto() {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = socket.local_addr().unwrap().port().to_string();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let bmc = tokio::spawn(mini_bmc(socket, seen.clone()));
    let out = tokio::process::Command::new("ipmitool")
        .args([
            "-I",
            "lanplus",
            "-C",
            "17",
            "-H",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "admin",
            "-P",
            "password",
            "-R",
            "1",
            "-N",
            "2",
        ])
        .args(["chassis", "power", "status"])
        .output()
        .await
        .unwrap();
    bmc.abort();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let seen = seen.lock().unwrap();
    assert!(seen.rakp3_verified, "ipmitool's RAKP 3 code did not match ours\n{stdout}\n{stderr}");
    assert!(out.status.success(), "ipmitool -C 17 failed\n{stdout}\n{stderr}");
    assert!(stdout.contains("Chassis Power is on"), "{stdout}");
    // Set Session Privilege and Get Chassis Status arrived authenticated and
    // encrypted with the SHA-256 session keys.
    assert!(
        seen.authenticated_commands.contains(&0x3B) && seen.authenticated_commands.contains(&0x01),
        "{:?}",
        seen.authenticated_commands
    );
}

/// Our own client on suite 17 against the same minimal BMC, which ipmitool has
/// just vouched for: the SHA-256 handshake and session paths end to end.
#[tokio::test]
async fn our_client_opens_suite_17_sessions() {
    use ferric_power::driver::{PowerDriver, PowerState};
    use ferric_power::info::DriverInfo;
    use ferric_power::ipmi::{IpmiDriver, IpmiOptions};

    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = socket.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let bmc = tokio::spawn(mini_bmc(socket, seen.clone()));
    let driver = IpmiDriver::new(IpmiOptions::default());
    let info = DriverInfo::from_json(serde_json::json!({
        "ipmi_address": "127.0.0.1", "ipmi_port": port, "ipmi_username": "admin", "ipmi_password": "password", "ipmi_cipher_suite": 17
    }));
    let handle = driver.bmc(&info).unwrap();
    assert_eq!(handle.power_state().await.unwrap(), PowerState::On);
    assert_eq!(handle.power_state().await.unwrap(), PowerState::On);
    bmc.abort();
    let seen = seen.lock().unwrap();
    assert!(seen.rakp3_verified);
    assert_eq!(seen.undecodable, 0);
    assert_eq!(seen.authenticated_commands, vec![0x3B, 0x01, 0x01], "one session, reused");
}
