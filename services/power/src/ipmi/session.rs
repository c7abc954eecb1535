//! One authenticated RMCP+ session with a BMC: the handshake (Get Channel
//! Authentication Capabilities, Open Session, RAKP 1–4, Set Session Privilege
//! Level) and then commands with integrity, encryption and sequence numbers.
//!
//! A session is used by one caller at a time (the pool holds it behind a mutex),
//! so sequence numbers need no atomics. Every received packet is verified with
//! the session keys before its payload is looked at.

use std::net::SocketAddr;
use std::time::Instant;

use super::crypto::{CipherSuite, SessionKeys};
use super::messages::{self, Privilege, cmd, netfn};
use super::rakp::{self, Handshake};
use super::transport::{ExchangeError, RetryPolicy, Transport};
use super::wire::{self, payload};
use crate::error::PowerError;

/// What a session is opened with. `Debug` leaves the password out.
#[derive(Clone)]
pub struct Credentials {
    /// Username (may be empty: the anonymous user).
    pub username: String,
    /// Password, at most 20 bytes for IPMI 2.0.
    pub password: String,
    /// Privilege level to request.
    pub privilege: Privilege,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("privilege", &self.privilege)
            .finish()
    }
}

/// An established session.
#[derive(Debug)]
pub struct Session {
    transport: Transport,
    keys: SessionKeys,
    suite: CipherSuite,
    console_session_id: u32,
    bmc_session_id: u32,
    sequence: u32,
    rq_seq: u8,
    /// When the session last got an answer: the pool retires idle sessions before
    /// the BMC times them out.
    pub last_used: Instant,
}

fn no_answer(peer: SocketAddr, e: ExchangeError) -> PowerError {
    match e {
        ExchangeError::NoAnswer { waited, detail } => {
            PowerError::Unreachable { address: peer.to_string(), waited, detail }
        }
        ExchangeError::Io(e) => PowerError::Unreachable {
            address: peer.to_string(),
            waited: std::time::Duration::ZERO,
            detail: e.to_string(),
        },
    }
}

fn protocol(peer: SocketAddr, detail: impl Into<String>) -> PowerError {
    PowerError::Protocol { address: peer.to_string(), detail: detail.into() }
}

/// Why a handshake failed, telling "try another suite" apart from the rest.
#[derive(Debug)]
pub enum OpenError {
    /// The BMC does not offer this cipher suite.
    SuiteRefused(PowerError),
    /// Any other failure.
    Other(PowerError),
}

impl From<PowerError> for OpenError {
    fn from(e: PowerError) -> Self {
        OpenError::Other(e)
    }
}

impl Session {
    /// Runs the whole handshake with the BMC at `peer`.
    pub async fn open(
        peer: SocketAddr,
        creds: &Credentials,
        suite: CipherSuite,
        policy: RetryPolicy,
    ) -> Result<Self, OpenError> {
        let transport =
            Transport::connect(peer, policy).await.map_err(|e| no_answer(peer, ExchangeError::Io(e)))?;
        let address = peer.to_string();
        let bad_credentials =
            |detail: String| PowerError::BadCredentials { address: address.clone(), detail };

        // 1. Get Channel Authentication Capabilities (IPMI 1.5 framing, no session):
        // proves the BMC is there and speaks IPMI 2.0 before we commit to RMCP+.
        let request = wire::encode_v15(&messages::encode_request(
            netfn::APP,
            cmd::GET_CHANNEL_AUTH_CAPS,
            0,
            &messages::channel_auth_caps_request(creds.privilege),
        ));
        let caps = transport
            .exchange(&request, |d| {
                let packet = wire::decode(d, None).ok()?;
                let response = messages::decode_response(&packet.payload).ok()?;
                (response.cmd == cmd::GET_CHANNEL_AUTH_CAPS).then_some(response)
            })
            .await
            .map_err(|e| no_answer(peer, e))?;
        if caps.completion != 0 || !messages::supports_ipmi_v2(&caps.data) {
            return Err(OpenError::Other(protocol(
                peer,
                "the BMC does not offer IPMI 2.0 (RMCP+) on this channel",
            )));
        }

        // 2. Open Session, proposing exactly this suite.
        let console_session_id: u32 = rand::random::<u32>() | 1;
        let request = wire::encode_v2(
            payload::OPEN_SESSION_REQUEST,
            0,
            0,
            &rakp::open_session_request(0, creds.privilege as u8, console_session_id, suite),
            None,
        );
        let opened = transport
            .exchange(&request, |d| {
                let packet = wire::decode(d, None).ok()?;
                if packet.payload_type != payload::OPEN_SESSION_RESPONSE {
                    return None;
                }
                rakp::parse_open_session_response(&packet.payload).ok()
            })
            .await
            .map_err(|e| no_answer(peer, e))?;
        if opened.status != 0 {
            let detail =
                format!("open session: {} ({:#04x})", rakp::status_text(opened.status), opened.status);
            return Err(if rakp::status_is_suite(opened.status) {
                OpenError::SuiteRefused(protocol(
                    peer,
                    format!("cipher suite {} refused: {detail}", suite.id()),
                ))
            } else if rakp::status_is_credentials(opened.status) {
                OpenError::Other(bad_credentials(detail))
            } else {
                OpenError::Other(protocol(peer, detail))
            });
        }
        let expected =
            [suite.auth_algorithm(), suite.integrity_algorithm(), suite.confidentiality_algorithm()];
        if opened.console_session_id != console_session_id || opened.algorithms != expected {
            return Err(OpenError::SuiteRefused(protocol(
                peer,
                format!("open session answered with other algorithms {:?}", opened.algorithms),
            )));
        }

        // 3. RAKP 1 → 2: the BMC proves it knows the password.
        let username = creds.username.as_bytes().to_vec();
        if username.len() > 16 {
            return Err(OpenError::Other(PowerError::invalid("ipmi_username", "longer than 16 bytes")));
        }
        let mut hs = Handshake {
            hash: suite.hash(),
            console_session_id,
            bmc_session_id: opened.bmc_session_id,
            console_random: rand::random(),
            bmc_random: [0; 16],
            bmc_guid: [0; 16],
            // Name-only lookup (0x10) plus the privilege, as ipmitool asks.
            role: 0x10 | creds.privilege as u8,
            username,
        };
        let request = wire::encode_v2(payload::RAKP1, 0, 0, &hs.rakp1(1), None);
        let rakp2 = transport
            .exchange(&request, |d| {
                let packet = wire::decode(d, None).ok()?;
                if packet.payload_type != payload::RAKP2 {
                    return None;
                }
                rakp::parse_rakp2(&packet.payload).ok().filter(|r| r.tag == 1)
            })
            .await
            .map_err(|e| no_answer(peer, e))?;
        if rakp2.status != 0 {
            let detail = format!("RAKP 2: {} ({:#04x})", rakp::status_text(rakp2.status), rakp2.status);
            return Err(OpenError::Other(if rakp::status_is_credentials(rakp2.status) {
                bad_credentials(detail)
            } else {
                protocol(peer, detail)
            }));
        }
        hs.bmc_random = rakp2.bmc_random;
        hs.bmc_guid = rakp2.bmc_guid;
        let password = creds.password.as_bytes();
        if !rakp::codes_match(&hs.rakp2_code(password), &rakp2.code) {
            // Tell the BMC to drop the half-open session, then report.
            let abandon = wire::encode_v2(payload::RAKP3, 0, 0, &hs.rakp3(2, 0x0F, &[]), None);
            transport.send_only(&abandon).await;
            return Err(OpenError::Other(bad_credentials(
                "RAKP 2 key exchange code does not match the password (wrong password or username)".into(),
            )));
        }

        // 4. RAKP 3 → 4: we prove we know the password; the BMC confirms the SIK.
        let request = wire::encode_v2(payload::RAKP3, 0, 0, &hs.rakp3(2, 0, &hs.rakp3_code(password)), None);
        let rakp4 = transport
            .exchange(&request, |d| {
                let packet = wire::decode(d, None).ok()?;
                if packet.payload_type != payload::RAKP4 {
                    return None;
                }
                rakp::parse_rakp4(&packet.payload).ok().filter(|r| r.tag == 2)
            })
            .await
            .map_err(|e| no_answer(peer, e))?;
        if rakp4.status != 0 {
            let detail = format!("RAKP 4: {} ({:#04x})", rakp::status_text(rakp4.status), rakp4.status);
            return Err(OpenError::Other(if rakp::status_is_credentials(rakp4.status) {
                bad_credentials(detail)
            } else {
                protocol(peer, detail)
            }));
        }
        let sik = hs.sik(password);
        if !rakp::codes_match(&hs.rakp4_icv(&sik), &rakp4.icv) {
            return Err(OpenError::Other(protocol(peer, "RAKP 4 integrity check value does not match")));
        }

        let mut session = Session {
            transport,
            keys: SessionKeys::derive(suite.hash(), &sik),
            suite,
            console_session_id,
            bmc_session_id: opened.bmc_session_id,
            sequence: 0,
            rq_seq: 0,
            last_used: Instant::now(),
        };
        // 5. Sessions start at USER; raise to what was asked for.
        if creds.privilege as u8 > Privilege::User as u8 {
            session.command(netfn::APP, cmd::SET_SESSION_PRIVILEGE, &[creds.privilege as u8]).await.map_err(
                |e| match e {
                    PowerError::BmcError { detail, .. } => {
                        bad_credentials(format!("privilege {:?} refused: {detail}", creds.privilege))
                    }
                    other => other,
                },
            )?;
        }
        Ok(session)
    }

    /// The suite the session runs.
    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// Whether the session can take another command before its sequence number
    /// wraps (the pool then opens a new one, as the spec requires).
    pub fn exhausted(&self) -> bool {
        self.sequence >= u32::MAX - 1
    }

    /// Sends one command and returns the response data after a zero completion
    /// code; a non-zero code is a [`PowerError::BmcError`].
    pub async fn command(&mut self, netfn: u8, command: u8, data: &[u8]) -> Result<Vec<u8>, PowerError> {
        let peer = self.transport.peer();
        if self.exhausted() {
            return Err(protocol(peer, "session sequence number exhausted"));
        }
        self.sequence += 1;
        self.rq_seq = (self.rq_seq + 1) & 0x3F;
        let rq_seq = self.rq_seq;
        let message = messages::encode_request(netfn, command, rq_seq, data);
        let packet = wire::encode_v2(
            payload::IPMI,
            self.bmc_session_id,
            self.sequence,
            &message,
            Some((&self.keys, rand::random())),
        );
        let keys = &self.keys;
        let console_session_id = self.console_session_id;
        let response = self
            .transport
            .exchange(&packet, |d| {
                let packet = wire::decode(d, Some(keys)).ok()?;
                if !packet.rmcpp
                    || packet.payload_type != payload::IPMI
                    || packet.session_id != console_session_id
                {
                    return None;
                }
                let response = messages::decode_response(&packet.payload).ok()?;
                (response.rq_seq == rq_seq && response.cmd == command && response.netfn == netfn + 1)
                    .then_some(response)
            })
            .await
            .map_err(|e| no_answer(peer, e))?;
        self.last_used = Instant::now();
        if response.completion != 0 {
            return Err(PowerError::BmcError {
                address: peer.to_string(),
                operation: format!("command {netfn:#04x}/{command:#04x}"),
                detail: format!(
                    "completion code {:#04x}: {}",
                    response.completion,
                    messages::completion_text(response.completion)
                ),
            });
        }
        Ok(response.data)
    }

    /// Sends Close Session without waiting long: used on shutdown and when a
    /// session is retired, where a lost answer changes nothing.
    pub async fn close(mut self) {
        self.sequence += 1;
        self.rq_seq = (self.rq_seq + 1) & 0x3F;
        let message = messages::encode_request(
            netfn::APP,
            cmd::CLOSE_SESSION,
            self.rq_seq,
            &self.bmc_session_id.to_le_bytes(),
        );
        let packet = wire::encode_v2(
            payload::IPMI,
            self.bmc_session_id,
            self.sequence,
            &message,
            Some((&self.keys, rand::random())),
        );
        self.transport.send_only(&packet).await;
    }
}
