//! Indicators (LEDs, 1.63) as Ironic's `FakeManagement` answers them: a
//! read-only `led-0` on the chassis and a settable `led` on the system, both
//! reading `on`; it cannot set them (no `set_indicator_state`), so neither can
//! Ferric's fake. Other management interfaces have none until the power
//! service reads BMC LEDs.

use ferric_model::hardware::InterfaceKind;
use uuid::Uuid;

use crate::engine::Engine;
use crate::error::{DeployError, Result};
use crate::interfaces::interface;

/// One indicator: component, name, read-only, states.
pub type Indicator = (&'static str, &'static str, bool, &'static [&'static str]);

/// `FakeManagement.get_supported_indicators`, in its order.
const FAKE: &[Indicator] =
    &[("chassis", "led-0", true, &["off", "on"]), ("system", "led", false, &["blinking", "off", "on"])];

impl Engine {
    async fn indicator_table(&self, uuid: Uuid, extension: &str) -> Result<&'static [Indicator]> {
        let node = self.node(&uuid.to_string()).await?.record;
        if interface(&node, InterfaceKind::Management) == "fake" {
            Ok(FAKE)
        } else {
            Err(DeployError::Unsupported(format!(
                "Driver {} does not support {extension} (disabled or not implemented).",
                node.driver
            )))
        }
    }

    /// The node's indicators.
    pub async fn indicators(&self, uuid: Uuid) -> Result<&'static [Indicator]> {
        self.indicator_table(uuid, "get_supported_indicators").await
    }

    /// One indicator's state, with Ironic's refusals for unknown ones.
    pub async fn indicator_state(&self, uuid: Uuid, component: &str, name: &str) -> Result<&'static str> {
        let table = self.indicator_table(uuid, "get_indicator_state").await?;
        if !table.iter().any(|i| i.0 == component) {
            return Err(DeployError::InvalidArgument(format!("Invalid component {component} specified.")));
        }
        if !table.iter().any(|i| i.0 == component && i.1 == name) {
            return Err(DeployError::InvalidArgument(format!("Invalid indicator {name} specified.")));
        }
        Ok("on")
    }

    /// Sets an indicator: Ironic's fake management cannot.
    pub async fn set_indicator_state(
        &self,
        uuid: Uuid,
        _component: &str,
        _name: &str,
        _state: &str,
    ) -> Result<()> {
        let node = self.node(&uuid.to_string()).await?.record;
        Err(DeployError::Unsupported(format!(
            "Driver {} does not support set_indicator_state (disabled or not implemented).",
            node.driver
        )))
    }
}
