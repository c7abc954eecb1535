//! The `fake` driver: an in-memory BMC per `fake_address`, for orchestration tests
//! of the deploy service and the gateway, chosen by `BmcTarget.driver = "fake"`
//! (configuration, not `cfg(test)`).
//!
//! Fault knobs, set through the API ([`FakeDriver::inject`]) or per node through
//! driver_info (`fake_fault`: `unreachable`, `bad_credentials`, `bmc_error`;
//! `fake_delay_ms`: added latency), make the failure paths of callers testable.
//! driver_info `fake_password`, when set, must equal `fake_expected_password` or
//! the call fails as bad credentials, mimicking a real BMC.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::driver::{
    Bmc, BootDevice, BootMode, BootSetting, MediaKind, PowerAction, PowerDriver, PowerResult, PowerState,
};
use crate::error::PowerError;
use crate::info::DriverInfo;

/// A failure the fake produces on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// As if the BMC did not answer.
    Unreachable,
    /// As if the BMC refused the credentials.
    BadCredentials,
    /// As if the BMC answered with an error code.
    BmcError,
}

impl Fault {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "unreachable" => Some(Self::Unreachable),
            "bad_credentials" => Some(Self::BadCredentials),
            "bmc_error" => Some(Self::BmcError),
            _ => None,
        }
    }

    fn error(self, address: &str) -> PowerError {
        match self {
            Fault::Unreachable => PowerError::Unreachable {
                address: address.into(),
                waited: Duration::ZERO,
                detail: "fake fault".into(),
            },
            Fault::BadCredentials => {
                PowerError::BadCredentials { address: address.into(), detail: "fake fault".into() }
            }
            Fault::BmcError => PowerError::Fake(format!("{address}: injected BMC error")),
        }
    }
}

/// What a fake BMC holds; readable by tests through [`FakeDriver::state`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeState {
    /// Current power.
    pub power: PowerState,
    /// Next boot setting.
    pub boot: BootSetting,
    /// Inserted virtual media per kind.
    pub media: Vec<(MediaKind, String)>,
    /// NMIs received.
    pub nmis: u32,
    /// Operations performed, in order (e.g. "power_action On").
    pub log: Vec<String>,
}

impl Default for FakeState {
    fn default() -> Self {
        Self {
            power: PowerState::Off,
            boot: BootSetting::default(),
            media: Vec::new(),
            nmis: 0,
            log: Vec::new(),
        }
    }
}

#[derive(Debug, Default)]
struct FakeBmcData {
    state: FakeState,
    /// Faults for the next calls, consumed one per call.
    next_faults: Vec<Fault>,
    /// A fault every call gets until cleared.
    sticky: Option<Fault>,
}

/// The `fake` driver; clones share the same BMCs.
#[derive(Debug, Clone, Default)]
pub struct FakeDriver {
    bmcs: Arc<Mutex<HashMap<String, FakeBmcData>>>,
}

impl FakeDriver {
    /// An empty fake datacenter.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, address: &str, f: impl FnOnce(&mut FakeBmcData) -> T) -> T {
        let mut bmcs = self.bmcs.lock().unwrap_or_else(|p| p.into_inner());
        f(bmcs.entry(address.to_owned()).or_default())
    }

    /// The state of the fake BMC at `address`.
    pub fn state(&self, address: &str) -> FakeState {
        self.with(address, |d| d.state.clone())
    }

    /// Makes the next call to `address` fail with `fault`.
    pub fn inject(&self, address: &str, fault: Fault) {
        self.with(address, |d| d.next_faults.push(fault));
    }

    /// Makes every call to `address` fail with `fault` (None clears).
    pub fn set_sticky(&self, address: &str, fault: Option<Fault>) {
        self.with(address, |d| d.sticky = fault);
    }
}

#[async_trait]
impl PowerDriver for FakeDriver {
    fn name(&self) -> &'static str {
        "fake"
    }

    fn bmc(&self, info: &DriverInfo) -> PowerResult<Box<dyn Bmc>> {
        let address = info.string("fake_address")?.unwrap_or_else(|| "fake-bmc".into());
        let fault = match info.string("fake_fault")? {
            None => None,
            Some(name) => Some(Fault::parse(&name).ok_or_else(|| {
                PowerError::invalid("fake_fault", "must be unreachable, bad_credentials or bmc_error")
            })?),
        };
        let delay = Duration::from_millis(info.integer("fake_delay_ms", 0..=600_000)?.unwrap_or(0));
        let credentials_ok = match (info.string("fake_password")?, info.string("fake_expected_password")?) {
            (Some(given), Some(expected)) => given == expected,
            _ => true,
        };
        Ok(Box::new(FakeBmc { driver: self.clone(), address, fault, delay, credentials_ok }))
    }
}

struct FakeBmc {
    driver: FakeDriver,
    address: String,
    fault: Option<Fault>,
    delay: Duration,
    credentials_ok: bool,
}

impl FakeBmc {
    async fn op<T>(&self, name: String, f: impl FnOnce(&mut FakeState) -> T) -> PowerResult<T> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        if let Some(fault) = self.fault {
            return Err(fault.error(&self.address));
        }
        if !self.credentials_ok {
            return Err(Fault::BadCredentials.error(&self.address));
        }
        self.driver.with(&self.address, |d| {
            let fault = if d.next_faults.is_empty() { d.sticky } else { Some(d.next_faults.remove(0)) };
            if let Some(fault) = fault {
                return Err(fault.error(&self.address));
            }
            d.state.log.push(name);
            Ok(f(&mut d.state))
        })
    }
}

#[async_trait]
impl Bmc for FakeBmc {
    fn address(&self) -> String {
        self.address.clone()
    }

    fn driver(&self) -> &'static str {
        "fake"
    }

    fn poll_interval(&self) -> Duration {
        Duration::from_millis(1)
    }

    async fn power_state(&self) -> PowerResult<PowerState> {
        self.op("power_state".into(), |s| s.power).await
    }

    async fn power_action(&self, action: PowerAction) -> PowerResult<()> {
        self.op(format!("power_action {action:?}"), |s| {
            s.power = match action {
                PowerAction::Off | PowerAction::SoftOff => PowerState::Off,
                _ => PowerState::On,
            }
        })
        .await
    }

    async fn boot_device(&self) -> PowerResult<BootSetting> {
        self.op("boot_device".into(), |s| s.boot).await
    }

    async fn set_boot_device(
        &self,
        device: BootDevice,
        persistent: bool,
        mode: Option<BootMode>,
    ) -> PowerResult<()> {
        self.op(format!("set_boot_device {device:?} persistent={persistent}"), |s| {
            s.boot = BootSetting {
                device: Some(device),
                persistent: Some(persistent),
                mode: mode.or(s.boot.mode),
            };
        })
        .await
    }

    async fn supported_boot_devices(&self) -> PowerResult<Vec<BootDevice>> {
        Ok(vec![
            BootDevice::Pxe,
            BootDevice::Disk,
            BootDevice::Cdrom,
            BootDevice::Bios,
            BootDevice::Safe,
            BootDevice::UefiHttp,
        ])
    }

    async fn inject_nmi(&self) -> PowerResult<()> {
        self.op("inject_nmi".into(), |s| s.nmis += 1).await
    }

    async fn probe(&self) -> PowerResult<()> {
        self.op("probe".into(), |_| ()).await
    }

    async fn insert_media(&self, kind: MediaKind, image_url: &str) -> PowerResult<()> {
        self.op(format!("insert_media {kind:?}"), |s| {
            s.media.retain(|(k, _)| *k != kind);
            s.media.push((kind, image_url.to_owned()));
        })
        .await
    }

    async fn eject_media(&self, kind: MediaKind) -> PowerResult<()> {
        self.op(format!("eject_media {kind:?}"), |s| s.media.retain(|(k, _)| *k != kind)).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::driver::{CycleStyle, set_power};

    fn bmc(driver: &FakeDriver, info: serde_json::Value) -> Box<dyn Bmc> {
        driver.bmc(&DriverInfo::from_json(info)).unwrap()
    }

    #[tokio::test]
    async fn power_and_boot_follow_calls() {
        let d = FakeDriver::new();
        let b = bmc(&d, json!({"fake_address": "n1"}));
        assert_eq!(
            set_power(b.as_ref(), PowerAction::PowerCycle, Duration::from_secs(1), CycleStyle::OffThenOn)
                .await
                .unwrap(),
            PowerState::On
        );
        b.set_boot_device(BootDevice::Pxe, true, Some(BootMode::Uefi)).await.unwrap();
        let s = d.state("n1");
        assert_eq!(s.boot.device, Some(BootDevice::Pxe));
        assert_eq!(s.power, PowerState::On);
        assert_eq!(d.state("n2").power, PowerState::Off, "BMCs are separate");
    }

    #[tokio::test]
    async fn faults_fire_once_or_stick() {
        let d = FakeDriver::new();
        let b = bmc(&d, json!({"fake_address": "n"}));
        d.inject("n", Fault::Unreachable);
        assert!(b.power_state().await.unwrap_err().is_unreachable());
        assert!(b.power_state().await.is_ok());
        d.set_sticky("n", Some(Fault::BmcError));
        assert!(b.probe().await.is_err());
        assert!(b.probe().await.is_err());
        d.set_sticky("n", None);
        let bad = bmc(&d, json!({"fake_address": "n", "fake_password": "a", "fake_expected_password": "b"}));
        assert!(matches!(bad.probe().await, Err(PowerError::BadCredentials { .. })));
        assert!(d.bmc(&DriverInfo::from_json(json!({"fake_fault": "nope"}))).is_err());
    }
}
