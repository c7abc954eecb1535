//! The gRPC `PowerService`: picks the driver, builds the BMC handle from
//! driver_info, and runs the operation under the service's rules:
//!
//! 1. a tracing span per call with the node uuid, driver and operation;
//! 2. a global bound on in-flight BMC operations (a semaphore);
//! 3. per-BMC serialisation (one operation per BMC at a time: BMCs choke on
//!    concurrency, and IPMI sessions are single-caller);
//! 4. the per-BMC circuit breaker;
//! 5. metrics: `ferric_power_bmc_calls_total{driver,op,outcome}` and
//!    `ferric_power_bmc_call_duration_seconds{driver,op}`;
//! 6. errors through the one `From<PowerError> for Status`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferric_proto::v1;
use ferric_proto::v1::power_service_server::PowerService;
use tokio::sync::Semaphore;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::breaker::{BreakerOptions, Breakers};
use crate::convert;
use crate::driver::{self, Bmc, CycleStyle, PowerDriver, PowerResult};
use crate::error::PowerError;
use crate::fake::FakeDriver;
use crate::ipmi::{IpmiDriver, IpmiOptions};
use crate::redfish::{RedfishDriver, RedfishOptions};

/// Tunables of the service.
#[derive(Debug, Clone)]
pub struct PowerOptions {
    /// BMC operations in flight at once, over all BMCs.
    pub max_in_flight: usize,
    /// How long SetPowerState waits for the target state when the request says
    /// nothing (Ironic's `power_state_change_timeout`).
    pub default_power_timeout: Duration,
    /// The per-BMC circuit breaker.
    pub breaker: BreakerOptions,
    /// The IPMI driver's retries and session reuse.
    pub ipmi: IpmiOptions,
    /// The Redfish driver's timeouts.
    pub redfish: RedfishOptions,
}

impl Default for PowerOptions {
    fn default() -> Self {
        Self {
            max_in_flight: 4096,
            default_power_timeout: Duration::from_secs(60),
            breaker: BreakerOptions::default(),
            ipmi: IpmiOptions::default(),
            redfish: RedfishOptions::default(),
        }
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The service implementation; cheap to clone (everything is shared).
#[derive(Debug, Clone)]
pub struct PowerServiceImpl {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    drivers: HashMap<&'static str, Arc<dyn PowerDriver>>,
    in_flight: Semaphore,
    bmc_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    breakers: Breakers,
    options: PowerOptions,
}

impl PowerServiceImpl {
    /// The service with the real drivers (ipmi, redfish) and a fake.
    pub fn new(options: PowerOptions) -> Self {
        let drivers: Vec<Arc<dyn PowerDriver>> = vec![
            Arc::new(IpmiDriver::new(options.ipmi)),
            Arc::new(RedfishDriver::new(options.redfish.clone())),
            Arc::new(FakeDriver::new()),
        ];
        Self::with_drivers(options, drivers)
    }

    /// The service with exactly `drivers` (tests pass their own fake to inspect it).
    pub fn with_drivers(options: PowerOptions, drivers: Vec<Arc<dyn PowerDriver>>) -> Self {
        let drivers = drivers.into_iter().map(|d| (d.name(), d)).collect();
        Self {
            inner: Arc::new(Inner {
                drivers,
                in_flight: Semaphore::new(options.max_in_flight.max(1)),
                bmc_locks: Mutex::default(),
                breakers: Breakers::new(options.breaker),
                options,
            }),
        }
    }

    /// Lets every driver release what it holds (closes IPMI sessions).
    pub async fn shutdown(&self) {
        for driver in self.inner.drivers.values() {
            driver.shutdown().await;
        }
    }

    fn driver(&self, name: &str) -> Result<&Arc<dyn PowerDriver>, PowerError> {
        self.inner.drivers.get(name).ok_or_else(|| PowerError::UnknownDriver(name.to_owned()))
    }

    /// Runs `f` on the request's BMC under the rules in the module docs.
    async fn run<T: Send>(
        &self,
        op: &'static str,
        node: &Option<v1::NodeRef>,
        bmc: Option<v1::BmcTarget>,
        f: impl for<'a> FnOnce(&'a dyn Bmc) -> BoxFuture<'a, PowerResult<T>> + Send,
    ) -> Result<T, Status> {
        let node = convert::node(node);
        let started = Instant::now();
        let (driver_name, info) = convert::target(bmc)?;
        let span = tracing::info_span!("bmc_call", node = %node, driver = %driver_name, op, bmc = tracing::field::Empty);
        let result = async {
            let driver = self.driver(&driver_name)?;
            let handle = driver.bmc(&info)?;
            let address = handle.address();
            tracing::Span::current().record("bmc", address.as_str());
            let _permit = self
                .inner
                .in_flight
                .acquire()
                .await
                .map_err(|_| PowerError::InvalidRequest("service is shutting down".into()))?;
            let lock = {
                let mut locks = self.inner.bmc_locks.lock().unwrap_or_else(|p| p.into_inner());
                locks.entry(format!("{driver_name}/{address}")).or_default().clone()
            };
            let _serial = lock.lock().await;
            self.inner.breakers.check(&address)?;
            let result = f(handle.as_ref()).await;
            self.inner.breakers.record(&address, result.as_ref().map(drop));
            result
        }
        .instrument(span.clone())
        .await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.outcome(),
        };
        let driver_label = self.inner.drivers.get(driver_name.as_str()).map_or("unknown", |d| d.name());
        metrics::counter!("ferric_power_bmc_calls_total", "driver" => driver_label, "op" => op, "outcome" => outcome).increment(1);
        metrics::histogram!("ferric_power_bmc_call_duration_seconds", "driver" => driver_label, "op" => op)
            .record(started.elapsed().as_secs_f64());
        span.in_scope(|| match &result {
            Ok(_) => tracing::debug!(elapsed = ?started.elapsed(), "BMC call done"),
            Err(e) => tracing::warn!(error = %e, elapsed = ?started.elapsed(), "BMC call failed"),
        });
        result.map_err(Status::from)
    }
}

fn cycle_style(driver: &str) -> CycleStyle {
    if driver == "redfish" { CycleStyle::Native } else { CycleStyle::OffThenOn }
}

#[tonic::async_trait]
impl PowerService for PowerServiceImpl {
    async fn get_power_state(
        &self,
        request: Request<v1::GetPowerStateRequest>,
    ) -> Result<Response<v1::GetPowerStateResponse>, Status> {
        let r = request.into_inner();
        let state = self.run("get_power_state", &r.node, r.bmc, |b| Box::pin(b.power_state())).await?;
        Ok(Response::new(v1::GetPowerStateResponse { power_state: convert::power_state(state) as i32 }))
    }

    async fn set_power_state(
        &self,
        request: Request<v1::SetPowerStateRequest>,
    ) -> Result<Response<v1::SetPowerStateResponse>, Status> {
        let r = request.into_inner();
        let action = convert::action(r.action)?;
        let mut timeout = match r.timeout {
            Some(d) => Duration::try_from(d)
                .map_err(|_| PowerError::InvalidRequest("timeout must be positive".into()))?,
            None => self.inner.options.default_power_timeout,
        };
        // Never wait past the caller's own deadline.
        if let Some(left) = ferric_mesh::deadline::remaining() {
            timeout = timeout.min(left);
        }
        let style = cycle_style(r.bmc.as_ref().map_or("", |b| b.driver.as_str()));
        let state = self
            .run("set_power_state", &r.node, r.bmc, move |b| {
                Box::pin(async move { driver::set_power(b, action, timeout, style).await })
            })
            .await?;
        Ok(Response::new(v1::SetPowerStateResponse { power_state: convert::power_state(state) as i32 }))
    }

    async fn get_boot_device(
        &self,
        request: Request<v1::GetBootDeviceRequest>,
    ) -> Result<Response<v1::GetBootDeviceResponse>, Status> {
        let r = request.into_inner();
        let setting = self.run("get_boot_device", &r.node, r.bmc, |b| Box::pin(b.boot_device())).await?;
        Ok(Response::new(convert::boot_setting(setting)))
    }

    async fn set_boot_device(
        &self,
        request: Request<v1::SetBootDeviceRequest>,
    ) -> Result<Response<v1::SetBootDeviceResponse>, Status> {
        let r = request.into_inner();
        let device = convert::boot_device(r.boot_device)?;
        let mode = convert::boot_mode(r.boot_mode);
        let persistent = r.persistent;
        self.run("set_boot_device", &r.node, r.bmc, move |b| {
            Box::pin(b.set_boot_device(device, persistent, mode))
        })
        .await?;
        Ok(Response::new(v1::SetBootDeviceResponse {}))
    }

    async fn get_supported_boot_devices(
        &self,
        request: Request<v1::GetSupportedBootDevicesRequest>,
    ) -> Result<Response<v1::GetSupportedBootDevicesResponse>, Status> {
        let r = request.into_inner();
        let devices = self
            .run("get_supported_boot_devices", &r.node, r.bmc, |b| Box::pin(b.supported_boot_devices()))
            .await?;
        Ok(Response::new(v1::GetSupportedBootDevicesResponse {
            boot_devices: devices.into_iter().map(|d| convert::boot_device_out(d) as i32).collect(),
        }))
    }

    async fn inject_nmi(
        &self,
        request: Request<v1::InjectNmiRequest>,
    ) -> Result<Response<v1::InjectNmiResponse>, Status> {
        let r = request.into_inner();
        self.run("inject_nmi", &r.node, r.bmc, |b| Box::pin(b.inject_nmi())).await?;
        Ok(Response::new(v1::InjectNmiResponse {}))
    }

    async fn validate(
        &self,
        request: Request<v1::ValidateRequest>,
    ) -> Result<Response<v1::ValidateResponse>, Status> {
        let r = request.into_inner();
        let verdict =
            convert::target(r.bmc).and_then(|(name, info)| self.driver(&name)?.bmc(&info).map(drop));
        let validation = match verdict {
            Ok(()) => v1::InterfaceValidation { result: Some(true), reason: String::new() },
            Err(e) => v1::InterfaceValidation { result: Some(false), reason: e.to_string() },
        };
        Ok(Response::new(v1::ValidateResponse {
            power: Some(validation.clone()),
            management: Some(validation),
        }))
    }

    async fn validate_credentials(
        &self,
        request: Request<v1::ValidateCredentialsRequest>,
    ) -> Result<Response<v1::ValidateCredentialsResponse>, Status> {
        let r = request.into_inner();
        let started = Instant::now();
        let outcome = self
            .run("validate_credentials", &r.node, r.bmc, |b| {
                Box::pin(async move {
                    let address = b.address();
                    // Failures of the BMC are the answer here, not RPC errors.
                    Ok(match b.probe().await {
                        Ok(()) => Ok(address),
                        Err(
                            e @ (PowerError::MissingKey { .. }
                            | PowerError::InvalidKey { .. }
                            | PowerError::UnknownDriver(_)),
                        ) => return Err(e),
                        Err(e) => Err(e),
                    })
                })
            })
            .await?;
        let elapsed = started.elapsed();
        Ok(Response::new(match outcome {
            Ok(address) => v1::ValidateCredentialsResponse {
                valid: true,
                latency: prost_types::Duration::try_from(elapsed).ok(),
                detail: format!("BMC at {address} accepted the credentials"),
            },
            Err(e) => v1::ValidateCredentialsResponse {
                valid: false,
                latency: (!e.is_unreachable())
                    .then(|| prost_types::Duration::try_from(elapsed).ok())
                    .flatten(),
                detail: e.to_string(),
            },
        }))
    }

    async fn insert_virtual_media(
        &self,
        request: Request<v1::InsertVirtualMediaRequest>,
    ) -> Result<Response<v1::InsertVirtualMediaResponse>, Status> {
        let r = request.into_inner();
        let kind = convert::media_kind(r.kind)?;
        if !(r.image_url.starts_with("http://") || r.image_url.starts_with("https://")) {
            return Err(PowerError::InvalidRequest("image_url must be an http or https URL".into()).into());
        }
        let url = r.image_url;
        self.run("insert_virtual_media", &r.node, r.bmc, move |b| {
            Box::pin(async move { b.insert_media(kind, &url).await })
        })
        .await?;
        Ok(Response::new(v1::InsertVirtualMediaResponse {}))
    }

    async fn eject_virtual_media(
        &self,
        request: Request<v1::EjectVirtualMediaRequest>,
    ) -> Result<Response<v1::EjectVirtualMediaResponse>, Status> {
        let r = request.into_inner();
        let kind = convert::media_kind(r.kind)?;
        self.run("eject_virtual_media", &r.node, r.bmc, move |b| Box::pin(b.eject_media(kind))).await?;
        Ok(Response::new(v1::EjectVirtualMediaResponse {}))
    }
}
