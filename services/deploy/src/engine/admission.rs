//! Admission: how many deploys and cleanings this conductor runs at once.
//!
//! Ironic answers 503 past `max_concurrent_deploy` / `max_concurrent_clean`, and
//! clients (metal3's BMO) throttle themselves to avoid it. Ferric accepts the
//! request, shows the node in its new state, and starts the work when a slot frees
//! up; tokio's semaphore hands slots out first come, first served, which is the
//! fair queue. `reject_when_busy` restores Ironic's 503 for clients that rely on it.

use std::sync::Arc;

use ferric_model::ProvisionState;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{DeployError, Result};
use crate::settings::Settings;

/// Which limit an operation counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Deploys and rebuilds.
    Deploy,
    /// Tear-downs and cleanings.
    Clean,
}

impl Slot {
    /// The limit the work of `state` counts against, if any.
    pub fn for_state(state: ProvisionState) -> Option<Slot> {
        match state {
            ProvisionState::Deploying => Some(Slot::Deploy),
            ProvisionState::Cleaning | ProvisionState::Deleting => Some(Slot::Clean),
            _ => None,
        }
    }
}

/// The two limits.
#[derive(Clone)]
pub struct Admission {
    deploy: Arc<Semaphore>,
    clean: Arc<Semaphore>,
    reject: bool,
}

impl Admission {
    /// Limits from the settings.
    pub fn new(settings: &Settings) -> Self {
        Self {
            deploy: Arc::new(Semaphore::new(settings.max_concurrent_deploy)),
            clean: Arc::new(Semaphore::new(settings.max_concurrent_clean)),
            reject: settings.reject_when_busy,
        }
    }

    fn semaphore(&self, slot: Slot) -> &Arc<Semaphore> {
        match slot {
            Slot::Deploy => &self.deploy,
            Slot::Clean => &self.clean,
        }
    }

    /// In 503 mode, refuses at once when no slot is free (checked before the
    /// request is accepted); otherwise always admits.
    pub fn check(&self, slot: Slot) -> Result<()> {
        if self.reject && self.semaphore(slot).available_permits() == 0 {
            return Err(DeployError::ConcurrencyLimit(match slot {
                Slot::Deploy => "provisioning",
                Slot::Clean => "cleaning",
            }));
        }
        Ok(())
    }

    /// Waits for a slot, in arrival order.
    pub async fn acquire(&self, slot: Slot) -> Option<OwnedSemaphorePermit> {
        self.semaphore(slot).clone().acquire_owned().await.ok()
    }
}
