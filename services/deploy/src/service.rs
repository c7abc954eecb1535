//! `ferric.v1.DeployService`: the gRPC face of the engine. Each RPC converts its
//! request at the edge ([`crate::convert`]), runs in a span naming the node, calls
//! the engine, and maps errors through the one `From<DeployError> for Status`.

use ferric_catalog::NodeInventoryRecord;
use ferric_model::ProvisionVerb;
use ferric_model::node_settings::NodeInventory;
use ferric_proto::convert as enums;
use ferric_proto::v1;
use ferric_proto::v1::deploy_service_server::DeployService;
use ferric_store::records::Collection;
use serde_json::Value;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::convert;
use crate::engine::Engine;
use crate::engine::start::ProvisionRequest;
use crate::error::DeployError;

/// The service implementation.
#[derive(Clone)]
pub struct Deploy {
    engine: Engine,
}

impl Deploy {
    /// The service over `engine`.
    pub fn new(engine: Engine) -> Self {
        Self { engine }
    }
}

fn span(rpc: &'static str, node: Option<&v1::NodeRef>) -> tracing::Span {
    let node = node.map(|n| n.uuid.clone()).unwrap_or_default();
    tracing::info_span!("rpc", rpc, node = %node)
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl DeployService for Deploy {
    async fn change_provision_state(
        &self,
        request: Request<v1::ChangeProvisionStateRequest>,
    ) -> Reply<v1::ChangeProvisionStateResponse> {
        let request = request.into_inner();
        let span = span("ChangeProvisionState", request.node.as_ref());
        async {
            let uuid = convert::node_uuid(request.node.as_ref())?;
            let verb = enums::verb_from_proto(request.verb).ok_or_else(|| {
                DeployError::InvalidArgument(format!("unknown provision verb {}", request.verb))
            })?;
            let rescue_password = (!request.rescue_password.is_empty()).then_some(request.rescue_password);
            let provision = ProvisionRequest {
                uuid,
                verb,
                clean_steps: convert::steps(request.clean_steps)?,
                deploy_steps: convert::steps(request.deploy_steps)?,
                service_steps: convert::steps(request.service_steps)?,
                configdrive: convert::configdrive(request.configdrive)?,
                rescue_password,
                disable_ramdisk: request.disable_ramdisk,
            };
            // Run to completion even when the caller goes away (its deadline, a
            // killed gateway): cancelled between taking the node's lock and
            // handing it to the node's task, the lock stayed held under this
            // conductor's live lease for ever and the node never moved again.
            let engine = self.engine.clone();
            let accepted =
                tokio::spawn(async move { engine.change_provision_state(provision).await }.in_current_span());
            let (state, target) = accepted
                .await
                .map_err(|e| DeployError::Unavailable(format!("provision request task failed: {e}")))??;
            Ok(Response::new(v1::ChangeProvisionStateResponse {
                provision_state: state.as_str().to_owned(),
                target_provision_state: target.map(|t| t.as_str().to_owned()).unwrap_or_default(),
            }))
        }
        .instrument(span)
        .await
        .map_err(|e: DeployError| e.into())
    }

    async fn change_power_state(
        &self,
        request: Request<v1::ChangePowerStateRequest>,
    ) -> Reply<v1::ChangePowerStateResponse> {
        let request = request.into_inner();
        let span = span("ChangePowerState", request.node.as_ref());
        async {
            let uuid = convert::node_uuid(request.node.as_ref())?;
            let target = enums::power_target_from_proto(request.action).ok_or_else(|| {
                DeployError::InvalidArgument(format!("unknown power action {}", request.action))
            })?;
            let timeout = request
                .timeout
                .and_then(|d| u64::try_from(d.seconds).ok())
                .filter(|s| *s > 0)
                .map(std::time::Duration::from_secs);
            let aim = self.engine.change_power_state(uuid, target, timeout).await?;
            Ok(Response::new(v1::ChangePowerStateResponse {
                target_power_state: enums::power_state_to_proto(Some(aim)) as i32,
            }))
        }
        .instrument(span)
        .await
        .map_err(|e: DeployError| e.into())
    }

    async fn set_boot_device(
        &self,
        request: Request<v1::DeployServiceSetBootDeviceRequest>,
    ) -> Reply<v1::DeployServiceSetBootDeviceResponse> {
        let request = request.into_inner();
        let span = span("SetBootDevice", request.node.as_ref());
        async {
            let uuid = convert::node_uuid(request.node.as_ref())?;
            let device = enums::boot_device_from_proto(request.boot_device)
                .ok_or_else(|| DeployError::InvalidArgument("unknown boot device".into()))?;
            self.engine.set_boot_device(uuid, device, request.persistent).await?;
            Ok(Response::new(v1::DeployServiceSetBootDeviceResponse {}))
        }
        .instrument(span)
        .await
        .map_err(|e: DeployError| e.into())
    }

    async fn get_boot_device(
        &self,
        request: Request<v1::DeployServiceGetBootDeviceRequest>,
    ) -> Reply<v1::DeployServiceGetBootDeviceResponse> {
        let request = request.into_inner();
        let span = span("GetBootDevice", request.node.as_ref());
        async {
            let uuid = convert::node_uuid(request.node.as_ref())?;
            let (device, persistent) = self.engine.get_boot_device(uuid).await?;
            Ok(Response::new(v1::DeployServiceGetBootDeviceResponse {
                boot_device: device
                    .map_or(v1::BootDevice::Unspecified as i32, |d| enums::boot_device_to_proto(d) as i32),
                persistent,
            }))
        }
        .instrument(span)
        .await
        .map_err(|e: DeployError| e.into())
    }

    async fn get_supported_boot_devices(
        &self,
        request: Request<v1::DeployServiceGetSupportedBootDevicesRequest>,
    ) -> Reply<v1::DeployServiceGetSupportedBootDevicesResponse> {
        let request = request.into_inner();
        let span = span("GetSupportedBootDevices", request.node.as_ref());
        async {
            let uuid = convert::node_uuid(request.node.as_ref())?;
            let devices = self.engine.supported_boot_devices(uuid).await?;
            Ok(Response::new(v1::DeployServiceGetSupportedBootDevicesResponse {
                boot_devices: devices.into_iter().map(|d| enums::boot_device_to_proto(d) as i32).collect(),
            }))
        }
        .instrument(span)
        .await
        .map_err(|e: DeployError| e.into())
    }

    async fn validate(
        &self,
        request: Request<v1::DeployServiceValidateRequest>,
    ) -> Reply<v1::DeployServiceValidateResponse> {
        let request = request.into_inner();
        let span = span("Validate", request.node.as_ref());
        async {
            let uuid = convert::node_uuid(request.node.as_ref())?;
            let verdicts = self.engine.validate(uuid).await?;
            let interfaces = verdicts
                .into_iter()
                .map(|(name, verdict)| {
                    let validation = match verdict {
                        Ok(()) => v1::InterfaceValidation { result: Some(true), reason: String::new() },
                        Err(reason) => v1::InterfaceValidation { result: Some(false), reason },
                    };
                    (name.to_owned(), validation)
                })
                .collect();
            Ok(Response::new(v1::DeployServiceValidateResponse { interfaces }))
        }
        .instrument(span)
        .await
        .map_err(|e: DeployError| e.into())
    }

    async fn abort(&self, request: Request<v1::AbortRequest>) -> Reply<v1::AbortResponse> {
        let request = request.into_inner();
        let span = span("Abort", request.node.as_ref());
        async {
            let uuid = convert::node_uuid(request.node.as_ref())?;
            let (state, _) =
                self.engine.change_provision_state(ProvisionRequest::new(uuid, ProvisionVerb::Abort)).await?;
            Ok(Response::new(v1::AbortResponse { provision_state: state.as_str().to_owned() }))
        }
        .instrument(span)
        .await
        .map_err(|e: DeployError| e.into())
    }

    async fn lookup(&self, request: Request<v1::LookupRequest>) -> Reply<v1::LookupResponse> {
        let request = request.into_inner();
        let span = span("Lookup", request.node.as_ref());
        async {
            let uuid = match request.node.as_ref().filter(|n| !n.uuid.is_empty()) {
                Some(node) => Some(convert::node_uuid(Some(node))?),
                None => None,
            };
            let reply = self.engine.lookup(&request.addresses, uuid).await?;
            let node = &reply.node;
            let mut fields = ferric_model::json::Object::new();
            fields.insert("uuid".into(), Value::String(node.uuid.to_string()));
            fields.insert("properties".into(), Value::Object(node.properties.clone()));
            fields.insert("instance_info".into(), Value::Object(node.instance_info.clone()));
            fields.insert("driver_internal_info".into(), Value::Object(node.driver_internal_info.clone()));
            let config = match reply.config {
                Value::Object(map) => map,
                _ => ferric_model::json::Object::new(),
            };
            Ok(Response::new(v1::LookupResponse {
                node: Some(v1::NodeRef::new(node.uuid.to_string())),
                node_fields: Some(convert::object_to_struct(fields)),
                config: Some(convert::object_to_struct(config)),
            }))
        }
        .instrument(span)
        .await
        .map_err(|e: DeployError| e.into())
    }

    async fn heartbeat(&self, request: Request<v1::HeartbeatRequest>) -> Reply<v1::HeartbeatResponse> {
        let request = request.into_inner();
        let span = span("Heartbeat", request.node.as_ref());
        async {
            let uuid = convert::node_uuid(request.node.as_ref())?;
            self.engine
                .heartbeat(uuid, &request.callback_url, &request.agent_token, &request.agent_version)
                .await?;
            Ok(Response::new(v1::HeartbeatResponse {}))
        }
        .instrument(span)
        .await
        .map_err(|e: DeployError| e.into())
    }

    async fn get_node_history(
        &self,
        request: Request<v1::GetNodeHistoryRequest>,
    ) -> Reply<v1::GetNodeHistoryResponse> {
        let request = request.into_inner();
        let span = span("GetNodeHistory", request.node.as_ref());
        async {
            let uuid = convert::node_uuid(request.node.as_ref())?;
            self.engine.node(&uuid.to_string()).await?;
            let marker = (!request.marker.is_empty()).then_some(request.marker.as_str());
            let limit = usize::try_from(request.limit).unwrap_or(0);
            let events = self.engine.history.list(&uuid.to_string(), limit, marker).await?;
            Ok(Response::new(v1::GetNodeHistoryResponse {
                events: events.into_iter().map(convert::history_event).collect(),
            }))
        }
        .instrument(span)
        .await
        .map_err(|e: DeployError| e.into())
    }

    async fn get_inventory(
        &self,
        request: Request<v1::GetInventoryRequest>,
    ) -> Reply<v1::GetInventoryResponse> {
        let request = request.into_inner();
        let span = span("GetInventory", request.node.as_ref());
        async {
            let uuid = convert::node_uuid(request.node.as_ref())?;
            self.engine.node(&uuid.to_string()).await?;
            let inventories = Collection::<NodeInventoryRecord>::new(self.engine.store.clone());
            let Some(stored) = inventories.get(&uuid.to_string()).await? else {
                return Err(DeployError::NodeNotFound(format!(
                    "{uuid} has no inventory: it was never inspected in band"
                )));
            };
            let NodeInventory { inventory, plugin_data, .. } = stored.record.0;
            Ok(Response::new(v1::GetInventoryResponse {
                inventory: Some(convert::object_to_struct(inventory)),
                plugin_data: Some(convert::object_to_struct(plugin_data)),
            }))
        }
        .instrument(span)
        .await
        .map_err(|e: DeployError| e.into())
    }

    async fn continue_inspection(
        &self,
        request: Request<v1::ContinueInspectionRequest>,
    ) -> Reply<v1::ContinueInspectionResponse> {
        let request = request.into_inner();
        let span = span("ContinueInspection", request.node.as_ref());
        async {
            let uuid = match request.node.as_ref().filter(|n| !n.uuid.is_empty()) {
                Some(node) => Some(convert::node_uuid(Some(node))?),
                None => None,
            };
            let object = |s: Option<prost_types::Struct>| {
                s.map(ferric_proto::json::json_from_struct).transpose().map(Option::unwrap_or_default)
            };
            let inventory = object(request.inventory)
                .map_err(|e| DeployError::InvalidArgument(format!("inventory: {e}")))?;
            let plugin_data = object(request.plugin_data)
                .map_err(|e| DeployError::InvalidArgument(format!("plugin data: {e}")))?;
            let node = self.engine.continue_inspection(inventory, plugin_data, uuid).await?;
            Ok(Response::new(v1::ContinueInspectionResponse {
                node: Some(v1::NodeRef::new(node.uuid.to_string())),
            }))
        }
        .instrument(span)
        .await
        .map_err(|e: DeployError| e.into())
    }

    async fn set_boot_mode(
        &self,
        request: Request<v1::SetBootModeRequest>,
    ) -> Reply<v1::SetBootModeResponse> {
        let request = request.into_inner();
        let span = span("SetBootMode", request.node.as_ref());
        async {
            let uuid = convert::node_uuid(request.node.as_ref())?;
            let mode = match v1::BootMode::try_from(request.boot_mode) {
                Ok(v1::BootMode::Bios) => ferric_model::state::BootMode::Bios,
                Ok(v1::BootMode::Uefi) => ferric_model::state::BootMode::Uefi,
                _ => return Err(DeployError::InvalidArgument("unknown boot mode".into())),
            };
            self.engine.set_boot_mode(uuid, mode).await?;
            Ok(Response::new(v1::SetBootModeResponse {}))
        }
        .instrument(span)
        .await
        .map_err(|e: DeployError| e.into())
    }

    async fn set_secure_boot(
        &self,
        request: Request<v1::SetSecureBootRequest>,
    ) -> Reply<v1::SetSecureBootResponse> {
        let request = request.into_inner();
        let span = span("SetSecureBoot", request.node.as_ref());
        async {
            let uuid = convert::node_uuid(request.node.as_ref())?;
            self.engine.set_secure_boot(uuid, request.enabled).await?;
            Ok(Response::new(v1::SetSecureBootResponse {}))
        }
        .instrument(span)
        .await
        .map_err(|e: DeployError| e.into())
    }

    async fn inject_nmi(
        &self,
        request: Request<v1::DeployServiceInjectNmiRequest>,
    ) -> Reply<v1::DeployServiceInjectNmiResponse> {
        let request = request.into_inner();
        let span = span("InjectNmi", request.node.as_ref());
        async {
            let uuid = convert::node_uuid(request.node.as_ref())?;
            self.engine.inject_nmi(uuid).await?;
            Ok(Response::new(v1::DeployServiceInjectNmiResponse {}))
        }
        .instrument(span)
        .await
        .map_err(|e: DeployError| e.into())
    }

    async fn attach_virtual_media(
        &self,
        request: Request<v1::AttachVirtualMediaRequest>,
    ) -> Reply<v1::AttachVirtualMediaResponse> {
        let request = request.into_inner();
        let span = span("AttachVirtualMedia", request.node.as_ref());
        async {
            let uuid = convert::node_uuid(request.node.as_ref())?;
            let source = if request.image_download_source.is_empty() {
                "local"
            } else {
                &request.image_download_source
            };
            self.engine.attach_virtual_media(uuid, &request.device_type, &request.image_url, source).await?;
            Ok(Response::new(v1::AttachVirtualMediaResponse {}))
        }
        .instrument(span)
        .await
        .map_err(|e: DeployError| e.into())
    }

    async fn detach_virtual_media(
        &self,
        request: Request<v1::DetachVirtualMediaRequest>,
    ) -> Reply<v1::DetachVirtualMediaResponse> {
        let request = request.into_inner();
        let span = span("DetachVirtualMedia", request.node.as_ref());
        async {
            let uuid = convert::node_uuid(request.node.as_ref())?;
            self.engine.detach_virtual_media(uuid, &request.device_types).await?;
            Ok(Response::new(v1::DetachVirtualMediaResponse {}))
        }
        .instrument(span)
        .await
        .map_err(|e: DeployError| e.into())
    }

    async fn set_console(&self, request: Request<v1::SetConsoleRequest>) -> Reply<v1::SetConsoleResponse> {
        let request = request.into_inner();
        let span = span("SetConsole", request.node.as_ref());
        async {
            let uuid = convert::node_uuid(request.node.as_ref())?;
            self.engine.set_console(uuid, request.enabled).await?;
            Ok(Response::new(v1::SetConsoleResponse {}))
        }
        .instrument(span)
        .await
        .map_err(|e: DeployError| e.into())
    }

    async fn get_indicators(
        &self,
        request: Request<v1::GetIndicatorsRequest>,
    ) -> Reply<v1::GetIndicatorsResponse> {
        let request = request.into_inner();
        let span = span("GetIndicators", request.node.as_ref());
        async {
            let uuid = convert::node_uuid(request.node.as_ref())?;
            let indicators = self
                .engine
                .indicators(uuid)
                .await?
                .iter()
                .map(|(component, name, readonly, states)| v1::Indicator {
                    component: (*component).to_owned(),
                    name: (*name).to_owned(),
                    readonly: *readonly,
                    states: states.iter().map(|s| (*s).to_owned()).collect(),
                })
                .collect();
            Ok(Response::new(v1::GetIndicatorsResponse { indicators }))
        }
        .instrument(span)
        .await
        .map_err(|e: DeployError| e.into())
    }

    async fn get_indicator_state(
        &self,
        request: Request<v1::GetIndicatorStateRequest>,
    ) -> Reply<v1::GetIndicatorStateResponse> {
        let request = request.into_inner();
        let span = span("GetIndicatorState", request.node.as_ref());
        async {
            let uuid = convert::node_uuid(request.node.as_ref())?;
            let state = self.engine.indicator_state(uuid, &request.component, &request.name).await?;
            Ok(Response::new(v1::GetIndicatorStateResponse { state: state.to_owned() }))
        }
        .instrument(span)
        .await
        .map_err(|e: DeployError| e.into())
    }

    async fn set_indicator_state(
        &self,
        request: Request<v1::SetIndicatorStateRequest>,
    ) -> Reply<v1::SetIndicatorStateResponse> {
        let request = request.into_inner();
        let span = span("SetIndicatorState", request.node.as_ref());
        async {
            let uuid = convert::node_uuid(request.node.as_ref())?;
            self.engine.set_indicator_state(uuid, &request.component, &request.name, &request.state).await?;
            Ok(Response::new(v1::SetIndicatorStateResponse {}))
        }
        .instrument(span)
        .await
        .map_err(|e: DeployError| e.into())
    }
}
