//! The IPMI 2.0 over LAN driver: RMCP+ on async UDP, no `ipmitool` process.
//!
//! Layout:
//! - [`config`]: Ironic's ipmi driver_info keys.
//! - [`crypto`]: cipher suites 3 and 17 (HMAC-SHA1/SHA256, AES-CBC-128).
//! - [`wire`]: RMCP / session framing, the one parser of untrusted datagrams.
//! - [`messages`]: IPMI messages and the chassis/app commands we send.
//! - [`rakp`]: Open Session and RAKP 1–4.
//! - [`transport`]: one connected UDP socket per BMC, retries with backoff.
//! - [`session`]: the handshake and authenticated, encrypted commands.
//!
//! This file is the driver: a pool keeps one session per BMC (and credentials)
//! and reuses it, so a status query costs one round trip instead of the seven of
//! a fresh ipmitool. The pool's per-BMC mutex also serialises calls to a BMC.
//! Sessions idle longer than the BMC would keep them are retired and reopened;
//! a reused session that stops answering is reopened once before the call fails.

pub mod config;
pub mod crypto;
pub mod messages;
pub mod rakp;
pub mod session;
pub mod transport;
pub mod wire;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sha2::Digest;

use self::config::{Bridging, IpmiConfig};
use self::crypto::CipherSuite;
use self::messages::{cmd, control, netfn};
use self::session::{OpenError, Session};
use self::transport::RetryPolicy;
use crate::driver::{
    Bmc, BootDevice, BootMode, BootSetting, PowerAction, PowerDriver, PowerResult, PowerState,
};
use crate::error::PowerError;
use crate::info::DriverInfo;

/// Tunables of the IPMI driver.
#[derive(Debug, Clone, Copy)]
pub struct IpmiOptions {
    /// Retransmission policy of every exchange.
    pub retry: RetryPolicy,
    /// Sessions idle this long are reopened: BMCs drop idle sessions after ~60 s
    /// (ipmi_sim after its `timeout`), and a dropped session costs a full retry
    /// budget to notice.
    pub idle_limit: Duration,
}

impl Default for IpmiOptions {
    fn default() -> Self {
        Self { retry: RetryPolicy::default(), idle_limit: Duration::from_secs(30) }
    }
}

/// Identifies a pooled session: one per BMC endpoint and credentials, so a
/// changed password opens a new session. The password is kept only as a digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PoolKey {
    endpoint: String,
    username: String,
    password_sha256: [u8; 32],
    privilege: u8,
    suites: Vec<u8>,
}

#[derive(Debug, Default)]
struct Slot {
    session: Option<Session>,
}

#[derive(Debug, Default)]
struct Pool {
    slots: Mutex<HashMap<PoolKey, Arc<tokio::sync::Mutex<Slot>>>>,
}

/// The `ipmi` driver.
#[derive(Debug, Clone, Default)]
pub struct IpmiDriver {
    options: IpmiOptions,
    pool: Arc<Pool>,
}

impl IpmiDriver {
    /// A driver with its own session pool.
    pub fn new(options: IpmiOptions) -> Self {
        Self { options, pool: Arc::default() }
    }

    /// How many sessions are open now (for tests and metrics).
    pub async fn open_sessions(&self) -> usize {
        let slots: Vec<_> = self.lock_slots().values().cloned().collect();
        let mut open = 0;
        for slot in slots {
            open += usize::from(slot.lock().await.session.is_some());
        }
        open
    }

    fn lock_slots(&self) -> std::sync::MutexGuard<'_, HashMap<PoolKey, Arc<tokio::sync::Mutex<Slot>>>> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.pool.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl PowerDriver for IpmiDriver {
    fn name(&self) -> &'static str {
        "ipmi"
    }

    fn bmc(&self, info: &DriverInfo) -> PowerResult<Box<dyn Bmc>> {
        let config = IpmiConfig::parse(info)?;
        let key = PoolKey {
            endpoint: config.endpoint(),
            username: config.credentials.username.clone(),
            password_sha256: sha2::Sha256::digest(config.credentials.password.as_bytes()).into(),
            privilege: config.credentials.privilege as u8,
            suites: config.suites.iter().map(|s| s.id()).collect(),
        };
        Ok(Box::new(IpmiBmc { config, key, driver: self.clone() }))
    }

    /// Closes every pooled session, so BMCs (which allow only a few sessions
    /// each) do not hold our slots until they time out.
    async fn shutdown(&self) {
        let slots: Vec<_> = self.lock_slots().drain().map(|(_, slot)| slot).collect();
        for slot in slots {
            if let Some(session) = slot.lock().await.session.take() {
                session.close().await;
            }
        }
    }
}

/// One IPMI BMC.
#[derive(Debug)]
struct IpmiBmc {
    config: IpmiConfig,
    key: PoolKey,
    driver: IpmiDriver,
}

impl IpmiBmc {
    async fn resolve(&self) -> PowerResult<SocketAddr> {
        let unreachable = |detail: String| PowerError::Unreachable {
            address: self.config.endpoint(),
            waited: Duration::ZERO,
            detail,
        };
        let mut addrs = tokio::net::lookup_host((self.config.address.as_str(), self.config.port))
            .await
            .map_err(|e| unreachable(format!("cannot resolve {}: {e}", self.config.address)))?;
        addrs.next().ok_or_else(|| unreachable(format!("{} resolves to no address", self.config.address)))
    }

    async fn open(&self, peer: SocketAddr) -> PowerResult<Session> {
        let mut last = None;
        for suite in &self.config.suites {
            match Session::open(peer, &self.config.credentials, *suite, self.driver.options.retry).await {
                Ok(session) => return Ok(session),
                Err(OpenError::SuiteRefused(e)) => last = Some(e),
                Err(OpenError::Other(e)) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| PowerError::invalid("ipmi_cipher_suite", "no cipher suite to try")))
    }

    /// Runs one command on the pooled session, opening or reopening it as needed.
    async fn call(&self, netfn: u8, command: u8, data: &[u8]) -> PowerResult<Vec<u8>> {
        if self.config.bridging != Bridging::None {
            return Err(self.unsupported("IPMB bridging (ipmi_bridging single/dual)"));
        }
        let slot = self.driver.lock_slots().entry(self.key.clone()).or_default().clone();
        let mut slot = slot.lock().await;
        let stale = slot
            .session
            .as_ref()
            .is_some_and(|s| s.last_used.elapsed() > self.driver.options.idle_limit || s.exhausted());
        if stale && let Some(old) = slot.session.take() {
            old.close().await;
        }
        let peer = self.resolve().await?;
        for reused in [true, false] {
            let fresh = slot.session.is_none();
            if fresh {
                slot.session = Some(self.open(peer).await?);
            }
            let Some(session) = slot.session.as_mut() else { continue };
            match session.command(netfn, command, data).await {
                Ok(answer) => return Ok(answer),
                // A reused session the BMC has forgotten looks like silence: reopen once.
                Err(e) if e.is_unreachable() && !fresh && reused => slot.session = None,
                Err(e) => {
                    if e.is_unreachable() {
                        slot.session = None;
                    }
                    return Err(e);
                }
            }
        }
        Err(PowerError::Protocol {
            address: self.config.endpoint(),
            detail: "session could not be reopened".into(),
        })
    }
}

#[async_trait]
impl Bmc for IpmiBmc {
    fn address(&self) -> String {
        self.config.endpoint()
    }

    fn driver(&self) -> &'static str {
        "ipmi"
    }

    async fn power_state(&self) -> PowerResult<PowerState> {
        let data = self.call(netfn::CHASSIS, cmd::GET_CHASSIS_STATUS, &[]).await?;
        match messages::power_is_on(&data) {
            Some(true) => Ok(PowerState::On),
            Some(false) => Ok(PowerState::Off),
            None => {
                Err(PowerError::Protocol { address: self.address(), detail: "empty chassis status".into() })
            }
        }
    }

    async fn power_action(&self, action: PowerAction) -> PowerResult<()> {
        let op = match action {
            PowerAction::On => control::POWER_UP,
            PowerAction::Off => control::POWER_DOWN,
            PowerAction::SoftOff => control::SOFT_SHUTDOWN,
            PowerAction::Reboot | PowerAction::SoftReboot => control::HARD_RESET,
            PowerAction::PowerCycle => control::POWER_CYCLE,
        };
        self.call(netfn::CHASSIS, cmd::CHASSIS_CONTROL, &[op]).await.map(drop)
    }

    async fn boot_device(&self) -> PowerResult<BootSetting> {
        let data =
            self.call(netfn::CHASSIS, cmd::GET_BOOT_OPTIONS, &messages::get_boot_flags_request()).await?;
        messages::parse_boot_flags(&data).ok_or_else(|| PowerError::Protocol {
            address: self.address(),
            detail: "short boot flags answer".into(),
        })
    }

    async fn set_boot_device(
        &self,
        device: BootDevice,
        persistent: bool,
        mode: Option<BootMode>,
    ) -> PowerResult<()> {
        let request = messages::set_boot_flags_request(device, persistent, mode)
            .ok_or_else(|| self.unsupported(&format!("boot device {device:?}")))?;
        self.call(netfn::CHASSIS, cmd::SET_BOOT_OPTIONS, &request).await.map(drop)
    }

    async fn supported_boot_devices(&self) -> PowerResult<Vec<BootDevice>> {
        Ok(vec![BootDevice::Pxe, BootDevice::Disk, BootDevice::Cdrom, BootDevice::Bios, BootDevice::Safe])
    }

    async fn inject_nmi(&self) -> PowerResult<()> {
        self.call(netfn::CHASSIS, cmd::CHASSIS_CONTROL, &[control::DIAGNOSTIC_INTERRUPT]).await.map(drop)
    }

    async fn probe(&self) -> PowerResult<()> {
        self.power_state().await.map(drop)
    }
}

/// The cipher suite a pooled session to `endpoint` runs, for tests that check
/// negotiation; None when no session is open.
impl IpmiDriver {
    /// Suite of the open session to `endpoint` (host:port), if any.
    pub async fn session_suite(&self, endpoint: &str) -> Option<CipherSuite> {
        let slots: Vec<_> = self
            .lock_slots()
            .iter()
            .filter(|(k, _)| k.endpoint == endpoint)
            .map(|(_, s)| s.clone())
            .collect();
        for slot in slots {
            if let Some(session) = &slot.lock().await.session {
                return Some(session.suite());
            }
        }
        None
    }
}
